//! Conformance run over other tools' public fixture sets: does formwork take a database from
//! one state to another and end exactly there?
//!
//! For every from-state/to-state pair in migra's and psqldef's fixtures (see `corpus.rs` for
//! how each set is read), on one throwaway cluster (or `--dev-url`): load the from-state into
//! database A and the to-state into B, introspect both, and set aside pairs that do not load
//! or hold objects formwork does not manage. For the rest, do what a user does — `dump` B to
//! KDL, load those files, plan A toward them with destructive changes allowed, apply — then
//! require A's fingerprint to equal B's and a second plan to be empty.
//!
//! ```sh
//! cargo run --release --example conformance -- --corpus ../shared/corpus --report conformance.md
//! cargo run --release --example conformance -- --corpus ../shared/corpus --only psqldef --filter identity
//! ```
//!
//! Exit status: 0 when the run completed (failures are findings, reported), 1 when the run
//! itself broke or `--min-pass-rate` was not met, 2 on bad usage. Progress goes to stderr, the
//! summary to stdout. With `--dev-url`, roles the fixtures grant to are created on that server.
//!
//! This is a measuring instrument, not a test: no result is asserted beyond `--min-pass-rate`.

#[path = "conformance/case.rs"]
mod case;
#[path = "conformance/corpus.rs"]
mod corpus;
#[path = "conformance/diff.rs"]
mod diff;
#[path = "conformance/load.rs"]
mod load;
#[path = "conformance/report.rs"]
mod report;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use clap::Parser;
use formwork::pg::scratch::{LazyScratch, Scratch};

use case::Outcome;
use corpus::Set;

/// Run formwork's plan-and-apply over public fixture sets and report how often it converges.
#[derive(Parser, Debug)]
#[command(name = "conformance")]
struct Args {
    /// Directory holding the fixture sets (`migra/`, `psqldef/`).
    #[arg(long)]
    corpus: PathBuf,
    /// Run one set only.
    #[arg(long, value_enum)]
    only: Option<Set>,
    /// Run only cases whose `set/name` contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Write a markdown report here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Use this server instead of a throwaway local cluster (databases are created and
    /// dropped on it).
    #[arg(long)]
    dev_url: Option<String>,
    /// Exit 1 when a set's pass rate over in-scope cases is below this percentage.
    #[arg(long, value_name = "PERCENT")]
    min_pass_rate: Option<f64>,
    /// Cases run at the same time.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Give up on a case after this many seconds.
    #[arg(long, default_value_t = 180)]
    case_timeout: u64,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("conformance: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<ExitCode, String> {
    let started = Instant::now();
    let mut cases = corpus::read(&args.corpus, args.only)?;
    if let Some(f) = &args.filter {
        cases.retain(|c| format!("{}/{}", c.set.name(), c.name).contains(f.as_str()));
    }
    let sets: Vec<Set> = Set::ALL
        .into_iter()
        .filter(|s| args.only.is_none_or(|o| o == *s))
        .collect();
    eprintln!("conformance: {} cases; starting the server", cases.len());
    let scratch = Scratch::from_args(args.dev_url.as_deref(), None).map_err(|e| e.to_string())?;
    let (server_major, server_version) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?
        .block_on(server_version(&scratch))?;
    let scratch = Arc::new(LazyScratch::ready(scratch));
    let limit = Duration::from_secs(args.case_timeout);
    let total = cases.len();
    let queue = Arc::new(Mutex::new(cases.into_iter().enumerate()));
    let (tx, rx) = std::sync::mpsc::channel();
    // Each worker is a thread with its own runtime, so a panic in formwork is caught per case
    // (and is a finding about that case, not the end of the run) whatever the futures are.
    let workers: Vec<_> = (0..args.jobs.max(1))
        .map(|_| {
            let (queue, tx, scratch) = (Arc::clone(&queue), tx.clone(), Arc::clone(&scratch));
            std::thread::spawn(move || worker(&queue, &tx, &scratch, server_major, limit))
        })
        .collect();
    drop(tx);
    let mut results: Vec<(usize, report::Result)> = Vec::new();
    for (i, case, outcome, seconds) in rx {
        eprintln!(
            "[{:>4}/{total}] {}/{}: {} ({seconds:.1} s)",
            results.len() + 1,
            case.set.name(),
            case.name,
            report::outcome_word(&outcome)
        );
        results.push((
            i,
            report::Result {
                set: case.set,
                name: case.name,
                source_error: case.source_error,
                outcome,
                seconds,
            },
        ));
    }
    for w in workers {
        w.join().map_err(|_| "a worker thread died".to_string())?;
    }
    if results.len() != total {
        return Err(format!("only {} of {total} cases finished", results.len()));
    }
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<report::Result> = results.into_iter().map(|(_, r)| r).collect();
    let elapsed = started.elapsed().as_secs_f64();
    let sets: Vec<Set> = sets
        .into_iter()
        .filter(|s| results.iter().any(|r| r.set == *s))
        .collect();

    println!("{}", report::summary_table(&results, &sets));
    let failures = report::failure_table(&results);
    if !failures.is_empty() {
        println!("failures by class and cause:\n{failures}");
    }
    let broken: Vec<&report::Result> = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Broken(_)))
        .collect();
    if let Some(path) = &args.report {
        let header = format!(
            "- corpus: `{}`\n- server: PostgreSQL {server_version}\n- formwork {}\n- {} cases in {:.0} s, {} at a time\n",
            args.corpus.display(),
            env!("CARGO_PKG_VERSION"),
            results.len(),
            elapsed,
            args.jobs.max(1)
        );
        std::fs::write(path, report::markdown(&results, &sets, &header))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("conformance: report written to {}", path.display());
    }
    eprintln!("conformance: {} cases in {elapsed:.0} s", results.len());
    if !broken.is_empty() {
        for r in &broken {
            eprintln!(
                "conformance: {}/{}: {}",
                r.set.name(),
                r.name,
                report::outcome_word(&r.outcome)
            );
        }
        return Ok(ExitCode::FAILURE);
    }
    if let Some(min) = args.min_pass_rate {
        for &set in &sets {
            let c = report::counts(&results, set);
            if let Some(rate) = c.pass_rate()
                && rate < min
            {
                eprintln!(
                    "conformance: {} pass rate {rate:.1}% is below {min}%",
                    set.name()
                );
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

type Finished = (usize, corpus::Case, Outcome, f64);

fn worker(
    queue: &Mutex<impl Iterator<Item = (usize, corpus::Case)>>,
    tx: &mpsc::Sender<Finished>,
    scratch: &LazyScratch,
    server_major: i32,
    limit: Duration,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    loop {
        let next = match queue.lock() {
            Ok(mut q) => q.next(),
            Err(_) => None,
        };
        let Some((i, case)) = next else {
            return;
        };
        let t = Instant::now();
        let outcome = match &runtime {
            Ok(rt) => std::panic::catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(case::run(scratch, &case, server_major, limit))
            }))
            .unwrap_or_else(case_panic),
            Err(e) => Outcome::Broken(format!("cannot start a runtime: {e}")),
        };
        if tx
            .send((i, case, outcome, t.elapsed().as_secs_f64()))
            .is_err()
        {
            return;
        }
    }
}

fn case_panic(payload: Box<dyn std::any::Any + Send>) -> Outcome {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-text payload".into());
    Outcome::Fail(case::Failure {
        class: case::Class::Panic,
        signature: case::signature(&text),
        detail: text,
    })
}

async fn server_version(scratch: &Scratch) -> Result<(i32, String), String> {
    let client = scratch
        .admin_conn_info()
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int, current_setting('server_version')",
            &[],
        )
        .await
        .map_err(|e| load::message(&e))?;
    let num: i32 = row.try_get(0).map_err(|e| e.to_string())?;
    let text: String = row.try_get(1).map_err(|e| e.to_string())?;
    Ok((num / 10000, text))
}
