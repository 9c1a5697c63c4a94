//! `formwork apply`: run an approved plan file against the database it was made for.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::apply::approval::{self, ApprovalChoice, KeySource};
use crate::apply::retry::RetryPolicy;
use crate::apply::{ApplyOptions, Event, Outcome, PhaseSelection};
use crate::pg::connect::ConnInfo;

/// Apply a plan file to the database it was made for.
///
/// Before the first statement, apply checks, and refuses with exit status 1 having run
/// nothing, unless: the file is intact (format version, hash, nothing appended); the plan is
/// approved (--approve with its id, a signed approval beside it verified with --key-file or
/// --key-env that accepts every hazard in it, or --auto-approve on a development database);
/// the database is the one the plan was made for (cluster system identifier, database name,
/// server major version); and its catalog is at the plan's starting state, at the state after
/// a step this plan's journal says it finished (resume), or already at the end (exit 0).
///
/// One apply at a time per database (an advisory lock). Each step runs with its own
/// lock_timeout and statement_timeout; lock timeouts and deadlocks are retried with capped,
/// jittered backoff; after each step the catalog must be in the state the plan expects. Every
/// step is recorded in the `formwork` schema (`formwork status` reads it). Contract steps run
/// only with --phase contract or all. See docs/apply.md.
///
/// Exit status: 0 applied, already applied, or expand done with contract pending; 1 refused or
/// failed.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  formwork apply plans/plan.bin --db \"$DATABASE_URL\" --approve 3f1c0a9b22de
  formwork approve plans/plan.bin --key-env APPROVAL_KEY --accept-all   # in review
  formwork apply plans/plan.bin --key-env APPROVAL_KEY                  # in the pipeline
  formwork apply plans/plan.bin --phase contract --approve 3f1c0a9b22de  # after the deploy
  formwork apply plans/plan.bin --db postgres://localhost/dev --auto-approve
  formwork apply plans/plan.bin --key-env APPROVAL_KEY --backfill-target-ms 20 --max-replica-lag-ms 2000
  formwork apply --dir schemas --db postgres://localhost/dev --auto-approve --phase all")]
pub struct Args {
    /// The plan file written by `formwork plan --out`.
    #[arg(
        value_name = "FILE",
        required_unless_present = "dir",
        conflicts_with = "dir"
    )]
    file: Option<PathBuf>,
    /// Development shortcut: plan against the database from this declaration directory, show
    /// the plan, and apply it at once. Needs --auto-approve (nobody reviewed it).
    #[arg(long, value_name = "DIR", requires = "auto_approve")]
    dir: Option<PathBuf>,
    /// Database to apply to: a libpq URL or keyword string. Default: DATABASE_URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    db: Option<String>,
    /// Approve the plan by its full 64-digit id, as `formwork plan` and `formwork show` print
    /// it. It must be this file's id (the 12-digit short id is refused: too short to trust).
    #[arg(long, value_name = "PLAN-ID", conflicts_with = "auto_approve")]
    approve: Option<String>,
    /// Verify the signed approval beside the plan (`FILE.approval`) with the secret in this
    /// file (a trailing newline is ignored).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key_env", "approve", "auto_approve"])]
    key_file: Option<PathBuf>,
    /// Verify the signed approval beside the plan with the secret in this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with_all = ["approve", "auto_approve"])]
    key_env: Option<String>,
    /// Run without any approval. For development databases only: it says so loudly.
    #[arg(long)]
    auto_approve: bool,
    /// Which steps to run: expand (default; the previous application keeps working), contract
    /// (after the application no longer uses what they remove), or all.
    #[arg(long, value_enum, default_value_t = PhaseSelection::Expand)]
    phase: PhaseSelection,
    /// Wait up to this many seconds for another apply to finish instead of failing at once.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    wait_lock: u64,
    /// Total seconds one step may spend retrying lock timeouts and deadlocks before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    retry_budget: u64,
    /// Longest wait between two attempts of a step, in seconds (waits double from 0.2 s).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    max_backoff: u64,
    /// Backfills: how long one batch may hold its row locks, in milliseconds. The batch size
    /// adapts after every batch toward the rows that take this long (it starts at
    /// --backfill-initial-rows). Smaller means shorter waits for the application's writes to
    /// the same rows and more commits; see docs/apply.md, "Backfills".
    #[arg(long, value_name = "MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    backfill_target_ms: u64,
    /// Backfills: rows in the first batch, before any measurement.
    #[arg(long, value_name = "ROWS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..))]
    backfill_initial_rows: u64,
    /// Backfills: never more rows than this in one batch.
    #[arg(long, value_name = "ROWS", default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    backfill_max_rows: u64,
    /// Backfills: sleep this many milliseconds after each batch, leaving the server (and
    /// autovacuum) room between batches. Default: none.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    backfill_pause_ms: u64,
    /// Backfills: before each round of batches (about a second of work), wait while any
    /// replica's replay lag (pg_stat_replication on this server) is above this many
    /// milliseconds, so a backfill never leaves replicas far behind. Example:
    /// --max-replica-lag-ms 2000. Default: do not watch replicas.
    #[arg(long, value_name = "MS")]
    max_replica_lag_ms: Option<u64>,
    /// Progress as text lines on stderr, or as one JSON event per line on stdout.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Where `--dir` normalizes the declaration.
    #[command(flatten)]
    scratch: super::ScratchArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    let conn = ConnInfo::from_db_arg(args.db.as_deref()).map_err(|e| miette::miette!("{e}"))?;
    let rt = super::runtime()?;
    let plan = match (&args.file, &args.dir) {
        (Some(file), _) => crate::plan::file::read(file).map_err(|e| miette::miette!("{e}"))?,
        (None, Some(dir)) => rt.block_on(plan_now(&args, dir, &conn))?,
        (None, None) => return Err(miette::miette!("give a plan file or --dir")),
    };
    let choice = if let Some(id) = &args.approve {
        ApprovalChoice::PlanId(id.clone())
    } else if let Some(path) = &args.key_file {
        signed(&args, KeySource::File(path.clone()))
    } else if let Some(var) = &args.key_env {
        signed(&args, KeySource::Env(var.clone()))
    } else if args.auto_approve {
        ApprovalChoice::Auto
    } else {
        return Err(miette::miette!("{}", approval::ApprovalRefused::NoApproval));
    };
    let approved = approval::check(&plan, &choice).map_err(|e| miette::miette!("{e}"))?;
    if args.auto_approve {
        eprintln!(
            "WARNING: --auto-approve: applying plan {} WITHOUT ANY APPROVAL. Never do this outside a development database.",
            plan.id().short()
        );
    }
    let json = args.log_format == LogFormat::Json;
    let options = ApplyOptions {
        phase: args.phase,
        wait_lock: Duration::from_secs(args.wait_lock),
        retry: RetryPolicy {
            budget: Duration::from_secs(args.retry_budget),
            max_backoff: Duration::from_secs(args.max_backoff.max(1)),
            ..RetryPolicy::default()
        },
        backfill: crate::apply::backfill::BackfillOptions {
            target: Duration::from_millis(args.backfill_target_ms),
            initial_rows: args.backfill_initial_rows,
            max_rows: args.backfill_max_rows,
            pause: Duration::from_millis(args.backfill_pause_ms),
            max_replica_lag: args.max_replica_lag_ms.map(Duration::from_millis),
        },
    };
    if !json {
        eprintln!(
            "plan {} ({} steps) on {conn}: {approved}",
            plan.id().short(),
            plan.steps().len()
        );
    }
    rt.block_on(async {
        let client = conn.connect().await.map_err(|e| miette::miette!("{e}"))?;
        let watcher = watch_index_builds(&client, &conn, json).await;
        let mut on_event = |e: &Event| report(e, json);
        let outcome = crate::apply::apply(&client, &plan, &options, &mut on_event).await;
        if let Some(w) = watcher {
            w.abort();
        }
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"event": "failed", "error": e.to_string()})
                    );
                }
                return Err(miette::miette!("{e}"));
            }
        };
        if json {
            let mut v = serde_json::to_value(&outcome).unwrap_or_default();
            v["event"] = "done".into();
            v["plan_id"] = plan.id().to_hex().into();
            println!("{v}");
        } else {
            eprintln!("{}", summary(&outcome, &plan));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `--dir`: plan against the live database now and show the plan (text on stderr, so stdout
/// stays the JSON event stream with --log-format json).
async fn plan_now(
    args: &Args,
    dir: &std::path::Path,
    conn: &ConnInfo,
) -> miette::Result<crate::plan::Plan> {
    let declared = crate::kdl::load::load_dir(dir)?;
    let client = conn.connect().await.map_err(|e| miette::miette!("{e}"))?;
    let current = crate::catalog::introspect(&client)
        .await
        .map_err(|e| miette::miette!("reading {conn}: {e}"))?;
    super::plan::check_enum_values(&client, &current.model, &declared).await?;
    drop(client);
    let scratch = crate::pg::scratch::LazyScratch::from_args(
        args.scratch.dev_url.clone(),
        args.scratch.pg_bin.clone(),
    );
    let planned = crate::plan::planner::make_plan(
        &current,
        &declared,
        &scratch,
        &crate::plan::planner::PlanOptions::default(),
    )
    .await?;
    let color = crate::render::color_for(&std::io::stderr());
    eprint!(
        "{}",
        crate::render::render(&planned.plan, crate::render::Format::Text, color)
    );
    Ok(planned.plan)
}

/// Report index build progress of the apply's session every few seconds, from a second
/// session. Progress is a courtesy: if the second session cannot be had, there is none.
async fn watch_index_builds(
    client: &tokio_postgres::Client,
    conn: &ConnInfo,
    json: bool,
) -> Option<tokio::task::JoinHandle<()>> {
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .ok()?
        .try_get(0)
        .ok()?;
    let watcher = conn.connect().await.ok()?;
    Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            match crate::apply::progress::index_progress(&watcher, pid).await {
                Ok(Some(p)) if json => {
                    let mut v = serde_json::to_value(&p).unwrap_or_default();
                    v["event"] = "index-progress".into();
                    println!("{v}");
                }
                Ok(Some(p)) => eprintln!("      {p}"),
                Ok(None) => {}
                Err(_) => return,
            }
        }
    }))
}

fn signed(args: &Args, key: KeySource) -> ApprovalChoice {
    ApprovalChoice::Signed {
        sidecar: crate::plan::file::approval_path(&args.file.clone().unwrap_or_default()),
        key,
    }
}

fn report(e: &Event, json: bool) {
    if json {
        if let Ok(line) = serde_json::to_string(e) {
            println!("{line}");
        }
        return;
    }
    let secs = |ms: u64| ms as f64 / 1000.0;
    match e {
        Event::Start {
            from,
            to,
            total,
            resumed,
            ..
        } => eprintln!(
            "{} steps {from} to {to} of {total}",
            if *resumed { "resuming:" } else { "running" }
        ),
        Event::StepStart {
            step,
            total,
            description,
            attempt,
        } => {
            if *attempt == 1 {
                eprintln!("[{step}/{total}] {description} ...");
            } else {
                eprintln!("[{step}/{total}] attempt {attempt} ...");
            }
        }
        Event::StepRetry {
            step,
            error,
            backoff_ms,
            ..
        } => eprintln!(
            "      step {step}: {error}; retrying in {:.1}s",
            secs(*backoff_ms)
        ),
        Event::DroppedInvalidIndex { step, index } => eprintln!(
            "      step {step}: dropped the INVALID index {index} a failed concurrent build left"
        ),
        Event::StepDone {
            step,
            total,
            elapsed_ms,
            lock_wait_ms,
            attempts,
            ..
        } => eprintln!(
            "[{step}/{total}] done in {:.1}s ({:.1}s waiting for locks, {attempts} attempt(s))",
            secs(*elapsed_ms),
            secs(*lock_wait_ms)
        ),
        Event::BackfillResumed {
            step,
            after_key,
            finished,
        } => {
            if *finished {
                eprintln!("      step {step}: the backfill had already walked the whole table");
            } else {
                eprintln!(
                    "      step {step}: resuming the backfill after key ({})",
                    after_key.join(", ")
                );
            }
        }
        Event::BackfillProgress {
            step,
            batches,
            rows_scanned,
            rows_updated,
            rows_estimate,
            batch_rows,
            batch_ms,
            worst_batch_ms,
            eta_s,
            done,
        } => {
            let of = match rows_estimate {
                Some(total) if *total > 0 => {
                    format!(" of ~{total} ({}%)", (rows_scanned * 100 / total).min(100))
                }
                _ => String::new(),
            };
            let eta = eta_s.map_or(String::new(), |s| format!(", about {s}s left"));
            if *done {
                eprintln!(
                    "      step {step}: backfill walked {rows_scanned} rows, filled                      {rows_updated} in {batches} batches (longest batch {worst_batch_ms} ms)"
                );
            } else {
                eprintln!(
                    "      step {step}: backfill {rows_scanned} rows{of}, {batches} batches,                      last {batch_rows} rows in {batch_ms} ms{eta}"
                );
            }
        }
        Event::BackfillPaused {
            step,
            replica_lag_ms,
            max_replica_lag_ms,
        } => eprintln!(
            "      step {step}: backfill waits: replica replay lag {replica_lag_ms} ms is over              {max_replica_lag_ms} ms"
        ),
        Event::Paused { after_step } => eprintln!("paused after step {after_step} (test hook)"),
    }
}

fn summary(outcome: &Outcome, plan: &crate::plan::Plan) -> String {
    let id = plan.id().short();
    match outcome {
        Outcome::AlreadyApplied => {
            format!("plan {id} is already applied: the database is at its end state; nothing to do")
        }
        Outcome::Applied {
            steps_run,
            elapsed_ms,
            lock_wait_ms,
        } => format!(
            "applied plan {id}: {steps_run} step(s) in {:.1}s, {:.1}s of it waiting for locks",
            *elapsed_ms as f64 / 1000.0,
            *lock_wait_ms as f64 / 1000.0
        ),
        Outcome::ContractPending {
            steps_run,
            contract_steps,
            elapsed_ms,
            lock_wait_ms,
        } => format!(
            "expand phase of plan {id} done: {steps_run} step(s) in {:.1}s ({:.1}s waiting for locks). \
             {contract_steps} contract step(s) pending: run `formwork apply --phase contract` once \
             the application no longer uses what they remove",
            *elapsed_ms as f64 / 1000.0,
            *lock_wait_ms as f64 / 1000.0
        ),
    }
}
