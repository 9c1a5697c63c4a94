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
/// missing are created. The first error that remains is the reason the state does not load.
pub async fn load_state(client: &Client, sql: &str) -> Result<(), String> {
    let mut pending = Vec::new();
    for item in split(sql) {
        match item {
            Item::Statement(stmt) => pending.push((stmt.start.line, stmt.text)),
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
            match execute(client, text).await {
                Ok(()) => progress = true,
                Err(e) if is_missing_dependency(&e) => deferred.push((line, text, e)),
                Err(e) => return Err(describe(line, text, &e)),
            }
        }
        if !progress {
            for (_, _, e) in &deferred {
                if let Some(schema) = missing_schema(e) {
                    let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(&schema));
                    progress |= client.batch_execute(&sql).await.is_ok();
                }
            }
        }
        if !progress && let Some((line, text, e)) = deferred.first() {
            return Err(describe(*line, text, e));
        }
        pending = deferred.into_iter().map(|(l, t, _)| (l, t)).collect();
    }
    Ok(())
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
