//! Tables and their columns. Constraints and indexes of tables on both sides are compared by
//! `constraints` and `indexes`.
//!
//! A new table is created whole, as `ddl` writes it (its foreign keys after every table
//! exists). On an existing table, columns are added, retyped and dropped one statement each
//! (renames are `renames`' business, and rewriting type changes `retype`'s); `SET NOT NULL` goes through a validated `CHECK (col IS NOT NULL)` so the
//! scan happens without blocking writes, and the exclusive lock that follows is brief.

use super::constraints::drop_foreign_key;
use super::{Ctx, Draft, Stage, display, loss, pair, pair_in_schemas};
use crate::ddl::table::{self as ddl, Names};
use crate::model::{
    Column, DataLossKind, GeneratedKind, IdentityKind, QualifiedName, Schema, Table,
};
use crate::plan::HazardKind;
use crate::sql::{qualified, quote_ident, quote_literal};

pub(super) fn diff(ctx: &mut Ctx) {
    let (current, desired) = (ctx.current, ctx.desired);
    let names = Names::of(desired);
    let pairs = pair_in_schemas(current, desired, |s| &s.tables, |t| t.renamed_from.as_ref());
    for (sname, p) in &pairs {
        for d in &p.created {
            ctx.new_tables.insert(QualifiedName::new(*sname, &d.name));
        }
    }
    let mut dropped: Vec<(&str, &Table)> = Vec::new();
    let mut created: Vec<(&Schema, &Table)> = Vec::new();
    for (sname, p) in pairs {
        // Created and matched tables only come from schemas the declaration has.
        if let Some(ds) = desired.schemas.get(sname) {
            created.extend(p.created.into_iter().map(|d| (ds, d)));
            for (c, d, renamed) in p.matched {
                if super::partitions::check_alter(ctx, sname, c, d) {
                    alter(ctx, &names, ds, c, d, renamed);
                }
            }
        }
        dropped.extend(
            p.dropped
                .into_iter()
                .filter(|t| !super::partitions::drop_partition(ctx, sname, t))
                .map(|t| (sname, t)),
        );
    }
    // Partitioned tables before their partitions.
    created.sort_by_key(|(_, t)| crate::ddl::partitions::depth(desired, t));
    for (ds, d) in created {
        if super::partitions::attaches(ctx, d) {
            super::partitions::create_attached(ctx, &names, ds, d);
        } else {
            create(ctx, &names, ds, d);
        }
    }
    drop_tables(ctx, &dropped);
}

fn create(ctx: &mut Ctx, names: &Names, schema: &Schema, t: &Table) {
    let q = display(&schema.name, &t.name);
    ctx.push(Draft::new(
        Stage::CreateTable,
        format!("create table {q}"),
        ddl::create_table(names, schema, t),
    ));
    for idx in t.indexes.values() {
        ctx.push(Draft::new(
            Stage::CreateIndex,
            format!("create index {} on new table {q}", idx.name),
            ddl::create_index(names, schema, t, idx),
        ));
    }
    for sql in ddl::deferred_constraints(schema, t) {
        ctx.push(Draft::new(
            Stage::AddForeignKey,
            format!("add a constraint to new table {q}"),
            sql,
        ));
    }
    for sql in ddl::comments(schema, t) {
        ctx.push(Draft::new(
            Stage::Comment,
            format!("comment on new table {q}"),
            sql,
        ));
    }
    super::policies::create(ctx, &QualifiedName::new(&schema.name, &t.name), t);
}

/// Drop tables, foreign keys between them first so that the order among them does not matter.
fn drop_tables(ctx: &mut Ctx, dropped: &[(&str, &Table)]) {
    let gone: std::collections::HashSet<QualifiedName> = dropped
        .iter()
        .map(|(s, t)| QualifiedName::new(*s, &t.name))
        .collect();
    for (schema, t) in dropped {
        let tq = QualifiedName::new(*schema, &t.name);
        for fk in t.foreign_keys.values() {
            if gone.contains(&fk.references) && fk.references != tq {
                ctx.push(drop_foreign_key(
                    Stage::DropTable,
                    &tq,
                    &fk.name,
                    &fk.references,
                    "both tables go away",
                ));
            }
        }
    }
    for (schema, t) in dropped {
        let tq = QualifiedName::new(*schema, &t.name);
        // A view that survives while reading this table reads its successor of the same name:
        // it is recreated around the replacement.
        ctx.reshaped_tables.insert(tq.clone());
        // A foreign key into a table whose keys change must go before the key does, which
        // happens in the expand phase.
        for fk in t.foreign_keys.values() {
            if gone.contains(&fk.references) || !keys_change(ctx, &fk.references) {
                continue;
            }
            ctx.push(drop_foreign_key(
                Stage::RelaxForeignKeys,
                &tq,
                &fk.name,
                &fk.references,
                "the key it references changes; the table goes away later",
            ));
        }
        // A view taking the table's name must be created in the expand phase, after the table
        // is gone.
        let replaced = ctx.desired.schemas.get(*schema).is_some_and(|s| {
            s.views.contains_key(&t.name) || s.materialized_views.contains_key(&t.name)
        });
        let q = display(schema, &t.name);
        // Foreign keys still in place go with the table, and lock what they reference.
        let referenced: Vec<QualifiedName> = t
            .foreign_keys
            .values()
            .map(|fk| &fk.references)
            .filter(|r| !gone.contains(*r) && !keys_change(ctx, r))
            .map(|r| ctx.renamed(r))
            .collect();
        let mut draft = Draft::new(
            if replaced {
                Stage::DropForReplace
            } else {
                Stage::DropTable
            },
            format!("drop table {q}"),
            format!("DROP TABLE {}", qualified(&tq)),
        )
        .loses(
            loss(DataLossKind::Table, schema, &t.name, None),
            format!("drops table {q} and every row in it"),
        )
        .hazard(
            HazardKind::BreaksCompatibility,
            format!("clients still using {q} break"),
        );
        for r in referenced {
            draft = draft.also_locks(crate::locks::LockMode::AccessExclusive, r);
        }
        ctx.push(draft);
    }
}

/// Whether the primary key or unique constraints of a table change between the two models.
fn keys_change(ctx: &Ctx, table: &QualifiedName) -> bool {
    match (ctx.current.table(table), ctx.desired.table(table)) {
        (Some(c), Some(d)) => c.primary_key != d.primary_key || c.uniques != d.uniques,
        _ => false,
    }
}

fn alter(ctx: &mut Ctx, names: &Names, schema: &Schema, c: &Table, d: &Table, renamed: bool) {
    let sname = &schema.name;
    let tq = QualifiedName::new(sname, &d.name);
    let t = qualified(&tq);
    let shown = display(sname, &d.name);
    if renamed {
        super::renames::table(ctx, schema, c, d);
    }
    if c.persistence != d.persistence {
        let to = match d.persistence {
            crate::model::Persistence::Permanent => "LOGGED",
            crate::model::Persistence::Unlogged => "UNLOGGED",
        };
        ctx.push(Draft::new(
            Stage::Columns,
            format!("make table {shown} {}", to.to_lowercase()),
            format!("ALTER TABLE {t} SET {to}"),
        ));
    }

    // Renames made by expand and contract are planned there; the rest of the diff compares
    // the table as it will be once they are done.
    let online = super::renames::columns(ctx, names, (schema, c, d), &tq);
    let before = c;
    let c = online.as_ref().unwrap_or(c);
    let p = pair(&c.columns, &d.columns, |col| col.renamed_from.as_ref());
    for (cc, dc, col_renamed) in &p.matched {
        if *col_renamed {
            super::renames::atomic_column(ctx, &tq, (before, d), cc, dc);
        }
    }
    for dc in &p.created {
        let add = format!("ALTER TABLE {t} ADD COLUMN {}", ddl::column(names, dc));
        let declared = ctx
            .desired
            .backfill_of(&tq, &dc.name)
            .filter(|_| dc.generated.is_none() && dc.identity.is_none())
            .map(str::to_string);
        let fill = declared.or_else(|| {
            dc.default
                .clone()
                .filter(|_| default_rewrites(&add, ctx.pg_major))
        });
        if let Some(fill) = fill {
            add_filled_column(ctx, names, c, d, &tq, dc, fill);
        } else {
            ctx.push(Draft::new(
                Stage::Columns,
                format!("add column {shown}.{}", dc.name),
                add,
            ));
        }
        if dc.comment.is_some() {
            ctx.push(column_comment(&t, &shown, dc));
        }
    }
    // Constraints first: a primary key must go before its columns may lose NOT NULL.
    super::constraints::diff_table(ctx, names, schema, c, d);
    for (cc, dc, _) in &p.matched {
        alter_column(ctx, names, (schema, c, d), &tq, cc, dc);
    }
    for cc in &p.dropped {
        ctx.reshaped_tables
            .insert(QualifiedName::new(sname, c.name.as_str()));
        ctx.reshaped_tables.insert(tq.clone());
        ctx.push(
            Draft::new(
                Stage::DropColumn,
                format!("drop column {shown}.{}", cc.name),
                format!("ALTER TABLE {t} DROP COLUMN {}", quote_ident(&cc.name)),
            )
            .loses(
                loss(DataLossKind::Column, sname, &d.name, Some(&cc.name)),
                format!("drops column {shown}.{} and its values", cc.name),
            )
            .hazard(
                HazardKind::BreaksCompatibility,
                format!("clients reading or writing {} break", cc.name),
            ),
        );
    }

    super::indexes::diff_table(ctx, names, schema, c, d);
    super::policies::diff_table(ctx, &tq, c, d);

    if c.comment != d.comment {
        ctx.push(super::comment_on(
            format!("TABLE {t}"),
            format!("table {shown}"),
            d.comment.as_deref(),
        ));
    }
}

/// Whether `ALTER TABLE ... ADD COLUMN` as written would rewrite the table because of its
/// default: the lock classifier's judgement (the one `lint` uses), where a default that calls
/// a function the classifier does not know counts as volatile too, since filling in batches
/// is always safe and a rewrite under ACCESS EXCLUSIVE is not. Identity, serial and generated
/// columns are not judged here: they cannot be filled by an `UPDATE`.
fn default_rewrites(add_column: &str, pg_major: u32) -> bool {
    use crate::lint::classify::{AlterAction, Stmt, Volatility, classify};
    let Some(st) = crate::sqlfile::split(add_column).find_map(|item| match item {
        crate::sqlfile::Item::Statement(st) => Some(st),
        _ => None,
    }) else {
        return false;
    };
    match classify(&st.tokens, pg_major.max(11)).stmt {
        Stmt::AlterTable { actions, .. } => actions.iter().any(|(a, _)| {
            matches!(a, AlterAction::AddColumn(col)
            if !col.generated_stored
                && !col.identity
                && !col.ty.is_serial()
                && col.default.as_ref().is_some_and(|d| {
                    !d.is_null && d.volatility != Volatility::NotVolatile
                }))
        }),
        _ => false,
    }
}

/// A new column whose existing rows need values computed row by row: its default is volatile,
/// or the declaration says how to fill it (`backfill=`). Added without default and nullable
/// (metadata only), given its default if it has one (metadata only; new rows get it from now
/// on), filled in existing rows by a batched backfill of `fill`, then made NOT NULL the online
/// way if declared so. One `ADD COLUMN ... DEFAULT gen_random_uuid()` would rewrite the table
/// under ACCESS EXCLUSIVE instead, and `ADD COLUMN ... NOT NULL` without a default fails on a
/// table that has rows.
fn add_filled_column(
    ctx: &mut Ctx,
    names: &Names,
    c: &Table,
    d: &Table,
    tq: &QualifiedName,
    dc: &Column,
    fill: String,
) {
    let t = qualified(tq);
    let shown = format!("{tq}.{}", dc.name);
    let col = quote_ident(&dc.name);
    let bare = Column {
        default: None,
        not_null: false,
        ..dc.clone()
    };
    ctx.push(Draft::new(
        Stage::Columns,
        format!("add column {shown}, nullable and without default (no rewrite)"),
        format!("ALTER TABLE {t} ADD COLUMN {}", ddl::column(names, &bare)),
    ));
    if let Some(default) = &dc.default {
        ctx.push(Draft::new(
            Stage::Columns,
            format!("set the default of {shown} (new rows get it)"),
            format!("ALTER TABLE {t} ALTER COLUMN {col} SET DEFAULT {default}"),
        ));
    }
    let what = if dc.default.as_ref() == Some(&fill) {
        "its default"
    } else {
        "the declared backfill expression"
    };
    ctx.push(Draft::backfill(
        Stage::Columns,
        format!("fill {shown} in existing rows with {what}, in batches"),
        crate::plan::Backfill {
            table: tq.clone(),
            key: batch_key(c, d),
            set: vec![crate::plan::Assignment {
                column: dc.name.clone(),
                expression: fill,
            }],
            predicate: Some(format!("{col} IS NULL")),
        },
    ));
    if dc.not_null {
        set_not_null(ctx, tq, &dc.name);
    }
}

/// The key a backfill of `d` walks: the primary key, else a unique key over NOT NULL columns,
/// provided the plan changes neither the key nor its columns (the backfill runs between the
/// plan's other steps); else the physical position.
pub(super) fn batch_key(c: &Table, d: &Table) -> crate::plan::BatchKey {
    let typed = |cols: &[String]| -> Option<Vec<crate::plan::KeyColumn>> {
        cols.iter()
            .map(|n| {
                let cc = c.columns.get(n)?;
                let dc = d.columns.get(n)?;
                (cc.not_null && cc.data_type == dc.data_type && cc.collation == dc.collation).then(
                    || crate::plan::KeyColumn {
                        name: n.clone(),
                        data_type: cc.data_type.clone(),
                    },
                )
            })
            .collect()
    };
    if let (Some(cp), Some(dp)) = (&c.primary_key, &d.primary_key) {
        if cp.columns == dp.columns {
            if let Some(k) = typed(&cp.columns) {
                return crate::plan::BatchKey::Columns(k);
            }
        }
    }
    for u in c.uniques.values() {
        if d.uniques
            .get(&u.name)
            .is_some_and(|du| du.columns == u.columns)
        {
            if let Some(k) = typed(&u.columns) {
                return crate::plan::BatchKey::Columns(k);
            }
        }
    }
    crate::plan::BatchKey::Ctid
}

fn column_comment(t: &str, shown: &str, c: &Column) -> Draft {
    super::comment_on(
        format!("COLUMN {t}.{}", quote_ident(&c.name)),
        format!("column {shown}.{}", c.name),
        c.comment.as_deref(),
    )
}

fn alter_column(
    ctx: &mut Ctx,
    names: &Names,
    tables: (&Schema, &Table, &Table),
    tq: &QualifiedName,
    c: &Column,
    d: &Column,
) {
    let t = qualified(tq);
    let shown = format!("{tq}.{}", d.name);
    let col = quote_ident(&d.name);
    let alter = |what: String| format!("ALTER TABLE {t} ALTER COLUMN {col} {what}");

    // Generation first: it decides whether a default or a type change even applies.
    match (&c.generated, &d.generated) {
        (Some(_), None) => ctx.push(Draft::new(
            Stage::Columns,
            format!("stop generating column {shown}"),
            alter("DROP EXPRESSION".into()),
        )),
        (Some(cg), Some(dg)) if cg != dg => {
            if cg.kind != dg.kind || dg.kind != GeneratedKind::Stored {
                ctx.unsupported.push(format!(
                    "column {shown}: changing between stored and virtual generation is not \
                     planned yet"
                ));
            } else if ctx.pg_major >= 17 {
                ctx.push(Draft::new(
                    Stage::Columns,
                    format!("change the expression of generated column {shown}"),
                    alter(format!("SET EXPRESSION AS ({})", dg.expression)),
                ));
            } else {
                // Before PostgreSQL 17 the expression cannot change in place; the column holds
                // nothing but computed values, so it is dropped and added again.
                ctx.reshaped_tables.insert(tq.clone());
                ctx.push(Draft::new(
                    Stage::Columns,
                    format!("drop generated column {shown} to add it with its new expression"),
                    format!("ALTER TABLE {t} DROP COLUMN {col}"),
                ));
                ctx.push(Draft::new(
                    Stage::Columns,
                    format!("add generated column {shown} with its new expression"),
                    format!("ALTER TABLE {t} ADD COLUMN {}", ddl::column(names, d)),
                ));
                return;
            }
        }
        (None, Some(_)) => {
            // PostgreSQL cannot make an existing column generated: the column is replaced, and
            // its stored values with it.
            ctx.reshaped_tables.insert(tq.clone());
            ctx.push(
                Draft::new(
                    Stage::Columns,
                    format!("drop column {shown} to add it back as a generated column"),
                    format!("ALTER TABLE {t} DROP COLUMN {col}"),
                )
                .loses(
                    loss(DataLossKind::Column, &tq.schema, &tq.name, Some(&d.name)),
                    format!("the values of {shown} are replaced by computed ones"),
                ),
            );
            ctx.push(Draft::new(
                Stage::Columns,
                format!("add {shown} as a generated column"),
                format!("ALTER TABLE {t} ADD COLUMN {}", ddl::column(names, d)),
            ));
            return;
        }
        _ => {}
    }

    let retype = c.data_type != d.data_type || c.collation != d.collation;
    let coercible =
        crate::lint::classify::binary_coercible(&type_name(&c.data_type), &type_name(&d.data_type))
            && c.collation == d.collation
            && ctx.desired.conversion_of(tq, &d.name).is_none();
    let in_place = (retype && !coercible)
        .then(|| super::retype::why_not_online(ctx, tq, (tables.1, tables.2), c, d))
        .flatten();
    if retype && !coercible && in_place.is_none() {
        // The old column, its NOT NULL and default stay as they are until the swap: the
        // running application keeps writing through them.
        ctx.reshaped_tables.insert(tq.clone());
        super::retype::expand_contract(ctx, names, tables, tq, c, d);
        return;
    }
    let default_changes = c.default != d.default;
    if c.default.is_some() && (retype || default_changes) && d.identity.is_none()
        || c.default.is_some() && d.identity.is_some()
    {
        // A default of the old type may not cast to the new one; it is set again below.
        ctx.push(Draft::new(
            Stage::Columns,
            format!("drop the default of {shown}"),
            alter("DROP DEFAULT".into()),
        ));
    }
    if retype {
        ctx.reshaped_tables.insert(tq.clone());
        let mut ty = d.data_type.clone();
        if let Some(coll) = &d.collation {
            ty.push_str(&format!(" COLLATE {}", names.object_name(coll)));
        }
        // A USING clause makes PostgreSQL rewrite the table even when the change is binary
        // coercible (varchar widening, numeric precision up, varchar to text), so it is only
        // written when the bytes change anyway.
        // Between a user type (an enum) and anything else there may be no direct cast, but
        // every type has text input and output.
        let user_type = |t: &str| t.contains('.');
        let declared = ctx.desired.conversion_of(tq, &d.name);
        let using = if let Some(u) = declared.filter(|_| d.generated.is_none()) {
            format!(" USING ({u})::{}", d.data_type)
        } else if d.generated.is_some() || coercible {
            String::new()
        } else if user_type(&c.data_type) || user_type(&d.data_type) {
            format!(" USING {col}::text::{}", d.data_type)
        } else {
            format!(" USING {col}::{}", d.data_type)
        };
        let mut draft = Draft::new(
            Stage::Columns,
            if coercible && d.generated.is_none() {
                format!(
                    "change the type of {shown} from {} to {} (binary coercible: metadata only, \
                     no rewrite or scan)",
                    c.data_type, d.data_type
                )
            } else {
                format!(
                    "change the type of {shown} from {} to {} (rewrites the table: {})",
                    c.data_type,
                    d.data_type,
                    in_place.unwrap_or("no online form")
                )
            },
            alter(format!("TYPE {ty}{using}")),
        );
        if narrows(&c.data_type, &d.data_type) {
            draft = draft.loses(
                loss(DataLossKind::Column, &tq.schema, &tq.name, Some(&d.name)),
                format!(
                    "{} to {} can lose or reject values of {shown}",
                    c.data_type, d.data_type
                ),
            );
        }
        ctx.push(draft);
    }
    if let Some(def) = &d.default {
        if retype || default_changes || c.identity.is_some() {
            ctx.push(Draft::new(
                Stage::Columns,
                format!("set the default of {shown}"),
                alter(format!("SET DEFAULT {def}")),
            ));
        }
    }

    if c.not_null && !d.not_null {
        if c.identity.is_some() && d.identity.is_none() {
            // DROP IDENTITY first; an identity column cannot lose NOT NULL.
        } else {
            ctx.push(Draft::new(
                Stage::Relax,
                format!("allow NULL in {shown}"),
                alter("DROP NOT NULL".into()),
            ));
        }
    }
    match (&c.identity, &d.identity) {
        (Some(_), None) => {
            ctx.push(Draft::new(
                Stage::Relax,
                format!("stop {shown} being an identity column"),
                alter("DROP IDENTITY".into()),
            ));
            if !d.not_null {
                ctx.push(Draft::new(
                    Stage::Relax,
                    format!("allow NULL in {shown}"),
                    alter("DROP NOT NULL".into()),
                ));
            }
        }
        (Some(ci), Some(di)) if ci != di => {
            let mut clauses = String::new();
            if ci.kind != di.kind {
                clauses.push_str(match di.kind {
                    IdentityKind::Always => " SET GENERATED ALWAYS",
                    IdentityKind::ByDefault => " SET GENERATED BY DEFAULT",
                });
            }
            for clause in super::sequences::option_clauses(&ci.options, &di.options) {
                // The sequence follows the column's type: `AS` does not apply.
                if !clause.starts_with("AS ") {
                    clauses.push_str(&format!(" SET {clause}"));
                }
            }
            if !clauses.is_empty() {
                let alter = format!("ALTER TABLE {t} ALTER COLUMN {col}{clauses}");
                let sequence = format!(
                    "pg_catalog.pg_get_serial_sequence({}, {})",
                    quote_literal(&t),
                    quote_literal(&d.name)
                );
                let sql = match super::sequences::bound_lift(&sequence, &ci.options, &di.options) {
                    Some(lift) => format!("{lift};\n{alter}"),
                    None => alter,
                };
                ctx.push(Draft::new(
                    Stage::Columns,
                    format!("change identity options of {shown}"),
                    sql,
                ));
            }
        }
        _ => {}
    }
    if !c.not_null && d.not_null {
        set_not_null(ctx, tq, &d.name);
    }
    if let (None, Some(di)) = (&c.identity, &d.identity) {
        let kind = match di.kind {
            IdentityKind::Always => "ALWAYS",
            IdentityKind::ByDefault => "BY DEFAULT",
        };
        let opts = crate::ddl::sequence_options(&di.options, false);
        let opts = if opts.is_empty() {
            String::new()
        } else {
            format!(" ({})", opts.trim_start())
        };
        ctx.push(Draft::new(
            Stage::NotNull,
            format!("make {shown} an identity column"),
            alter(format!("ADD GENERATED {kind} AS IDENTITY{opts}")),
        ));
    }
    if c.comment != d.comment {
        ctx.push(column_comment(&t, &tq.to_string(), d));
    }
}

/// The online `SET NOT NULL`: a `NOT VALID` check proves the column has no NULLs while
/// writes continue (validation takes SHARE UPDATE EXCLUSIVE), after which `SET NOT NULL`
/// skips its own scan and holds ACCESS EXCLUSIVE only briefly.
pub(super) fn set_not_null(ctx: &mut Ctx, tq: &QualifiedName, column: &str) {
    let t = qualified(tq);
    let shown = format!("{tq}.{column}");
    let check = ctx.fresh_name("notnull", &tq.schema, &[&tq.schema, &tq.name, column]);
    let col = quote_ident(column);
    let chk = quote_ident(&check);
    if ctx.new_tables.contains(tq) {
        ctx.push(Draft::new(
            Stage::NotNull,
            format!("make {shown} NOT NULL"),
            format!("ALTER TABLE {t} ALTER COLUMN {col} SET NOT NULL"),
        ));
        return;
    }
    // An interrupted apply left this sequence's check: continue with it.
    let resumed = ctx
        .resumed_not_null
        .get(&(tq.clone(), column.to_string()))
        .cloned();
    let (chk, validated) = match resumed {
        Some((name, valid)) => (quote_ident(&name), Some(valid)),
        None => (chk, None),
    };
    let again = if validated.is_some() {
        " (transitional check left by an interrupted apply)"
    } else {
        ""
    };
    if validated.is_none() {
        ctx.push(Draft::new(
            Stage::NotNull,
            format!("check that {shown} holds no NULL (not validated yet)"),
            format!("ALTER TABLE {t} ADD CONSTRAINT {chk} CHECK ({col} IS NOT NULL) NOT VALID"),
        ));
    }
    if validated != Some(true) {
        ctx.push(Draft::new(
            Stage::NotNull,
            format!("validate that {shown} holds no NULL, without blocking writes{again}"),
            format!("ALTER TABLE {t} VALIDATE CONSTRAINT {chk}"),
        ));
    }
    ctx.push(
        Draft::new(
            Stage::NotNull,
            format!("make {shown} NOT NULL (proven by the validated check, no scan)"),
            format!("ALTER TABLE {t} ALTER COLUMN {col} SET NOT NULL"),
        )
        .without_scan(),
    );
    ctx.push(Draft::new(
        Stage::NotNull,
        format!("drop the temporary check on {shown}{again}"),
        format!("ALTER TABLE {t} DROP CONSTRAINT {chk}"),
    ));
}

/// Whether changing a column's type from `old` to `new` can lose or reject values. Widening
/// (integer to bigint, to numeric or text, a longer varchar, float precision up) cannot.
pub(crate) fn narrows(old: &str, new: &str) -> bool {
    let (o, n) = (base(old), base(new));
    if old.ends_with("[]") != new.ends_with("[]") {
        return true;
    }
    if n.0 == "text" && !o.0.is_empty() {
        return false;
    }
    let rank = |t: &str| match t {
        "smallint" => Some(1),
        "integer" => Some(2),
        "bigint" => Some(3),
        "numeric" => Some(4),
        _ => None,
    };
    if let (Some(a), Some(b)) = (rank(&o.0), rank(&n.0)) {
        return b < a || (a == 4 && b == 4 && !wider_mods(&o.1, &n.1));
    }
    let float = |t: &str| match t {
        "real" => Some(1),
        "double precision" => Some(2),
        _ => None,
    };
    if let (Some(a), Some(b)) = (float(&o.0), float(&n.0)) {
        return b < a;
    }
    if o.0 == n.0 {
        return !wider_mods(&o.1, &n.1);
    }
    let texty = |t: &str| matches!(t, "character varying" | "text" | "character");
    if texty(&o.0) && n.0 == "character varying" {
        return !(o.0 == "character varying" && wider_mods(&o.1, &n.1));
    }
    true
}

/// A catalog type as the lock classifier's [`TypeName`](crate::lint::classify::TypeName).
fn type_name(t: &str) -> crate::lint::classify::TypeName {
    let (b, mods) = base(t);
    crate::lint::classify::TypeName {
        base: crate::lint::classify::canonical_type(&b),
        mods,
        array: t.trim().ends_with("[]"),
    }
}

/// `character varying(20)` → (`character varying`, [20]).
fn base(t: &str) -> (String, Vec<i64>) {
    let t = t.trim().trim_end_matches("[]");
    match t.split_once('(') {
        Some((b, rest)) => {
            let inner = rest.split(')').next().unwrap_or("");
            let mods = inner
                .split(',')
                .filter_map(|m| m.trim().parse().ok())
                .collect();
            let suffix = rest.split_once(')').map_or("", |(_, s)| s).trim();
            let mut b = b.trim().to_string();
            if !suffix.is_empty() {
                b.push(' ');
                b.push_str(suffix);
            }
            (b, mods)
        }
        None => (t.to_string(), Vec::new()),
    }
}

/// Whether modifiers `new` allow every value `old` does: no limit, or each limit at least as
/// large (for numeric(p,s), more integer digits and at least as many decimals).
fn wider_mods(old: &[i64], new: &[i64]) -> bool {
    match (old, new) {
        (_, []) => true,
        ([], _) => false,
        ([a], [b]) => b >= a,
        ([p1, s1], [p2, s2]) => s2 >= s1 && (p2 - s2) >= (p1 - s1),
        ([p1], [p2, s2]) => (p2 - s2) >= *p1,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::default_rewrites;

    #[test]
    fn only_defaults_that_give_each_row_its_own_value_are_backfilled() {
        let add = |default: &str| {
            default_rewrites(
                &format!("ALTER TABLE \"public\".\"t\" ADD COLUMN \"c\" text DEFAULT {default}"),
                15,
            )
        };
        for volatile in [
            "gen_random_uuid()",
            "clock_timestamp()",
            "(random() * 10)",
            "nextval('public.t_c_seq'::regclass)",
            "my_function()",
        ] {
            assert!(add(volatile), "{volatile}");
        }
        for constant in [
            "'x'::text",
            "now()",
            "CURRENT_TIMESTAMP",
            "'{}'::jsonb",
            "0",
            "NULL",
            "lower('A'::text)",
        ] {
            assert!(!add(constant), "{constant}");
        }
        assert!(
            !default_rewrites(
                "ALTER TABLE t ADD COLUMN c bigint GENERATED ALWAYS AS IDENTITY",
                15
            ),
            "identity columns are not filled by an UPDATE"
        );
    }
}
