//! Facts from a live database for `formwork lint --db`: which tables exist and how big they
//! are, column types, columns already proven non-null, partitioned tables and indexes,
//! function volatility from `pg_proc`, and the domains that carry constraints.
//!
//! Read-only and set-based: five queries, whatever the size of the catalog. It changes
//! nothing and takes no lock beyond catalog reads.

use super::{DbFacts, PgVersion};

/// Read the facts the lint rules can use, and the server version.
pub async fn facts(
    client: &tokio_postgres::Client,
) -> Result<(DbFacts, PgVersion), tokio_postgres::Error> {
    let mut f = DbFacts::default();
    let mut tables = std::collections::HashSet::new();
    for row in client
        .query(include_str!("queries/relations.sql"), &[])
        .await?
    {
        let schema: String = row.get("schema");
        let name: String = row.get("name");
        let kind: String = row.get("kind");
        let rows: f64 = row.get("rows");
        let key = format!("{schema}.{name}");
        match kind.as_str() {
            "I" => {
                f.partitioned_indexes.insert(key.clone());
            }
            "p" => {
                f.partitioned.insert(key.clone());
            }
            _ => {}
        }
        if kind != "i" && kind != "I" && kind != "p" && rows >= 0.0 {
            f.row_estimates.insert(key.clone(), rows);
        }
        tables.insert(key);
    }
    f.tables = Some(tables);
    for row in client
        .query(include_str!("queries/columns.sql"), &[])
        .await?
    {
        let schema: String = row.get("schema");
        let table: String = row.get("table");
        let column: String = row.get("column");
        let ty: String = row.get("type");
        let not_null: bool = row.get("not_null");
        let key = format!("{schema}.{table}");
        if not_null {
            f.not_null.insert((key.clone(), column.clone()));
        }
        f.column_types.entry(key).or_default().insert(column, ty);
    }
    for row in client
        .query(include_str!("queries/volatility.sql"), &[])
        .await?
    {
        let name: String = row.get("name");
        let v: String = row.get("volatility");
        if let Some(c) = v.chars().next() {
            f.volatility.insert(name, c);
        }
    }
    for row in client
        .query(include_str!("queries/constrained_domains.sql"), &[])
        .await?
    {
        f.constrained_domains.insert(row.get("name"));
    }
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int AS v",
            &[],
        )
        .await?;
    let v: i32 = row.get("v");
    let version = PgVersion {
        major: (v / 10_000) as u32,
        minor: (v % 10_000) as u32,
    };
    Ok((f, version))
}
