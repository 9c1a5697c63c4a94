//! A column type change that would rewrite the table, made by expand and contract instead of
//! one `ALTER COLUMN ... TYPE ... USING`, which copies every row under ACCESS EXCLUSIVE.
//!
//! Expand (the application version that writes the old type keeps running throughout):
//!
//! 1. `ADD COLUMN` a shadow column of the new type, nullable and without default (metadata
//!    only), named `formwork_new_<hash>` (`Ctx::fresh_name`, deterministic).
//! 2. A trigger function `formwork_sync_<hash>()` and a `BEFORE INSERT OR UPDATE` trigger of
//!    the same name that sets the shadow from the old column with the conversion on every
//!    write, so rows written through the old shape during the change are converted too.
//! 3. A batched backfill (`plan::backfill`) setting the shadow to the conversion where it
//!    differs from it; the trigger makes every later write keep it in step.
//! 4. The declared default set on the shadow (metadata only; until the swap the trigger
//!    overrides it), and NOT NULL through the validated-check sequence of `tables`.
//! 5. Each index on the column, declared unchanged, built again on the shadow concurrently
//!    under a temporary name `formwork_idx_<hash>`.
//! 6. The swap, one transaction under the short lock_timeout: the old column renamed to a
//!    retired name `formwork_old_<hash>` and relieved of NOT NULL and its default (the new
//!    application version never writes it), the shadow renamed to the declared name, the
//!    trigger and its function dropped, each old index renamed `formwork_oldidx_<hash>` and
//!    its rebuilt twin given the declared name.
//!
//! Contract: the retired column is dropped, and the old indexes with it.
//!
//! The conversion is `old::new_type`, the cast `ALTER COLUMN ... TYPE` would use, unless the
//! declaration gives one (`using=` on the column, `Model::conversions`): an expression over
//! the row's columns as they were, cast to the new type.
//!
//! The proof needs nothing special: the trigger and its function are not part of the model
//! (nor of the fingerprint), the shadow and retired columns are ordinary columns the
//! intermediate fingerprints record, column order carries no meaning in the fingerprint, and
//! after the contract step the state is the declared one.
//!
//! What this deliberately does not do yet: columns of an index the declaration changes or
//! drops, that is INVALID or uses the column in an expression or predicate; columns a
//! primary, unique or foreign key, a check or an exclusion constraint uses; columns of a table
//! a view reads; identity, generated and serial (`nextval`) columns; user types (enums);
//! collation changes; changes that can lose values (narrowing, where a failing trigger would
//! fail the running application's writes). Those keep the blocking `ALTER COLUMN ... TYPE` (which the lint gate
//! reports and `--allow-blocking` must accept); [`why_not_online`] says why, and the plan's
//! description carries it.

use super::{Ctx, Draft, Stage};
use crate::ddl::table::{self as ddl, Names};
use crate::model::{Column, Index, IndexKeyTarget, QualifiedName, Schema, Table};
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
    if table
        .primary_key
        .as_ref()
        .is_some_and(|pk| pk.columns.contains(&c.name) || pk.include.contains(&c.name))
        || table
            .uniques
            .values()
            .any(|u| u.columns.contains(&c.name) || u.include.contains(&c.name))
    {
        return Some("key columns are retyped in place");
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
    if table.checks.values().any(|k| mentions(&k.expression)) || !table.exclusions.is_empty() {
        return Some("columns under a check or exclusion constraint are retyped in place");
    }
    let referenced = ctx.current.schemas.values().any(|s| {
        s.tables.values().any(|t| {
            t.foreign_keys.values().any(|fk| {
                fk.references == *tq && fk.referenced_columns.contains(&c.name)
                    || s.name == tq.schema && t.name == tq.name && fk.columns.contains(&c.name)
            })
        })
    });
    if referenced {
        return Some("foreign key columns are retyped in place");
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

/// The expand and contract drafts for retyping `c` (current) into `d` (declared) on `tq`, whose
/// current definition is `table`, declared as `declared` in `schema`.
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
    let shadow = ctx.fresh_name("new", &tq.schema, &parts);
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

    ctx.push(Draft::new(
        Stage::Columns,
        format!(
            "add column {shadow} to {tq}, the {shown} of type {} being built (nullable, no \
             default: no rewrite)",
            d.data_type
        ),
        format!("ALTER TABLE {t} ADD COLUMN {sh} {}", d.data_type),
    ));
    ctx.push(Draft::new(
        Stage::Columns,
        format!("create the function that converts {shown} ({from_to}) on every write"),
        format!(
            "CREATE FUNCTION {func}() RETURNS trigger LANGUAGE plpgsql AS $formwork$\n\
             #variable_conflict use_column\nBEGIN\n    NEW.{sh} := {};\n    RETURN NEW;\nEND\n$formwork$",
            convert("NEW.")
        ),
    ));
    ctx.push(Draft::new(
        Stage::Columns,
        format!("keep {shadow} in step with {shown} on every insert and update"),
        format!(
            "CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE ON {t} FOR EACH ROW \
             EXECUTE FUNCTION {func}()"
        ),
    ));
    ctx.push(Draft::backfill(
        Stage::Columns,
        format!("convert {shown} ({from_to}) into {shadow} in existing rows, in batches"),
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
    if let Some(def) = &d.default {
        ctx.push(Draft::new(
            Stage::Columns,
            format!("give {shadow} the default of {shown}"),
            format!("ALTER TABLE {t} ALTER COLUMN {sh} SET DEFAULT {def}"),
        ));
    }
    if d.not_null {
        super::tables::set_not_null(ctx, tq, &shadow);
    }
    // Indexes on the column: built on the shadow under a temporary name without blocking
    // writes, then swapped by name with the old ones, which go with the retired column.
    // The column renames come first: the step's locks are read from its first statement
    // (ACCESS EXCLUSIVE on the table covers everything after it).
    let mut swap = vec![
        format!("ALTER TABLE {t} RENAME COLUMN {col} TO {old}"),
        format!("ALTER TABLE {t} RENAME COLUMN {sh} TO {col}"),
    ];
    let mut comments = Vec::new();
    for idx in table.indexes.values() {
        let Some(twin) = movable(idx, declared) else {
            continue;
        };
        let on_column = |n: &String| *n == c.name;
        if !idx.include.iter().any(on_column)
            && !idx
                .keys
                .iter()
                .any(|k| matches!(&k.target, IndexKeyTarget::Column(n) if on_column(n)))
        {
            continue;
        }
        let iparts = [tq.schema.as_str(), tq.name.as_str(), idx.name.as_str()];
        let temp = ctx.fresh_name("idx", &tq.schema, &iparts);
        let gone = ctx.fresh_name("oldidx", &tq.schema, &iparts);
        let mut building = twin.clone();
        building.name.clone_from(&temp);
        for k in &mut building.keys {
            if let IndexKeyTarget::Column(n) = &mut k.target {
                if *n == d.name {
                    n.clone_from(&shadow);
                }
            }
        }
        for n in &mut building.include {
            if *n == d.name {
                n.clone_from(&shadow);
            }
        }
        ctx.push(
            Draft::new(
                Stage::NotNull,
                format!(
                    "build index {} on {shadow} of {tq} as {temp}, without blocking writes",
                    idx.name
                ),
                ddl::create_index_with(names, schema, declared, &building, true),
            )
            .outside_transaction(),
        );
        let iq = |n: &str| qualified(&QualifiedName::new(&tq.schema, n));
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
            comments.push(super::comment_on(
                format!("INDEX {}", iq(&idx.name)),
                format!("index {}", super::display(&tq.schema, &idx.name)),
                twin.comment.as_deref(),
            ));
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
    ctx.push(Draft::new(
        Stage::NotNull,
        format!("swap {shadow} in as {shown} and retire the old column as {retired}"),
        swap.join(";\n"),
    ));
    for draft in comments {
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
        format!("drop the retired column {retired} of {tq} (the old {shown})"),
        format!("ALTER TABLE {t} DROP COLUMN {old}"),
    ));
}
