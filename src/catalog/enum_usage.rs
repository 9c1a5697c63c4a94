//! Whether rows still hold enum values the declaration removes without saying what replaces
//! them: such a plan is refused before it is made, naming the table, column, value and row
//! count (see `diff::enum_rebuild`).
//!
//! One query per column that uses such an enum, counting only the removed values
//! (`WHERE col IN (...)`, which an index on the column serves); it reads rows, takes ACCESS
//! SHARE like any query, and changes nothing. The query names the column, so it is built with
//! `crate::sql` quoting rather than kept in a `.sql` file.

use tokio_postgres::Client;

use super::CatalogError;
use crate::diff::enum_rebuild::{Unreplaced, unreplaced};
use crate::model::{Model, QualifiedName};
use crate::sql::{qualified, quote_ident, quote_literal};

/// Removed enum values that rows still hold, and where.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error(
    "rows still hold enum values the declaration removes without a replacement:\n{}",
    .held.iter().map(|h| format!("  - {h}")).collect::<Vec<_>>().join("\n")
)]
#[diagnostic(
    code(formwork::plan::enum_value_in_use),
    help(
        "declare the value each removed one becomes in the enum block, for example \
         `removed \"meh\" replaced-by=\"calm\"` (docs/kdl.md, enum), or change those rows \
         first"
    )
)]
pub struct RemovedValuesInUse {
    pub held: Vec<Held>,
}

/// A removed value rows of one column hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub type_name: QualifiedName,
    pub value: String,
    pub table: QualifiedName,
    pub column: String,
    pub rows: i64,
}

impl std::fmt::Display for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}: {} {} hold \"{}\", which enum {} loses",
            self.table,
            self.column,
            self.rows,
            if self.rows == 1 { "row" } else { "rows" },
            self.value,
            self.type_name
        )
    }
}

/// Why the check could not be made, or what it found.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    InUse(#[from] RemovedValuesInUse),
}

/// Count, in the database `client` is connected to (read as `current`), the rows holding enum
/// values `declared` removes without a replacement; `Err(InUse)` when there are any.
pub async fn refuse_removed_values_in_use(
    client: &Client,
    current: &Model,
    declared: &Model,
) -> Result<(), CheckError> {
    let mut by_column: Vec<((QualifiedName, String), Vec<Unreplaced>)> = Vec::new();
    for u in unreplaced(current, declared) {
        let key = (u.table.clone(), u.column.clone());
        match by_column.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(u),
            None => by_column.push((key, vec![u])),
        }
    }
    let mut held = Vec::new();
    for ((table, column), values) in by_column {
        let col = quote_ident(&column);
        let list: Vec<String> = values.iter().map(|u| quote_literal(&u.value)).collect();
        let sql = format!(
            "SELECT {col}::text, count(*) FROM {} WHERE {col} IN ({}) GROUP BY 1 ORDER BY 1",
            qualified(&table),
            list.join(", ")
        );
        let rows = client
            .query(&sql, &[])
            .await
            .map_err(|e| CatalogError::Query {
                query: "enum values in use",
                message: match e.as_db_error() {
                    Some(db) => db.message().to_string(),
                    None => e.to_string(),
                },
            })?;
        for row in rows {
            let odd = |e: tokio_postgres::Error| {
                CatalogError::Unexpected(format!("enum value count returned an odd row: {e}"))
            };
            let value: String = row.try_get(0).map_err(odd)?;
            let count: i64 = row.try_get(1).map_err(odd)?;
            let Some(u) = values.iter().find(|u| u.value == value) else {
                continue;
            };
            held.push(Held {
                type_name: u.type_name.clone(),
                value,
                table: table.clone(),
                column: column.clone(),
                rows: count,
            });
        }
    }
    if held.is_empty() {
        Ok(())
    } else {
        Err(RemovedValuesInUse { held }.into())
    }
}
