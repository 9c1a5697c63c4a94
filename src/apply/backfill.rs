//! The backfill engine: runs a [`Backfill`] step as many short transactions.
//!
//! The table is walked along the step's batch key (a keyset walk: the next boundary is the key
//! of the N-th row after the last one, found through the key's index; `ctid` block ranges when
//! the table has no key). Each batch is one transaction: `UPDATE ... WHERE key > last AND key
//! <= boundary AND predicate` under the step's lock_timeout, retried like any step on a lock
//! timeout or a deadlock, and, when there is a journal, the boundary is written to
//! `formwork.backfills` in the same transaction. So a batch and the record of it commit
//! together, and a backfill killed at any point resumes exactly after the last committed batch
//! (never repeating one, never skipping one).
//!
//! The batch size adapts to what the database shows: it starts at `initial_rows`, and after
//! each batch moves toward the number of rows that would take `target` (the time a batch holds
//! its row locks, from its `UPDATE` to its commit), halving or doubling at most per batch.
//! Optionally it waits before a batch while a replica's replay lag is above a threshold.
//!
//! It does not decide what to fill (the planner does) and does not check fingerprints (the
//! executor does); it reports progress as [`Event`]s.

use std::time::{Duration, Instant};

use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use super::executor::Event;
use super::retry::{RetryPolicy, is_retryable};
use crate::plan::Step;
use crate::plan::backfill::{Backfill, BatchKey, Bounds};

const JOURNAL_READ_SQL: &str = include_str!("queries/backfill_read.sql");
const JOURNAL_START_SQL: &str = include_str!("queries/backfill_start.sql");
const TABLE_SIZE_SQL: &str = include_str!("queries/backfill_table_size.sql");
const REPLICA_LAG_SQL: &str = include_str!("queries/replica_lag.sql");

/// How a backfill paces itself.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillOptions {
    /// How long one batch may hold its row locks; the batch size adapts toward it.
    pub target: Duration,
    /// Rows in the first batch.
    pub initial_rows: u64,
    /// Never more rows than this in one batch, whatever the measurements say.
    pub max_rows: u64,
    /// A pause after every batch, leaving room to the rest of the workload (zero: none).
    pub pause: Duration,
    /// Wait before a batch while any replica's replay lag exceeds this (none: never wait).
    pub max_replica_lag: Option<Duration>,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        BackfillOptions {
            target: Duration::from_millis(50),
            initial_rows: 1_000,
            max_rows: 200_000,
            pause: Duration::ZERO,
            max_replica_lag: None,
        }
    }
}

/// Where a backfill records its progress: the plan and step it belongs to.
#[derive(Debug, Clone)]
pub struct JournalSlot {
    pub plan_id: String,
    pub step: usize,
}

/// What one run of the engine did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub batches: u64,
    pub rows_scanned: u64,
    pub rows_updated: u64,
    /// The longest time one batch held its locks (its `UPDATE` to its commit).
    pub worst_batch_ms: u64,
    /// Whether the run continued a backfill an earlier run had started.
    pub resumed: bool,
}

/// Where the walk is: the last key done (text, one value per key column; for a `ctid` walk the
/// next block, the pass number and how many rows the pass filled so far).
#[derive(Debug, Clone, Default)]
struct Position {
    last: Option<Vec<String>>,
    finished: bool,
}

/// Run a backfill to its end. `journal` is where progress is kept (none in a proof, where the
/// table is empty and nothing needs resuming). `step_number` labels events.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: &Client,
    step: &Step,
    backfill: &Backfill,
    options: &BackfillOptions,
    retry: &RetryPolicy,
    journal: Option<&JournalSlot>,
    step_number: usize,
    on_event: &mut (dyn FnMut(&Event) + Send),
) -> Result<Report, tokio_postgres::Error> {
    let mut engine = Engine {
        client,
        step,
        bf: backfill,
        options,
        retry,
        journal,
        n: step_number,
        report: Report::default(),
        started: Instant::now(),
        last_event: None,
        estimate: None,
        prior_scanned: 0,
        prepared: std::collections::HashMap::new(),
        rate: None,
    };
    let mut pos = Position::default();
    if let Some(slot) = journal {
        let row = client
            .query_opt(JOURNAL_READ_SQL, &[&slot.plan_id, &(slot.step as i32)])
            .await?;
        if let Some(row) = row {
            pos.last = row.try_get(0)?;
            pos.finished = row.try_get(1)?;
            engine.prior_scanned = u64::try_from(row.try_get::<_, i64>(2)?).unwrap_or(0);
            engine.report.resumed = true;
        }
        client
            .execute(JOURNAL_START_SQL, &[&slot.plan_id, &(slot.step as i32)])
            .await?;
        if engine.report.resumed {
            on_event(&Event::BackfillResumed {
                step: step_number,
                after_key: pos.last.clone().unwrap_or_default(),
                finished: pos.finished,
            });
        }
    }
    if pos.finished {
        return Ok(engine.report);
    }
    let (rows, pages): (f64, i64) = {
        let row = client
            .query_one(TABLE_SIZE_SQL, &[&crate::sql::qualified(&backfill.table)])
            .await?;
        (row.try_get(0)?, row.try_get(1)?)
    };
    engine.estimate = (rows >= 0.0).then_some(rows as u64);
    match &backfill.key {
        BatchKey::Columns(_) => engine.walk_keys(pos, on_event).await?,
        BatchKey::Ctid => engine.walk_blocks(pos, rows, pages, on_event).await?,
    }
    engine.progress(0, Duration::ZERO, true, on_event);
    Ok(engine.report)
}

/// Run, in one transaction and under the step's timeouts, the batch statement with every
/// bound NULL: it changes no row but takes exactly the locks a batch takes, so a proof can
/// read them from `pg_locks` before the commit (`before_commit`).
pub async fn observe_batch_locks(
    client: &Client,
    step: &Step,
    backfill: &Backfill,
    before_commit: &str,
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    let nulls: Vec<Option<String>> = vec![None; 2 * backfill.key_width()];
    let params: Vec<&(dyn ToSql + Sync)> = nulls.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    client.batch_execute(&begin_sql(step)).await?;
    let result = async {
        client
            .execute(&backfill.update_sql(Bounds::BOTH), &params)
            .await?;
        client.query(before_commit, &[]).await
    }
    .await;
    super::end_transaction(client, result).await
}

/// A batch's transaction. `synchronous_commit` is off for it: a batch whose commit is lost in
/// a crash is lost together with its journal record (one transaction), so the resumed walk
/// simply does it again, and not waiting for a WAL flush per batch keeps many small commits
/// as fast as one long `UPDATE`.
fn begin_sql(step: &Step) -> String {
    format!(
        "BEGIN; SET LOCAL lock_timeout = '{}ms'; SET LOCAL statement_timeout = '{}ms'; \
         SET LOCAL synchronous_commit = off",
        step.lock_timeout_ms.max(1),
        step.statement_timeout_ms
    )
}

struct Engine<'a> {
    client: &'a Client,
    step: &'a Step,
    bf: &'a Backfill,
    options: &'a BackfillOptions,
    retry: &'a RetryPolicy,
    journal: Option<&'a JournalSlot>,
    n: usize,
    report: Report,
    started: Instant,
    last_event: Option<Instant>,
    estimate: Option<u64>,
    /// Rows earlier runs walked (a resumed backfill's ETA counts them as done).
    prior_scanned: u64,
    /// Batch statements prepared once: a batch is then one round trip besides its commit.
    prepared: std::collections::HashMap<String, tokio_postgres::Statement>,
    /// Smoothed rows per second of recent batches.
    rate: Option<f64>,
}

/// Rows updated, how long the batch held its locks, and the prefetched next boundary (if one
/// was asked for: `Some(None)` means no row lies that far ahead).
type Committed = (u64, Duration, Option<Option<Vec<String>>>);

/// The boundary query to send along with a batch: the key `offset` rows after `lower`.
struct Prefetch<'s> {
    stmt: &'s tokio_postgres::Statement,
    lower: Vec<String>,
    offset: i64,
}

/// A boundary query's row as key text (`None`: no row that far, or a NULL key value, which
/// ends the walk with an unbounded last batch).
fn key_of(
    row: Option<tokio_postgres::Row>,
    width: usize,
) -> Result<Option<Vec<String>>, tokio_postgres::Error> {
    match row {
        Some(row) => (0..width)
            .map(|i| row.try_get::<_, Option<String>>(i))
            .collect::<Result<Option<Vec<String>>, _>>(),
        None => Ok(None),
    }
}

/// One batch to commit: its statement and parameters, and what the journal records with it.
struct Batch<'p> {
    sql: &'p str,
    params: Vec<String>,
    scanned: u64,
    /// The position recorded once the batch commits.
    next: Vec<String>,
    finished: bool,
}

impl Engine<'_> {
    /// The keyset walk.
    async fn walk_keys(
        &mut self,
        mut pos: Position,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<(), tokio_postgres::Error> {
        let client = self.client;
        let boundary_first = client.prepare(&self.bf.boundary_sql(false)).await?;
        let boundary_next = client.prepare(&self.bf.boundary_sql(true)).await?;
        let middle = self.bf.update_sql(Bounds::BOTH);
        let first = self.bf.update_sql(Bounds {
            lower: false,
            upper: true,
        });
        let last = self.bf.update_sql(Bounds {
            lower: true,
            upper: false,
        });
        let only = self.bf.update_sql(Bounds {
            lower: false,
            upper: false,
        });
        let mut size = self.first_size();
        // The boundary of the next batch, read in the same round trip as this batch's commit.
        let mut prefetched: Option<(Option<Vec<String>>, u64)> = None;
        loop {
            self.wait_for_replicas(on_event).await?;
            let lower = pos.last.clone().unwrap_or_default();
            // The batch holds the rows up to the boundary: as many as it was read for.
            let (boundary, size_read) = match prefetched.take() {
                Some(ahead) => ahead,
                None => {
                    let offset = i64::try_from(size - 1).unwrap_or(i64::MAX);
                    let mut params: Vec<&(dyn ToSql + Sync)> =
                        lower.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                    params.push(&offset);
                    let stmt = if pos.last.is_some() {
                        &boundary_next
                    } else {
                        &boundary_first
                    };
                    let key = key_of(client.query_opt(stmt, &params).await?, self.bf.key_width())?;
                    (key, size)
                }
            };
            let batch = match (&pos.last, boundary) {
                (_, Some(b)) => {
                    let mut params = lower.clone();
                    params.extend(b.iter().cloned());
                    Batch {
                        sql: if pos.last.is_some() { &middle } else { &first },
                        params,
                        scanned: size_read,
                        next: b,
                        finished: false,
                    }
                }
                (Some(_), None) => {
                    let params: Vec<&(dyn ToSql + Sync)> =
                        lower.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                    let tail: i64 = client
                        .query_one(&self.bf.tail_count_sql(), &params)
                        .await?
                        .try_get(0)?;
                    Batch {
                        sql: &last,
                        params: lower.clone(),
                        scanned: u64::try_from(tail).unwrap_or(0),
                        next: lower.clone(),
                        finished: true,
                    }
                }
                (None, None) => {
                    let count: i64 = client
                        .query_one(
                            &format!(
                                "SELECT count(*) FROM {}",
                                crate::sql::qualified(&self.bf.table)
                            ),
                            &[],
                        )
                        .await?
                        .try_get(0)?;
                    Batch {
                        sql: &only,
                        params: Vec::new(),
                        scanned: u64::try_from(count).unwrap_or(0),
                        next: Vec::new(),
                        finished: true,
                    }
                }
            };
            let finished = batch.finished;
            let next = batch.next.clone();
            // The next boundary is sized from what was known before this batch ran: the
            // adaptation lags one batch, and a round trip per batch is saved.
            let prefetch = (!finished).then(|| Prefetch {
                stmt: &boundary_next,
                lower: next.clone(),
                offset: i64::try_from(size - 1).unwrap_or(i64::MAX),
            });
            let (updated, held, ahead) = self.commit(&batch, prefetch.as_ref(), on_event).await?;
            prefetched = ahead.map(|key| (key, size));
            pos.last = Some(next);
            self.record(batch.scanned, updated, held);
            if !finished {
                size = self.adapt(size, held);
            }
            self.progress(batch.scanned, held, false, on_event);
            if finished {
                return Ok(());
            }
            if !self.options.pause.is_zero() {
                tokio::time::sleep(self.options.pause).await;
            }
        }
    }

    /// The walk by block ranges, pass after pass until one fills nothing.
    async fn walk_blocks(
        &mut self,
        pos: Position,
        rows: f64,
        pages: i64,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<(), tokio_postgres::Error> {
        let client = self.client;
        let per_block = if pages > 0 && rows > 0.0 {
            (rows / pages as f64).max(1.0)
        } else {
            50.0
        };
        let middle = self.bf.update_sql(Bounds::BOTH);
        let size_sql = format!(
            "SELECT (pg_relation_size({}::regclass) / current_setting('block_size')::int8)::int8",
            crate::sql::quote_literal(&crate::sql::qualified(&self.bf.table))
        );
        // [next block, pass, rows filled by this pass so far]
        let num = |v: Option<&String>| v.and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
        let last = pos.last.unwrap_or_default();
        let (mut block, mut pass, mut filled) =
            (num(last.first()), num(last.get(1)), num(last.get(2)));
        if self.report.resumed {
            // The journal holds the rows the pass filled before its last batch, not with it:
            // assume it filled some, which costs at most one more pass and never skips one.
            filled = filled.max(1);
        }
        let mut size = self.first_size();
        loop {
            self.wait_for_replicas(on_event).await?;
            let end: i64 = client.query_one(&size_sql, &[]).await?.try_get(0)?;
            if block >= end {
                if filled == 0 {
                    self.mark_finished().await?;
                    return Ok(());
                }
                // Rows updated by the application meanwhile may have moved into blocks this
                // pass had already done: another pass finds them (and finds nothing at last).
                pass += 1;
                block = 0;
                filled = 0;
                continue;
            }
            let blocks = ((size as f64 / per_block).ceil() as i64).max(1);
            let upper = block.saturating_add(blocks);
            let batch = Batch {
                sql: &middle,
                params: vec![block.to_string(), upper.to_string()],
                scanned: (blocks as f64 * per_block) as u64,
                next: vec![upper.to_string(), pass.to_string(), filled.to_string()],
                finished: false,
            };
            let (updated, held, _) = self.commit(&batch, None, on_event).await?;
            filled += i64::try_from(updated).unwrap_or(0);
            block = upper;
            self.record(batch.scanned, updated, held);
            size = self.adapt(size, held);
            self.progress(batch.scanned, held, false, on_event);
            if !self.options.pause.is_zero() {
                tokio::time::sleep(self.options.pause).await;
            }
        }
    }

    fn first_size(&self) -> u64 {
        self.options
            .initial_rows
            .clamp(1, self.options.max_rows.max(1))
    }

    fn record(&mut self, scanned: u64, updated: u64, held: Duration) {
        self.report.batches += 1;
        self.report.rows_scanned += scanned;
        self.report.rows_updated += updated;
        self.report.worst_batch_ms = self.report.worst_batch_ms.max(ms(held));
    }

    /// The next batch size: the rows that take `target` at the measured rate, at most halving
    /// or doubling. The rate is smoothed over recent batches, so one slow batch on a busy
    /// server does not halve the next one, nor one fast batch double it into a long one.
    fn adapt(&mut self, size: u64, held: Duration) -> u64 {
        let measured = size as f64 / held.as_secs_f64().max(0.000_1);
        let rate = match self.rate {
            Some(r) => 0.6 * r + 0.4 * measured,
            None => measured,
        };
        self.rate = Some(rate);
        let ideal = rate * self.options.target.as_secs_f64();
        let next = ideal.clamp(size as f64 / 2.0, size as f64 * 2.0) as u64;
        next.clamp(1, self.options.max_rows.max(1))
    }

    /// Commit one batch (and its journal record), retrying lock timeouts and deadlocks.
    /// Returns the rows updated and how long the batch held its locks.
    async fn commit(
        &mut self,
        batch: &Batch<'_>,
        prefetch: Option<&Prefetch<'_>>,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<Committed, tokio_postgres::Error> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.try_commit(batch, prefetch).await {
                Ok(done) => return Ok(done),
                Err(e) if is_retryable(&e) => {
                    let backoff = self.retry.backoff(attempt);
                    if started.elapsed() + backoff >= self.retry.budget {
                        return Err(e);
                    }
                    on_event(&Event::StepRetry {
                        step: self.n,
                        attempt,
                        error: super::error_message(&e),
                        backoff_ms: ms(backoff),
                    });
                    tokio::time::sleep(backoff).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One attempt: `BEGIN`, the batch statement, `COMMIT` and the prefetched boundary are
    /// sent together (pipelined) and answered in order. If the batch statement fails, the
    /// server turns the `COMMIT` into a rollback; `BEGIN` comes first in its own message, so
    /// the statement never runs outside the transaction.
    async fn try_commit(
        &mut self,
        batch: &Batch<'_>,
        prefetch: Option<&Prefetch<'_>>,
    ) -> Result<Committed, tokio_postgres::Error> {
        let client = self.client;
        let sql = self.batch_statement(batch);
        let stmt = match self.prepared.get(&sql) {
            Some(stmt) => stmt.clone(),
            None => {
                let stmt = client.prepare(&sql).await?;
                self.prepared.insert(sql, stmt.clone());
                stmt
            }
        };
        let mut params: Vec<&(dyn ToSql + Sync)> = batch
            .params
            .iter()
            .map(|v| v as &(dyn ToSql + Sync))
            .collect();
        let scanned = i64::try_from(batch.scanned).unwrap_or(i64::MAX);
        let (plan_id, step) = self
            .journal
            .map_or((String::new(), 0), |j| (j.plan_id.clone(), j.step as i32));
        if self.journal.is_some() {
            params.extend([
                &plan_id as &(dyn ToSql + Sync),
                &step,
                &batch.next,
                &batch.finished,
                &scanned,
            ]);
        }
        let ahead_params: Vec<&(dyn ToSql + Sync)> = match prefetch {
            Some(p) => p
                .lower
                .iter()
                .map(|v| v as &(dyn ToSql + Sync))
                .chain(std::iter::once(&p.offset as &(dyn ToSql + Sync)))
                .collect(),
            None => Vec::new(),
        };
        let begin = begin_sql(self.step);
        let sent = Instant::now();
        let (begun, updated, (committed, held), ahead) = tokio::join!(
            biased;
            client.batch_execute(&begin),
            client.query_one(&stmt, &params),
            async { (client.batch_execute("COMMIT").await, sent.elapsed()) },
            async {
                match prefetch {
                    Some(p) => client.query_opt(p.stmt, &ahead_params).await.map(Some),
                    None => Ok(None),
                }
            },
        );
        begun?;
        let updated: i64 = updated?.try_get(0)?;
        committed?;
        let ahead = match ahead? {
            Some(row) => Some(key_of(row, self.bf.key_width())?),
            None => None,
        };
        Ok((u64::try_from(updated).unwrap_or(0), held, ahead))
    }

    /// The batch's `UPDATE` and, with a journal, the record of the batch, as one statement
    /// that returns the number of rows updated: the record cannot commit without the rows.
    fn batch_statement(&self, batch: &Batch<'_>) -> String {
        let update = format!("WITH batch AS ({} RETURNING 1)", batch.sql);
        if self.journal.is_none() {
            return format!("{update} SELECT count(*) FROM batch");
        }
        let p = batch.params.len();
        format!(
            "{update}, n AS (SELECT count(*) AS c FROM batch) \
             UPDATE formwork.backfills AS j SET last_key = ${}::text[], finished = ${}::bool, \
             rows_scanned = j.rows_scanned + ${}::int8, rows_updated = j.rows_updated + n.c, \
             batches = j.batches + 1, updated_at = now() \
             FROM n WHERE j.plan_id = ${}::text AND j.step = ${}::int4 RETURNING n.c",
            p + 3,
            p + 4,
            p + 5,
            p + 1,
            p + 2
        )
    }

    /// Record that the walk is over (a `ctid` walk ends with a pass that found nothing, which
    /// is no batch of its own).
    async fn mark_finished(&self) -> Result<(), tokio_postgres::Error> {
        if let Some(slot) = self.journal {
            self.client
                .execute(
                    "UPDATE formwork.backfills SET finished = true, updated_at = now() \
                     WHERE plan_id = $1 AND step = $2",
                    &[&slot.plan_id, &(slot.step as i32)],
                )
                .await?;
        }
        Ok(())
    }

    async fn wait_for_replicas(
        &self,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<(), tokio_postgres::Error> {
        let Some(limit) = self.options.max_replica_lag else {
            return Ok(());
        };
        loop {
            let lag_ms: f64 = self
                .client
                .query_one(REPLICA_LAG_SQL, &[])
                .await?
                .try_get(0)?;
            if lag_ms <= limit.as_millis() as f64 {
                return Ok(());
            }
            on_event(&Event::BackfillPaused {
                step: self.n,
                replica_lag_ms: lag_ms as u64,
                max_replica_lag_ms: ms(limit),
            });
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Report progress: at most once a second, and always at the end.
    fn progress(
        &mut self,
        batch_rows: u64,
        batch: Duration,
        end: bool,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) {
        if !end
            && self
                .last_event
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.last_event = Some(Instant::now());
        let scanned = self.report.rows_scanned;
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta_s = match self.estimate {
            Some(total) if scanned > 0 && !end => {
                let left = total.saturating_sub(scanned + self.prior_scanned) as f64;
                Some((left * elapsed / scanned as f64).round() as u64)
            }
            _ => None,
        };
        on_event(&Event::BackfillProgress {
            step: self.n,
            batches: self.report.batches,
            rows_scanned: scanned + self.prior_scanned,
            rows_updated: self.report.rows_updated,
            rows_estimate: self.estimate,
            batch_rows,
            batch_ms: ms(batch),
            worst_batch_ms: self.report.worst_batch_ms,
            eta_s,
            done: end,
        });
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
