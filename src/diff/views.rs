//! Views: created after the tables they read, dropped before them, and recreated when their
//! query or options change or when a column of a table they read changes type or goes away
//! (PostgreSQL refuses both while a view depends on the column).
//!
//! A model has no dependency graph, so the relations a view reads come from its query
//! (`ddl::views`); recreation spreads to every view that reads a recreated one. A view is
//! recreated by `DROP VIEW` then `CREATE VIEW` in separate steps: between the two the view does
//! not exist, which the step's description says.

use std::collections::{HashMap, HashSet};

use super::{Ctx, Draft, Stage, display, qn};
use crate::ddl::views::{create_view, in_dependency_order, referenced_views};
use crate::model::{Model, Schema, View};
use crate::plan::HazardKind;
use crate::sql::quote_ident;

type Key = (String, String);

fn key(schema: &str, name: &str) -> Key {
    (schema.to_string(), name.to_string())
}

/// For each view of `model`, the tables and views its query reads.
pub(super) fn dependencies(model: &Model) -> HashMap<Key, Vec<Key>> {
    let known = super::relation_names(model);
    let mut out = HashMap::new();
    for s in model.schemas.values() {
        for v in s.views.values() {
            out.insert(
                key(&s.name, &v.name),
                referenced_views(&s.name, &v.query, &known),
            );
        }
    }
    out
}

/// `created_matviews`: the drafts creating each new materialized view, pushed here in one
/// order with the views (either kind may read the other).
pub(super) fn diff(ctx: &mut Ctx, mut created_matviews: HashMap<Key, Vec<Draft>>) {
    let (current, desired) = (ctx.current, ctx.desired);
    let empty = Schema::default();

    // current key -> desired key, for views on both sides.
    let mut matched: HashMap<Key, Key> = HashMap::new();
    let mut renamed: Vec<(Key, Key)> = Vec::new();
    let mut created: HashSet<Key> = HashSet::new();
    let mut changed: HashSet<Key> = HashSet::new();
    for (sname, ds) in &desired.schemas {
        let cs = current.schemas.get(sname).unwrap_or(&empty);
        let p = super::pair(&cs.views, &ds.views, |v| v.renamed_from.as_ref());
        for (c, d, was_renamed) in p.matched {
            let (ck, dk) = (key(sname, &c.name), key(sname, &d.name));
            if c.query != d.query || c.options != d.options {
                changed.insert(ck.clone());
            }
            if was_renamed {
                renamed.push((ck.clone(), dk.clone()));
            }
            matched.insert(ck, dk);
        }
        for d in p.created {
            created.insert(key(sname, &d.name));
        }
    }
    let dropped: HashSet<Key> = current
        .schemas
        .values()
        .flat_map(|s| s.views.keys().map(move |n| key(&s.name, n)))
        .filter(|k| !matched.contains_key(k))
        .collect();

    // Recreate: changed views, views reading reshaped tables, and whatever reads those.
    let deps = dependencies(current);
    let reshaped: HashSet<Key> = ctx
        .reshaped_tables
        .iter()
        .map(|q| key(&q.schema, &q.name))
        .collect();
    let mut recreate: HashSet<Key> = changed;
    // Views calling a function that is dropped and created again.
    recreate.extend(
        super::functions::views_calling(current, &ctx.replaced_functions)
            .into_iter()
            .filter(|k| matched.contains_key(k)),
    );
    loop {
        let before = recreate.len();
        for (view, reads) in &deps {
            if matched.contains_key(view)
                && !recreate.contains(view)
                && reads
                    .iter()
                    .any(|r| reshaped.contains(r) || recreate.contains(r) || dropped.contains(r))
            {
                recreate.insert(view.clone());
            }
        }
        if recreate.len() == before {
            break;
        }
    }

    let current_order = in_dependency_order(current);
    for (s, v) in current_order.iter().rev() {
        let k = key(&s.name, &v.name);
        if recreate.contains(&k) {
            ctx.push(Draft::new(
                Stage::DropViewForRecreate,
                format!(
                    "drop view {} to recreate it (it does not exist until it is created again)",
                    display(&s.name, &v.name)
                ),
                format!("DROP VIEW {}", qn(&s.name, &v.name)),
            ));
        } else if dropped.contains(&k) {
            // A table taking the view's name is created in the expand phase, after the view.
            let replaced = desired.schemas.get(&s.name).is_some_and(|ds| {
                ds.tables.contains_key(&v.name) || ds.materialized_views.contains_key(&v.name)
            });
            ctx.push(
                Draft::new(
                    if replaced {
                        Stage::DropForReplace
                    } else {
                        Stage::DropView
                    },
                    format!("drop view {}", display(&s.name, &v.name)),
                    format!("DROP VIEW {}", qn(&s.name, &v.name)),
                )
                .hazard(
                    HazardKind::BreaksCompatibility,
                    format!("clients reading {} break", display(&s.name, &v.name)),
                ),
            );
        }
    }
    for (ck, dk) in &renamed {
        if !recreate.contains(ck) {
            ctx.push(
                Draft::new(
                    Stage::Rename,
                    format!(
                        "rename view {} to {}",
                        display(&ck.0, &ck.1),
                        display(&dk.0, &dk.1)
                    ),
                    format!(
                        "ALTER VIEW {} RENAME TO {}",
                        qn(&ck.0, &ck.1),
                        quote_ident(&dk.1)
                    ),
                )
                .hazard(
                    HazardKind::BreaksCompatibility,
                    format!("clients reading {} break", display(&ck.0, &ck.1)),
                ),
            );
        }
    }
    let recreated_desired: HashSet<&Key> = recreate.iter().filter_map(|k| matched.get(k)).collect();
    let current_view = |dk: &Key| -> Option<&View> {
        let ck = matched.iter().find(|(_, d)| *d == dk).map(|(c, _)| c)?;
        current.schemas.get(&ck.0)?.views.get(&ck.1)
    };
    for rel in crate::ddl::matviews::in_dependency_order(desired) {
        let (s, v) = match rel {
            crate::ddl::matviews::Rel::View(s, v) => (s, v),
            crate::ddl::matviews::Rel::Materialized(s, m) => {
                for d in created_matviews
                    .remove(&key(&s.name, &m.name))
                    .unwrap_or_default()
                {
                    ctx.push(d);
                }
                continue;
            }
        };
        let k = key(&s.name, &v.name);
        let new = created.contains(&k) || recreated_desired.contains(&k);
        if new {
            ctx.built_views
                .insert(crate::model::QualifiedName::new(&s.name, &v.name));
            ctx.push(Draft::new(
                Stage::CreateView,
                format!("create view {}", display(&s.name, &v.name)),
                create_view(s, v),
            ));
            if v.comment.is_some() {
                ctx.push(comment(&s.name, v));
            }
        } else if current_view(&k).is_some_and(|c| c.comment != v.comment) {
            ctx.push(comment(&s.name, v));
        }
    }
}

fn comment(schema: &str, v: &View) -> Draft {
    super::comment_on(
        format!("VIEW {}", qn(schema, &v.name)),
        format!("view {}", display(schema, &v.name)),
        v.comment.as_deref(),
    )
}
