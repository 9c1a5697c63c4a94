//! The executor: runs an approved plan against the database it was made for, or refuses.
//!
//! On one dedicated session it takes formwork's advisory lock (two applies never interleave),
//! checks the target's identity and server major version, and reads the live catalog
//! fingerprint. That fingerprint says where to start: at the plan's source (step 1), at its
//! desired end (nothing to do), or after a step the journal says this plan finished (resume).
//! Anything else is drift, and nothing runs. Each step then runs with its own timeouts; lock
//! timeouts and deadlocks are retried with backoff ([`super::retry`]); after each step the
//! catalog fingerprint must be the one the plan expects, or the apply stops.
//!
//! Approval is checked by the caller before the executor is reached (it needs no database);
//! this module runs only plans it is handed. It never plans and never edits a plan.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::Client;

use super::backfill::{self, BackfillOptions, JournalSlot};
use super::journal::{self, JournalError};
use super::retry::{RetryPolicy, is_retryable};
use crate::catalog::fingerprint::{Fingerprint, fingerprint};
use crate::catalog::{CatalogError, introspect};
use crate::plan::{Phase, Plan, Step, TargetIdentity};

/// The advisory lock key every formwork apply takes: the ASCII bytes of "formwork". Advisory
/// locks are per database, so applies to different databases of one cluster do not wait for
/// each other.
pub const ADVISORY_LOCK_KEY: i64 = 0x666f_726d_776f_726b;

const LOCK_HOLDER_SQL: &str = include_str!("queries/lock_holder.sql");
const INVALID_INDEX_SQL: &str = include_str!("queries/invalid_index.sql");

/// Test-only: when this environment variable holds a step number, the executor sleeps for a
/// minute after that step is recorded as done, so a test can kill the process at a step
/// boundary. It only ever delays; it never changes what runs.
pub const TEST_PAUSE_ENV: &str = "FORMWORK_TEST_PAUSE_AFTER_STEP";

/// Which steps to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PhaseSelection {
    /// Expand steps only: the old and new application both keep working afterwards.
    Expand,
    /// Contract steps only, once every expand step has run.
    Contract,
    /// Every step.
    All,
}

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub phase: PhaseSelection,
    /// How long to wait for another apply to release the advisory lock (zero: fail at once).
    pub wait_lock: Duration,
    pub retry: RetryPolicy,
    /// How backfill steps pace themselves.
    pub backfill: BackfillOptions,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            phase: PhaseSelection::Expand,
            wait_lock: Duration::ZERO,
            retry: RetryPolicy::default(),
            backfill: BackfillOptions::default(),
        }
    }
}

/// What happened, as it happens: rendered as progress lines or JSON lines by the command line.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The checks passed; steps `from..=to` (1-based) will run.
    Start {
        plan_id: String,
        from: usize,
        to: usize,
        total: usize,
        resumed: bool,
    },
    StepStart {
        step: usize,
        total: usize,
        description: String,
        attempt: u32,
    },
    StepRetry {
        step: usize,
        attempt: u32,
        error: String,
        backoff_ms: u64,
    },
    /// A failed concurrent index build left an INVALID index, and it was dropped.
    DroppedInvalidIndex { step: usize, index: String },
    StepDone {
        step: usize,
        total: usize,
        description: String,
        elapsed_ms: u64,
        lock_wait_ms: u64,
        attempts: u32,
    },
    /// A backfill continues from where an earlier, interrupted apply left it.
    BackfillResumed {
        step: usize,
        /// The last key the earlier run committed (text per key column).
        after_key: Vec<String>,
        /// The earlier run had already walked the whole table.
        finished: bool,
    },
    /// A backfill's progress: at most once a second, and once at its end (`done`).
    BackfillProgress {
        step: usize,
        batches: u64,
        /// Rows walked so far (all runs), against `rows_estimate` (`pg_class.reltuples`).
        rows_scanned: u64,
        /// Rows this run changed (those the predicate still selected).
        rows_updated: u64,
        rows_estimate: Option<u64>,
        /// Rows and lock-holding time of the latest batch.
        batch_rows: u64,
        batch_ms: u64,
        worst_batch_ms: u64,
        eta_s: Option<u64>,
        done: bool,
    },
    /// A backfill waits: a replica's replay lag is over the limit.
    BackfillPaused {
        step: usize,
        replica_lag_ms: u64,
        max_replica_lag_ms: u64,
    },
    /// Test-only pause (see [`TEST_PAUSE_ENV`]).
    Paused { after_step: usize },
}

/// How an apply ended when nothing went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// The database was already at the plan's desired state; nothing ran.
    AlreadyApplied,
    /// Every requested step ran.
    Applied {
        steps_run: usize,
        elapsed_ms: u64,
        lock_wait_ms: u64,
    },
    /// The expand phase is done; the contract steps still have to be run with `--phase
    /// contract` (after the application stopped using what they remove).
    ContractPending {
        steps_run: usize,
        contract_steps: usize,
        elapsed_ms: u64,
        lock_wait_ms: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "another apply holds formwork's lock on this database (session pid {pid}{}); refusing to run alongside it (use --wait-lock SECS to wait)",
        if .application.is_empty() { String::new() } else { format!(", application {:?}", .application) }
    )]
    LockHeld { pid: i32, application: String },
    #[error("this plan was made for {planned}, but this is {live}; refusing to run it here")]
    WrongTarget {
        planned: TargetIdentity,
        live: TargetIdentity,
    },
    #[error(
        "this plan was made on PostgreSQL {planned}, but the server runs PostgreSQL {live}; plans do not carry across major versions, make a new one"
    )]
    WrongServerVersion { planned: u32, live: i32 },
    #[error(
        "the database has drifted from the plan: its catalog fingerprint is {live}, which is neither the plan's starting state ({source_fp}), nor the state after any of its steps, nor its end ({desired}).{}Something changed the schema after the plan was made; make a new plan",
        if .changed.is_empty() { " ".to_string() } else { format!(" Changed since the plan was made: {}. ", .changed.join(", ")) }
    )]
    Drift {
        live: Fingerprint,
        source_fp: Fingerprint,
        desired: Fingerprint,
        /// The units that differ from the plan's source, in words ("table public.users").
        changed: Vec<String>,
    },
    #[error(
        "the database is in {}, but the journal {journal}; refusing to guess where to resume",
        if *.step == 0 { "the plan's starting state".to_string() } else { format!("the state this plan reaches after step {}", .step) }
    )]
    JournalDisagrees { step: usize, journal: String },
    #[error(
        "the expand steps of this plan have not all run ({done} of {expand} done); run `--phase expand` first (or `--phase all`)"
    )]
    ExpandNotDone { done: usize, expand: usize },
    #[error(
        "step {step} of {total} ({description}) failed after {attempts} attempt(s): {message}\n  {sql}"
    )]
    StepFailed {
        step: usize,
        total: usize,
        description: String,
        sql: String,
        attempts: u32,
        message: String,
    },
    #[error(
        "after step {step} of {total} ({description}) the catalog fingerprint is {found}, not the {expected} the plan expects; stopping (something else changed the schema, or the step did more than planned)"
    )]
    UnexpectedFingerprint {
        step: usize,
        total: usize,
        description: String,
        expected: Fingerprint,
        found: Fingerprint,
    },
    #[error("reading the catalog: {0}")]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{doing}: {message}")]
    Db {
        doing: &'static str,
        message: String,
    },
}

fn db(doing: &'static str) -> impl Fn(tokio_postgres::Error) -> ApplyError {
    move |e| ApplyError::Db {
        doing,
        message: super::error_message(&e),
    }
}

/// Check `plan` against the database `client` is connected to and run the steps `options`
/// select. `client` must be a session of its own: it takes session-level settings and the
/// advisory lock.
pub async fn apply(
    client: &Client,
    plan: &Plan,
    options: &ApplyOptions,
    on_event: &mut (dyn FnMut(&Event) + Send),
) -> Result<Outcome, ApplyError> {
    take_lock(client, options.wait_lock).await?;
    let result = locked(client, plan, options, on_event).await;
    // Ending the session would release it as well; a long-lived client should not keep it.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&ADVISORY_LOCK_KEY])
        .await;
    result
}

async fn take_lock(client: &Client, wait: Duration) -> Result<(), ApplyError> {
    let deadline = Instant::now() + wait;
    loop {
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&ADVISORY_LOCK_KEY])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(db("taking the apply lock"))?;
        if got {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let holder = lock_holder(client).await.ok().flatten();
            return Err(ApplyError::LockHeld {
                pid: holder.as_ref().map_or(0, |h| h.0),
                application: holder.map(|h| h.1).unwrap_or_default(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The session holding formwork's advisory lock in this database, if an apply is running:
/// its backend pid and application name. A journal row left `running` with no holder is an
/// apply that was killed, not one in progress.
pub async fn lock_holder(
    client: &tokio_postgres::Client,
) -> Result<Option<(i32, String)>, tokio_postgres::Error> {
    let (hi, lo) = (ADVISORY_LOCK_KEY >> 32, ADVISORY_LOCK_KEY & 0xffff_ffff);
    let row = client.query_opt(LOCK_HOLDER_SQL, &[&hi, &lo]).await?;
    Ok(row.map(|r| (r.try_get(0).unwrap_or(0), r.try_get(1).unwrap_or_default())))
}

/// The fingerprint the plan expects after `k` steps (0: its source).
fn fingerprint_at(plan: &Plan, k: usize) -> Fingerprint {
    match k.checked_sub(1).and_then(|i| plan.steps().get(i)) {
        Some(step) => step.expected_fingerprint_after,
        None => plan.source_fingerprint(),
    }
}

/// The units of `live` that differ from the plan's source, in words.
fn drifted_units(plan: &Plan, live: &crate::model::Model) -> Vec<String> {
    use crate::catalog::fingerprint::UnitHashes;
    if plan.source_units().is_empty() {
        return Vec::new();
    }
    let source =
        UnitHashes::from_entries(plan.source_units().iter().map(|u| (u.unit.clone(), u.hash)));
    let live_units = UnitHashes::of(live);
    live_units
        .differing(&source)
        .into_iter()
        .map(|k| match (source.contains(&k), live_units.contains(&k)) {
            (true, true) => format!("{k} (altered)"),
            (false, _) => format!("{k} (added)"),
            (true, false) => format!("{k} (removed)"),
        })
        .collect()
}

async fn live_fingerprint(client: &Client) -> Result<Fingerprint, ApplyError> {
    Ok(fingerprint(&introspect(client).await?.model))
}

async fn locked(
    client: &Client,
    plan: &Plan,
    options: &ApplyOptions,
    on_event: &mut (dyn FnMut(&Event) + Send),
) -> Result<Outcome, ApplyError> {
    let started = Instant::now();
    let catalog = introspect(client).await?;
    let live_target = TargetIdentity::of_server(&catalog.server);
    if &live_target != plan.target() {
        return Err(ApplyError::WrongTarget {
            planned: plan.target().clone(),
            live: live_target,
        });
    }
    if i64::from(plan.server_major_version()) != i64::from(catalog.server.major()) {
        return Err(ApplyError::WrongServerVersion {
            planned: plan.server_major_version(),
            live: catalog.server.major(),
        });
    }
    let mut live = fingerprint(&catalog.model);
    let progress = journal::progress(client, plan).await?;

    // A concurrent index build that was killed or failed leaves an INVALID index behind; it is
    // formwork's own leftover (the journal says this plan's step started and did not finish),
    // so it is dropped before the state is judged.
    if live != plan.desired_fingerprint() {
        if let Some(n) = progress.unfinished {
            if let Some(step) = plan.steps().get(n - 1) {
                if drop_invalid_index(client, step, n, on_event)
                    .await
                    .map_err(db("dropping the INVALID index a killed apply left"))?
                {
                    live = live_fingerprint(client).await?;
                }
            }
        }
    }

    let total = plan.steps().len();
    let expand = plan
        .steps()
        .iter()
        .filter(|s| s.phase == Phase::Expand)
        .count();

    // A backfill changes rows, not the catalog: the steps after the last one that changes the
    // catalog all end at the desired fingerprint. If the journal says this plan stopped there,
    // the database is not done yet; it resumes with the steps left.
    let backfill_left = progress.known
        && live == fingerprint_at(plan, progress.done)
        && plan.steps()[progress.done.min(total)..]
            .iter()
            .any(|s| s.as_backfill().is_some());
    let done = if live == plan.desired_fingerprint() && !backfill_left {
        if progress.known {
            journal::finish_plan(client, plan, "applied", None).await?;
        }
        return Ok(Outcome::AlreadyApplied);
    } else if live == fingerprint_at(plan, progress.done) {
        progress.done
    } else if progress
        .unfinished
        .is_some_and(|u| live == fingerprint_at(plan, u))
    {
        // The process died after the step's work committed but before the journal said so.
        let n = progress.done + 1;
        journal::finish_step(client, plan, n, "done", 0, 0, None).await?;
        n
    } else if let Some(k) = (0..=total).find(|&k| live == fingerprint_at(plan, k)) {
        let journal = if progress.known {
            format!("records steps 1 to {} of it as done", progress.done)
        } else {
            "has no record of this plan".to_string()
        };
        return Err(ApplyError::JournalDisagrees { step: k, journal });
    } else {
        return Err(ApplyError::Drift {
            live,
            source_fp: plan.source_fingerprint(),
            desired: plan.desired_fingerprint(),
            changed: drifted_units(plan, &catalog.model),
        });
    };

    let end = match options.phase {
        PhaseSelection::Expand => expand,
        PhaseSelection::Contract | PhaseSelection::All => total,
    };
    if options.phase == PhaseSelection::Contract && done < expand {
        return Err(ApplyError::ExpandNotDone { done, expand });
    }
    let mut lock_wait = Duration::ZERO;
    if done < end {
        journal::ensure(client).await?;
        journal::start_plan(client, plan).await?;
        on_event(&Event::Start {
            plan_id: plan.id().to_hex(),
            from: done + 1,
            to: end,
            total,
            resumed: done > 0,
        });
        for n in done + 1..=end {
            match run_one(client, plan, n, options, on_event).await {
                Ok(waited) => lock_wait += waited,
                Err(e) => {
                    let _ =
                        journal::finish_plan(client, plan, "failed", Some(&e.to_string())).await;
                    return Err(e);
                }
            }
            test_pause(n, on_event).await;
        }
    }
    let (elapsed_ms, lock_wait_ms) = (ms(started.elapsed()), ms(lock_wait));
    if end < total {
        if done < end || progress.known {
            journal::ensure(client).await?;
            journal::start_plan(client, plan).await?;
            journal::finish_plan(client, plan, "expand-done", None).await?;
        }
        return Ok(Outcome::ContractPending {
            steps_run: end - done,
            contract_steps: total - end,
            elapsed_ms,
            lock_wait_ms,
        });
    }
    journal::finish_plan(client, plan, "applied", None).await?;
    Ok(Outcome::Applied {
        steps_run: end - done,
        elapsed_ms,
        lock_wait_ms,
    })
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn test_pause(n: usize, on_event: &mut (dyn FnMut(&Event) + Send)) {
    if std::env::var(TEST_PAUSE_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        == Some(n)
    {
        on_event(&Event::Paused { after_step: n });
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

/// Run step `n` with retries, record it in the journal, and check the fingerprint after it.
/// Returns the time spent waiting for locks.
async fn run_one(
    client: &Client,
    plan: &Plan,
    n: usize,
    options: &ApplyOptions,
    on_event: &mut (dyn FnMut(&Event) + Send),
) -> Result<Duration, ApplyError> {
    let policy = &options.retry;
    let total = plan.steps().len();
    let Some(step) = plan.steps().get(n - 1) else {
        return Ok(Duration::ZERO);
    };
    journal::start_step(client, plan, n, &step.description).await?;
    let started = Instant::now();
    let mut attempts = 0u32;
    let mut lock_wait = Duration::ZERO;
    let failure = loop {
        attempts += 1;
        on_event(&Event::StepStart {
            step: n,
            total,
            description: step.description.clone(),
            attempt: attempts,
        });
        let attempt_started = Instant::now();
        // A concurrent build that failed before left an INVALID index under the step's name;
        // it goes first (its drop can itself meet a lock timeout, and is retried like the step).
        let result = if let Some(bf) = step.as_backfill() {
            // Batches retry on their own; the journal keeps the walk's position.
            let slot = JournalSlot {
                plan_id: plan.id().to_hex(),
                step: n,
            };
            backfill::run(
                client,
                step,
                bf,
                &options.backfill,
                policy,
                Some(&slot),
                n,
                on_event,
            )
            .await
            .map(|_| ())
        } else {
            match drop_invalid_index(client, step, n, on_event).await {
                Ok(_) => super::run_step(client, step, None).await.map(|_| ()),
                Err(e) => Err(e),
            }
        };
        let _ = client
            .batch_execute("RESET lock_timeout; RESET statement_timeout")
            .await;
        let e = match result {
            Ok(()) => break None,
            Err(e) => e,
        };
        let message = super::error_message(&e);
        if is_retryable(&e) {
            lock_wait += attempt_started.elapsed();
            let backoff = policy.backoff(attempts);
            if started.elapsed() + backoff < policy.budget {
                on_event(&Event::StepRetry {
                    step: n,
                    attempt: attempts,
                    error: message,
                    backoff_ms: ms(backoff),
                });
                tokio::time::sleep(backoff).await;
                lock_wait += backoff;
                continue;
            }
        }
        let message = if is_retryable(&e) {
            format!(
                "{message} (gave up: retry budget of {}s spent)",
                policy.budget.as_secs()
            )
        } else {
            message
        };
        // Best effort: leave no INVALID index behind a step that gives up. If this drop fails
        // too, the next apply drops it before it resumes (the journal names the step).
        if !step.transactional {
            let _ = drop_invalid_index(client, step, n, on_event).await;
            let _ = client.batch_execute("RESET lock_timeout").await;
        }
        break Some(ApplyError::StepFailed {
            step: n,
            total,
            description: step.description.clone(),
            sql: step.sql.clone(),
            attempts,
            message,
        });
    };
    let failure = match failure {
        Some(e) => Some(e),
        None => {
            let found = live_fingerprint(client).await?;
            (found != step.expected_fingerprint_after).then(|| ApplyError::UnexpectedFingerprint {
                step: n,
                total,
                description: step.description.clone(),
                expected: step.expected_fingerprint_after,
                found,
            })
        }
    };
    if let Some(e) = failure {
        let message = e.to_string();
        journal::finish_step(
            client,
            plan,
            n,
            "failed",
            attempts,
            ms(lock_wait),
            Some(&message),
        )
        .await?;
        return Err(e);
    }
    journal::finish_step(client, plan, n, "done", attempts, ms(lock_wait), None).await?;
    on_event(&Event::StepDone {
        step: n,
        total,
        description: step.description.clone(),
        elapsed_ms: ms(started.elapsed()),
        lock_wait_ms: ms(lock_wait),
        attempts,
    });
    Ok(lock_wait)
}

/// If `step` is a concurrent index build whose index exists and is INVALID, drop it
/// concurrently (under the step's lock_timeout). Returns whether something was dropped.
async fn drop_invalid_index(
    client: &Client,
    step: &Step,
    n: usize,
    on_event: &mut (dyn FnMut(&Event) + Send),
) -> Result<bool, tokio_postgres::Error> {
    let Some((schema, name)) = concurrent_index_name(&step.sql) else {
        return Ok(false);
    };
    let row = client
        .query_opt(INVALID_INDEX_SQL, &[&schema, &name])
        .await?;
    let invalid = match row {
        Some(r) => r.try_get::<_, bool>(0)?,
        None => false,
    };
    if !invalid {
        return Ok(false);
    }
    let index = crate::sql::qualified(&crate::model::QualifiedName::new(&schema, &name));
    client
        .batch_execute(&format!(
            "SET lock_timeout = '{}ms'",
            step.lock_timeout_ms.max(1)
        ))
        .await?;
    let dropped = client
        .batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"))
        .await;
    let _ = client.batch_execute("RESET lock_timeout").await;
    dropped?;
    on_event(&Event::DroppedInvalidIndex { step: n, index });
    Ok(true)
}

/// The (schema, index name) a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON
/// [ONLY] [schema.]table ...` statement creates; `None` for any other statement. An index lives
/// in its table's schema.
fn concurrent_index_name(sql: &str) -> Option<(String, String)> {
    use sqlparser::tokenizer::Token;
    let stmt = crate::sqlfile::split(sql).find_map(|item| match item {
        crate::sqlfile::Item::Statement(st) => Some(st),
        _ => None,
    })?;
    let words: Vec<Token> = stmt
        .tokens
        .into_iter()
        .map(|t| t.token)
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let kw = |t: &Token, k: &str| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k));
    let ident = |t: &Token| match t {
        Token::Word(w) if w.quote_style.is_some() => Some(w.value.clone()),
        Token::Word(w) => Some(w.value.to_lowercase()),
        _ => None,
    };
    let mut i = 0;
    let expect = |k: &str, i: &mut usize| {
        if words.get(*i).is_some_and(|t| kw(t, k)) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !expect("CREATE", &mut i) {
        return None;
    }
    expect("UNIQUE", &mut i);
    if !(expect("INDEX", &mut i) && expect("CONCURRENTLY", &mut i)) {
        return None;
    }
    if expect("IF", &mut i) && !(expect("NOT", &mut i) && expect("EXISTS", &mut i)) {
        return None;
    }
    let name = ident(words.get(i)?)?;
    i += 1;
    if !expect("ON", &mut i) {
        return None;
    }
    expect("ONLY", &mut i);
    let first = ident(words.get(i)?)?;
    let schema = if matches!(words.get(i + 1), Some(Token::Period)) {
        first
    } else {
        "public".to_string()
    };
    Some((schema, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_index_a_concurrent_build_creates() {
        assert_eq!(
            concurrent_index_name(
                r#"CREATE UNIQUE INDEX CONCURRENTLY "Items_Name" ON "app"."items" USING btree (name)"#
            ),
            Some(("app".into(), "Items_Name".into()))
        );
        assert_eq!(
            concurrent_index_name("create index concurrently if not exists ix on only t (a)"),
            Some(("public".into(), "ix".into()))
        );
        assert_eq!(
            concurrent_index_name("CREATE INDEX ix ON t (a)"),
            None,
            "a transactional build leaves nothing behind"
        );
        assert_eq!(
            concurrent_index_name("DROP INDEX CONCURRENTLY app.ix"),
            None
        );
    }
}
