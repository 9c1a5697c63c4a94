//! The journal: what `apply` did to a database, kept in that database.
//!
//! Two tables in a `formwork` schema (`queries/journal_schema.sql`), created by the first
//! apply: `formwork.plans`, one row per plan applied, and `formwork.steps`, one row per step
//! started. Rows are written in autocommit between steps, never inside a step's transaction,
//! so a step that fails (and is rolled back) is still recorded, and a killed apply leaves the
//! step it was running marked `running`. That is how the next apply knows where to resume.
//!
//! The journal is a record, not the authority: `apply` resumes only where the journal and the
//! live catalog fingerprint agree. It does not read the catalog and does not decide anything.

use tokio_postgres::Client;

use crate::plan::{Phase, Plan};

const SCHEMA_SQL: &str = include_str!("queries/journal_schema.sql");
const EXISTS_SQL: &str = include_str!("queries/journal_exists.sql");

#[derive(Debug, thiserror::Error)]
#[error("the journal (schema formwork) could not be {doing}: {message}")]
pub struct JournalError {
    pub doing: &'static str,
    pub message: String,
}

fn err(doing: &'static str) -> impl Fn(tokio_postgres::Error) -> JournalError {
    move |e| JournalError {
        doing,
        message: super::error_message(&e),
    }
}

/// What the journal says about one plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanProgress {
    /// Whether the plan has a row at all.
    pub known: bool,
    /// Steps 1..=done finished.
    pub done: usize,
    /// Step done+1 was started and did not finish (killed or failed).
    pub unfinished: Option<usize>,
}

/// One applied (or attempted) plan, for `formwork status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlanRecord {
    pub plan_id: String,
    pub status: String,
    pub steps_total: usize,
    pub expand_steps: usize,
    pub steps_done: usize,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub error: Option<String>,
    /// The descriptions of the plan's contract steps, in order (the last ones of the plan).
    pub contract_steps: Vec<String>,
}

pub async fn exists(client: &Client) -> Result<bool, JournalError> {
    let row = client
        .query_one(EXISTS_SQL, &[])
        .await
        .map_err(err("read"))?;
    row.try_get(0).map_err(err("read"))
}

/// Create the journal if it is not there. Runs under the advisory lock, so two applies never
/// race to create it.
pub async fn ensure(client: &Client) -> Result<(), JournalError> {
    client
        .batch_execute(SCHEMA_SQL)
        .await
        .map_err(err("created"))
}

/// How far the journal says `plan` got (nothing if there is no journal yet).
pub async fn progress(client: &Client, plan: &Plan) -> Result<PlanProgress, JournalError> {
    if !exists(client).await? {
        return Ok(PlanProgress::default());
    }
    let id = plan.id().to_hex();
    let known = !client
        .query("SELECT 1 FROM formwork.plans WHERE plan_id = $1", &[&id])
        .await
        .map_err(err("read"))?
        .is_empty();
    let rows = client
        .query(
            "SELECT step, status FROM formwork.steps WHERE plan_id = $1 ORDER BY step",
            &[&id],
        )
        .await
        .map_err(err("read"))?;
    let mut out = PlanProgress {
        known,
        ..PlanProgress::default()
    };
    for row in rows {
        let step: i32 = row.try_get(0).map_err(err("read"))?;
        let status: String = row.try_get(1).map_err(err("read"))?;
        let step = usize::try_from(step).unwrap_or(0);
        // Only a contiguous run of finished steps from step 1 counts as progress.
        if status == "done" && step == out.done + 1 {
            out.done = step;
        } else if step == out.done + 1 {
            out.unfinished = Some(step);
        }
    }
    if out.unfinished.is_some_and(|u| u != out.done + 1) {
        out.unfinished = None;
    }
    Ok(out)
}

/// Record that an apply of `plan` starts (or resumes).
pub async fn start_plan(client: &Client, plan: &Plan) -> Result<(), JournalError> {
    let total = plan.steps().len() as i32;
    let expand = plan
        .steps()
        .iter()
        .filter(|s| s.phase == Phase::Expand)
        .count() as i32;
    let contract: Vec<&str> = plan
        .steps()
        .iter()
        .filter(|s| s.phase == Phase::Contract)
        .map(|s| s.description.as_str())
        .collect();
    client
        .execute(
            "INSERT INTO formwork.plans AS p (plan_id, source_fingerprint, desired_fingerprint, \
             steps_total, expand_steps, status, contract_steps) \
             VALUES ($1, $2, $3, $4, $5, 'running', $6) \
             ON CONFLICT (plan_id) DO UPDATE SET status = 'running', finished_at = NULL, \
             error = NULL",
            &[
                &plan.id().to_hex(),
                &plan.source_fingerprint().to_hex(),
                &plan.desired_fingerprint().to_hex(),
                &total,
                &expand,
                &contract,
            ],
        )
        .await
        .map_err(err("written"))?;
    Ok(())
}

/// Record the plan's state at the end of an apply: `applied`, `expand-done` or `failed`.
pub async fn finish_plan(
    client: &Client,
    plan: &Plan,
    status: &str,
    error: Option<&str>,
) -> Result<(), JournalError> {
    client
        .execute(
            "UPDATE formwork.plans SET status = $2, finished_at = now(), error = $3 \
             WHERE plan_id = $1",
            &[&plan.id().to_hex(), &status, &error],
        )
        .await
        .map_err(err("written"))?;
    Ok(())
}

/// Record that step `n` (1-based) starts.
pub async fn start_step(
    client: &Client,
    plan: &Plan,
    n: usize,
    description: &str,
) -> Result<(), JournalError> {
    client
        .execute(
            "INSERT INTO formwork.steps (plan_id, step, description, status) \
             VALUES ($1, $2, $3, 'running') \
             ON CONFLICT (plan_id, step) DO UPDATE SET status = 'running', started_at = now(), \
             finished_at = NULL, error = NULL",
            &[&plan.id().to_hex(), &(n as i32), &description],
        )
        .await
        .map_err(err("written"))?;
    Ok(())
}

/// Record how step `n` ended: `done` or `failed` (with the error).
pub async fn finish_step(
    client: &Client,
    plan: &Plan,
    n: usize,
    status: &str,
    attempts: u32,
    lock_wait_ms: u64,
    error: Option<&str>,
) -> Result<(), JournalError> {
    client
        .execute(
            "UPDATE formwork.steps SET status = $3, finished_at = now(), \
             attempts = attempts + $4, lock_wait_ms = lock_wait_ms + $5, error = $6 \
             WHERE plan_id = $1 AND step = $2",
            &[
                &plan.id().to_hex(),
                &(n as i32),
                &status,
                &(attempts as i32),
                &(i64::try_from(lock_wait_ms).unwrap_or(i64::MAX)),
                &error,
            ],
        )
        .await
        .map_err(err("written"))?;
    Ok(())
}

/// Every plan the journal knows, oldest first.
pub async fn plans(client: &Client) -> Result<Vec<PlanRecord>, JournalError> {
    if !exists(client).await? {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT p.plan_id, p.status, p.steps_total, p.expand_steps, \
             (SELECT count(*) FROM formwork.steps s \
               WHERE s.plan_id = p.plan_id AND s.status = 'done'), \
             p.started_at::text, p.finished_at::text, p.error, p.contract_steps \
             FROM formwork.plans p ORDER BY p.started_at, p.plan_id",
            &[],
        )
        .await
        .map_err(err("read"))?;
    rows.iter()
        .map(|r| {
            let count = |i: usize| -> Result<usize, tokio_postgres::Error> {
                Ok(usize::try_from(r.try_get::<_, i32>(i)?).unwrap_or(0))
            };
            Ok(PlanRecord {
                plan_id: r.try_get(0)?,
                status: r.try_get(1)?,
                steps_total: count(2)?,
                expand_steps: count(3)?,
                steps_done: usize::try_from(r.try_get::<_, i64>(4)?).unwrap_or(0),
                started_at: r.try_get(5)?,
                finished_at: r.try_get(6)?,
                error: r.try_get(7)?,
                contract_steps: r.try_get(8)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(err("read"))
}
