//! Views in an order that creates: a view comes after the views its query reads.
//!
//! A declared model has no dependency graph (only a catalog has `pg_depend`), so the relations
//! a query mentions are found by parsing it with sqlparser. Names are resolved the way the
//! catalog prints them: qualified when outside the search path, otherwise the view's own schema
//! first, then `public`. A query sqlparser cannot read, or a cycle, falls back to declaration
//! order for the views concerned; PostgreSQL then reports the real problem when the DDL runs.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{ObjectName, visit_relations};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::model::{Model, Schema, View};
use crate::sql::{quote_ident, quote_literal};

type Key<'a> = (&'a str, &'a str);

pub(crate) fn create_view(schema: &Schema, v: &View) -> String {
    let mut s = format!("CREATE VIEW {}", super::table::qname(schema, &v.name));
    if !v.options.is_empty() {
        let opts: Vec<String> = v
            .options
            .iter()
            .map(|(k, val)| format!("{}={}", quote_ident(k), quote_literal(val)))
            .collect();
        s.push_str(&format!(" WITH ({})", opts.join(", ")));
    }
    let query = v.query.trim().trim_end_matches(';').trim_end();
    s.push_str(&format!(" AS\n{query}"));
    s
}

/// Every view of the model, each after the views it reads.
pub(crate) fn in_dependency_order(model: &Model) -> Vec<(&Schema, &View)> {
    let all: Vec<(&Schema, &View)> = model
        .schemas
        .values()
        .flat_map(|s| s.views.values().map(move |v| (s, v)))
        .collect();
    let known: HashSet<Key> = all
        .iter()
        .map(|(s, v)| (s.name.as_str(), v.name.as_str()))
        .collect();
    let deps: Vec<Vec<(String, String)>> = all
        .iter()
        .map(|(s, v)| referenced_views(&s.name, &v.query, &known))
        .collect();

    let mut done: HashSet<(String, String)> = HashSet::new();
    let mut emitted = vec![false; all.len()];
    let mut order = Vec::with_capacity(all.len());
    while order.len() < all.len() {
        let ready = (0..all.len()).find(|&i| {
            !emitted[i]
                && deps[i].iter().all(|d| {
                    done.contains(d) || *d == (all[i].0.name.clone(), all[i].1.name.clone())
                })
        });
        // No view is ready: a cycle (or a misread query). Take the next one as declared.
        let i = ready.unwrap_or_else(|| (0..all.len()).find(|&i| !emitted[i]).unwrap_or(0));
        emitted[i] = true;
        done.insert((all[i].0.name.clone(), all[i].1.name.clone()));
        order.push(all[i]);
    }
    order
}

/// The views of `known` that `query` (a view of `schema`) reads.
pub(crate) fn referenced_views(
    schema: &str,
    query: &str,
    known: &HashSet<Key>,
) -> Vec<(String, String)> {
    let Ok(statements) = Parser::parse_sql(&PostgreSqlDialect {}, query) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let _ = visit_relations(&statements, |name: &ObjectName| {
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident())
            .map(|id| match id.quote_style {
                Some(_) => id.value.clone(),
                None => id.value.to_lowercase(),
            })
            .collect();
        let candidates: Vec<(String, String)> = match parts.as_slice() {
            [name] => vec![
                (schema.to_string(), name.clone()),
                ("public".to_string(), name.clone()),
            ],
            [.., s, name] => vec![(s.clone(), name.clone())],
            [] => Vec::new(),
        };
        if let Some(hit) = candidates
            .into_iter()
            .find(|(s, n)| known.contains(&(s.as_str(), n.as_str())))
        {
            found.push(hit);
        }
        ControlFlow::<()>::Continue(())
    });
    found
}
