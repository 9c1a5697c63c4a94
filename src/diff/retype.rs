//! A column type change that would rewrite the table, made by expand and contract instead of
//! one `ALTER COLUMN ... TYPE ... USING`, which copies every row under ACCESS EXCLUSIVE.
//!
//! Expand (the application version that writes the old type keeps running throughout):
//!
//! 1. `ADD COLUMN` a shadow column of the new type, nullable and without default (metadata
//!    only), named `formwork_new_<hash>` (`Ctx::fresh_name`, deterministic).
//! 2. A trigger function `formwork_sync_<hash>()` and a `BEFORE INSERT OR UPDATE` trigger of
//!    the same name that sets the shadow from the old column with the conversion on every
//!    write, so rows written through the old shape during the change are converted too. Both
//!    are created idempotently (`CREATE OR REPLACE`): they are not in the model, so a resumed
//!    change cannot know whether they exist.
//! 3. A batched backfill (`plan::backfill`) setting the shadow to the conversion where it
//!    differs from it; the trigger makes every later write keep it in step.
//! 4. The declared default set on the shadow (metadata only; until the swap the trigger
//!    overrides it), and NOT NULL through the validated-check sequence of `tables`.
//! 5. Each index on the column, declared unchanged, built again on the shadow concurrently
//!    under a temporary name `formwork_idx_<hash>`; so is the unique index of each primary
//!    key and unique constraint on the column.
//! 6. The swap, one transaction under the short lock_timeout: the old column renamed to a
//!    retired name `formwork_old_<hash>` and relieved of NOT NULL and its default (the new
//!    application version never writes it), the shadow renamed to the declared name, the
//!    trigger and its function dropped, each old index renamed `formwork_oldidx_<hash>` and
//!    its rebuilt twin given the declared name, each key dropped and added again on its new
//!    index (`USING INDEX`, no scan), each check on the column dropped and added again
//!    `NOT VALID` (its expression then names the new column), validated right after the swap,
//!    and each foreign key from the column likewise (the swap then locks the referenced table
//!    too, briefly).
//!
//! Contract: the retired column is dropped, and the old indexes with it.
//!
//! The conversion is `old::new_type`, the cast `ALTER COLUMN ... TYPE` would use, unless the
//! declaration gives one (`using=` on the column, `Model::conversions`): an expression over
//! the row's columns as they were, cast to the new type.
//!
//! An interrupted apply's shadow column is recognized by `transitional` and handed over in
//! `Ctx::resumed_retypes`: the change then skips what is already there (the column, its
//! default, its NOT NULL, indexes already built the same) and runs the rest.
//!
//! The proof needs nothing special: the trigger and its function are not part of the model
//! (nor of the fingerprint), the shadow and retired columns are ordinary columns the
//! intermediate fingerprints record, column order carries no meaning in the fingerprint, and
//! after the contract step the state is the declared one.
//!
//! What this deliberately does not do yet: columns of an index the declaration changes or
//! drops, that is INVALID or uses the column in an expression or predicate; columns of a key
//! check or foreign key the declaration changes too; columns foreign keys reference (the
//! referencing columns would have to change type in the same swap); tables with an
//! exclusion constraint; columns of a table a view reads; identity, generated and serial
//! (`nextval`) columns; user types (enums); collation changes; changes that can lose values
//! (narrowing, where a failing trigger would fail the running application's writes). Those
//! keep the blocking `ALTER COLUMN ... TYPE` (which the lint gate reports and
//! `--allow-blocking` must accept); [`why_not_online`] says why, and the plan's description
//! carries it.

use super::transitional::Shadow;
use super::{Ctx, Draft, Stage};
use crate::ddl::table::{self as ddl, Names};
use crate::locks::LockMode;
use crate::model::{
    Check, Column, Deferrable, ForeignKey, Index, IndexKey, IndexKeyTarget, QualifiedName, Schema,
    Table,
};
use crate::sql::{qualified, quote_ident};

/// Why the change of `c` into `d` (a rewriting type change on table `tq`, whose current
/// definition is `table`) cannot be made by expand and contract yet; `None` when it can.
pub(super) fn why_not_online(
    ctx: &Ctx,
    tq: &QualifiedName,
    (table, declared): (&Table, &Table),
    c: &Column,
    d: &Column,
) -> Option<&'static str> {
    let user_type = |t: &str| t.contains('.');
    let serial = |def: &Option<String>| def.as_deref().is_some_and(|d| d.contains("nextval("));
    let mentions = |text: &str| text.contains(c.name.as_str());
    if c.identity.is_some() || d.identity.is_some() {
        return Some("identity columns are retyped in place");
    }
    if c.generated.is_some() || d.generated.is_some() {
        return Some("generated columns are retyped in place");
    }
    if c.collation != d.collation {
        return Some("collation changes are made in place");
    }
    // An enum rebuild (`enum_rebuild`) converts into a copy of the type under a temporary name.
    let rebuild = super::enum_rebuild::is_rebuild_type(&d.data_type);
    if !rebuild && (user_type(&c.data_type) || user_type(&d.data_type)) {
        return Some("changes from or to a user type are made in place");
    }
    if serial(&c.default) || serial(&d.default) {
        return Some("columns filled from a sequence are retyped in place");
    }
    if !rebuild && super::tables::narrows(&c.data_type, &d.data_type) {
        return Some("a change that can reject values is made in place");
    }
    if keys_on(table, &c.name)
        .iter()
        .any(|k| !k.declared_unchanged(declared))
    {
        return Some(
            "columns of a primary or unique key that is changed, renamed or dropped too are \
             retyped in place",
        );
    }
    let in_index = |i: &Index| {
        i.include.contains(&c.name)
            || i.predicate.as_deref().is_some_and(mentions)
            || i.keys.iter().any(|k| match &k.target {
                IndexKeyTarget::Column(n) => *n == c.name,
                IndexKeyTarget::Expression(e) => mentions(e),
            })
    };
    let unmovable = table
        .indexes
        .values()
        .filter(|i| in_index(i))
        .any(|i| movable(i, declared).is_none());
    if unmovable {
        return Some(
            "columns of an index that is changed, dropped, invalid, or uses an expression or \
             predicate are retyped in place",
        );
    }
    if checks_on(table, &c.name).any(|k| {
        declared
            .checks
            .get(&k.name)
            .is_none_or(|dk| !same_check(k, dk))
    }) {
        return Some(
            "columns of a check constraint that is changed or dropped too are retyped in place",
        );
    }
    if !table.exclusions.is_empty() {
        return Some("columns of a table with an exclusion constraint are retyped in place");
    }
    let referenced = ctx.current.schemas.values().any(|s| {
        s.tables.values().any(|t| {
            t.foreign_keys
                .values()
                .any(|fk| fk.references == *tq && fk.referenced_columns.contains(&c.name))
        })
    });
    if referenced {
        return Some(
            "a column that foreign keys reference is retyped in place (the referencing columns \
             would have to change type in the same swap)",
        );
    }
    let fk_changes = |fk: &ForeignKey| {
        declared.foreign_keys.get(&fk.name).is_none_or(|d| {
            ForeignKey {
                renamed_from: None,
                comment: None,
                ..d.clone()
            } != ForeignKey {
                renamed_from: None,
                comment: None,
                ..fk.clone()
            }
        })
    };
    if foreign_keys_on(table, &c.name).any(fk_changes) {
        return Some(
            "columns of a foreign key that is changed or dropped too are retyped in place",
        );
    }
    let read_by_view = super::view_dependencies(ctx.current)
        .values()
        .any(|reads| reads.contains(tq));
    if read_by_view {
        return Some("columns of a table a view reads are retyped in place");
    }
    None
}

/// The declared twin of `idx` (current) when the index can be rebuilt on the shadow column and
/// renamed in the swap: it is declared unchanged, valid, and only names columns.
fn movable<'a>(idx: &Index, declared: &'a Table) -> Option<&'a Index> {
    let twin = declared.indexes.get(&idx.name)?;
    let plain = idx.valid
        && idx.predicate.is_none()
        && idx
            .keys
            .iter()
            .all(|k| matches!(k.target, IndexKeyTarget::Column(_)));
    let same = Index {
        renamed_from: None,
        ..twin.clone()
    } == Index {
        renamed_from: None,
        ..idx.clone()
    };
    (plain && same).then_some(twin)
}

/// A primary key or unique constraint of the current table that uses the retyped column: its
/// index is built again on the shadow concurrently, and the swap attaches the constraint to it
/// (`ADD CONSTRAINT ... USING INDEX`), which needs no scan.
struct Key<'a> {
    name: &'a str,
    columns: &'a [String],
    include: &'a [String],
    nulls_not_distinct: bool,
    deferrable: Deferrable,
    primary: bool,
    comment: Option<&'a str>,
}

impl Key<'_> {
    /// Whether `declared` has this key under the same name and definition; returns it with
    /// its declared comment.
    fn declared_unchanged(&self, declared: &Table) -> bool {
        let mine = (self.columns, self.include, self.deferrable);
        if self.primary {
            declared.primary_key.as_ref().is_some_and(|pk| {
                pk.name == self.name && (&pk.columns[..], &pk.include[..], pk.deferrable) == mine
            })
        } else {
            declared.uniques.get(self.name).is_some_and(|u| {
                (&u.columns[..], &u.include[..], u.deferrable) == mine
                    && u.nulls_not_distinct == self.nulls_not_distinct
            })
        }
    }

    fn declared_comment<'d>(&self, declared: &'d Table) -> Option<&'d str> {
        if self.primary {
            declared.primary_key.as_ref()?.comment.as_deref()
        } else {
            declared.uniques.get(self.name)?.comment.as_deref()
        }
    }
}

/// The keys of `table` that use `column`.
fn keys_on<'a>(table: &'a Table, column: &str) -> Vec<Key<'a>> {
    let uses =
        |cols: &[String], include: &[String]| cols.iter().chain(include).any(|n| n == column);
    let mut keys = Vec::new();
    if let Some(pk) = table
        .primary_key
        .as_ref()
        .filter(|pk| uses(&pk.columns, &pk.include))
    {
        keys.push(Key {
            name: &pk.name,
            columns: &pk.columns,
            include: &pk.include,
            nulls_not_distinct: false,
            deferrable: pk.deferrable,
            primary: true,
            comment: pk.comment.as_deref(),
        });
    }
    for u in table
        .uniques
        .values()
        .filter(|u| uses(&u.columns, &u.include))
    {
        keys.push(Key {
            name: &u.name,
            columns: &u.columns,
            include: &u.include,
            nulls_not_distinct: u.nulls_not_distinct,
            deferrable: u.deferrable,
            primary: false,
            comment: u.comment.as_deref(),
        });
    }
    keys
}

/// The check constraints of `table` whose expression (as the catalog prints it) may name
/// `column`. A match on a longer name only costs a needless rebuild of that check.
fn checks_on<'a>(table: &'a Table, column: &'a str) -> impl Iterator<Item = &'a Check> {
    table
        .checks
        .values()
        .filter(move |k| k.expression.contains(column))
}

/// The foreign keys of `table` that `column` is a referencing column of.
fn foreign_keys_on<'a>(table: &'a Table, column: &'a str) -> impl Iterator<Item = &'a ForeignKey> {
    table
        .foreign_keys
        .values()
        .filter(move |fk| fk.columns.iter().any(|n| n == column))
}

fn same_check(a: &Check, b: &Check) -> bool {
    (&a.expression, a.no_inherit, a.valid) == (&b.expression, b.no_inherit, b.valid)
}

/// `n` with the retyped column `from` replaced by the shadow `to`.
fn on_shadow(n: &str, from: &str, to: &str) -> String {
    if n == from { to } else { n }.to_string()
}

/// The expand and contract drafts for retyping `c` (current) into `d` (declared) on `tq`, whose
/// current definition is `table`, declared as `declared` in `schema`. An interrupted apply's
/// shadow column (`Ctx::resumed_retypes`) is picked up where it stopped.
pub(super) fn expand_contract(
    ctx: &mut Ctx,
    names: &Names,
    tables: (&Schema, &Table, &Table),
    tq: &QualifiedName,
    c: &Column,
    d: &Column,
) {
    let declared_using = ctx.desired.conversion_of(tq, &d.name).map(str::to_string);
    expand_contract_using(ctx, names, tables, tq, (c, d), declared_using);
}

/// [`expand_contract`] with the conversion given: an expression over the row's columns as they
/// were, cast to the new type (`None`: the plain cast).
pub(super) fn expand_contract_using(
    ctx: &mut Ctx,
    names: &Names,
    (schema, table, declared): (&Schema, &Table, &Table),
    tq: &QualifiedName,
    (c, d): (&Column, &Column),
    declared_using: Option<String>,
) {
    let key = super::tables::batch_key(table, declared);
    let t = qualified(tq);
    let shown = format!("{tq}.{}", d.name);
    let parts = [tq.schema.as_str(), tq.name.as_str(), d.name.as_str()];
    let resumed = ctx.resumed_retypes.remove(&(tq.clone(), d.name.clone()));
    let shadow = match &resumed {
        Some(s) => s.name.clone(),
        None => ctx.fresh_name("new", &tq.schema, &parts),
    };
    let again = if resumed.is_some() {
        " (resumed: an interrupted apply left the shadow column)"
    } else {
        ""
    };
    let retired = ctx.fresh_name("old", &tq.schema, &parts);
    let sync = ctx.fresh_name("sync", &tq.schema, &parts);
    let (col, sh, old) = (
        quote_ident(&d.name),
        quote_ident(&shadow),
        quote_ident(&retired),
    );
    let func = qualified(&QualifiedName::new(&tq.schema, &sync));
    let trigger = quote_ident(&sync);
    // A declared conversion reads the row's columns by name: in the trigger, from a one-row
    // subquery over NEW, with column names winning over PL/pgSQL variables.
    let convert = |row: &str| match (&declared_using, row) {
        (Some(u), "") => format!("({u})::{}", d.data_type),
        (Some(u), _) => format!(
            "(SELECT ({u})::{} FROM (SELECT NEW.*) AS formwork_row)",
            d.data_type
        ),
        (None, _) => format!("{row}{col}::{}", d.data_type),
    };
    let from_to = format!("{} to {}", c.data_type, d.data_type);

    if resumed.is_none() {
        ctx.push(Draft::new(
            Stage::Columns,
            format!(
                "add column {shadow} to {tq}, the {shown} of type {} being built (nullable, no \
                 default: no rewrite)",
                d.data_type
            ),
            format!("ALTER TABLE {t} ADD COLUMN {sh} {}", d.data_type),
        ));
    }
    // The function and trigger are not in the model: whether an interrupted apply left them
    // is unknown, so both are made idempotent. `CREATE OR REPLACE TRIGGER` (PostgreSQL 14+)
    // takes the same SHARE ROW EXCLUSIVE either way; before 14 a trigger that may exist is
    // dropped first, which takes ACCESS EXCLUSIVE only when it does exist, so the step takes
    // that lock explicitly and always declares what it takes.
    let create_trigger = format!(
        "TRIGGER {trigger} BEFORE INSERT OR UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION {func}()"
    );
    let create_trigger = if ctx.pg_major >= 14 {
        format!("CREATE OR REPLACE {create_trigger}")
    } else if resumed.is_some() {
        format!(
            "LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE;\nDROP TRIGGER IF EXISTS {trigger} ON {t};\n\
             CREATE {create_trigger}"
        )
    } else {
        format!("CREATE {create_trigger}")
    };
    ctx.push(Draft::new(
        Stage::Columns,
        format!("create the function that converts {shown} ({from_to}) on every write"),
        format!(
            "CREATE OR REPLACE FUNCTION {func}() RETURNS trigger LANGUAGE plpgsql AS $formwork$\n\
             #variable_conflict use_column\nBEGIN\n    NEW.{sh} := {};\n    RETURN NEW;\nEND\n$formwork$",
            convert("NEW.")
        ),
    ));
    ctx.push(Draft::new(
        Stage::Columns,
        format!("keep {shadow} in step with {shown} on every insert and update{again}"),
        create_trigger,
    ));
    ctx.push(Draft::backfill(
        Stage::Columns,
        format!("convert {shown} ({from_to}) into {shadow} in existing rows, in batches{again}"),
        crate::plan::Backfill {
            table: tq.clone(),
            key,
            set: vec![crate::plan::Assignment {
                column: shadow.clone(),
                expression: convert(""),
            }],
            // Idempotent, and true of no row once done, whatever NULLs the conversion yields
            // or reads (a `ctid` walk repeats until a pass changes nothing).
            predicate: Some(format!("{sh} IS DISTINCT FROM {}", convert(""))),
        },
    ));
    let default_set = resumed.as_ref().and_then(|s| s.default.as_ref());
    if let Some(def) = d.default.as_ref().filter(|def| Some(*def) != default_set) {
        ctx.push(Draft::new(
            Stage::Columns,
            format!("give {shadow} the default of {shown}"),
            format!("ALTER TABLE {t} ALTER COLUMN {sh} SET DEFAULT {def}"),
        ));
    }
    if d.not_null && !resumed.as_ref().is_some_and(|s| s.not_null) {
        super::tables::set_not_null(ctx, tq, &shadow);
    }
    // Indexes and keys on the column: built on the shadow under a temporary name without
    // blocking writes, then swapped by name with the old ones (plain indexes go with the
    // retired column, keys are dropped and attached to their new index).
    // The column renames come first: the step's locks are read from its first statement
    // (ACCESS EXCLUSIVE on the table covers everything after it).
    let mut swap = vec![
        format!("ALTER TABLE {t} RENAME COLUMN {col} TO {old}"),
        format!("ALTER TABLE {t} RENAME COLUMN {sh} TO {col}"),
    ];
    let mut after = Vec::new();
    let iq = |n: &str| qualified(&QualifiedName::new(&tq.schema, n));
    let retarget = |n: &String| on_shadow(n, &d.name, &shadow);
    let target = Target {
        names,
        schema,
        declared,
        tq,
        resumed: resumed.as_ref(),
        shadow: &shadow,
    };
    for k in keys_on(table, &c.name) {
        let kparts = [tq.schema.as_str(), tq.name.as_str(), k.name];
        let temp = ctx.fresh_name("idx", &tq.schema, &kparts);
        let building = Index {
            name: temp.clone(),
            unique: true,
            method: "btree".into(),
            keys: k
                .columns
                .iter()
                .map(|n| IndexKey {
                    target: IndexKeyTarget::Column(retarget(n)),
                    collation: None,
                    opclass: None,
                    descending: false,
                    nulls_first: None,
                })
                .collect(),
            include: k.include.iter().map(retarget).collect(),
            predicate: None,
            nulls_not_distinct: k.nulls_not_distinct,
            valid: true,
            comment: None,
            renamed_from: None,
        };
        let what = if k.primary {
            "primary key"
        } else {
            "unique constraint"
        };
        target.build(ctx, &building, &format!("the {what} {}", k.name));
        swap.push(format!(
            "ALTER TABLE {t} DROP CONSTRAINT {}",
            quote_ident(k.name)
        ));
        swap.push(format!(
            "ALTER TABLE {t} ADD CONSTRAINT {} {} USING INDEX {}{}",
            quote_ident(k.name),
            if k.primary { "PRIMARY KEY" } else { "UNIQUE" },
            quote_ident(&temp),
            ddl::deferrable(k.deferrable)
        ));
        // A comment that changes is set by the constraint diff; one that stays must be set
        // again on the new constraint.
        if let Some(text) = k
            .declared_comment(declared)
            .filter(|t| Some(*t) == k.comment)
        {
            after.push(constraint_comment(&t, tq, k.name, text));
        }
    }
    for idx in table.indexes.values() {
        let Some(twin) = movable(idx, declared) else {
            continue;
        };
        if !super::transitional::index_uses(idx, &c.name) {
            continue;
        }
        let iparts = [tq.schema.as_str(), tq.name.as_str(), idx.name.as_str()];
        let temp = ctx.fresh_name("idx", &tq.schema, &iparts);
        let gone = ctx.fresh_name("oldidx", &tq.schema, &iparts);
        let mut building = twin.clone();
        building.name.clone_from(&temp);
        building.comment = None;
        for k in &mut building.keys {
            if let IndexKeyTarget::Column(n) = &mut k.target {
                *n = retarget(n);
            }
        }
        building.include = building.include.iter().map(retarget).collect();
        target.build(ctx, &building, &format!("index {}", idx.name));
        swap.push(format!(
            "ALTER INDEX {} RENAME TO {}",
            iq(&idx.name),
            quote_ident(&gone)
        ));
        swap.push(format!(
            "ALTER INDEX {} RENAME TO {}",
            iq(&temp),
            quote_ident(&idx.name)
        ));
        if twin.comment.is_some() {
            after.push(super::comment_on(
                format!("INDEX {}", iq(&idx.name)),
                format!("index {}", super::display(&tq.schema, &idx.name)),
                twin.comment.as_deref(),
            ));
        }
    }
    // Checks on the column: after the renames their expression names the retired column; they
    // are dropped and added again on the new one, NOT VALID (no scan under the swap's lock),
    // and validated right after the swap without blocking writes. Writes are checked
    // throughout: the old check until the swap, the new one from the swap on.
    let mut validate = Vec::new();
    for k in checks_on(table, &c.name) {
        swap.push(format!(
            "ALTER TABLE {t} DROP CONSTRAINT {}",
            quote_ident(&k.name)
        ));
        swap.push(format!("ALTER TABLE {t} ADD {} NOT VALID", ddl::check(k)));
        if k.valid {
            validate.push(Draft::new(
                Stage::NotNull,
                format!(
                    "validate check constraint {} on the new {shown}, without blocking writes",
                    k.name
                ),
                format!(
                    "ALTER TABLE {t} VALIDATE CONSTRAINT {}",
                    quote_ident(&k.name)
                ),
            ));
        }
        let dk = declared.checks.get(&k.name);
        if let Some(text) = dk
            .and_then(|dk| dk.comment.as_deref())
            .filter(|t| Some(*t) == k.comment.as_deref())
        {
            after.push(constraint_comment(&t, tq, &k.name, text));
        }
    }
    // Foreign keys from the column: the same, with the referenced table locked too (dropping
    // a foreign key takes ACCESS EXCLUSIVE there, where its triggers live; validating takes
    // ROW SHARE there).
    let mut referenced = Vec::new();
    for fk in foreign_keys_on(table, &c.name) {
        let mut not_valid = fk.clone();
        not_valid.valid = false;
        swap.push(format!(
            "ALTER TABLE {t} DROP CONSTRAINT {}",
            quote_ident(&fk.name)
        ));
        swap.push(format!(
            "ALTER TABLE {t} ADD {}",
            ddl::foreign_key(&not_valid)
        ));
        referenced.push(fk.references.clone());
        if fk.valid {
            validate.push(
                Draft::new(
                    Stage::NotNull,
                    format!(
                        "validate foreign key {} on the new {shown}, without blocking writes",
                        fk.name
                    ),
                    format!(
                        "ALTER TABLE {t} VALIDATE CONSTRAINT {}",
                        quote_ident(&fk.name)
                    ),
                )
                .also_locks(LockMode::RowShare, fk.references.clone()),
            );
        }
        let dk = declared.foreign_keys.get(&fk.name);
        if let Some(text) = dk
            .and_then(|dk| dk.comment.as_deref())
            .filter(|t| Some(*t) == fk.comment.as_deref())
        {
            after.push(constraint_comment(&t, tq, &fk.name, text));
        }
    }
    if c.not_null {
        swap.push(format!("ALTER TABLE {t} ALTER COLUMN {old} DROP NOT NULL"));
    }
    if c.default.is_some() {
        swap.push(format!("ALTER TABLE {t} ALTER COLUMN {old} DROP DEFAULT"));
    }
    swap.push(format!("DROP TRIGGER {trigger} ON {t}"));
    swap.push(format!("DROP FUNCTION {func}()"));
    // After every NOT NULL sequence, before any index a new declaration builds on the column.
    let mut swap = Draft::new(
        Stage::NotNull,
        format!("swap {shadow} in as {shown} and retire the old column as {retired}"),
        swap.join(";\n"),
    );
    for table in referenced {
        swap = swap.also_locks(LockMode::AccessExclusive, table);
    }
    ctx.push(swap);
    for draft in validate.into_iter().chain(after) {
        ctx.push(draft);
    }
    if d.comment.is_some() {
        ctx.push(super::comment_on(
            format!("COLUMN {t}.{col}"),
            format!("column {shown}"),
            d.comment.as_deref(),
        ));
    }
    ctx.push(Draft::new(
        Stage::DropColumn,
        format!("drop the retired column {retired} of {tq} (the old {shown}), and its indexes"),
        format!("ALTER TABLE {t} DROP COLUMN {old}"),
    ));
}

/// The comment of a constraint dropped and added again by the swap, set again.
fn constraint_comment(t: &str, tq: &QualifiedName, name: &str, text: &str) -> Draft {
    super::comment_on(
        format!("CONSTRAINT {} ON {t}", quote_ident(name)),
        format!("constraint {name} of {tq}"),
        Some(text),
    )
}

/// Where the indexes of a retyped column are built again: its shadow column.
struct Target<'a> {
    names: &'a Names<'a>,
    schema: &'a Schema,
    declared: &'a Table,
    tq: &'a QualifiedName,
    /// The shadow an interrupted apply left, with the indexes it built.
    resumed: Option<&'a Shadow>,
    shadow: &'a str,
}

impl Target<'_> {
    /// Build `building` (an index on the shadow column under its temporary name)
    /// concurrently, unless an interrupted apply already built it the same.
    fn build(&self, ctx: &mut Ctx, building: &Index, what: &str) {
        let tq = self.tq;
        let left = self
            .resumed
            .and_then(|s| s.indexes.iter().find(|i| i.name == building.name));
        if let Some(left) = left {
            let same = Index {
                comment: None,
                ..left.clone()
            } == *building;
            if same {
                return;
            }
            ctx.push(
                Draft::new(
                    Stage::NotNull,
                    format!(
                        "drop index {} of {tq}, left by an interrupted apply with another \
                         definition, without blocking writes",
                        building.name
                    ),
                    format!(
                        "DROP INDEX CONCURRENTLY {}",
                        super::qn(&tq.schema, &building.name)
                    ),
                )
                .outside_transaction(),
            );
        }
        ctx.push(
            Draft::new(
                Stage::NotNull,
                format!(
                    "build {what} on {} of {tq} as {}, without blocking writes",
                    self.shadow, building.name
                ),
                ddl::create_index_with(self.names, self.schema, self.declared, building, true),
            )
            .outside_transaction(),
        );
    }
}
