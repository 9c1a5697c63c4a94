//! Loading a fixture state into a database, one statement at a time, as psql would send it.
//!
//! Statements are split with `formwork::sqlfile` and sent one per simple query, so statements
//! that refuse a transaction block (`CREATE INDEX CONCURRENTLY`, `ALTER TYPE ... ADD VALUE`
//! before use) load as they would from psql. psql meta-command lines are skipped. Roles that
//! the fixtures grant to are cluster-wide and are created on first mention: the fixture sets
//! were written against servers where they existed.

use formwork::sql::{quote_ident, quote_literal};
use formwork::sqlfile::{Item, split};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

/// How many missing roles one statement may ask for before we give up on it.
const MAX_ROLE_RETRIES: usize = 8;

/// Create `role` unless it exists (concurrent cases may race to create it).
pub async fn ensure_role(client: &Client, role: &str) -> Result<(), String> {
    let sql = format!("CREATE ROLE {}", quote_ident(role));
    match client.batch_execute(&sql).await {
        Ok(()) => Ok(()),
        Err(e)
            if e.code() == Some(&SqlState::DUPLICATE_OBJECT)
                || e.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("cannot create role {role}: {}", message(&e))),
    }
}

/// Put the session's unqualified names in `schema` (created if missing).
pub async fn use_schema(client: &Client, schema: &str) -> Result<(), String> {
    let sql = format!(
        "CREATE SCHEMA IF NOT EXISTS {q}; SELECT pg_catalog.set_config('search_path', {l}, false)",
        q = quote_ident(schema),
        l = quote_literal(&quote_ident(schema)),
    );
    client.batch_execute(&sql).await.map_err(|e| message(&e))
}

/// Run every statement of `sql`. psqldef's states are declarations, not scripts (its
/// fixtures name tables before creating them and leave out `CREATE SCHEMA` for schemas the
/// from-state already had), so a statement that fails because something it names does not
/// exist yet is retried after the others, until a pass makes no progress; then schemas still
/// missing (named in an error, or set as the search_path) are created. The first error that
/// remains is the reason the state does not load.
pub async fn load_state(client: &Client, sql: &str) -> Result<(), String> {
    let mut pending: Vec<(u64, String)> = Vec::new();
    for item in split(sql) {
        match item {
            Item::Statement(stmt) => pending.push((stmt.start.line, stmt.text.to_string())),
            Item::MetaCommand(_) | Item::TrailingComments(_) => {}
            Item::Error(e) => {
                return Err(format!(
                    "line {}: the SQL cannot be split: {}",
                    e.at.line, e.message
                ));
            }
        }
    }
    while !pending.is_empty() {
        let mut deferred = Vec::new();
        let mut progress = false;
        for (line, text) in pending {
            match execute(client, &text).await {
                Ok(()) => progress = true,
                Err(e) if is_missing_dependency(&e) => deferred.push((line, text, e)),
                Err(e) => return Err(describe(line, &text, &e)),
            }
        }
        if !progress {
            for (_, _, e) in &deferred {
                let schemas = match missing_schema(e) {
                    Some(schema) => vec![schema],
                    None if no_schema_selected(e) => search_path(client).await,
                    None => Vec::new(),
                };
                for schema in schemas {
                    let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(&schema));
                    progress |= client.batch_execute(&sql).await.is_ok();
                }
            }
        }
        let mut keys = Vec::new();
        if !progress {
            // Tables whose foreign keys reference each other: created without them, the keys
            // added after (psqldef's own parser accepts the cycle inside CREATE TABLE).
            for (line, text, e) in &mut deferred {
                if e.code() != Some(&SqlState::UNDEFINED_TABLE) {
                    continue;
                }
                if let Some((create, alters)) = without_foreign_keys(text) {
                    *text = create;
                    keys.extend(alters.into_iter().map(|a| (*line, a)));
                    progress = true;
                }
            }
        }
        if !progress && let Some((line, text, e)) = deferred.first() {
            return Err(describe(*line, text, e));
        }
        pending = deferred.into_iter().map(|(l, t, _)| (l, t)).collect();
        pending.extend(keys);
    }
    Ok(())
}

/// `CREATE TABLE` without its foreign keys, and an `ALTER TABLE ... ADD` for each; `None` when
/// the statement is not a `CREATE TABLE` with foreign keys.
fn without_foreign_keys(text: &str) -> Option<(String, Vec<String>)> {
    use sqlparser::ast::{ColumnOption, Statement, TableConstraint};
    use sqlparser::dialect::PostgreSqlDialect;
    let mut statements = sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, text).ok()?;
    let [Statement::CreateTable(table)] = statements.as_mut_slice() else {
        return None;
    };
    let mut keys: Vec<String> = Vec::new();
    table.constraints.retain(|c| match c {
        TableConstraint::ForeignKey(fk) => {
            keys.push(fk.to_string());
            false
        }
        _ => true,
    });
    for column in &mut table.columns {
        let name = column.name.clone();
        column.options.retain(|o| match &o.option {
            ColumnOption::ForeignKey(fk) => {
                let mut fk = fk.clone();
                fk.columns = vec![name.clone()];
                fk.name = o.name.clone().or(fk.name);
                keys.push(fk.to_string());
                false
            }
            _ => true,
        });
    }
    if keys.is_empty() {
        return None;
    }
    let alters = keys
        .iter()
        .map(|k| format!("ALTER TABLE {} ADD {k}", table.name))
        .collect();
    Some((table.to_string(), alters))
}

/// One statement, creating roles it grants to when they are missing.
async fn execute(client: &Client, text: &str) -> Result<(), tokio_postgres::Error> {
    let mut retries = 0;
    loop {
        match client.batch_execute(text).await {
            Ok(()) => return Ok(()),
            Err(e) => match missing_role(&e) {
                Some(role) if retries < MAX_ROLE_RETRIES => {
                    if ensure_role(client, &role).await.is_err() {
                        return Err(e);
                    }
                    retries += 1;
                }
                _ => return Err(e),
            },
        }
    }
}

fn describe(line: u64, text: &str, e: &tokio_postgres::Error) -> String {
    format!(
        "line {line}: {} (statement: {})",
        message(e),
        one_line(text, 100)
    )
}

/// Errors that an ordering-independent loader would not have hit.
fn is_missing_dependency(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        [
            SqlState::UNDEFINED_TABLE,
            SqlState::INVALID_SCHEMA_NAME,
            SqlState::UNDEFINED_FUNCTION,
            SqlState::UNDEFINED_OBJECT,
            SqlState::UNDEFINED_COLUMN,
        ]
        .contains(c)
    })
}

fn missing_schema(e: &tokio_postgres::Error) -> Option<String> {
    let db = e.as_db_error()?;
    let rest = db.message().strip_prefix("schema \"")?;
    Some(rest.strip_suffix("\" does not exist")?.to_string())
}

/// `SET search_path TO s` succeeds for a schema that does not exist; creating a table then
/// fails with this.
fn no_schema_selected(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|db| db.message().starts_with("no schema has been selected"))
}

/// The schemas the session's search_path names (`$user` left out).
async fn search_path(client: &Client) -> Vec<String> {
    let Ok(row) = client.query_one("SHOW search_path", &[]).await else {
        return Vec::new();
    };
    let path: String = row.get(0);
    path.split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty() && *s != "\"$user\"")
        .map(
            |s| match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(quoted) => quoted.replace("\"\"", "\""),
                None => s.to_lowercase(),
            },
        )
        .collect()
}

fn missing_role(e: &tokio_postgres::Error) -> Option<String> {
    let db = e.as_db_error()?;
    if db.code() != &SqlState::UNDEFINED_OBJECT {
        return None;
    }
    let rest = db.message().strip_prefix("role \"")?;
    Some(rest.strip_suffix("\" does not exist")?.to_string())
}

/// The server's message when there is one, else the client's.
pub fn message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// `text` on one line, cut to about `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    }
}
