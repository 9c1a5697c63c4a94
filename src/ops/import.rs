//! `import`: SQL DDL to KDL, by way of a scratch database.
//!
//! formwork does not parse DDL into a model itself: PostgreSQL is the only faithful reader of
//! its own dialect. The file is split into statements ([`crate::sqlfile`]), run one by one in a
//! fresh scratch database, and the result is introspected and rendered exactly as `dump` would,
//! so `import` of a schema's SQL and `dump` of a database built from it give the same KDL.
//!
//! What the input may contain besides DDL, and what happens to it:
//! - psql meta-command lines (`\connect`, `\restrict`, `\unrestrict`, ...): not SQL, skipped.
//! - Ownership (`ALTER ... OWNER TO`), `SECURITY LABEL` and role statements: not managed, and
//!   the roles they name usually do not exist on the scratch server; skipped and reported.
//! - Privileges (`GRANT`, `REVOKE`, `ALTER DEFAULT PRIVILEGES`) run, since the model holds
//!   them; a role they name that the scratch server lacks is created there without login
//!   first (roles stay outside the declaration; `plan` checks the target has them).
//! - `COPY ... FROM stdin` data: skipped and reported (import reads schemas, not data).
//! - Alembic's offline output (`alembic upgrade --sql`): its `BEGIN;`/`COMMIT;` run as written;
//!   its bookkeeping table `alembic_version` (created and written by every such script) is left
//!   out of the result, since it belongs to the migration tool, not to the application schema.
//!
//! Everything else runs as written, in one session, in file order, like `psql -f` with
//! `ON_ERROR_STOP`: the first failing statement stops the import and is reported with its file,
//! line, the server's message, detail and hint, pointing at the statement in the source.
//! The scratch database is dropped afterwards, whatever happened.

use std::path::PathBuf;

use miette::{NamedSource, SourceSpan};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::model::{Model, QualifiedName, Unmanaged};
use crate::pg::scratch::{Scratch, ScratchError};
use crate::sqlfile::{Item, Statement};

/// The table Alembic keeps its revision in. Never part of an imported schema.
pub const ALEMBIC_VERSION_TABLE: &str = "alembic_version";

/// A SQL file to import.
#[derive(Debug, Clone)]
pub struct SqlSource {
    /// Shown in diagnostics (usually the path as given).
    pub name: String,
    pub text: String,
}

/// Why a statement of the input was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    MetaCommand,
    Ownership,
    Role,
    SecurityLabel,
    Data,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::MetaCommand => "psql meta-command",
            SkipReason::Ownership => "ownership (not managed)",
            SkipReason::Role => "role statement (not managed)",
            SkipReason::SecurityLabel => "security label (not managed)",
            SkipReason::Data => "table data (import reads schemas only)",
        }
    }
}

/// A statement or line of the input that was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub line: u64,
    pub reason: SkipReason,
}

/// What an import produced.
#[derive(Debug, Clone)]
pub struct Imported {
    pub model: Model,
    pub unmanaged: Vec<Unmanaged>,
    /// The KDL, laid out as `dump` lays it out.
    pub files: Vec<(PathBuf, String)>,
    pub skipped: Vec<Skipped>,
    /// Alembic bookkeeping tables that were created by the input and left out of the model.
    pub excluded: Vec<QualifiedName>,
    /// How many statements ran.
    pub executed: usize,
}

/// A statement of the input that the server refused.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{file}:{line}:{column}: statement failed: {message}")]
#[diagnostic(code(formwork::import::statement))]
pub struct StatementFailed {
    pub file: String,
    pub line: u64,
    pub column: u64,
    /// The server's message.
    pub message: String,
    /// SQLSTATE, when the server sent one.
    pub code: Option<String>,
    pub detail: Option<String>,
    pub hint: Option<String>,
    #[help]
    help: Option<String>,
    #[source_code]
    src: NamedSource<String>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ImportError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Statement(Box<StatementFailed>),
    #[error("{file}:{line}:{column}: cannot split the file into statements: {message}")]
    #[diagnostic(code(formwork::import::split))]
    Split {
        file: String,
        line: u64,
        column: u64,
        message: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("here")]
        span: SourceSpan,
    },
    #[error("scratch database: {0}")]
    #[diagnostic(code(formwork::import::scratch))]
    Scratch(#[from] ScratchError),
    #[error("scratch database: {0}")]
    #[diagnostic(code(formwork::import::scratch))]
    Connection(String),
    #[error("cannot read the scratch database's catalog: {0}")]
    #[diagnostic(code(formwork::import::catalog))]
    Catalog(String),
}

/// Run `source` in a fresh database on `scratch`, read it back and render it as KDL.
pub async fn import(scratch: &Scratch, source: &SqlSource) -> Result<Imported, ImportError> {
    let db = scratch.create_database().await?;
    let result = run_and_read(&db, source).await;
    // Dropping is best effort: a failure to clean up must not hide the import's own result.
    let _ = db.drop_now().await;
    result
}

async fn run_and_read(
    db: &crate::pg::scratch::ScratchDb,
    source: &SqlSource,
) -> Result<Imported, ImportError> {
    let client = db.client().await?;
    let (executed, skipped) = run_source(&client, source).await?;
    drop(client);

    // A fresh session: the input may have changed `search_path` and other settings.
    let client = db.client().await?;
    let catalog = crate::catalog::introspect(&client)
        .await
        .map_err(|e| ImportError::Catalog(e.to_string()))?;
    let mut model = catalog.model;
    let excluded = exclude_alembic_version(&mut model);
    let dump = crate::ops::dump::Dump::from_model(model, catalog.unmanaged);
    Ok(Imported {
        model: dump.model,
        unmanaged: dump.unmanaged,
        files: dump.files,
        skipped,
        excluded,
        executed,
    })
}

/// Run every statement of `source` on `client`, skipping psql meta-commands and the statements
/// [`import`] leaves out (ownership, roles, data). Returns how many statements ran and
/// what was skipped; the first failing statement stops the run and is reported with its line.
pub async fn run_source(
    client: &tokio_postgres::Client,
    source: &SqlSource,
) -> Result<(usize, Vec<Skipped>), ImportError> {
    let mut skipped = Vec::new();
    let mut executed = 0;
    for item in crate::sqlfile::split(&source.text) {
        match item {
            Item::Statement(stmt) => {
                if let Some(reason) = skip_reason(&stmt.tokens) {
                    skipped.push(Skipped {
                        line: stmt.start.line,
                        reason,
                    });
                    continue;
                }
                run_creating_roles(client, stmt.text)
                    .await
                    .map_err(|e| statement_failed(source, &stmt, &e))?;
                executed += 1;
            }
            Item::MetaCommand(meta) => skipped.push(Skipped {
                line: meta.start.line,
                reason: SkipReason::MetaCommand,
            }),
            Item::TrailingComments(_) => {}
            Item::Error(err) => {
                return Err(ImportError::Split {
                    file: source.name.clone(),
                    line: err.at.line,
                    column: err.at.column,
                    message: err.message,
                    src: NamedSource::new(&source.name, source.text.clone()),
                    span: SourceSpan::from(
                        err.statement_start.offset..err.at.offset.max(err.statement_start.offset),
                    ),
                });
            }
        }
    }
    Ok((executed, skipped))
}

/// How many missing roles one statement may ask for (`GRANT ... TO a, b, c`).
const MAX_ROLES_PER_STATEMENT: usize = 64;

/// Run one statement; when it names a role the server lacks (a GRANT to an application role),
/// create that role without login and run it again.
async fn run_creating_roles(
    client: &tokio_postgres::Client,
    sql: &str,
) -> Result<(), tokio_postgres::Error> {
    let mut created = 0;
    loop {
        let err = match client.batch_execute(sql).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let missing = err
            .as_db_error()
            .filter(|db| db.code() == &tokio_postgres::error::SqlState::UNDEFINED_OBJECT)
            .and_then(|db| missing_role(db.message()));
        let Some(role) = missing.filter(|_| created < MAX_ROLES_PER_STATEMENT) else {
            return Err(err);
        };
        let create = format!("CREATE ROLE {} NOLOGIN", crate::sql::quote_ident(&role));
        if client.batch_execute(&create).await.is_err() {
            return Err(err);
        }
        created += 1;
    }
}

/// The role of PostgreSQL's `role "name" does not exist`.
fn missing_role(message: &str) -> Option<String> {
    let rest = message.strip_prefix("role \"")?;
    let name = rest.strip_suffix("\" does not exist")?;
    Some(name.to_string())
}

/// Remove Alembic's bookkeeping table from `model`, returning what was removed.
pub fn exclude_alembic_version(model: &mut Model) -> Vec<QualifiedName> {
    let mut removed = Vec::new();
    for schema in model.schemas.values_mut() {
        if schema.tables.shift_remove(ALEMBIC_VERSION_TABLE).is_some() {
            removed.push(QualifiedName::new(&schema.name, ALEMBIC_VERSION_TABLE));
        }
    }
    removed
}

/// Statements that are not run, decided from their leading keywords.
fn skip_reason(tokens: &[TokenWithSpan]) -> Option<SkipReason> {
    let words: Vec<Option<Keyword>> = tokens
        .iter()
        .take(4)
        .map(|t| match &t.token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.keyword),
            _ => None,
        })
        .collect();
    let first = words.first().copied().flatten()?;
    match first {
        Keyword::SECURITY => Some(SkipReason::SecurityLabel),
        Keyword::COPY if mentions(tokens, Keyword::STDIN) => Some(SkipReason::Data),
        Keyword::CREATE | Keyword::ALTER | Keyword::DROP
            if matches!(
                words.get(1).copied().flatten(),
                Some(Keyword::ROLE | Keyword::USER | Keyword::GROUP)
            ) =>
        {
            Some(SkipReason::Role)
        }
        Keyword::ALTER if owner_to(tokens) => Some(SkipReason::Ownership),
        _ => None,
    }
}

fn mentions(tokens: &[TokenWithSpan], keyword: Keyword) -> bool {
    tokens.iter().any(
        |t| matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.keyword == keyword),
    )
}

/// `... OWNER TO role` as the statement's last three tokens (how pg_dump writes it).
fn owner_to(tokens: &[TokenWithSpan]) -> bool {
    let n = tokens.len();
    n >= 3
        && matches!(&tokens[n - 3].token, Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::OWNER)
        && matches!(&tokens[n - 2].token, Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::TO)
}

fn statement_failed(
    source: &SqlSource,
    stmt: &Statement<'_>,
    e: &tokio_postgres::Error,
) -> ImportError {
    let (message, code, detail, hint, position) = match e.as_db_error() {
        Some(db) => (
            db.message().to_string(),
            Some(db.code().code().to_string()),
            db.detail().map(str::to_string),
            db.hint().map(str::to_string),
            match db.position() {
                Some(tokio_postgres::error::ErrorPosition::Original(p)) => Some(*p as usize),
                _ => None,
            },
        ),
        None => (e.to_string(), None, None, None, None),
    };
    // The server's position counts characters from 1 within the statement it was sent.
    let at = position.and_then(|p| {
        stmt.text
            .char_indices()
            .nth(p.saturating_sub(1))
            .map(|(i, _)| stmt.start.offset + i)
    });
    let (span, label) = match at {
        Some(offset) => {
            let rest = &source.text[offset..stmt.end.offset.max(offset)];
            let len = rest
                .find(|c: char| c.is_whitespace() || c == ',' || c == ')' || c == ';')
                .unwrap_or(rest.len())
                .max(1);
            (SourceSpan::from(offset..offset + len), message.clone())
        }
        None => (
            SourceSpan::from(stmt.span()),
            "this statement failed".to_string(),
        ),
    };
    let (line, column) = match at {
        Some(offset) => line_column(&source.text, offset),
        None => (stmt.start.line, stmt.start.column),
    };
    let help = match (&detail, &hint) {
        (None, None) => None,
        (Some(d), None) => Some(format!("detail: {d}")),
        (None, Some(h)) => Some(format!("hint: {h}")),
        (Some(d), Some(h)) => Some(format!("detail: {d}\nhint: {h}")),
    };
    ImportError::Statement(Box::new(StatementFailed {
        file: source.name.clone(),
        line,
        column,
        message,
        code,
        detail,
        hint,
        help,
        src: NamedSource::new(&source.name, source.text.clone()),
        span,
        label,
    }))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() as u64 + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(sql: &str) -> Vec<Option<SkipReason>> {
        crate::sqlfile::split(sql)
            .filter_map(|item| match item {
                Item::Statement(s) => Some(skip_reason(&s.tokens)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn ownership_roles_and_data_are_skipped_and_ddl_and_privileges_are_not() {
        let sql = "ALTER TABLE public.t OWNER TO app;\n\
                   ALTER TABLE public.t ADD COLUMN owner text;\n\
                   GRANT SELECT ON public.t TO reader;\n\
                   REVOKE ALL ON SCHEMA public FROM PUBLIC;\n\
                   ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO reader;\n\
                   CREATE ROLE app;\n\
                   SECURITY LABEL ON TABLE t IS 'x';\n\
                   COPY public.t (a) FROM stdin;\n1\n\\.\n\
                   CREATE TABLE owner (owner text);\n\
                   INSERT INTO alembic_version (version_num) VALUES ('abc');\n";
        assert_eq!(
            reasons(sql),
            vec![
                Some(SkipReason::Ownership),
                None,
                None,
                None,
                None,
                Some(SkipReason::Role),
                Some(SkipReason::SecurityLabel),
                Some(SkipReason::Data),
                None,
                None,
            ]
        );
    }

    #[test]
    fn the_missing_role_is_read_from_the_server_message() {
        assert_eq!(
            missing_role("role \"app user\" does not exist").as_deref(),
            Some("app user")
        );
        assert_eq!(missing_role("relation \"t\" does not exist"), None);
    }

    #[test]
    fn alembic_version_is_removed_from_every_schema() {
        let mut m = Model::default();
        for s in ["public", "meta"] {
            let mut schema = crate::model::Schema {
                name: s.into(),
                ..Default::default()
            };
            for t in [ALEMBIC_VERSION_TABLE, "users"] {
                schema.tables.insert(
                    t.into(),
                    crate::model::Table {
                        name: t.into(),
                        ..Default::default()
                    },
                );
            }
            m.schemas.insert(s.into(), schema);
        }
        let removed = exclude_alembic_version(&mut m);
        assert_eq!(
            removed,
            vec![
                QualifiedName::new("public", ALEMBIC_VERSION_TABLE),
                QualifiedName::new("meta", ALEMBIC_VERSION_TABLE)
            ]
        );
        assert!(m.tables().all(|(_, t)| t.name == "users"));
        assert_eq!(m.tables().count(), 2);
    }

    #[test]
    fn line_column_counts_characters() {
        let text = "ab\nçd éf\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        let e = text.find('é').unwrap_or(0);
        assert_eq!(line_column(text, e), (2, 4));
    }
}
