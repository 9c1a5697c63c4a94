//! DDL rendering: the statements that create a [`Model`] in an empty database.
//!
//! This is how a declared model reaches a scratch database (where PostgreSQL normalises it and
//! the catalog reads it back), and how `import`/round-trip tests prove a model is complete.
//!
//! Order is what makes the output runnable:
//! 1. schemas, then extensions (an extension may live in a declared schema and supply types);
//! 2. enums, then domains, composite and range types in dependency order (see [`types`]),
//!    then sequences (column types and `nextval` defaults refer to them);
//! 3. tables with their columns and the constraints that only involve the table itself
//!    (primary key, unique, valid checks, exclusions), partitioned tables before their
//!    partitions (see [`partitions`]);
//! 4. indexes (a foreign key may rely on a unique index that is not a constraint);
//! 5. what needs every table to exist: `NOT VALID` checks, foreign keys (so reference cycles
//!    need no special case), `ALTER SEQUENCE ... OWNED BY`;
//! 6. views and materialized views (with their indexes), ordered by the relations their
//!    queries mention (see [`views`], [`matviews`]);
//! 7. row-level security and policies (their expressions may read any relation);
//! 8. comments;
//! 9. privileges (see [`privileges`]).
//!
//! Functions come before the tables (bodies unchecked, so they may name tables), except those
//! whose creation needs the tables (SQL-standard bodies, row types in the signature), which
//! come before the views; triggers come after the views (see `functions_order`).
//!
//! Every identifier and literal goes through [`crate::sql`]. SQL fragments the model keeps as
//! text (types, defaults, expressions, view queries, operators) are emitted verbatim: they are
//! already SQL. This module does not diff, plan or execute anything; it renders "create from
//! nothing" only. An invalid index (`valid == false`) is rendered as a normal index: DDL cannot
//! create an invalid one on purpose.
//!
//! Statements are returned without a trailing semicolon; [`render_script`] joins them into one
//! runnable script.

pub(crate) mod functions;
pub(crate) mod matviews;
pub(crate) mod partitions;
pub mod policies;
pub mod privileges;
pub(crate) mod table;
pub(crate) mod types;
pub(crate) mod views;

use crate::model::{Model, Schema, SequenceOptions};
use crate::sql::{quote_ident, quote_literal};

/// The schema every new database already has. It is never created, only commented.
const PUBLIC: &str = "public";

/// The statements that create `model` in an empty database, in an order that runs.
pub fn render(model: &Model) -> Vec<String> {
    let mut out = Vec::new();
    let names = table::Names::of(model);

    for schema in model.schemas.values() {
        if schema.name != PUBLIC {
            out.push(format!("CREATE SCHEMA {}", quote_ident(&schema.name)));
        }
    }
    for ext in model.extensions.values() {
        let mut stmt = format!(
            "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}",
            quote_ident(&ext.name),
            quote_ident(&ext.schema)
        );
        if let Some(version) = &ext.version {
            stmt.push_str(&format!(" VERSION {}", quote_literal(version)));
        }
        out.push(stmt);
    }
    for schema in model.schemas.values() {
        for e in schema.enums.values() {
            let labels: Vec<String> = e.values.iter().map(|v| quote_literal(&v.name)).collect();
            out.push(format!(
                "CREATE TYPE {} AS ENUM ({})",
                table::qname(schema, &e.name),
                labels.join(", ")
            ));
        }
    }
    let (types, domain_checks) = types::create_all(model);
    out.extend(types);
    for schema in model.schemas.values() {
        for seq in schema.sequences.values() {
            let mut stmt = format!("CREATE SEQUENCE {}", table::qname(schema, &seq.name));
            stmt.push_str(&sequence_options(&seq.options, true));
            out.push(stmt);
        }
    }
    // Function bodies are not checked here: a body may name tables created below (pg_dump
    // does the same). Functions whose creation needs the tables come after them.
    let relations = functions_order::relations(model);
    let (early, late) = functions_order::split(model, &relations);
    if !early.is_empty() || !late.is_empty() {
        out.push("SET check_function_bodies = false".to_string());
    }
    out.extend(early);
    for (schema, t) in partitions::tables_in_order(model) {
        out.push(table::create_table(&names, schema, t));
    }
    for (schema, t) in model.tables() {
        for idx in t.indexes.values() {
            out.push(table::create_index(&names, schema, t, idx));
        }
    }
    for (schema, t) in model.tables() {
        out.extend(table::deferred_constraints(schema, t));
    }
    for schema in model.schemas.values() {
        for seq in schema.sequences.values() {
            if let Some(owner) = &seq.owned_by {
                out.push(format!(
                    "ALTER SEQUENCE {} OWNED BY {}.{}",
                    table::qname(schema, &seq.name),
                    crate::sql::qualified(&owner.table),
                    quote_ident(&owner.column)
                ));
            }
        }
    }
    out.extend(late);
    out.extend(domain_checks);
    for rel in matviews::in_dependency_order(model) {
        match rel {
            matviews::Rel::View(schema, view) => out.push(views::create_view(schema, view)),
            matviews::Rel::Materialized(schema, m) => {
                out.extend(matviews::create(&names, schema, m))
            }
        }
    }
    for (schema, t) in model.tables() {
        let q = crate::model::QualifiedName::new(&schema.name, &t.name);
        out.extend(policies::for_table(&q, t));
    }
    out.extend(functions_order::triggers(model));
    out.extend(comments(model));
    out.extend(functions_order::comments(model));
    out.extend(privileges::all(model));
    out
}

/// [`render`] as one script: statements separated by `;` and a blank line.
pub fn render_script(model: &Model) -> String {
    let mut script = String::new();
    for stmt in render(model) {
        script.push_str(&stmt);
        script.push_str(";\n\n");
    }
    script
}

/// Sequence options as clauses with a leading space each. `with_type` is false for identity
/// columns, whose sequence takes the column's type (PostgreSQL refuses `AS` there).
pub(crate) fn sequence_options(o: &SequenceOptions, with_type: bool) -> String {
    let mut s = String::new();
    if let (true, Some(t)) = (with_type, &o.data_type) {
        s.push_str(&format!(" AS {t}"));
    }
    if let Some(v) = o.increment {
        s.push_str(&format!(" INCREMENT BY {v}"));
    }
    if let Some(v) = o.min_value {
        s.push_str(&format!(" MINVALUE {v}"));
    }
    if let Some(v) = o.max_value {
        s.push_str(&format!(" MAXVALUE {v}"));
    }
    if let Some(v) = o.start {
        s.push_str(&format!(" START WITH {v}"));
    }
    if let Some(v) = o.cache {
        s.push_str(&format!(" CACHE {v}"));
    }
    if o.cycle {
        s.push_str(" CYCLE");
    }
    s
}

pub(crate) fn comment_on(target: String, comment: &Option<String>) -> Option<String> {
    comment
        .as_ref()
        .map(|c| format!("COMMENT ON {target} IS {}", quote_literal(c)))
}

fn comments(model: &Model) -> Vec<String> {
    let mut out = Vec::new();
    for ext in model.extensions.values() {
        out.extend(comment_on(
            format!("EXTENSION {}", quote_ident(&ext.name)),
            &ext.comment,
        ));
    }
    for schema in model.schemas.values() {
        let target = format!("SCHEMA {}", quote_ident(&schema.name));
        match (&schema.comment, schema.name == PUBLIC) {
            // A new database's `public` carries a comment of its own; a model without one
            // means none.
            (None, true) => out.push(format!("COMMENT ON {target} IS NULL")),
            _ => out.extend(comment_on(target, &schema.comment)),
        }
        out.extend(schema_object_comments(schema));
    }
    out
}

fn schema_object_comments(schema: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for e in schema.enums.values() {
        out.extend(comment_on(
            format!("TYPE {}", table::qname(schema, &e.name)),
            &e.comment,
        ));
    }
    out.extend(types::comments(schema));
    for seq in schema.sequences.values() {
        out.extend(comment_on(
            format!("SEQUENCE {}", table::qname(schema, &seq.name)),
            &seq.comment,
        ));
    }
    for t in schema.tables.values() {
        out.extend(table::comments(schema, t));
    }
    for v in schema.views.values() {
        out.extend(comment_on(
            format!("VIEW {}", table::qname(schema, &v.name)),
            &v.comment,
        ));
    }
    for m in schema.materialized_views.values() {
        out.extend(matviews::comments(schema, m));
    }
    out
}

#[cfg(test)]
mod tests;

/// Where functions and triggers go in [`render`].
mod functions_order {
    use super::functions::{
        create_function, create_trigger, needs_tables, signature, trigger_state,
    };
    use crate::model::{Model, QualifiedName, TriggerState};
    use crate::sql::quote_literal;

    pub fn relations(model: &Model) -> Vec<QualifiedName> {
        model
            .schemas
            .values()
            .flat_map(|s| {
                s.tables
                    .keys()
                    .chain(s.views.keys())
                    .map(move |n| QualifiedName::new(&s.name, n))
            })
            .collect()
    }

    /// (functions created before the tables, functions created after them).
    pub fn split(model: &Model, relations: &[QualifiedName]) -> (Vec<String>, Vec<String>) {
        let (mut early, mut late) = (Vec::new(), Vec::new());
        for s in model.schemas.values() {
            for f in s.functions.values() {
                let stmt = create_function(&s.name, f, false);
                if needs_tables(f, relations) {
                    late.push(stmt);
                } else {
                    early.push(stmt);
                }
            }
        }
        (early, late)
    }

    pub fn triggers(model: &Model) -> Vec<String> {
        let mut out = Vec::new();
        let on_views = model.schemas.values().flat_map(|s| {
            s.views
                .values()
                .map(move |v| (QualifiedName::new(&s.name, &v.name), &v.triggers))
        });
        let on_tables = model
            .tables()
            .map(|(s, t)| (QualifiedName::new(&s.name, &t.name), &t.triggers));
        for (q, triggers) in on_tables.chain(on_views) {
            for tr in triggers.values() {
                out.push(create_trigger(&q, tr, false));
                if tr.state != TriggerState::Enabled {
                    out.push(trigger_state(&q, tr));
                }
            }
        }
        out
    }

    pub fn comments(model: &Model) -> Vec<String> {
        let mut out = Vec::new();
        for s in model.schemas.values() {
            for f in s.functions.values() {
                if let Some(c) = &f.comment {
                    out.push(format!(
                        "COMMENT ON {} {} IS {}",
                        super::functions::keyword(f),
                        signature(&s.name, f),
                        quote_literal(c)
                    ));
                }
            }
        }
        let on_views = model.schemas.values().flat_map(|s| {
            s.views
                .values()
                .map(move |v| (QualifiedName::new(&s.name, &v.name), &v.triggers))
        });
        let on_tables = model
            .tables()
            .map(|(s, t)| (QualifiedName::new(&s.name, &t.name), &t.triggers));
        for (q, triggers) in on_tables.chain(on_views) {
            for tr in triggers.values() {
                if let Some(c) = &tr.comment {
                    out.push(format!(
                        "COMMENT ON TRIGGER {} ON {} IS {}",
                        crate::sql::quote_ident(&tr.name),
                        crate::sql::qualified(&q),
                        quote_literal(c)
                    ));
                }
            }
        }
        out
    }
}
