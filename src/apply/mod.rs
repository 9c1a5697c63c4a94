//! Running plan steps against a database.
//!
//! [`execute_steps`] runs every step of a plan in order, each with its own `lock_timeout` and
//! `statement_timeout`: transactional steps inside `BEGIN`/`COMMIT` (rolled back on failure),
//! the others (`CONCURRENTLY`) alone, outside any transaction. The proof runs steps the same
//! way ([`run_step`]), so what is proven is what is applied.
//!
//! [`execute_steps`] itself checks nothing and keeps no journal (the proof and tests use it);
//! [`executor::apply`] is what `formwork apply` runs: the advisory lock, the target and
//! fingerprint checks, retries, the [`journal`] and resume, around the same [`run_step`].
//! [`approval`] decides whether a plan may run at all, before any connection.

pub mod approval;
pub mod backfill;
pub mod executor;
pub mod journal;
pub mod progress;
pub mod retry;

pub use executor::{ApplyError, ApplyOptions, Event, Outcome, PhaseSelection, apply};

use tokio_postgres::Client;

use crate::plan::{Plan, Step};

#[derive(Debug, thiserror::Error)]
#[error("step {step} of {total} ({description}) failed: {message}\n  {sql}")]
pub struct ExecuteError {
    pub step: usize,
    pub total: usize,
    pub description: String,
    pub sql: String,
    pub message: String,
}

/// Run every step of `plan`, in order, stopping at the first failure.
pub async fn execute_steps(client: &Client, plan: &Plan) -> Result<(), ExecuteError> {
    let total = plan.steps().len();
    for (i, step) in plan.steps().iter().enumerate() {
        run_step(client, step, None)
            .await
            .map_err(|e| ExecuteError {
                step: i + 1,
                total,
                description: step.description.clone(),
                sql: step.sql.clone(),
                message: error_message(&e),
            })?;
    }
    Ok(())
}

/// Run one step. For a transactional step, `before_commit` (if any) runs inside the step's
/// transaction after its statement, and its rows are returned: the proof reads `pg_locks` there,
/// while the step's locks are still held.
///
/// A backfill runs to its end with the default pacing and no journal (the executor runs it
/// with its own options and the journal); with `before_commit`, one more batch statement that
/// matches no row runs in a transaction of its own, so the locks of a batch can be observed.
pub async fn run_step(
    client: &Client,
    step: &Step,
    before_commit: Option<&str>,
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    if let Some(bf) = step.as_backfill() {
        backfill::run(
            client,
            step,
            bf,
            &backfill::BackfillOptions::default(),
            &retry::RetryPolicy::default(),
            None,
            0,
            &mut |_| {},
        )
        .await?;
        return match before_commit {
            Some(q) => backfill::observe_batch_locks(client, step, bf, q).await,
            None => Ok(Vec::new()),
        };
    }
    let settings = format!(
        "SET lock_timeout = '{}ms'; SET statement_timeout = '{}ms'",
        step.lock_timeout_ms, step.statement_timeout_ms
    );
    if !step.transactional {
        client.batch_execute(&settings).await?;
        client.batch_execute(&step.sql).await?;
        return Ok(Vec::new());
    }
    client.batch_execute("BEGIN").await?;
    let result = async {
        client
            .batch_execute(&settings.replace("SET ", "SET LOCAL "))
            .await?;
        client.batch_execute(&step.sql).await?;
        match before_commit {
            Some(q) => client.query(q, &[]).await,
            None => Ok(Vec::new()),
        }
    }
    .await;
    end_transaction(client, result).await
}

/// End the open transaction: commit what succeeded, roll back what failed (the failure is
/// what the caller reports, not the rollback's).
pub(crate) async fn end_transaction<T>(
    client: &Client,
    result: Result<T, tokio_postgres::Error>,
) -> Result<T, tokio_postgres::Error> {
    match result {
        Ok(value) => {
            client.batch_execute("COMMIT").await?;
            Ok(value)
        }
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// PostgreSQL's own message (with detail and hint) when there is one.
pub fn error_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut m = db.message().to_string();
            if let Some(d) = db.detail() {
                m.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                m.push_str(&format!("; hint: {h}"));
            }
            m
        }
        None => e.to_string(),
    }
}
