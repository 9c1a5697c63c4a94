//! Materialized views as DDL, and the order in which views and materialized views are created
//! (either kind may read the other).
//!
//! A materialized view is created `WITH DATA` unless declared otherwise, then its indexes. The
//! dependency order comes from the relations each query mentions, as for views (`views`).

use std::collections::HashSet;

use super::table::{Names, create_index_with, qname};
use crate::model::{MaterializedView, Model, Schema, Table, View};
use crate::sql::{quote_ident, quote_literal};

/// A view or a materialized view, for ordering the two kinds together.
pub(crate) enum Rel<'a> {
    View(&'a Schema, &'a View),
    Materialized(&'a Schema, &'a MaterializedView),
}

impl Rel<'_> {
    fn key(&self) -> (&str, &str) {
        match self {
            Rel::View(s, v) => (&s.name, &v.name),
            Rel::Materialized(s, m) => (&s.name, &m.name),
        }
    }

    fn reads(&self, known: &HashSet<(&str, &str)>) -> Vec<(String, String)> {
        match self {
            Rel::View(s, v) => super::views::referenced_views(&s.name, &v.query, known),
            Rel::Materialized(s, m) => super::views::referenced_views(&s.name, &m.query, known),
        }
    }
}

/// Every view and materialized view of the model, each after the ones it reads; a cycle or a
/// query that does not parse falls back to declaration order (views first), as in `views`.
pub(crate) fn in_dependency_order(model: &Model) -> Vec<Rel<'_>> {
    let mut all: Vec<Rel> = Vec::new();
    for (s, v) in super::views::in_dependency_order(model) {
        all.push(Rel::View(s, v));
    }
    for s in model.schemas.values() {
        all.extend(
            s.materialized_views
                .values()
                .map(|m| Rel::Materialized(s, m)),
        );
    }
    let known: HashSet<(&str, &str)> = all.iter().map(Rel::key).collect();
    let deps: Vec<Vec<(String, String)>> = all.iter().map(|r| r.reads(&known)).collect();
    let mut done: HashSet<(String, String)> = HashSet::new();
    let mut emitted = vec![false; all.len()];
    let mut order_idx = Vec::with_capacity(all.len());
    while order_idx.len() < all.len() {
        let own = |i: usize| {
            let (s, n) = all[i].key();
            (s.to_string(), n.to_string())
        };
        let ready = (0..all.len())
            .find(|&i| !emitted[i] && deps[i].iter().all(|d| done.contains(d) || *d == own(i)));
        let i = ready.unwrap_or_else(|| (0..all.len()).find(|&i| !emitted[i]).unwrap_or(0));
        emitted[i] = true;
        done.insert(own(i));
        order_idx.push(i);
    }
    let mut slots: Vec<Option<Rel>> = all.into_iter().map(Some).collect();
    order_idx
        .into_iter()
        .filter_map(|i| slots[i].take())
        .collect()
}

/// `CREATE MATERIALIZED VIEW` of `m` under `name` (its own, or a temporary one while it is
/// rebuilt).
pub(crate) fn create_as(schema: &Schema, name: &str, m: &MaterializedView) -> String {
    let mut s = format!("CREATE MATERIALIZED VIEW {}", qname(schema, name));
    if !m.options.is_empty() {
        s.push_str(&format!(" WITH ({})", options(m)));
    }
    let query = m.query.trim().trim_end_matches(';').trim_end();
    s.push_str(&format!(
        " AS\n{query}\nWITH {}DATA",
        if m.populated { "" } else { "NO " }
    ));
    s
}

/// The storage parameters as `name=value, ...`.
pub(crate) fn options(m: &MaterializedView) -> String {
    m.options
        .iter()
        .map(|(k, v)| format!("{}={}", quote_ident(k), quote_literal(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `CREATE INDEX` of `idx` on the materialized view called `on`.
pub(crate) fn create_index(
    names: &Names,
    schema: &Schema,
    on: &str,
    idx: &crate::model::Index,
    concurrently: bool,
) -> String {
    let as_table = Table {
        name: on.to_string(),
        ..Table::default()
    };
    create_index_with(names, schema, &as_table, idx, concurrently)
}

/// The materialized view and its indexes, for an empty database.
pub(crate) fn create(names: &Names, schema: &Schema, m: &MaterializedView) -> Vec<String> {
    let mut out = vec![create_as(schema, &m.name, m)];
    for idx in m.indexes.values() {
        out.push(create_index(names, schema, &m.name, idx, false));
    }
    out
}

/// Comments on the materialized view and its indexes.
pub(crate) fn comments(schema: &Schema, m: &MaterializedView) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(super::comment_on(
        format!("MATERIALIZED VIEW {}", qname(schema, &m.name)),
        &m.comment,
    ));
    for idx in m.indexes.values() {
        out.extend(super::comment_on(
            format!("INDEX {}", qname(schema, &idx.name)),
            &idx.comment,
        ));
    }
    out
}
