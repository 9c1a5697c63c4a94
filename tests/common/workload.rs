//! A concurrent workload to run while a schema change is applied, and what it saw.
//!
//! `Workload::start` opens one connection per client and loops each over reads by key,
//! inserts and updates on one table until `stop`. Every failed statement is kept (SQLSTATE and
//! message), every statement's latency is measured, and the keys each client inserted are
//! returned so a test can check they survived the change.
//!
//! Beside the clients, a sampler on a connection of its own polls `pg_locks` (joined with
//! `pg_stat_activity`) every few milliseconds for the clients' backends and records the longest
//! continuous wait for a heavyweight lock (`NOT granted`, i.e. `wait_event_type = 'Lock'`). The
//! wait is measured from `pg_locks.waitstart`, the server's own timestamp of when the wait
//! began, so it is not inflated by CPU contention on the client side: on a small, busy machine
//! statement latency measures the machine, lock waits measure the schema change. The figure is
//! a lower bound, short of the real wait by at most one sampling interval plus the time of one
//! sampling query.
//!
//! Clients update only keys of their own (key modulo the number of clients), so they never wait
//! for each other's row locks: any lock wait the sampler sees is caused by someone else.
//!
//! The harness deliberately knows nothing about schemas or formwork: the statements are given
//! as SQL with the key as `$1` (a `bigint`), so each test says exactly what traffic it runs.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use formwork::pg::connect::ConnInfo;
use tokio::task::JoinHandle;

/// The traffic: three statements on one table, each taking the key as `$1` (`bigint`).
#[derive(Debug, Clone)]
pub struct Spec {
    /// A read of one row by key; keys `1..=existing_keys` are picked at random.
    pub read_sql: String,
    /// An insert of one new row with key `$1`; keys above `existing_keys`, unique per client.
    pub insert_sql: String,
    /// An update of one existing row by key (e.g. of a `note` column).
    pub update_sql: String,
    /// Keys `1..=existing_keys` exist before the workload starts.
    pub existing_keys: i64,
    /// Concurrent clients, each on its own connection.
    pub clients: usize,
    /// Pause after each statement, so the clients leave some CPU for the change under test.
    pub pause: Duration,
    /// How often the sampler polls `pg_locks`.
    pub sample_every: Duration,
}

/// The kinds of statements a client runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Insert,
    Update,
}

/// A workload statement that failed.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: Kind,
    pub key: i64,
    /// The SQLSTATE, or empty when the error did not come from the server.
    pub sqlstate: String,
    pub message: String,
    /// When it failed, from the workload's start.
    pub at: Duration,
}

/// One continuous wait of a workload backend for a heavyweight lock.
#[derive(Debug, Clone, Default)]
pub struct LockWait {
    pub waited: Duration,
    pub pid: i32,
    /// `locktype mode relation`, as `pg_locks` shows them.
    pub lock: String,
    /// The waiting workload statement.
    pub query: String,
    /// The statements of the backends it waited for (`pg_blocking_pids`).
    pub blocked_by: Vec<String>,
}

/// What the workload saw between `start` and `stop`.
#[derive(Debug)]
pub struct Report {
    pub statements: usize,
    pub failures: Vec<Failure>,
    pub max_latency: Duration,
    pub p99_latency: Duration,
    /// The slowest statement: its kind, key and when it started (from the workload's start).
    pub slowest: Option<(Kind, i64, Duration)>,
    /// The longest continuous lock wait of any workload backend; `None` if none was sampled.
    pub longest_lock_wait: Option<LockWait>,
    /// How many times the sampler polled, and its own errors (which make the figure unreliable).
    pub samples: usize,
    pub sampler_errors: Vec<String>,
    /// Every key a client inserted successfully.
    pub inserted: Vec<i64>,
    pub ran_for: Duration,
}

impl Report {
    /// The longest lock wait, zero when none was seen.
    pub fn longest_wait(&self) -> Duration {
        self.longest_lock_wait
            .as_ref()
            .map_or(Duration::ZERO, |w| w.waited)
    }

    /// One line for test output and reports.
    pub fn summary(&self) -> String {
        let wait = match &self.longest_lock_wait {
            None => "none".to_string(),
            Some(w) => format!(
                "{} ms on {} ({}; blocked by: {})",
                w.waited.as_millis(),
                w.lock,
                w.query,
                w.blocked_by.join(" | ")
            ),
        };
        format!(
            "{} statements in {:.2} s, {} failed, latency max {} ms p99 {} ms, \
             {} lock samples, longest lock wait {wait}",
            self.statements,
            self.ran_for.as_secs_f64(),
            self.failures.len(),
            self.max_latency.as_millis(),
            self.p99_latency.as_millis(),
            self.samples,
        )
    }
}

struct ClientOutcome {
    latencies: Vec<Duration>,
    slowest: Option<(Kind, i64, Duration, Duration)>,
    failures: Vec<Failure>,
    inserted: Vec<i64>,
}

struct SamplerOutcome {
    longest: Option<LockWait>,
    samples: usize,
    errors: Vec<String>,
}

/// A running workload; `stop` ends it and returns the report.
pub struct Workload {
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<ClientOutcome>>,
    sampler: JoinHandle<SamplerOutcome>,
    started: Instant,
}

impl Workload {
    /// Connect every client and the sampler, then start them all. Panics if a connection
    /// cannot be made: a workload that did not run proves nothing.
    pub async fn start(conn: &ConnInfo, spec: Spec) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let mut connected = Vec::new();
        let mut pids = Vec::new();
        for _ in 0..spec.clients {
            let client = conn
                .connect()
                .await
                .unwrap_or_else(|e| panic!("workload client cannot connect: {e}"));
            let pid: i32 = client
                .query_one("SELECT pg_backend_pid()", &[])
                .await
                .unwrap_or_else(|e| panic!("workload client: {e}"))
                .get(0);
            pids.push(pid);
            connected.push(client);
        }
        let sampler_client = conn
            .connect()
            .await
            .unwrap_or_else(|e| panic!("lock sampler cannot connect: {e}"));
        let started = Instant::now();
        let sampler = tokio::spawn(sample(
            sampler_client,
            pids,
            spec.sample_every,
            stop.clone(),
        ));
        let spec = Arc::new(spec);
        let clients = connected
            .into_iter()
            .enumerate()
            .map(|(n, client)| {
                tokio::spawn(run_client(client, n, spec.clone(), stop.clone(), started))
            })
            .collect();
        Workload {
            stop,
            clients,
            sampler,
            started,
        }
    }

    /// Stop every client and the sampler; wait for them and gather what they saw.
    pub async fn stop(self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        let ran_for = self.started.elapsed();
        let mut latencies = Vec::new();
        let mut failures = Vec::new();
        let mut inserted = Vec::new();
        let mut slowest: Option<(Kind, i64, Duration, Duration)> = None;
        for handle in self.clients {
            let outcome = handle.await.expect("a workload client panicked");
            latencies.extend(outcome.latencies);
            failures.extend(outcome.failures);
            inserted.extend(outcome.inserted);
            if let Some(s) = outcome.slowest {
                if slowest.is_none_or(|cur| s.3 > cur.3) {
                    slowest = Some(s);
                }
            }
        }
        let sampler = self.sampler.await.expect("the lock sampler panicked");
        latencies.sort_unstable();
        let max_latency = latencies.last().copied().unwrap_or_default();
        let p99_latency = if latencies.is_empty() {
            Duration::ZERO
        } else {
            latencies[(latencies.len() * 99).div_ceil(100) - 1]
        };
        failures.sort_by_key(|f| f.at);
        inserted.sort_unstable();
        Report {
            statements: latencies.len(),
            failures,
            max_latency,
            p99_latency,
            slowest: slowest.map(|(k, key, at, _)| (k, key, at)),
            longest_lock_wait: sampler.longest,
            samples: sampler.samples,
            sampler_errors: sampler.errors,
            inserted,
            ran_for,
        }
    }
}

/// xorshift64*: enough randomness to spread keys, with no dependency and a fixed seed per
/// client so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

async fn run_client(
    client: tokio_postgres::Client,
    n: usize,
    spec: Arc<Spec>,
    stop: Arc<AtomicBool>,
    started: Instant,
) -> ClientOutcome {
    let clients = spec.clients.max(1) as i64;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1).wrapping_mul(0x1234_5678_9abc));
    // Inserted keys: above the existing ones, and this client's residue modulo `clients`.
    let mut next_insert = spec.existing_keys + 1 + n as i64;
    let mut outcome = ClientOutcome {
        latencies: Vec::new(),
        slowest: None,
        failures: Vec::new(),
        inserted: Vec::new(),
    };
    while !stop.load(Ordering::SeqCst) {
        // Half reads, a quarter inserts, a quarter updates.
        let (kind, key, sql) = match rng.below(4) {
            0 | 1 => {
                let key = 1 + rng.below(spec.existing_keys as u64) as i64;
                (Kind::Read, key, &spec.read_sql)
            }
            2 => {
                let key = next_insert;
                next_insert += clients;
                (Kind::Insert, key, &spec.insert_sql)
            }
            _ => {
                // Only keys of this client's residue: clients never wait for each other.
                let slots = (spec.existing_keys / clients).max(1) as u64;
                let key = rng.below(slots) as i64 * clients + n as i64 + 1;
                (Kind::Update, key, &spec.update_sql)
            }
        };
        let t0 = Instant::now();
        // `query` prepares an unnamed statement each time: no cached plan can go stale when
        // the table changes under it, as it would not in an application using simple queries.
        let result = client.query(sql.as_str(), &[&key]).await;
        let took = t0.elapsed();
        outcome.latencies.push(took);
        if outcome.slowest.is_none_or(|s| took > s.3) {
            outcome.slowest = Some((kind, key, t0 - started, took));
        }
        match result {
            Ok(_) => {
                if kind == Kind::Insert {
                    outcome.inserted.push(key);
                }
            }
            Err(e) => outcome.failures.push(Failure {
                kind,
                key,
                sqlstate: e.code().map(|c| c.code().to_string()).unwrap_or_default(),
                message: e
                    .as_db_error()
                    .map(|d| d.message().to_string())
                    .unwrap_or_else(|| e.to_string()),
                at: started.elapsed(),
            }),
        }
        if !spec.pause.is_zero() {
            tokio::time::sleep(spec.pause).await;
        }
    }
    outcome
}

/// Ungranted heavyweight locks of the given backends, with how long each has waited so far
/// (by the server's clock), what waits and what it waits for.
const WAITS: &str = "\
SELECT l.pid,
       (extract(epoch FROM clock_timestamp() - l.waitstart) * 1000000)::bigint AS waited_us,
       l.locktype || ' ' || l.mode || coalesce(' ' || l.relation::regclass::text, '') AS lock,
       a.query,
       coalesce((SELECT array_agg(b.query ORDER BY b.pid) FROM pg_stat_activity b
                  WHERE b.pid = ANY (pg_blocking_pids(l.pid))), '{}') AS blocked_by
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE NOT l.granted AND l.waitstart IS NOT NULL AND l.pid = ANY ($1)";

async fn sample(
    client: tokio_postgres::Client,
    pids: Vec<i32>,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> SamplerOutcome {
    let mut outcome = SamplerOutcome {
        longest: None,
        samples: 0,
        errors: Vec::new(),
    };
    let statement = match client.prepare(WAITS).await {
        Ok(s) => s,
        Err(e) => {
            outcome.errors.push(e.to_string());
            return outcome;
        }
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::SeqCst) {
        tick.tick().await;
        outcome.samples += 1;
        match client.query(&statement, &[&pids]).await {
            Ok(rows) => {
                for row in rows {
                    let waited = Duration::from_micros(row.get::<_, i64>(1).max(0) as u64);
                    if outcome.longest.as_ref().is_none_or(|w| waited > w.waited) {
                        outcome.longest = Some(LockWait {
                            waited,
                            pid: row.get(0),
                            lock: row.get(2),
                            query: row.get(3),
                            blocked_by: row.get(4),
                        });
                    }
                }
            }
            Err(e) => outcome.errors.push(e.to_string()),
        }
    }
    outcome
}
