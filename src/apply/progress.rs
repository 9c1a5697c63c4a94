//! Progress of a long step as PostgreSQL reports it, read from a second session.
//!
//! The executor's own session is busy while a step runs, so whoever shows progress polls
//! `pg_stat_progress_create_index` for that session's pid on a connection of its own. This
//! module only reads those views; it never changes anything and never decides anything.

use tokio_postgres::Client;

const INDEX_PROGRESS_SQL: &str = include_str!("queries/index_progress.sql");

/// Where an index build (concurrent or not) is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IndexProgress {
    /// PostgreSQL's phase name, e.g. "building index: scanning table".
    pub phase: String,
    pub blocks_done: i64,
    pub blocks_total: i64,
    pub tuples_done: i64,
    pub tuples_total: i64,
}

/// The index build session `pid` is running, if it is running one.
pub async fn index_progress(
    client: &Client,
    pid: i32,
) -> Result<Option<IndexProgress>, tokio_postgres::Error> {
    let Some(row) = client.query_opt(INDEX_PROGRESS_SQL, &[&pid]).await? else {
        return Ok(None);
    };
    Ok(Some(IndexProgress {
        phase: row.try_get(0)?,
        blocks_done: row.try_get(1)?,
        blocks_total: row.try_get(2)?,
        tuples_done: row.try_get(3)?,
        tuples_total: row.try_get(4)?,
    }))
}

impl std::fmt::Display for IndexProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "index build: {}", self.phase)?;
        if self.blocks_total > 0 {
            write!(
                f,
                ", {}% of {} blocks",
                self.blocks_done * 100 / self.blocks_total,
                self.blocks_total
            )?;
        } else if self.tuples_total > 0 {
            write!(
                f,
                ", {}% of {} tuples",
                self.tuples_done * 100 / self.tuples_total,
                self.tuples_total
            )?;
        }
        Ok(())
    }
}
