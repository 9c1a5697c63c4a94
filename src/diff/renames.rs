//! Renames of tables and columns (`renamed-from`), made so that the application version that
//! still uses the old name keeps working until the contract phase.
//!
//! A plain `ALTER TABLE ... RENAME` is atomic: the moment it commits, every statement of the
//! running application that names the old table or column fails. So by default a rename is an
//! expand and contract, and the atomic `RENAME` is kept for declarations that say the
//! application tolerates it (`rename="atomic"` next to `renamed-from`, `Model::atomic_renames`).
//!
//! Table `old` renamed `new`:
//! - expand, one transaction under the short lock_timeout: `ALTER TABLE old RENAME TO new`,
//!   then `CREATE VIEW old AS SELECT <every column> FROM new`. A view over one table that
//!   lists plain columns is automatically updatable: the old application version keeps
//!   reading and writing through it (INSERT, UPDATE, DELETE, `ON CONFLICT`, `RETURNING`), and
//!   an INSERT through it gets the base table's defaults, for omitted columns and for an
//!   explicit `DEFAULT` alike (checked on PostgreSQL 15: no `ALTER VIEW ... SET DEFAULT` is
//!   needed). What a view cannot take: `COPY ... FROM`, `TRUNCATE`, `LOCK TABLE`, DDL.
//! - contract: `DROP VIEW old`.
//!
//! Column `old` of a table renamed `new`:
//! - expand: `ADD COLUMN new` (the declared type, nullable, no default: metadata only); a
//!   trigger function and a `BEFORE INSERT OR UPDATE` trigger `formwork_rename_<hash>` keeping
//!   the two equal on every write; a batched backfill `new := old` where they differ; the
//!   defaults moved in one statement (the declared default on `new`, none on `old`); NOT
//!   NULL on `new` through the validated-check sequence of `tables`; each index on `old`
//!   built again on `new` concurrently as `formwork_idx_<hash>`.
//! - contract, one transaction under the short lock_timeout: `DROP COLUMN old` (its indexes
//!   go with it), the trigger and its function dropped, each rebuilt index renamed to its
//!   declared name.
//!
//! The trigger decides which side a write meant. On INSERT: once the defaults moved, `old`
//! has no default and only the old application writes it, so a non-NULL `old` was written by
//! the old application and is copied to `new`; a NULL `old` takes `new` (the new application's
//! value, or the declared default). On UPDATE: when the statement changed `new`, `new` wins and
//! is copied to `old`; otherwise `old` is copied to `new` (the old application's change, or a
//! row the backfill has not reached yet). Edge: an INSERT by the old application of an explicit
//! NULL into a column that has a default gets the default.
//!
//! A column rename falls back to the atomic form when the expand cannot keep both names working
//! by itself ([`why_column_not_online`]): key, unique, foreign key, check and exclusion
//! constraints on the column, identity, generated and sequence-filled (`nextval`) columns,
//! columns a generated column or an index expression or predicate reads, indexes on it that the
//! declaration changes, a type change in the same declaration, and tables a view reads. A table
//! rename falls back when another declared object takes the old name. The fallback is refused
//! (the planner reports why and what to declare) unless the declaration says
//! `rename="atomic"`: the declaration is where the team states what the running application
//! tolerates, so no command-line flag can say it instead.
//!
//! An interrupted expand leaves objects the next plan recognizes (see `transitional`): the
//! view under the old table name (the declared table has `renamed-from` it and the view is a
//! pass-through of it: [`transitional_view`]), and a table that has both the old and the new
//! column while the declaration renames one into the other: the next plan creates the function
//! and trigger again (`CREATE OR REPLACE`), backfills again (idempotent), finishes defaults,
//! NOT NULL and index builds from where they are, and plans the contract. Once the contract ran
//! and `renamed-from` is still declared, the old name is gone and nothing is planned.
//!
//! What this deliberately does not do: copy privileges granted on the table to the view (grants
//! are not in the model: a role the old application uses needs them on the view too), rename
//! sequences, constraints or indexes whose names contain the old name, or make renames of
//! enums, views, sequences, indexes and constraints anything but atomic (no running query
//! names an index or constraint; the others keep their atomic `RENAME`).

use super::{Ctx, Draft, Stage, display, qn};
use crate::ddl::table::{self as ddl, Names};
use crate::model::{Column, Index, IndexKeyTarget, Model, QualifiedName, Schema, Table, View};
use crate::plan::HazardKind;
use crate::sql::{ident_list, qualified, quote_ident};

/// The rename of table `c` (current) into `d` (declared) in `schema`.
pub(super) fn table(ctx: &mut Ctx, schema: &Schema, c: &Table, d: &Table) {
    let s = schema.name.as_str();
    let (old, new) = (display(s, &c.name), display(s, &d.name));
    let oldq = qn(s, &c.name);
    let rename = format!("ALTER TABLE {oldq} RENAME TO {}", quote_ident(&d.name));
    let atomic = ctx
        .desired
        .rename_is_atomic(&QualifiedName::new(s, &d.name), None);
    let why = why_table_not_online(ctx.desired, s, &c.name);
    if atomic || why.is_some() {
        if !atomic {
            refuse(ctx, &format!("table {old}"), &new, why.unwrap_or_default());
        }
        ctx.push(
            Draft::new(
                Stage::Rename,
                format!(
                    "rename table {old} to {new} at once ({})",
                    why.unwrap_or("declared rename=\"atomic\"")
                ),
                rename,
            )
            .hazard(
                HazardKind::BreaksCompatibility,
                format!("clients using the old name {old} break"),
            ),
        );
        return;
    }
    let columns: Vec<&String> = c.columns.keys().collect();
    ctx.push(Draft::new(
        Stage::Rename,
        format!(
            "rename table {old} to {new} and leave an updatable view {old} over it, through \
             which the running application keeps reading and writing"
        ),
        format!(
            "{rename};\nCREATE VIEW {oldq} AS SELECT {} FROM {}",
            ident_list(&columns),
            qn(s, &d.name)
        ),
    ));
    ctx.push(contract_view(s, &c.name, &d.name));
}

/// `DROP VIEW` of the view a table rename left under the old name.
pub(super) fn contract_view(schema: &str, view: &str, table: &str) -> Draft {
    let old = display(schema, view);
    Draft::new(
        Stage::DropView,
        format!(
            "drop view {old}, the old name of table {} (contract of the rename)",
            display(schema, table)
        ),
        format!("DROP VIEW {}", qn(schema, view)),
    )
    .hazard(
        HazardKind::BreaksCompatibility,
        format!("clients still using the old name {old} break"),
    )
}

/// Why a table of `schema` cannot leave a view under its old name `old`: another object the
/// declaration has takes that name (a view's row type shares the namespace of types).
fn why_table_not_online(desired: &Model, schema: &str, old: &str) -> Option<&'static str> {
    let s = desired.schemas.get(schema)?;
    (s.views.contains_key(old) || s.sequences.contains_key(old) || s.enums.contains_key(old))
        .then_some("another declared object takes the old name, so no view can keep it")
}

/// Report a rename that can only be atomic and was not declared so.
fn refuse(ctx: &mut Ctx, what: &str, new: &str, why: &str) {
    ctx.unsupported.push(format!(
        "{what}: renaming it to {new} by expand and contract is not possible ({why}), and an \
         atomic rename breaks every running statement that uses the old name; declare \
         rename=\"atomic\" next to renamed-from if the running application tolerates that"
    ));
}

/// Why renaming column `c` of table `table` (current) into `d` (declared in `declared`) cannot
/// keep both names working; `None` when it can.
pub(super) fn why_column_not_online(
    ctx: &Ctx,
    tq: &QualifiedName,
    (table, declared): (&Table, &Table),
    c: &Column,
    d: &Column,
) -> Option<&'static str> {
    // Foreign keys and views name the table as it is now.
    let tq = &QualifiedName::new(&tq.schema, &table.name);
    let mentions = |text: &str| text.contains(c.name.as_str());
    let serial = |def: &Option<String>| def.as_deref().is_some_and(|d| d.contains("nextval("));
    if c.data_type != d.data_type || c.collation != d.collation {
        return Some("the declaration also changes its type or collation");
    }
    if c.identity.is_some() || d.identity.is_some() {
        return Some("identity columns are renamed in place");
    }
    if c.generated.is_some() || d.generated.is_some() {
        return Some("generated columns are renamed in place");
    }
    if serial(&c.default) || serial(&d.default) {
        return Some(
            "a column filled from a sequence is renamed in place (the sequence is owned by it)",
        );
    }
    let in_list = |cols: &[String]| cols.contains(&c.name);
    if table
        .primary_key
        .as_ref()
        .is_some_and(|pk| in_list(&pk.columns) || in_list(&pk.include))
        || table
            .uniques
            .values()
            .any(|u| in_list(&u.columns) || in_list(&u.include))
    {
        return Some("key columns are renamed in place");
    }
    if table.foreign_keys.values().any(|fk| in_list(&fk.columns))
        || ctx.current.schemas.values().any(|s| {
            s.tables.values().any(|t| {
                t.foreign_keys
                    .values()
                    .any(|fk| fk.references == *tq && in_list(&fk.referenced_columns))
            })
        })
    {
        return Some("foreign key columns are renamed in place");
    }
    if table.checks.values().any(|k| mentions(&k.expression)) || !table.exclusions.is_empty() {
        return Some("columns under a check or exclusion constraint are renamed in place");
    }
    if table.columns.values().any(|o| {
        o.name != c.name
            && o.generated
                .as_ref()
                .is_some_and(|g| mentions(&g.expression))
    }) {
        return Some("a column a generated column reads is renamed in place");
    }
    let unmovable = table
        .indexes
        .values()
        .filter(|i| on_column(i, &c.name) || index_mentions(i, &c.name))
        .any(|i| moved(i, &c.name, &d.name, declared).is_none());
    if unmovable {
        return Some(
            "columns of an index that is changed, dropped, invalid, or reads the column in an \
             expression or predicate are renamed in place",
        );
    }
    let read_by_view = super::view_dependencies(ctx.current)
        .values()
        .any(|reads| reads.contains(tq));
    if read_by_view {
        return Some("columns of a table a view reads are renamed in place");
    }
    None
}

/// Whether index `i` has column `col` as a plain key or an included column.
fn on_column(i: &Index, col: &str) -> bool {
    i.include.iter().any(|n| n == col)
        || i.keys
            .iter()
            .any(|k| matches!(&k.target, IndexKeyTarget::Column(n) if n == col))
}

/// Whether an expression or the predicate of index `i` mentions `col` (textually: a false
/// positive only costs the online form).
fn index_mentions(i: &Index, col: &str) -> bool {
    i.predicate.as_deref().is_some_and(|p| p.contains(col))
        || i.keys
            .iter()
            .any(|k| matches!(&k.target, IndexKeyTarget::Expression(e) if e.contains(col)))
}

/// `i` with column `from` called `to`.
fn with_column_renamed(i: &Index, from: &str, to: &str) -> Index {
    let mut out = i.clone();
    for k in &mut out.keys {
        if let IndexKeyTarget::Column(n) = &mut k.target {
            if n == from {
                *n = to.to_string();
            }
        }
    }
    for n in &mut out.include {
        if n == from {
            *n = to.to_string();
        }
    }
    out
}

/// The declared twin of `i` (current, on column `from`) once the column is `to`: declared under
/// the same name with the same definition, valid, and naming columns only.
fn moved<'a>(i: &Index, from: &str, to: &str, declared: &'a Table) -> Option<&'a Index> {
    let twin = declared.indexes.get(&i.name)?;
    let plain = i.valid && !index_mentions(i, from);
    let strip = |x: &Index| Index {
        renamed_from: None,
        comment: None,
        ..x.clone()
    };
    (plain && strip(&with_column_renamed(i, from, to)) == strip(twin)).then_some(twin)
}

/// The name of the index built on the new column for index `idx` of `tq`: the first salted
/// temporary name that nothing uses yet, or that an index on the new column left by an
/// interrupted expand already has (`Ctx::fresh_name` would step around that one).
fn index_name(ctx: &Ctx, tq: &QualifiedName, table: &Table, idx: &str, new: &str) -> String {
    let parts = [tq.schema.as_str(), tq.name.as_str(), idx, "rename", new];
    for n in 0..=super::transitional::MAX_SALT {
        let salt = n.to_string();
        let mut salted = parts.to_vec();
        if n > 0 {
            salted.push(&salt);
        }
        let name = super::temp_name("idx", &salted);
        let ours = table.indexes.get(&name).is_some_and(|i| on_column(i, new));
        let used = [ctx.current, ctx.desired]
            .iter()
            .filter_map(|m| m.schemas.get(&tq.schema))
            .any(|s| super::schema_uses(s, &name));
        if ours || !used {
            return name;
        }
    }
    ctx.fresh_name("idx", &tq.schema, &parts)
}

/// Whether `name` is an index an interrupted column rename of a table of `desired` left on
/// the new column (`transitional` leaves it to this module).
pub(crate) fn is_rename_index(
    desired: &Model,
    tq: &QualifiedName,
    table: &Table,
    name: &str,
) -> bool {
    let Some(declared) = desired.table(tq) else {
        return false;
    };
    declared.columns.values().any(|dc| {
        dc.renamed_from.as_ref().is_some_and(|old| {
            table.columns.contains_key(old)
                && table.columns.contains_key(&dc.name)
                && !declared.columns.contains_key(old)
                && table
                    .indexes
                    .values()
                    .filter(|i| on_column(i, old))
                    .any(|i| {
                        let parts = [
                            tq.schema.as_str(),
                            tq.name.as_str(),
                            &i.name,
                            "rename",
                            &dc.name,
                        ];
                        (0..=super::transitional::MAX_SALT).any(|n| {
                            let salt = n.to_string();
                            let mut salted = parts.to_vec();
                            if n > 0 {
                                salted.push(&salt);
                            }
                            super::temp_name("idx", &salted) == name
                        })
                    })
        })
    })
}

/// Plan the column renames of table `c` (current) into `d` (declared, `tq`) that are made by
/// expand and contract, and those an interrupted apply left half done. Returns the current
/// table as the rest of the table's diff must see it (the renamed columns and their indexes
/// as declared, the leftovers gone), or `None` when no rename is made here: atomic renames are
/// left to `tables`, which calls [`atomic_column`].
pub(super) fn columns(
    ctx: &mut Ctx,
    names: &Names,
    (schema, c, d): (&Schema, &Table, &Table),
    tq: &QualifiedName,
) -> Option<Table> {
    let mut seen = c.clone();
    let mut any = false;
    for dc in d.columns.values() {
        let Some(old) = dc.renamed_from.as_deref() else {
            continue;
        };
        let Some(oc) = c.columns.get(old) else {
            continue;
        };
        if d.columns.contains_key(old) {
            continue;
        }
        let resumed = c.columns.get(&dc.name);
        match resumed {
            None if ctx.desired.rename_is_atomic(tq, Some(&dc.name)) => {
                // `RENAME COLUMN` renames the column in every key and index that lists it.
                any = true;
                follow_atomic(&mut seen, old, &dc.name);
                continue;
            }
            None => {
                if let Some(why) = why_column_not_online(ctx, tq, (c, d), oc, dc) {
                    refuse(ctx, &format!("column {tq}.{old}"), &dc.name, why);
                    continue;
                }
            }
            // Both columns exist: the rename was started by an apply that did not finish (or
            // its contract has not run). Finished from where it is when it still can be.
            Some(nc) => {
                let bare = |x: &Column| Column {
                    name: String::new(),
                    not_null: false,
                    default: None,
                    comment: None,
                    renamed_from: None,
                    ..x.clone()
                };
                if bare(nc) != bare(dc) || why_column_not_online(ctx, tq, (c, d), oc, dc).is_some()
                {
                    continue;
                }
            }
        }
        any = true;
        expand_column(ctx, names, (schema, c, d), tq, oc, dc, resumed);
        seen.columns.shift_remove(old);
        seen.columns.insert(dc.name.clone(), dc.clone());
        let leftovers: Vec<String> = seen
            .indexes
            .keys()
            .filter(|n| is_rename_index(ctx.desired, tq, c, n))
            .cloned()
            .collect();
        for n in leftovers {
            seen.indexes.shift_remove(&n);
        }
        for i in seen.indexes.values_mut() {
            if on_column(i, old) {
                let comment = d.indexes.get(&i.name).and_then(|t| t.comment.clone());
                *i = with_column_renamed(i, old, &dc.name);
                i.comment = comment;
            }
        }
    }
    any.then_some(seen)
}

/// Column `from` of `t` called `to` wherever a key, constraint or index lists it by name, as
/// `RENAME COLUMN` leaves them (expressions are left alone: a difference there only costs a
/// rebuild).
fn follow_atomic(t: &mut Table, from: &str, to: &str) {
    let follow = |cols: &mut Vec<String>| {
        for n in cols.iter_mut() {
            if n == from {
                *n = to.to_string();
            }
        }
    };
    if let Some(pk) = &mut t.primary_key {
        follow(&mut pk.columns);
        follow(&mut pk.include);
    }
    for u in t.uniques.values_mut() {
        follow(&mut u.columns);
        follow(&mut u.include);
    }
    for fk in t.foreign_keys.values_mut() {
        follow(&mut fk.columns);
    }
    for i in t.indexes.values_mut() {
        *i = with_column_renamed(i, from, to);
    }
}

/// The drafts renaming column `oc` into `dc` by expand and contract; `resumed` is the new
/// column when an earlier apply already added it.
fn expand_column(
    ctx: &mut Ctx,
    names: &Names,
    (schema, c, d): (&Schema, &Table, &Table),
    tq: &QualifiedName,
    oc: &Column,
    dc: &Column,
    resumed: Option<&Column>,
) {
    let t = qualified(tq);
    let (old, new) = (quote_ident(&oc.name), quote_ident(&dc.name));
    let shown = format!("{tq}.{}", oc.name);
    let sync = ctx.fresh_name("rename", &tq.schema, &[&tq.schema, &tq.name, &dc.name]);
    let func = qn(&tq.schema, &sync);
    let trigger = quote_ident(&sync);
    let again = if resumed.is_some() {
        " (again: an earlier apply stopped half way)"
    } else {
        ""
    };

    if resumed.is_none() {
        let bare = Column {
            default: None,
            not_null: false,
            comment: None,
            renamed_from: None,
            ..dc.clone()
        };
        ctx.push(Draft::new(
            Stage::Columns,
            format!(
                "add column {} to {tq}, the new name of {shown} (nullable, no default: no \
                 rewrite)",
                dc.name
            ),
            format!("ALTER TABLE {t} ADD COLUMN {}", ddl::column(names, &bare)),
        ));
    }
    let body = format!(
        "RETURNS trigger LANGUAGE plpgsql AS $formwork$\nBEGIN\n    \
         IF TG_OP = 'INSERT' THEN\n        \
         IF NEW.{old} IS NULL THEN\n            NEW.{old} := NEW.{new};\n        \
         ELSE\n            NEW.{new} := NEW.{old};\n        END IF;\n    \
         ELSIF NEW.{new} IS DISTINCT FROM OLD.{new} THEN\n        NEW.{old} := NEW.{new};\n    \
         ELSE\n        NEW.{new} := NEW.{old};\n    END IF;\n    RETURN NEW;\nEND\n$formwork$"
    );
    let create_trigger = format!(
        "CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE ON {t} FOR EACH ROW \
         EXECUTE FUNCTION {func}()"
    );
    if resumed.is_none() {
        ctx.push(Draft::new(
            Stage::Columns,
            format!(
                "create the function that keeps {shown} and {tq}.{} equal on every write",
                dc.name
            ),
            format!("CREATE FUNCTION {func}() {body}"),
        ));
        ctx.push(Draft::new(
            Stage::Columns,
            format!(
                "keep {shown} and {tq}.{} equal on every insert and update",
                dc.name
            ),
            create_trigger,
        ));
    } else {
        // Whether the function and trigger were created is not in the model: both again.
        ctx.push(Draft::new(
            Stage::Columns,
            format!(
                "create the function that keeps {shown} and {tq}.{} equal on every write{again}",
                dc.name
            ),
            format!("CREATE OR REPLACE FUNCTION {func}() {body}"),
        ));
        ctx.push(Draft::new(
            Stage::Columns,
            format!(
                "keep {shown} and {tq}.{} equal on every insert and update{again}",
                dc.name
            ),
            if ctx.pg_major >= 14 {
                create_trigger.replacen("CREATE TRIGGER", "CREATE OR REPLACE TRIGGER", 1)
            } else {
                format!("DROP TRIGGER IF EXISTS {trigger} ON {t};\n{create_trigger}")
            },
        ));
    }
    ctx.push(Draft::backfill(
        Stage::Columns,
        format!(
            "copy {shown} into {tq}.{} in existing rows, in batches{again}",
            dc.name
        ),
        crate::plan::Backfill {
            table: tq.clone(),
            key: super::tables::batch_key(c, d),
            set: vec![crate::plan::Assignment {
                column: dc.name.clone(),
                expression: old.clone(),
            }],
            predicate: Some(format!("{new} IS DISTINCT FROM {old}")),
        },
    ));
    // The defaults move together, so that at no moment does an insert get a default on one
    // side only (the trigger then copies the other side over it).
    let current_default = resumed.map_or(&None, |r| &r.default);
    let mut defaults = Vec::new();
    if dc.default != *current_default {
        defaults.push(match &dc.default {
            Some(def) => format!("ALTER COLUMN {new} SET DEFAULT {def}"),
            None => format!("ALTER COLUMN {new} DROP DEFAULT"),
        });
    }
    if oc.default.is_some() {
        defaults.push(format!("ALTER COLUMN {old} DROP DEFAULT"));
    }
    if !defaults.is_empty() {
        ctx.push(Draft::new(
            Stage::Columns,
            format!(
                "move the default from {shown} to {tq}.{} (the trigger fills the old column)",
                dc.name
            ),
            format!("ALTER TABLE {t} {}", defaults.join(", ")),
        ));
    }
    if dc.not_null && !resumed.is_some_and(|r| r.not_null) {
        super::tables::set_not_null(ctx, tq, &dc.name);
    }
    if dc.comment.is_some() && resumed.is_none_or(|r| r.comment != dc.comment) {
        ctx.push(super::comment_on(
            format!("COLUMN {t}.{new}"),
            format!("column {tq}.{}", dc.name),
            dc.comment.as_deref(),
        ));
    }

    let mut contract = vec![
        format!("ALTER TABLE {t} DROP COLUMN {old}"),
        format!("DROP TRIGGER {trigger} ON {t}"),
        format!("DROP FUNCTION {func}()"),
    ];
    for idx in c.indexes.values().filter(|i| on_column(i, &oc.name)) {
        let Some(twin) = moved(idx, &oc.name, &dc.name, d) else {
            continue;
        };
        let temp = index_name(ctx, tq, c, &idx.name, &dc.name);
        let left = c.indexes.get(&temp);
        if let Some(l) = left.filter(|l| !l.valid) {
            ctx.push(
                Draft::new(
                    Stage::Relax,
                    format!(
                        "drop index {} of {tq} without blocking writes (INVALID, left by an \
                         interrupted build)",
                        l.name
                    ),
                    format!("DROP INDEX CONCURRENTLY {}", qn(&tq.schema, &temp)),
                )
                .outside_transaction(),
            );
        }
        if !left.is_some_and(|l| l.valid) {
            let mut building = twin.clone();
            building.name.clone_from(&temp);
            ctx.push(
                Draft::new(
                    Stage::NotNull,
                    format!(
                        "build index {} on {tq}.{} as {temp}, without blocking writes",
                        idx.name, dc.name
                    ),
                    ddl::create_index_with(names, schema, d, &building, true),
                )
                .outside_transaction(),
            );
            if twin.comment.is_some() {
                ctx.push(super::comment_on(
                    format!("INDEX {}", qn(&tq.schema, &temp)),
                    format!("index {}", display(&tq.schema, &temp)),
                    twin.comment.as_deref(),
                ));
            }
        }
        contract.push(format!(
            "ALTER INDEX {} RENAME TO {}",
            qn(&tq.schema, &temp),
            quote_ident(&idx.name)
        ));
    }
    // The first statement takes ACCESS EXCLUSIVE on the table, which covers the rest (the
    // step's locks are read from it).
    ctx.push(
        Draft::new(
            Stage::DropColumn,
            format!(
                "drop the old column {shown} with its sync trigger (contract of the rename to {})",
                dc.name
            ),
            contract.join(";\n"),
        )
        .hazard(
            HazardKind::BreaksCompatibility,
            format!("clients still using column {} break", oc.name),
        ),
    );
}

/// The atomic `RENAME COLUMN` of `cc` into `dc` on `tq` (current table `c`, declared `d`), for
/// a rename declared `rename="atomic"` (or refused already by [`columns`]).
pub(super) fn atomic_column(
    ctx: &mut Ctx,
    tq: &QualifiedName,
    (c, d): (&Table, &Table),
    cc: &Column,
    dc: &Column,
) {
    let why =
        why_column_not_online(ctx, tq, (c, d), cc, dc).unwrap_or("declared rename=\"atomic\"");
    ctx.push(
        Draft::new(
            Stage::Rename,
            format!(
                "rename column {tq}.{} to {} at once ({why})",
                cc.name, dc.name
            ),
            format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                qualified(tq),
                quote_ident(&cc.name),
                quote_ident(&dc.name)
            ),
        )
        .hazard(
            HazardKind::BreaksCompatibility,
            format!("clients using column {} break", cc.name),
        ),
    );
}

/// The table whose old name view `v` of schema `schema` keeps, when the view is the one a
/// table rename left: not declared, the declaration has a table of that schema with
/// `renamed-from` its name, and its query only lists plain columns of that table.
pub fn transitional_view(
    current: &Model,
    desired: &Model,
    schema: &str,
    v: &View,
) -> Option<QualifiedName> {
    let ds = desired.schemas.get(schema)?;
    if ds.views.contains_key(&v.name) || ds.tables.contains_key(&v.name) {
        return None;
    }
    let table = ds
        .tables
        .values()
        .find(|t| t.renamed_from.as_deref() == Some(v.name.as_str()))?;
    let current_table = current.schemas.get(schema)?.tables.get(&table.name)?;
    let (from, columns) = pass_through(&v.query)?;
    let named = from.last().is_some_and(|n| *n == table.name)
        && (from.len() == 1 || from.first().is_some_and(|s| s == schema));
    (named
        && v.options.is_empty()
        && columns
            .iter()
            .all(|c| current_table.columns.contains_key(c)))
    .then(|| QualifiedName::new(schema, &table.name))
}

/// For `SELECT a, t.b, ... FROM [s.]t [alias]` with nothing else: the table's name parts and
/// the columns, each selected under its own name.
fn pass_through(query: &str) -> Option<(Vec<String>, Vec<String>)> {
    use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement, TableFactor};
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let mut parsed = sqlparser::parser::Parser::parse_sql(&dialect, query).ok()?;
    if parsed.len() != 1 {
        return None;
    }
    let Statement::Query(q) = parsed.pop()? else {
        return None;
    };
    if q.with.is_some() || q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
        return None;
    }
    let SetExpr::Select(sel) = *q.body else {
        return None;
    };
    if sel.distinct.is_some()
        || sel.selection.is_some()
        || sel.having.is_some()
        || sel.from.len() != 1
        || !sel.from[0].joins.is_empty()
        || sel.group_by != sqlparser::ast::GroupByExpr::Expressions(vec![], vec![])
    {
        return None;
    }
    let TableFactor::Table {
        name, args: None, ..
    } = &sel.from[0].relation
    else {
        return None;
    };
    let from: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(|i| i.value.clone()))
        .collect::<Option<_>>()?;
    let columns = sel
        .projection
        .iter()
        .map(|item| {
            let (expr, alias) = match item {
                SelectItem::UnnamedExpr(e) => (e, None),
                SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
                _ => return None,
            };
            let col = match expr {
                Expr::Identifier(i) => i.value.clone(),
                Expr::CompoundIdentifier(parts) if parts.len() == 2 => parts[1].value.clone(),
                _ => return None,
            };
            (alias.is_none() || alias.as_deref() == Some(col.as_str())).then_some(col)
        })
        .collect::<Option<Vec<_>>>()?;
    Some((from, columns))
}

#[cfg(test)]
mod tests {
    use super::pass_through;

    #[test]
    fn pass_through_views_are_told_from_other_queries() {
        let (from, cols) =
            pass_through("SELECT users_1.id,\n    users_1.email\n   FROM users users_1;").unwrap();
        assert_eq!(from, ["users"]);
        assert_eq!(cols, ["id", "email"]);
        let (from, cols) = pass_through("SELECT id, \"Mail\" AS \"Mail\" FROM app.users").unwrap();
        assert_eq!(from, ["app", "users"]);
        assert_eq!(cols, ["id", "Mail"]);
        for other in [
            "SELECT id FROM users WHERE id > 1",
            "SELECT id AS other FROM users",
            "SELECT lower(email) FROM users",
            "SELECT u.id FROM users u JOIN orders o ON o.user_id = u.id",
            "SELECT DISTINCT id FROM users",
            "SELECT * FROM users",
            "SELECT id FROM users ORDER BY id",
            "not sql",
        ] {
            assert!(pass_through(other).is_none(), "{other}");
        }
    }
}
