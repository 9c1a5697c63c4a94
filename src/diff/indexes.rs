//! Indexes (those that do not back a constraint) of a table that exists on both sides.
//!
//! On an existing table every build and drop is `CONCURRENTLY`, outside a transaction: writes
//! continue while the index is built or removed.
//!
//! A changed index is replaced without a moment in which neither exists: the new definition is
//! built concurrently under a temporary name, the old index dropped concurrently, and the new
//! one renamed to the declared name (`ALTER INDEX ... RENAME` takes SHARE UPDATE EXCLUSIVE on
//! the index only, which no query conflicts with). An INVALID index (a failed concurrent
//! build) is a difference like any other and is replaced the same way; it served no query, but
//! one mechanism is simpler to reason about than two.

use super::{Ctx, Draft, Stage, pair};
use crate::ddl::table::{self as ddl, Names};
use crate::model::{Index, QualifiedName, Schema, Table};
use crate::sql::{qualified, quote_ident};

pub(super) fn diff_table(ctx: &mut Ctx, names: &Names, schema: &Schema, c: &Table, d: &Table) {
    let tq = QualifiedName::new(&schema.name, &d.name);
    let p = pair(&c.indexes, &d.indexes, |i| i.renamed_from.as_ref());
    for (ci, di, renamed) in p.matched {
        if renamed {
            ctx.push(Draft::new(
                Stage::Rename,
                format!("rename index {} of {tq} to {}", ci.name, di.name),
                format!(
                    "ALTER INDEX {} RENAME TO {}",
                    qualified(&QualifiedName::new(&schema.name, &ci.name)),
                    quote_ident(&di.name)
                ),
            ));
        }
        if !same_index(ci, di) || !ci.valid {
            replace(ctx, names, schema, d, di, ci.valid);
        } else if ci.comment != di.comment {
            ctx.push(comment(&schema.name, di));
        }
    }
    for di in p.created {
        if d.partition_by.is_some() {
            if !super::partitions::create_index(ctx, names, schema, d, di) {
                // Partitions partitioned in turn: built the blocking way.
                ctx.push(Draft::new(
                    Stage::CreateIndex,
                    format!("build index {} on partitioned table {tq}", di.name),
                    ddl::create_index(names, schema, d, di),
                ));
            }
            continue;
        }
        create(ctx, names, schema, d, di);
    }
    for ci in p.dropped {
        if d.partition_by.is_some() {
            let draft = super::partitions::drop_index(ctx, &tq, &ci.name);
            ctx.push(draft);
            continue;
        }
        ctx.push(
            Draft::new(
                Stage::DropIndex,
                format!("drop index {} of {tq} without blocking writes", ci.name),
                drop_sql(&schema.name, &ci.name),
            )
            .outside_transaction(),
        );
    }
}

fn same_index(a: &Index, b: &Index) -> bool {
    a.unique == b.unique
        && a.method == b.method
        && a.keys == b.keys
        && a.include == b.include
        && a.predicate == b.predicate
        && a.nulls_not_distinct == b.nulls_not_distinct
}

fn drop_sql(schema: &str, name: &str) -> String {
    format!(
        "DROP INDEX CONCURRENTLY {}",
        qualified(&QualifiedName::new(schema, name))
    )
}

fn create(ctx: &mut Ctx, names: &Names, schema: &Schema, t: &Table, idx: &Index) {
    ctx.push(
        Draft::new(
            Stage::CreateIndex,
            format!(
                "build index {} on {} without blocking writes",
                idx.name,
                super::display(&schema.name, &t.name)
            ),
            ddl::create_index_with(names, schema, t, idx, true),
        )
        .outside_transaction(),
    );
    if idx.comment.is_some() {
        ctx.push(comment(&schema.name, idx));
    }
}

/// Build `idx` under a temporary name, drop the index of that name, rename the new one.
fn replace(ctx: &mut Ctx, names: &Names, schema: &Schema, t: &Table, idx: &Index, valid: bool) {
    let tq = QualifiedName::new(&schema.name, &t.name);
    let why = if valid {
        "its definition changed"
    } else {
        "it is INVALID (a failed concurrent build)"
    };
    let temp = ctx.fresh_name("idx", &schema.name, &[&schema.name, &t.name, &idx.name]);
    let mut building = idx.clone();
    building.name.clone_from(&temp);
    ctx.push(
        Draft::new(
            Stage::CreateIndex,
            format!(
                "build the new definition of index {} on {tq} as {temp}, without blocking \
                 writes ({why})",
                idx.name
            ),
            ddl::create_index_with(names, schema, t, &building, true),
        )
        .outside_transaction(),
    );
    ctx.push(
        Draft::new(
            Stage::ReplaceIndex,
            format!(
                "drop the old index {} of {tq} without blocking writes (its replacement {temp} \
                 is built)",
                idx.name
            ),
            drop_sql(&schema.name, &idx.name),
        )
        .outside_transaction(),
    );
    ctx.push(Draft::new(
        Stage::ReplaceIndex,
        format!(
            "rename index {temp} of {tq} to {} (SHARE UPDATE EXCLUSIVE on the index only)",
            idx.name
        ),
        format!(
            "ALTER INDEX {} RENAME TO {}",
            qualified(&QualifiedName::new(&schema.name, &temp)),
            quote_ident(&idx.name)
        ),
    ));
    if idx.comment.is_some() {
        ctx.push(comment(&schema.name, idx));
    }
}

fn comment(schema: &str, idx: &Index) -> Draft {
    super::comment_on(
        format!("INDEX {}", super::qn(schema, &idx.name)),
        format!("index {}", super::display(schema, &idx.name)),
        idx.comment.as_deref(),
    )
}
