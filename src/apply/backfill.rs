//! The backfill engine: runs a [`Backfill`] step as many short transactions.
//!
//! The table is walked along the step's batch key (a keyset walk: the next boundary is the key
//! of the N-th row after the last one, found through the key's index; `ctid` block ranges when
//! the table has no key). Each batch is one transaction: `UPDATE ... WHERE key > last AND key
//! <= boundary AND predicate` under the step's lock_timeout, and, when there is a journal, the
//! position is written to `formwork.backfills` in the same transaction. So a batch and the
//! record of it commit together, and a backfill killed at any point resumes exactly after the
//! last committed batch (never repeating one, never skipping one).
//!
//! Keyset walks run on the server, in rounds of about a second: one `DO` block runs batch
//! after batch, each with its own `COMMIT`, so no batch waits for a round trip to this
//! process (on a busy machine, that wait is what made many small batches slower than one long
//! `UPDATE`). Between rounds the engine reads the journal, reports progress, waits for
//! replicas, and retries a round that met a lock timeout or a deadlock with the apply's
//! backoff. `ctid` walks are driven from here, one pipelined round trip per batch.
//!
//! The batch size adapts to what the database shows: it starts at `initial_rows`, and after
//! each batch moves toward the number of rows that would take `target` (the time a batch holds
//! its row locks, from its `UPDATE` to its commit) at the smoothed measured rate, halving or
//! doubling at most per batch.
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
        BatchKey::Columns(_) => engine.walk_keys_in_rounds(pos, on_event).await?,
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

/// How long one server-side round of batches runs before the engine looks again (progress,
/// replicas, pause).
const ROUND: Duration = Duration::from_secs(1);

/// Where a round starts: the last key done, the batch size and the measured rate.
struct RoundState {
    last: Option<Vec<String>>,
    size: u64,
    rate: Option<f64>,
}

/// A backfill's row in `formwork.backfills`.
struct Journaled {
    last: Option<Vec<String>>,
    finished: bool,
    rows_scanned: u64,
    rows_updated: u64,
    batches: u64,
    worst_batch_ms: u64,
    last_batch_ms: u64,
    last_batch_rows: u64,
    batch_rows: Option<u64>,
    rate: Option<f64>,
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
    /// The keyset walk, run by the server in rounds: one `DO` block walks batch after batch,
    /// each committed with its journal record, for about [`ROUND`] (or, without a journal, to
    /// the end), so a batch costs no round trip to this process, whose scheduling on a busy
    /// machine would otherwise weigh on every batch. Between rounds the journal says where the
    /// walk is: progress is reported and replicas are waited for. A failed round (a lock
    /// timeout, a deadlock) has committed its batches; it is retried from the journal. If this
    /// process dies, the server notices within 100 ms (`client_connection_check_interval`,
    /// PostgreSQL 14+) and rolls back the batch in flight with its record; before 14 the round
    /// runs to its end first.
    async fn walk_keys_in_rounds(
        &mut self,
        pos: Position,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<(), tokio_postgres::Error> {
        let Some(slot) = self.journal else {
            let state = RoundState {
                last: pos.last,
                size: self.first_size(),
                rate: None,
            };
            let sql = self.round_sql(&state, None);
            return self
                .run_round(&sql, &mut 0, &mut Instant::now(), on_event)
                .await;
        };
        let slot = slot.clone();
        let first = self.read_journal(&slot).await?;
        let mut attempt = 0u32;
        let mut failing_since = Instant::now();
        loop {
            self.wait_for_replicas(on_event).await?;
            let now = self.read_journal(&slot).await?;
            self.report.batches = now.batches.saturating_sub(first.batches);
            self.report.rows_scanned = now.rows_scanned.saturating_sub(first.rows_scanned);
            self.report.rows_updated = now.rows_updated.saturating_sub(first.rows_updated);
            self.report.worst_batch_ms = now.worst_batch_ms;
            if self.report.batches > 0 {
                self.progress(
                    now.last_batch_rows,
                    Duration::from_millis(now.last_batch_ms),
                    false,
                    on_event,
                );
            }
            if now.finished {
                return Ok(());
            }
            let state = RoundState {
                last: now.last,
                size: now.batch_rows.unwrap_or_else(|| self.first_size()),
                rate: now.rate,
            };
            let sql = self.round_sql(&state, Some(&slot));
            self.run_round(&sql, &mut attempt, &mut failing_since, on_event)
                .await?;
        }
    }

    /// Run one round; a lock timeout or deadlock is waited out with the retry policy's backoff
    /// and reported, and `Ok` is returned so the caller re-reads where the walk is.
    async fn run_round(
        &mut self,
        sql: &str,
        attempt: &mut u32,
        failing_since: &mut Instant,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<(), tokio_postgres::Error> {
        loop {
            match self.client.batch_execute(sql).await {
                Ok(()) => {
                    *attempt = 0;
                    return Ok(());
                }
                Err(e) if is_retryable(&e) => {
                    if *attempt == 0 {
                        *failing_since = Instant::now();
                    }
                    *attempt += 1;
                    let backoff = self.retry.backoff(*attempt);
                    if failing_since.elapsed() + backoff >= self.retry.budget {
                        return Err(e);
                    }
                    on_event(&Event::StepRetry {
                        step: self.n,
                        attempt: *attempt,
                        error: super::error_message(&e),
                        backoff_ms: ms(backoff),
                    });
                    tokio::time::sleep(backoff).await;
                    if self.journal.is_some() {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn read_journal(&self, slot: &JournalSlot) -> Result<Journaled, tokio_postgres::Error> {
        let row = self
            .client
            .query_one(JOURNAL_READ_SQL, &[&slot.plan_id, &(slot.step as i32)])
            .await?;
        let count = |i: usize| -> Result<u64, tokio_postgres::Error> {
            Ok(u64::try_from(row.try_get::<_, i64>(i)?).unwrap_or(0))
        };
        Ok(Journaled {
            last: row.try_get(0)?,
            finished: row.try_get(1)?,
            rows_scanned: count(2)?,
            rows_updated: count(3)?,
            batches: count(4)?,
            worst_batch_ms: count(5)?,
            last_batch_ms: count(6)?,
            last_batch_rows: count(7)?,
            batch_rows: row
                .try_get::<_, Option<i64>>(8)?
                .and_then(|n| u64::try_from(n).ok()),
            rate: row.try_get(9)?,
        })
    }

    /// The `DO` block of one round. Everything it embeds is quoted: statements and key values
    /// as literals, the whole body as one literal. Batch statements are the plan's (the step's
    /// `sql` is the one with both bounds); `$n` parameters are bound by `EXECUTE ... USING`.
    fn round_sql(&self, state: &RoundState, journal: Option<&JournalSlot>) -> String {
        use crate::sql::quote_literal as lit;
        let bf = self.bf;
        let k = bf.key_width();
        let args = |var: &str| -> String {
            (1..=k)
                .map(|i| format!("{var}[{i}]"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (lower, upper) = (args("v_last"), args("v_b"));
        let bounds = |lower, upper| bf.update_sql(Bounds { lower, upper });
        let last = match &state.last {
            Some(key) => format!(
                "ARRAY[{}]::text[]",
                key.iter().map(|v| lit(v)).collect::<Vec<_>>().join(", ")
            ),
            None => "NULL".to_string(),
        };
        let rate = state.rate.map_or("NULL".to_string(), |r| format!("{r:e}"));
        let target = self.options.target.as_secs_f64() * 1000.0;
        let max_rows = self.options.max_rows.max(1);
        let record = match journal {
            Some(slot) => format!(
                "UPDATE formwork.backfills SET last_key = v_last, finished = v_fin, \
                 rows_scanned = rows_scanned + v_scanned, rows_updated = rows_updated + v_n, \
                 batches = batches + 1, worst_batch_ms = greatest(worst_batch_ms, v_took::int8), \
                 last_batch_ms = v_took::int8, last_batch_rows = v_scanned, \
                 batch_rows = v_size, rate = v_rate, updated_at = now() \
                 WHERE plan_id = {} AND step = {};",
                lit(&slot.plan_id),
                slot.step
            ),
            None => String::new(),
        };
        let (deadline, exit) = match journal {
            Some(_) => (
                format!(
                    "clock_timestamp() + interval '{} milliseconds'",
                    ROUND.as_millis()
                ),
                "EXIT WHEN v_fin OR clock_timestamp() > v_deadline;",
            ),
            None => ("NULL".to_string(), "EXIT WHEN v_fin;"),
        };
        let pause = if self.options.pause.is_zero() {
            String::new()
        } else {
            format!("PERFORM pg_sleep({});", self.options.pause.as_secs_f64())
        };
        let body = format!(
            "DECLARE
  v_last text[] := {last};
  v_size int8 := {size};
  v_rate float8 := {rate};
  v_b text[];
  v_n int8;
  v_scanned int8;
  v_t0 timestamptz;
  v_took float8;
  v_fin boolean := false;
  v_deadline timestamptz := {deadline};
BEGIN
  LOOP
    PERFORM set_config('lock_timeout', {lock_timeout}, true),
            set_config('statement_timeout', {statement_timeout}, true),
            set_config('synchronous_commit', 'off', true);
    IF current_setting('server_version_num')::int >= 140000 THEN
      PERFORM set_config('client_connection_check_interval', '100ms', true);
    END IF;
    v_b := NULL;
    IF v_last IS NULL THEN
      EXECUTE {boundary_first} INTO v_b USING v_size - 1;
    ELSE
      EXECUTE {boundary_next} INTO v_b USING {lower}, v_size - 1;
    END IF;
    v_t0 := clock_timestamp();
    IF v_b IS NOT NULL AND v_last IS NULL THEN
      v_scanned := v_size;
      EXECUTE {first} USING {upper};
    ELSIF v_b IS NOT NULL THEN
      v_scanned := v_size;
      EXECUTE {middle} USING {lower}, {upper};
    ELSIF v_last IS NULL THEN
      EXECUTE {count_all} INTO v_scanned;
      v_fin := true;
      EXECUTE {only};
    ELSE
      EXECUTE {tail} INTO v_scanned USING {lower};
      v_fin := true;
      EXECUTE {final} USING {lower};
    END IF;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_took := extract(epoch FROM clock_timestamp() - v_t0) * 1000;
    IF NOT v_fin THEN
      v_rate := CASE WHEN v_rate IS NULL THEN v_scanned / greatest(v_took, 0.1)
                ELSE 0.6 * v_rate + 0.4 * v_scanned / greatest(v_took, 0.1) END;
      v_size := least(greatest(v_rate * {target}, v_size / 2.0), v_size * 2.0)::int8;
      v_size := least(greatest(v_size, 1), {max_rows});
    END IF;
    v_last := coalesce(v_b, v_last);
    {record}
    COMMIT;
    {exit}
    {pause}
  END LOOP;
END",
            size = state.size.clamp(1, max_rows),
            lock_timeout = lit(&format!("{}ms", self.step.lock_timeout_ms.max(1))),
            statement_timeout = lit(&format!("{}ms", self.step.statement_timeout_ms)),
            boundary_first = lit(&bf.boundary_array_sql(false)),
            boundary_next = lit(&bf.boundary_array_sql(true)),
            first = lit(&bounds(false, true)),
            middle = lit(&bounds(true, true)),
            only = lit(&bounds(false, false)),
            final = lit(&bounds(true, false)),
            count_all = lit(&format!(
                "SELECT count(*) FROM {}",
                crate::sql::qualified(&bf.table)
            )),
            tail = lit(&bf.tail_count_sql()),
        );
        format!("DO {}", lit(&body))
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
            let (updated, held) = self.commit(&batch, on_event).await?;
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
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<(u64, Duration), tokio_postgres::Error> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.try_commit(batch).await {
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

    /// One attempt: `BEGIN`, the batch statement and `COMMIT` are sent together (pipelined)
    /// and answered in order. If the batch statement fails, the server turns the `COMMIT` into
    /// a rollback; `BEGIN` comes first in its own message, so the statement never runs outside
    /// the transaction.
    async fn try_commit(
        &mut self,
        batch: &Batch<'_>,
    ) -> Result<(u64, Duration), tokio_postgres::Error> {
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
        let begin = begin_sql(self.step);
        let sent = Instant::now();
        let (begun, updated, (committed, held)) = tokio::join!(
            biased;
            client.batch_execute(&begin),
            client.query_one(&stmt, &params),
            async { (client.batch_execute("COMMIT").await, sent.elapsed()) },
        );
        begun?;
        let updated: i64 = updated?.try_get(0)?;
        committed?;
        Ok((u64::try_from(updated).unwrap_or(0), held))
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
