//! Materialized views on both sides: created `WITH DATA` (then their indexes), dropped in the
//! contract phase, renamed through `renamed-from`, their storage options set and reset in
//! place, and their indexes built and dropped `CONCURRENTLY` like a table's (`indexes`).
//!
//! A changed query is planned online. The new definition is built under a temporary name
//! (`formwork_mv_<hash>`) `WITH DATA`, which only reads the tables it selects from, while the
//! old one keeps serving; its indexes are built on it under temporary names
//! (`formwork_mvidx_<hash>`); then one short transaction, under the short lock_timeout, drops
//! the views that read the old one, drops it, renames the new one and its indexes into place
//! and creates those views again (so nobody ever sees them missing), and comments follow.
//! Views whose own definition changes too are left to `views`, which recreates them around
//! the whole plan.
//!
//! Refreshing is not a schema change and never comes from a declaration: `formwork plan
//! --refresh <name>` adds [`refresh`] steps, `CONCURRENTLY` when the materialized view is
//! populated and has a unique index without `WHERE` on plain columns (readers continue), the
//! blocking form otherwise, which the plan gate refuses unless blocking steps are accepted.

use std::collections::{HashMap, HashSet};

use super::{Ctx, Draft, Stage, display, qn};
use crate::ddl::matviews as ddl;
use crate::ddl::table::Names;
use crate::model::{MaterializedView, Model, QualifiedName, Schema, Table};
use crate::plan::HazardKind;
use crate::sql::quote_ident;

/// Plans every change but the creation of new materialized views, which is returned (the
/// drafts of each, by (schema, name)) for `views` to order among the views.
pub(super) fn diff(ctx: &mut Ctx) -> HashMap<(String, String), Vec<Draft>> {
    let mut created = HashMap::new();
    let (current, desired) = (ctx.current, ctx.desired);
    let names = Names::of(desired);
    let pairs = super::pair_in_schemas(
        current,
        desired,
        |s| &s.materialized_views,
        |m| m.renamed_from.as_ref(),
    );
    for (sname, p) in pairs {
        let Some(ds) = desired.schemas.get(sname) else {
            for c in p.dropped {
                drop(ctx, sname, c);
            }
            continue;
        };
        for d in p.created {
            let mut sub = Vec::new();
            std::mem::swap(&mut sub, &mut ctx.drafts);
            create(ctx, &names, ds, d);
            std::mem::swap(&mut sub, &mut ctx.drafts);
            created.insert((sname.to_string(), d.name.clone()), sub);
        }
        for (c, d, renamed) in p.matched {
            if reads_reshaped(ctx, sname, c) {
                ctx.push(drop_for_recreate(sname, c));
                let mut sub = Vec::new();
                std::mem::swap(&mut sub, &mut ctx.drafts);
                create(ctx, &names, ds, d);
                std::mem::swap(&mut sub, &mut ctx.drafts);
                created.insert((sname.to_string(), d.name.clone()), sub);
                // Views reading it are recreated around it, like views reading the table.
                ctx.reshaped_tables
                    .insert(QualifiedName::new(sname, &c.name));
                continue;
            }
            alter(ctx, &names, ds, c, d, renamed);
        }
        for c in p.dropped {
            drop(ctx, sname, c);
        }
    }
    created
}

fn create(ctx: &mut Ctx, names: &Names, schema: &Schema, m: &MaterializedView) {
    let shown = display(&schema.name, &m.name);
    ctx.push(
        Draft::new(
            Stage::CreateView,
            format!(
                "create materialized view {shown}{}",
                if m.populated {
                    " and compute its rows"
                } else {
                    " (WITH NO DATA)"
                }
            ),
            ddl::create_as(schema, &m.name, m),
        )
        .hazard(
            HazardKind::LongRunning,
            "runs the query once (only reading the tables it selects from)",
        ),
    );
    for idx in m.indexes.values() {
        ctx.push(Draft::new(
            Stage::CreateView,
            format!("create index {} on new materialized view {shown}", idx.name),
            ddl::create_index(names, schema, &m.name, idx, false),
        ));
    }
    comments(ctx, schema, m, None);
}

/// Whether `m` reads a table whose columns change in a way PostgreSQL refuses under a
/// materialized view (a new type, a dropped column): "cannot alter type of a column used by a
/// view or rule".
fn reads_reshaped(ctx: &Ctx, schema: &str, m: &MaterializedView) -> bool {
    let known: HashSet<(&str, &str)> = ctx
        .reshaped_tables
        .iter()
        .map(|q| (q.schema.as_str(), q.name.as_str()))
        .collect();
    !crate::ddl::views::referenced_views(schema, &m.query, &known).is_empty()
}

/// Dropped before a table it reads is reshaped, and created again (with its indexes, `WITH
/// DATA`) among the views afterwards. Unlike a changed query, which is built beside the old
/// one, there is no way around the gap: the old one holds the columns in their old shape.
fn drop_for_recreate(schema: &str, m: &MaterializedView) -> Draft {
    let shown = display(schema, &m.name);
    Draft::new(
        Stage::DropMatviewForRecreate,
        format!("drop materialized view {shown} to recreate it after the tables it reads change"),
        format!("DROP MATERIALIZED VIEW {}", qn(schema, &m.name)),
    )
    .hazard(
        HazardKind::BreaksCompatibility,
        format!("clients reading {shown} fail until it is created again later in this plan"),
    )
}

fn drop(ctx: &mut Ctx, schema: &str, m: &MaterializedView) {
    let shown = display(schema, &m.name);
    // A table or view taking its name is created in the expand phase, after it is gone.
    let replaced = ctx
        .desired
        .schemas
        .get(schema)
        .is_some_and(|s| s.tables.contains_key(&m.name) || s.views.contains_key(&m.name));
    // Otherwise after views (which may read it) and before tables (which it may read) go.
    ctx.push(
        Draft::new(
            if replaced {
                Stage::DropForReplace
            } else {
                Stage::DropIndex
            },
            format!("drop materialized view {shown}"),
            format!("DROP MATERIALIZED VIEW {}", qn(schema, &m.name)),
        )
        .hazard(
            HazardKind::BreaksCompatibility,
            format!("clients reading {shown} break"),
        ),
    );
}

fn alter(
    ctx: &mut Ctx,
    names: &Names,
    schema: &Schema,
    c: &MaterializedView,
    d: &MaterializedView,
    renamed: bool,
) {
    let sname = &schema.name;
    let shown = display(sname, &d.name);
    if renamed {
        ctx.push(
            Draft::new(
                Stage::Rename,
                format!("rename materialized view {} to {}", c.name, d.name),
                format!(
                    "ALTER MATERIALIZED VIEW {} RENAME TO {}",
                    qn(sname, &c.name),
                    quote_ident(&d.name)
                ),
            )
            .hazard(
                HazardKind::BreaksCompatibility,
                format!("clients reading {} break", display(sname, &c.name)),
            ),
        );
    }
    if c.query != d.query {
        rebuild(ctx, names, schema, c, d);
        return;
    }
    let t = qn(sname, &d.name);
    let reset: Vec<String> = c
        .options
        .keys()
        .filter(|k| !d.options.contains_key(*k))
        .map(|k| quote_ident(k))
        .collect();
    if !reset.is_empty() {
        ctx.push(Draft::new(
            Stage::Columns,
            format!("reset storage options of materialized view {shown}"),
            format!("ALTER MATERIALIZED VIEW {t} RESET ({})", reset.join(", ")),
        ));
    }
    let set: Vec<String> = d
        .options
        .iter()
        .filter(|(k, v)| c.options.get(*k) != Some(*v))
        .map(|(k, v)| format!("{}={}", quote_ident(k), crate::sql::quote_literal(v)))
        .collect();
    if !set.is_empty() {
        ctx.push(Draft::new(
            Stage::Columns,
            format!("set storage options of materialized view {shown}"),
            format!("ALTER MATERIALIZED VIEW {t} SET ({})", set.join(", ")),
        ));
    }
    // Indexes compare as a table's do: the same statements apply to a materialized view.
    let as_table = |m: &MaterializedView| Table {
        name: d.name.clone(),
        indexes: m.indexes.clone(),
        ..Table::default()
    };
    super::indexes::diff_table(ctx, names, schema, &as_table(c), &as_table(d));
    if c.populated != d.populated {
        let sql = if d.populated {
            format!("REFRESH MATERIALIZED VIEW {t}")
        } else {
            format!("REFRESH MATERIALIZED VIEW {t} WITH NO DATA")
        };
        ctx.push(Draft::new(
            Stage::Refresh,
            format!(
                "{} materialized view {shown}",
                if d.populated {
                    "populate"
                } else {
                    "empty (WITH NO DATA)"
                }
            ),
            sql,
        ));
    }
    if c.comment != d.comment {
        ctx.push(comment(sname, d));
    }
}

/// A changed query: build, index, swap in one short transaction (see the module comment).
fn rebuild(
    ctx: &mut Ctx,
    names: &Names,
    schema: &Schema,
    c: &MaterializedView,
    d: &MaterializedView,
) {
    let sname = &schema.name;
    let shown = display(sname, &d.name);
    let temp = ctx.fresh_name("mv", sname, &[sname, &d.name]);
    ctx.push(
        Draft::new(
            Stage::CreateIndex,
            format!(
                "build the new definition of materialized view {shown} as {temp} while the \
                 old one keeps serving"
            ),
            ddl::create_as(schema, &temp, d),
        )
        .hazard(
            HazardKind::LongRunning,
            "runs the new query once (only reading the tables it selects from)",
        ),
    );
    let mut renames = Vec::new();
    for idx in d.indexes.values() {
        let temp_idx = ctx.fresh_name("mvidx", sname, &[sname, &d.name, &idx.name]);
        let mut building = idx.clone();
        building.name.clone_from(&temp_idx);
        ctx.push(Draft::new(
            Stage::CreateIndex,
            format!(
                "build index {} of the new {shown} as {temp_idx} (nobody reads {temp} yet)",
                idx.name
            ),
            ddl::create_index(names, schema, &temp, &building, false),
        ));
        renames.push(format!(
            "ALTER INDEX {} RENAME TO {}",
            qn(sname, &temp_idx),
            quote_ident(&idx.name)
        ));
    }
    let old = QualifiedName::new(sname, &c.name);
    let views = dependent_views(ctx.current, ctx.desired, &old);
    let mut sql: Vec<String> = views
        .iter()
        .rev()
        .map(|v| format!("DROP VIEW {}", crate::sql::qualified(v)))
        .collect();
    sql.push(format!("DROP MATERIALIZED VIEW {}", qn(sname, &d.name)));
    sql.push(format!(
        "ALTER MATERIALIZED VIEW {} RENAME TO {}",
        qn(sname, &temp),
        quote_ident(&d.name)
    ));
    sql.extend(renames);
    for v in &views {
        let Some((ds, dv)) = ctx
            .desired
            .schemas
            .get(&v.schema)
            .and_then(|s| s.views.get(&v.name).map(|dv| (s, dv)))
        else {
            continue;
        };
        sql.push(crate::ddl::views::create_view(ds, dv));
        if let Some(text) = &dv.comment {
            sql.push(format!(
                "COMMENT ON VIEW {} IS {}",
                crate::sql::qualified(v),
                crate::sql::quote_literal(text)
            ));
        }
    }
    let also = if views.is_empty() {
        String::new()
    } else {
        format!(
            ", recreating the views that read it ({})",
            views
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    ctx.push(
        Draft::new(
            Stage::ReplaceIndex,
            format!("swap the new {shown} into place and drop the old one{also}"),
            sql.join(";\n"),
        )
        .hazard(
            HazardKind::AccessExclusive,
            format!("takes ACCESS EXCLUSIVE on {shown} for a moment"),
        ),
    );
    comments(ctx, schema, d, Some(c));
}

/// Views of `current` that read the materialized view `m`, directly or through other views,
/// each after the views it reads, whose definition the declaration keeps as it is (the others
/// are `views`' to recreate).
fn dependent_views(current: &Model, desired: &Model, m: &QualifiedName) -> Vec<QualifiedName> {
    let deps = super::view_dependencies(current);
    let mut reading: HashSet<QualifiedName> = HashSet::new();
    loop {
        let before = reading.len();
        for (view, reads) in &deps {
            if !reading.contains(view) && reads.iter().any(|r| r == m || reading.contains(r)) {
                reading.insert(view.clone());
            }
        }
        if reading.len() == before {
            break;
        }
    }
    let unchanged = |q: &QualifiedName| {
        let c = current
            .schemas
            .get(&q.schema)
            .and_then(|s| s.views.get(&q.name));
        let d = desired
            .schemas
            .get(&q.schema)
            .and_then(|s| s.views.get(&q.name));
        matches!((c, d), (Some(c), Some(d)) if c.query == d.query && c.options == d.options)
    };
    // A view reading one that `views` recreates is recreated by `views` too.
    let changed: HashSet<&QualifiedName> = reading.iter().filter(|q| !unchanged(q)).collect();
    let keep: HashSet<&QualifiedName> = reading
        .iter()
        .filter(|q| {
            unchanged(q)
                && !deps
                    .get(*q)
                    .is_some_and(|reads| reads.iter().any(|r| changed.contains(r)))
        })
        .collect();
    crate::ddl::views::in_dependency_order(current)
        .into_iter()
        .map(|(s, v)| QualifiedName::new(&s.name, &v.name))
        .filter(|q| keep.contains(q))
        .collect()
}

/// Comments of `m` and its indexes that differ from `before` (all, for a new one).
fn comments(
    ctx: &mut Ctx,
    schema: &Schema,
    m: &MaterializedView,
    before: Option<&MaterializedView>,
) {
    let sname = &schema.name;
    if m.comment.is_some() || before.is_some_and(|b| b.comment.is_some()) {
        ctx.push(comment(sname, m));
    }
    for idx in m.indexes.values() {
        if idx.comment.is_some() {
            ctx.push(super::comment_on(
                format!("INDEX {}", qn(sname, &idx.name)),
                format!("index {}", display(sname, &idx.name)),
                idx.comment.as_deref(),
            ));
        }
    }
}

fn comment(schema: &str, m: &MaterializedView) -> Draft {
    super::comment_on(
        format!("MATERIALIZED VIEW {}", qn(schema, &m.name)),
        format!("materialized view {}", display(schema, &m.name)),
        m.comment.as_deref(),
    )
}

/// `REFRESH MATERIALIZED VIEW` of `m` (in `model`, by its name there): `CONCURRENTLY` when
/// it is populated and has a unique index without `WHERE` on plain columns, the blocking
/// form otherwise. `None` when the model has no such materialized view.
pub fn refresh(model: &Model, m: &QualifiedName) -> Option<Draft> {
    let mv = model
        .schemas
        .get(&m.schema)?
        .materialized_views
        .get(&m.name)?;
    let shown = display(&m.schema, &m.name);
    let t = qn(&m.schema, &m.name);
    let draft = match (mv.populated, mv.concurrent_refresh_index()) {
        (true, Some(idx)) => Draft::new(
            Stage::Refresh,
            format!(
                "refresh materialized view {shown} concurrently (readers continue; unique \
                 index {})",
                idx.name
            ),
            format!("REFRESH MATERIALIZED VIEW CONCURRENTLY {t}"),
        ),
        (populated, _) => Draft::new(
            Stage::Refresh,
            format!(
                "refresh materialized view {shown}, blocking its readers ({})",
                if populated {
                    "it has no unique index without WHERE on plain columns, which CONCURRENTLY needs"
                } else {
                    "it is not populated, and CONCURRENTLY needs it populated"
                }
            ),
            format!("REFRESH MATERIALIZED VIEW {t}"),
        )
        .hazard(
            HazardKind::AccessExclusive,
            format!("every query on {shown} waits until the query has run again"),
        ),
    };
    Some(draft.hazard(HazardKind::LongRunning, "runs the query again"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Index, IndexKey, IndexKeyTarget};

    fn key(target: IndexKeyTarget) -> IndexKey {
        IndexKey {
            target,
            collation: None,
            opclass: None,
            descending: false,
            nulls_first: None,
        }
    }

    fn model_with(index: Index, populated: bool) -> Model {
        let mut m = MaterializedView {
            name: "mv".into(),
            query: "SELECT 1 AS a".into(),
            options: Default::default(),
            populated,
            indexes: Default::default(),
            comment: None,
            renamed_from: None,
        };
        m.indexes.insert(index.name.clone(), index);
        let mut s = Schema {
            name: "public".into(),
            ..Schema::default()
        };
        s.materialized_views.insert("mv".into(), m);
        let mut model = Model::default();
        model.schemas.insert("public".into(), s);
        model
    }

    fn unique(target: IndexKeyTarget, predicate: Option<&str>) -> Index {
        Index {
            name: "mv_key".into(),
            unique: true,
            method: "btree".into(),
            keys: vec![key(target)],
            include: Vec::new(),
            predicate: predicate.map(str::to_string),
            nulls_not_distinct: false,
            valid: true,
            comment: None,
            renamed_from: None,
        }
    }

    fn refresh_sql(model: &Model) -> String {
        refresh(model, &QualifiedName::new("public", "mv"))
            .unwrap()
            .sql
    }

    #[test]
    fn refresh_is_concurrent_only_with_a_unique_index_on_plain_columns_without_where() {
        let column = || IndexKeyTarget::Column("a".into());
        let plain = model_with(unique(column(), None), true);
        assert!(refresh_sql(&plain).contains("CONCURRENTLY"));
        let partial = model_with(unique(column(), Some("a > 0")), true);
        assert!(!refresh_sql(&partial).contains("CONCURRENTLY"));
        let expression = model_with(
            unique(IndexKeyTarget::Expression("(a + 1)".into()), None),
            true,
        );
        assert!(!refresh_sql(&expression).contains("CONCURRENTLY"));
        // CONCURRENTLY cannot populate a materialized view created WITH NO DATA.
        let unpopulated = model_with(unique(column(), None), false);
        assert!(!refresh_sql(&unpopulated).contains("CONCURRENTLY"));
        assert!(refresh(&plain, &QualifiedName::new("public", "nope")).is_none());
    }
}
