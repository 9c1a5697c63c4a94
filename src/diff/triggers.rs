//! Triggers: created after their table and function, changed in place with
//! `CREATE OR REPLACE TRIGGER` (PostgreSQL 14+, one statement, no window without the trigger),
//! switched with `ALTER TABLE ... ENABLE/DISABLE [REPLICA | ALWAYS] TRIGGER`, renamed with
//! `ALTER TRIGGER ... RENAME TO` (`renamed-from`), and dropped in the contract phase.
//!
//! A trigger whose function is dropped and created again (`functions`) is dropped before and
//! created after it. Constraint triggers cannot be replaced in place: they are dropped and
//! created again. Triggers of a table that is dropped go with it. Locks: creating, replacing
//! and switching a trigger take SHARE ROW EXCLUSIVE on the table (reads go on, writes wait);
//! dropping and renaming take ACCESS EXCLUSIVE, briefly. This module writes SQL text only.

use super::{Ctx, Draft, Stage};
use crate::ddl::functions::{create_trigger, trigger_state};
use crate::model::{QualifiedName, Trigger, TriggerState};
use crate::plan::HazardKind;
use crate::sql::{qualified, quote_ident, quote_literal};

/// Everything but the name, state and comment: what `CREATE OR REPLACE TRIGGER` changes.
fn definition_differs(c: &Trigger, d: &Trigger) -> bool {
    c.timing != d.timing
        || c.events != d.events
        || c.update_of != d.update_of
        || c.for_each_row != d.for_each_row
        || c.when != d.when
        || c.function != d.function
        || c.arguments != d.arguments
        || c.constraint != d.constraint
        || c.deferrable != d.deferrable
        || c.old_table != d.old_table
        || c.new_table != d.new_table
}

pub(super) fn diff(ctx: &mut Ctx) {
    let (current, desired) = (ctx.current, ctx.desired);
    for (sname, ds) in &desired.schemas {
        let cs = current.schemas.get(sname);
        for dt in ds.tables.values() {
            let ct = cs.and_then(|cs| {
                cs.tables.get(&dt.name).or_else(|| {
                    dt.renamed_from
                        .as_ref()
                        .filter(|old| !ds.tables.contains_key(*old))
                        .and_then(|old| cs.tables.get(old))
                })
            });
            let table = QualifiedName::new(sname, &dt.name);
            table_triggers(ctx, &table, ct.map(|t| &t.triggers), &dt.triggers);
        }
        for dv in ds.views.values() {
            let view = QualifiedName::new(sname, &dv.name);
            // A view created or recreated by this plan has none of its triggers yet.
            let cv = cs
                .filter(|_| !ctx.built_views.contains(&view))
                .and_then(|cs| {
                    cs.views.get(&dv.name).or_else(|| {
                        dv.renamed_from
                            .as_ref()
                            .filter(|old| !ds.views.contains_key(*old))
                            .and_then(|old| cs.views.get(old))
                    })
                });
            table_triggers(ctx, &view, cv.map(|v| &v.triggers), &dv.triggers);
        }
    }
    // Triggers of dropped tables and views go with them.
}

type Triggers = indexmap::IndexMap<String, Trigger>;

/// The triggers of one table or view (`table`, by its desired name).
fn table_triggers(
    ctx: &mut Ctx,
    table: &QualifiedName,
    current: Option<&Triggers>,
    desired: &Triggers,
) {
    let empty = Triggers::new();
    let current = current.unwrap_or(&empty);
    let p = super::pair(current, desired, |t| t.renamed_from.as_ref());
    for d in p.created {
        create(ctx, table, d, false);
    }
    for (c, d, renamed) in p.matched {
        if renamed {
            ctx.push(Draft::new(
                Stage::Rename,
                format!("rename trigger {} on {table} to {}", c.name, d.name),
                format!(
                    "ALTER TRIGGER {} ON {} RENAME TO {}",
                    quote_ident(&c.name),
                    qualified(table),
                    quote_ident(&d.name)
                ),
            ));
        }
        let function_replaced = ctx.replaced_functions.contains(&c.function)
            || ctx.replaced_functions.contains(&d.function);
        let differs = definition_differs(c, d);
        if function_replaced || (differs && (c.constraint || d.constraint)) {
            ctx.push(Draft::new(
                Stage::DropTriggerForRecreate,
                format!(
                    "drop trigger {} on {table} to create it again (it does not fire until then)",
                    c.name
                ),
                drop_sql(table, &c.name),
            ));
            create(ctx, table, d, false);
            continue;
        }
        if differs {
            ctx.push(Draft::new(
                Stage::Trigger,
                format!("replace trigger {} on {table}", d.name),
                create_trigger(table, d, true),
            ));
        }
        if c.state != d.state {
            ctx.push(Draft::new(
                Stage::Trigger,
                format!("make trigger {} on {table} {}", d.name, d.state.word()),
                trigger_state(table, d),
            ));
        }
        if c.comment != d.comment {
            ctx.push(comment(table, d));
        }
    }
    for c in p.dropped {
        ctx.push(
            Draft::new(
                Stage::DropTrigger,
                format!("drop trigger {} on {table}", c.name),
                drop_sql(table, &c.name),
            )
            .hazard(
                HazardKind::BreaksCompatibility,
                format!("what trigger {} did on {table} no longer happens", c.name),
            ),
        );
    }
}

fn drop_sql(table: &QualifiedName, name: &str) -> String {
    format!("DROP TRIGGER {} ON {}", quote_ident(name), qualified(table))
}

fn create(ctx: &mut Ctx, table: &QualifiedName, d: &Trigger, or_replace: bool) {
    ctx.push(Draft::new(
        Stage::Trigger,
        format!("create trigger {} on {table}", d.name),
        create_trigger(table, d, or_replace),
    ));
    if d.state != TriggerState::Enabled {
        ctx.push(Draft::new(
            Stage::Trigger,
            format!("make trigger {} on {table} {}", d.name, d.state.word()),
            trigger_state(table, d),
        ));
    }
    if d.comment.is_some() {
        ctx.push(comment(table, d));
    }
}

fn comment(table: &QualifiedName, t: &Trigger) -> Draft {
    Draft::new(
        Stage::Comment,
        format!("comment on trigger {} on {table}", t.name),
        format!(
            "COMMENT ON TRIGGER {} ON {} IS {}",
            quote_ident(&t.name),
            qualified(table),
            t.comment
                .as_deref()
                .map_or("NULL".to_string(), quote_literal)
        ),
    )
}
