//! Size estimates of the tables a plan touches, so a reviewer can tell a lock held for a
//! metadata change from one held while millions of rows are copied.
//!
//! One set-based query (`queries/estimates.sql`) for any number of tables. The numbers are
//! PostgreSQL's own statistics (`pg_class.reltuples`, `relpages`), not counts: nothing here
//! scans a table, and a table never analyzed reports `rows = -1` rather than a guess.

use tokio_postgres::Client;

use super::CatalogError;
use crate::model::QualifiedName;
use crate::plan::TableEstimate;

const ESTIMATES: &str = include_str!("queries/estimates.sql");

/// The estimates PostgreSQL keeps for `tables`, sorted by table. Names that are not tables
/// (or no longer exist) are absent; repeated names appear once.
pub async fn estimates(
    client: &Client,
    tables: &[QualifiedName],
) -> Result<Vec<TableEstimate>, CatalogError> {
    let schemas: Vec<&str> = tables.iter().map(|t| t.schema.as_str()).collect();
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let rows = client
        .query(ESTIMATES, &[&schemas, &names])
        .await
        .map_err(|e| CatalogError::Query {
            query: "estimates",
            message: match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => e.to_string(),
            },
        })?;
    rows.iter()
        .map(|row| {
            let field = |e: tokio_postgres::Error| {
                CatalogError::Unexpected(format!("estimates query returned an odd row: {e}"))
            };
            Ok(TableEstimate {
                table: QualifiedName::new(
                    row.try_get::<_, String>("schema").map_err(field)?,
                    row.try_get::<_, String>("name").map_err(field)?,
                ),
                rows: row.try_get("rows").map_err(field)?,
                pages: row.try_get("pages").map_err(field)?,
            })
        })
        .collect()
}
