//! Building part of a model in a scratch database.
//!
//! Normalization and proof both need some units of a model (see `model::units`) to exist in a
//! scratch database, and only those, so that the cost follows what changed. A unit cannot be
//! created alone: a table needs the types its columns use, the tables its foreign keys point
//! to, and a view needs what its query reads. [`context`] adds those around the core units;
//! context tables are created without their foreign keys and policies (which would pull in
//! more tables),
//! context sequences without `OWNED BY`. Only core units are read back from the scratch
//! database; everything else keeps its value from the model.
//!
//! Enums, domains, composite and range types and sequences are always created in full: they
//! are cheap, and a column type or `nextval` default may name any of them.

use std::collections::HashSet;

use tokio_postgres::Client;

use crate::ddl;
use crate::model::{Model, QualifiedName, UnitKey, UnitKind};
use crate::pg::scratch::{LazyScratch, ScratchDb, ScratchError};

/// A statement that failed while building a model in a scratch database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}\n  in: {statement}")]
pub struct StatementFailed {
    pub statement: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MaterializeError {
    #[error(transparent)]
    Scratch(#[from] ScratchError),
    #[error(transparent)]
    Statement(#[from] StatementFailed),
}

/// `core` plus the units they need to exist: enums, domains, composite and range types (all:
/// cheap, and any column may use one),
/// the tables foreign keys of core tables point to, the owners of core sequences, whatever core
/// views read, and the sequences the `nextval` defaults of all those tables name.
pub fn context(model: &Model, core: &HashSet<UnitKey>) -> HashSet<UnitKey> {
    let mut all: HashSet<UnitKey> = core.clone();
    for key in model.unit_keys() {
        // Functions too: a trigger, default, check or view may call any of them, and their
        // bodies are not checked when they are created.
        if matches!(
            key.kind,
            UnitKind::Enum
                | UnitKind::Extension
                | UnitKind::Schema
                | UnitKind::Function
                | UnitKind::Domain
                | UnitKind::Composite
                | UnitKind::Range
        ) {
            all.insert(key);
        }
    }
    let known = crate::diff::relation_names(model);
    let mut pending: Vec<UnitKey> = core.iter().cloned().collect();
    // A function whose creation needs relations (a SQL-standard body is parsed, a row type in
    // the signature must exist) brings the relations it names.
    for r in function_relations(model, &known) {
        if model.has_unit(&r) && all.insert(r.clone()) && r.kind == UnitKind::View {
            pending.push(r);
        }
    }
    while let Some(key) = pending.pop() {
        let mut needs: Vec<UnitKey> = Vec::new();
        match key.kind {
            UnitKind::Table => {
                if let Some(t) = model.table(&key.qualified()) {
                    needs.extend(
                        t.foreign_keys
                            .values()
                            .map(|fk| UnitKey::table(&fk.references)),
                    );
                    // A partition cannot exist without its parent, and what is done to a
                    // partitioned table reaches its partitions (the proof sees their locks).
                    if let Some(p) = &t.partition_of {
                        needs.push(UnitKey::table(&p.parent));
                    }
                    if t.partition_by.is_some() {
                        let parent = key.qualified();
                        needs.extend(
                            model
                                .tables()
                                .filter(|(_, c)| {
                                    c.partition_of.as_ref().is_some_and(|p| p.parent == parent)
                                })
                                .map(|(s, c)| UnitKey::new(UnitKind::Table, &s.name, &c.name)),
                        );
                    }
                    // What policy expressions read (`tenant IN (SELECT ... FROM members)`).
                    for e in t
                        .policies
                        .values()
                        .flat_map(|p| p.using.iter().chain(p.with_check.iter()))
                    {
                        let query = format!("SELECT 1 WHERE ({e})");
                        for r in crate::diff::view_reads(&known, &key.schema, &query) {
                            needs.push(crate::diff::relation_unit(model, &r));
                        }
                    }
                }
            }
            UnitKind::Sequence => {
                let owner = model
                    .schemas
                    .get(&key.schema)
                    .and_then(|s| s.sequences.get(&key.name))
                    .and_then(|s| s.owned_by.as_ref());
                if let Some(o) = owner {
                    needs.push(UnitKey::table(&o.table));
                }
            }
            UnitKind::View | UnitKind::MaterializedView => {
                let query = model.schemas.get(&key.schema).and_then(|s| {
                    if key.kind == UnitKind::View {
                        s.views.get(&key.name).map(|v| &v.query)
                    } else {
                        s.materialized_views.get(&key.name).map(|m| &m.query)
                    }
                });
                if let Some(query) = query {
                    for r in crate::diff::view_reads(&known, &key.schema, query) {
                        needs.push(crate::diff::relation_unit(model, &r));
                    }
                }
            }
            _ => {}
        }
        for n in needs {
            if model.has_unit(&n)
                && all.insert(n.clone())
                && matches!(n.kind, UnitKind::View | UnitKind::MaterializedView)
            {
                // A context view needs what it reads too.
                pending.push(n);
            }
        }
    }
    let tables: Vec<UnitKey> = all
        .iter()
        .filter(|k| k.kind == UnitKind::Table)
        .cloned()
        .collect();
    for key in tables {
        let Some(t) = model.table(&key.qualified()) else {
            continue;
        };
        for c in t.columns.values() {
            if let Some(seq) = c.default.as_deref().and_then(nextval_sequence) {
                for (s, _) in model.schemas.iter().filter(|(s, schema)| {
                    seq.0.as_ref().is_none_or(|want| want == *s)
                        && schema.sequences.contains_key(&seq.1)
                }) {
                    all.insert(UnitKey::new(UnitKind::Sequence, s, &seq.1));
                }
            }
        }
    }
    all
}

/// The tables and views named by the functions of `model` that need them to be created (see
/// `ddl::functions::needs_tables`), found in their text.
fn function_relations(model: &Model, known: &HashSet<(&str, &str)>) -> Vec<UnitKey> {
    let relations: Vec<QualifiedName> = known
        .iter()
        .map(|(s, n)| QualifiedName::new(*s, *n))
        .collect();
    let mut out = Vec::new();
    for s in model.schemas.values() {
        for f in s.functions.values() {
            if !ddl::functions::needs_tables(f, &relations) {
                continue;
            }
            let text: String = std::iter::once(f.body.as_str())
                .chain(f.returns.as_deref())
                .chain(f.arguments.iter().map(|a| a.data_type.as_str()))
                .collect::<Vec<_>>()
                .join(" ");
            for r in &relations {
                if names_relation(&text, &r.name) {
                    let is_view = model
                        .schemas
                        .get(&r.schema)
                        .is_some_and(|sc| sc.views.contains_key(&r.name));
                    let kind = if is_view {
                        UnitKind::View
                    } else {
                        UnitKind::Table
                    };
                    out.push(UnitKey::new(kind, &r.schema, &r.name));
                }
            }
        }
    }
    out
}

/// Whether `text` contains `name` as a whole word (bare or quoted): a cheap over-approximation
/// of "the SQL names this relation", which only ever builds a little more context.
fn names_relation(text: &str, name: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut from = 0;
    while let Some(pos) = text[from..].find(name) {
        let at = from + pos;
        let end = at + name.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            return true;
        }
        from = end;
    }
    false
}

/// The sequence a `nextval('...')` default names: (schema if written, name), unquoted.
fn nextval_sequence(default: &str) -> Option<(Option<String>, String)> {
    let start = default.find("nextval('")? + "nextval('".len();
    let rest = &default[start..];
    // The literal ends at the first single quote (names with quotes in them are doubled).
    let mut text = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                text.push('\'');
                continue;
            }
            break;
        }
        text.push(c);
    }
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '"' if quoted && it.peek() == Some(&'"') => {
                it.next();
                cur.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            c if quoted => cur.push(c),
            c => cur.extend(c.to_lowercase()),
        }
    }
    parts.push(cur);
    match parts.as_slice() {
        [name] => Some((None, name.clone())),
        [schema, name] => Some((Some(schema.clone()), name.clone())),
        _ => None,
    }
}

/// The part of `model` to build for `core`: core units as they are, context units trimmed so
/// they pull in nothing more.
pub fn restricted(model: &Model, core: &HashSet<UnitKey>) -> Model {
    restricted_with(model, core, &HashSet::new())
}

/// [`restricted`], with `extra` units built as context too.
pub fn restricted_with(model: &Model, core: &HashSet<UnitKey>, extra: &HashSet<UnitKey>) -> Model {
    let mut keep = context(model, core);
    keep.extend(context(model, extra));
    let mut out = model.restrict(&keep);
    let in_out: HashSet<QualifiedName> = out
        .schemas
        .values()
        .flat_map(|s| s.tables.keys().map(move |t| QualifiedName::new(&s.name, t)))
        .collect();
    for s in out.schemas.values_mut() {
        let sname = s.name.clone();
        for t in s.tables.values_mut() {
            if !core.contains(&UnitKey::new(UnitKind::Table, &sname, &t.name)) {
                t.foreign_keys.clear();
                // Policies may read other relations; a context table needs none.
                t.policies.clear();
            }
        }
        for seq in s.sequences.values_mut() {
            let is_core = core.contains(&UnitKey::new(UnitKind::Sequence, &sname, &seq.name));
            let owner_built = seq
                .owned_by
                .as_ref()
                .is_some_and(|o| in_out.contains(&o.table));
            if !is_core || !owner_built {
                seq.owned_by = None;
            }
        }
    }
    out
}

/// Create a scratch database holding `model` (already restricted).
pub async fn build(
    scratch: &LazyScratch,
    model: &Model,
) -> Result<(ScratchDb, Client), MaterializeError> {
    let db = scratch.get().await?.create_database().await?;
    let client = match db.client().await {
        Ok(c) => c,
        Err(e) => {
            let _ = db.drop_now().await;
            return Err(e.into());
        }
    };
    // Only some units are built: a function body may name a table that is not. Bodies are
    // checked when the target runs the plan (and PL/pgSQL ones only when called anyway).
    let mut script = vec!["SET check_function_bodies = false".to_string()];
    script.extend(ddl::render(model));
    script.extend(invalid_indexes(model));
    let roles = ensure_roles(&client, model).await;
    if let Err(e) = roles.and(run_script(&client, &script).await) {
        let _ = db.drop_now().await;
        return Err(e.into());
    }
    Ok((db, client))
}

/// Create, without login, the roles `model` grants to that the scratch server lacks. Roles
/// are server-wide and outside the declaration: the target must already have them (the
/// planner checks), a scratch server only needs them to exist for GRANT to run. Several
/// scratch databases may be built at once, so a role created meanwhile is not an error.
async fn ensure_roles(client: &Client, model: &Model) -> Result<(), StatementFailed> {
    async fn exists(client: &Client, role: &str) -> bool {
        client
            .query_opt(
                "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
                &[&role],
            )
            .await
            .is_ok_and(|row| row.is_some())
    }
    for role in ddl::privileges::roles(model) {
        if exists(client, &role).await {
            continue;
        }
        let sql = format!("CREATE ROLE {} NOLOGIN", crate::sql::quote_ident(&role));
        if let Err(e) = client.batch_execute(&sql).await {
            if !exists(client, &role).await {
                return Err(StatementFailed {
                    statement: sql,
                    message: crate::apply::error_message(&e),
                });
            }
        }
    }
    Ok(())
}

/// An INVALID index (a failed concurrent build) in the target is rebuilt valid by the DDL;
/// marking it invalid again in the catalog makes the copy read back as the target, so a plan
/// that replaces it can be proven. This needs a superuser scratch server, as the development
/// servers formwork starts are.
fn invalid_indexes(model: &Model) -> Vec<String> {
    model
        .tables()
        .flat_map(|(s, t)| {
            t.indexes.values().filter(|i| !i.valid).map(|i| {
                let name = crate::sql::qualified(&crate::model::QualifiedName::new(&s.name, &i.name));
                format!(
                    "UPDATE pg_catalog.pg_index SET indisvalid = false WHERE indexrelid = {}::regclass",
                    crate::sql::quote_literal(&name)
                )
            })
        })
        .collect()
}

/// Run statements in batches (one round trip per batch); when a batch fails, it rolled back as a
/// whole, and its statements are run one by one to name the one that fails.
pub async fn run_script(client: &Client, statements: &[String]) -> Result<(), StatementFailed> {
    const BATCH: usize = 400;
    for chunk in statements.chunks(BATCH) {
        let script: String = chunk.iter().map(|s| format!("{s};\n")).collect();
        if client.batch_execute(&script).await.is_ok() {
            continue;
        }
        for stmt in chunk {
            if let Err(e) = client.batch_execute(stmt).await {
                return Err(StatementFailed {
                    statement: stmt.clone(),
                    message: crate::apply::error_message(&e),
                });
            }
        }
        // The batch failed but each statement alone succeeded (an implicit-transaction
        // restriction): nothing more to do, the statements are all applied now.
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::nextval_sequence;

    #[test]
    fn nextval_defaults_name_their_sequence() {
        assert_eq!(
            nextval_sequence("nextval('app.t_id_seq'::regclass)"),
            Some((Some("app".into()), "t_id_seq".into()))
        );
        assert_eq!(
            nextval_sequence("nextval('\"My Schema\".\"Seq.\"\"x\"'::regclass)"),
            Some((Some("My Schema".into()), "Seq.\"x".into()))
        );
        assert_eq!(
            nextval_sequence("nextval('Seq')"),
            Some((None, "seq".into()))
        );
        assert_eq!(nextval_sequence("now()"), None);
    }
}
