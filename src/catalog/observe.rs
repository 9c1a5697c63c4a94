//! Watching what a statement does to the catalog: the locks a session holds and each
//! relation's storage file. The proof reads these around every step it runs in a scratch
//! database, so a plan records the locks PostgreSQL really took and the tables it really
//! rewrote, not only what the classifier predicts.

use std::collections::HashMap;

use tokio_postgres::{Client, Row};

use super::CatalogError;
use crate::locks::LockMode;
use crate::model::QualifiedName;

/// The relation locks the session holds; run it inside the transaction being watched.
pub const HELD_LOCKS: &str = include_str!("queries/held_locks.sql");

const STORAGE: &str = include_str!("queries/storage.sql");

/// A user relation: its name, `relkind` and storage file number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub name: QualifiedName,
    pub kind: char,
    pub filenode: i64,
}

/// Every user relation by OID.
pub async fn relations(client: &Client) -> Result<HashMap<i64, Relation>, CatalogError> {
    let rows = client
        .query(STORAGE, &[])
        .await
        .map_err(|e| CatalogError::Query {
            query: "relations",
            message: crate::apply::error_message(&e),
        })?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in &rows {
        let kind: String = r.try_get("kind").map_err(unexpected)?;
        out.insert(
            r.try_get("oid").map_err(unexpected)?,
            Relation {
                name: QualifiedName::new(
                    r.try_get::<_, String>("schema").map_err(unexpected)?,
                    r.try_get::<_, String>("name").map_err(unexpected)?,
                ),
                kind: kind.chars().next().unwrap_or('?'),
                filenode: r.try_get("filenode").map_err(unexpected)?,
            },
        );
    }
    Ok(out)
}

/// The strongest mode held on each relation, from the rows of [`HELD_LOCKS`].
pub fn held_locks(rows: &[Row]) -> HashMap<i64, LockMode> {
    let mut out: HashMap<i64, LockMode> = HashMap::new();
    for row in rows {
        let (Ok(mode), Ok(oid)) = (row.try_get::<_, String>(0), row.try_get::<_, i64>(1)) else {
            continue;
        };
        if let Ok(m) = mode.parse::<LockMode>() {
            let e = out.entry(oid).or_insert(m);
            *e = (*e).max(m);
        }
    }
    out
}

fn unexpected(e: tokio_postgres::Error) -> CatalogError {
    CatalogError::Unexpected(e.to_string())
}
