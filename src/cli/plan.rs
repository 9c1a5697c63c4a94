//! `formwork plan`: a proven, sealed plan that turns a database into the declared schema.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use miette::IntoDiagnostic;

use crate::catalog::Catalog;
use crate::ops::import::SqlSource;
use crate::pg::connect::ConnInfo;
use crate::pg::scratch::{LazyScratch, Scratch};
use crate::plan::planner::{PlanOptions, make_plan};
use crate::render::Format;

/// Plan the changes that make a database match the declaration in `schemas/`.
///
/// Reads the target's catalog (read-only), normalizes the declaration through a scratch
/// database, diffs, and proves the plan step by step on a copy of the touched part of the
/// schema before writing it. The plan file binds the target's identity, the catalog state it
/// was planned against and the fingerprint expected after every step; `formwork apply` runs it
/// only if nothing moved since. Changes to existing tables take their online form (concurrent
/// index builds, NOT VALID then VALIDATE, ...). Data loss is refused unless declared with
/// `allow-data-loss` or accepted with --allow-destructive.
///
/// Without --db (and without DATABASE_URL) the target is a throwaway local database that
/// starts empty, or from --seed: a way to see a real plan with nothing to set up.
///
/// Exit status: 0 no changes, 2 changes planned (the plan was written), 1 error.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  formwork plan                                   # schemas/ against an empty throwaway database
  formwork plan --db postgres://app@db/app --format markdown > plan.md
  formwork plan --seed prod-schema.sql            # throwaway database seeded from SQL
  formwork plan --from-snapshot prod.snapshot.json --out plans/prod.bin
  formwork show plans/plan.bin                    # render a saved plan again")]
pub struct Args {
    /// Database to plan for: a libpq URL or keyword string. Default: DATABASE_URL; without
    /// either, a throwaway local database (see --seed).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    db: Option<String>,
    /// Plan against a catalog snapshot written by `formwork dump --snapshot` instead of a live
    /// database (no production credentials needed; apply checks the live database still
    /// matches the snapshot).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["db", "seed"])]
    from_snapshot: Option<PathBuf>,
    /// SQL to load into the throwaway target database first (only without --db).
    #[arg(long, value_name = "FILE.sql", conflicts_with = "db")]
    seed: Option<PathBuf>,
    /// Directory with the declaration (`*.kdl`).
    #[arg(long, default_value = "schemas", value_name = "DIR")]
    dir: PathBuf,
    /// Where to write the plan file (parent directories are created).
    #[arg(long, default_value = "plans/plan.bin", value_name = "FILE")]
    out: PathBuf,
    /// How to print the plan: text (colored on a terminal unless NO_COLOR is set), markdown
    /// (for a pull-request comment) or json (docs/plan-json.md).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Accept every data loss in this plan (dropped tables, columns, enums, sequences,
    /// extensions; narrowing type changes). Prefer `allow-data-loss` in the declaration.
    #[arg(long)]
    allow_destructive: bool,
    /// Accept steps that block reads or writes because formwork has no online form for them
    /// yet (rewriting type changes, exclusion constraints, volatile defaults on existing
    /// tables). They are still listed with their locks.
    #[arg(long)]
    allow_blocking: bool,
    /// Refresh this materialized view at the end of the plan (`schema.name`, or `name` in
    /// `public`; repeatable), even when its declaration did not change. CONCURRENTLY when it
    /// has a unique index without WHERE on plain columns; otherwise the refresh blocks its
    /// readers and needs --allow-blocking.
    ///
    /// Example: formwork plan --db "$DATABASE_URL" --refresh reports.daily_totals
    #[arg(long, value_name = "NAME")]
    refresh: Vec<String>,
    /// How long a step may wait for a lock that blocks reads or writes before it gives up
    /// (`lock_timeout`, sealed into those steps; apply then retries it with backoff).
    ///
    /// While a step waits for such a lock, every later query on the table queues behind it,
    /// so the wait is kept short: with the default 100ms no query stalls much longer than
    /// that behind a waiting step, and a busy table costs retries instead of an outage. Steps
    /// whose locks let reads and writes through (CONCURRENTLY builds and drops, VALIDATE
    /// CONSTRAINT) wait up to 30 minutes instead. Examples: 100ms, 250ms, 2s.
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_lock_timeout)]
    lock_timeout: u64,
    /// Report each phase with its timing on standard error even when it is not a terminal.
    #[arg(long, short)]
    verbose: bool,
    #[command(flatten)]
    scratch: super::ScratchArgs,
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    let started = Instant::now();
    let progress = args.verbose || std::io::stderr().is_terminal();
    let declared = crate::kdl::load::load_dir(&args.dir)?;
    if progress {
        eprintln!(
            "loaded {}: {} tables ({:.2}s)",
            args.dir.display(),
            declared.tables().count(),
            started.elapsed().as_secs_f64()
        );
    }
    let read_started = Instant::now();
    let rt = super::runtime()?;
    rt.block_on(async {
        let mut scratch =
            LazyScratch::from_args(args.scratch.dev_url.clone(), args.scratch.pg_bin.clone());
        let (current, estimates, described) = if let Some(path) = &args.from_snapshot {
            let catalog = crate::catalog::snapshot::read(path)?;
            (catalog, Vec::new(), format!("snapshot {}", path.display()))
        } else if let Some(url) = &args.db {
            let conn = ConnInfo::parse(url).map_err(|e| miette::miette!("{e}"))?;
            let catalog =
                crate::catalog::introspect_parallel(&conn, crate::catalog::MAX_CONNECTIONS)
                    .await
                    .map_err(|e| miette::miette!("reading {conn}: {e}"))?;
            let client = conn.connect().await.map_err(|e| miette::miette!("{e}"))?;
            check_enum_values(&client, &catalog.model, &declared).await?;
            let tables: Vec<_> = catalog
                .model
                .tables()
                .map(|(s, t)| crate::model::QualifiedName::new(&s.name, &t.name))
                .collect();
            let estimates = crate::catalog::estimates::estimates(&client, &tables)
                .await
                .map_err(|e| miette::miette!("reading table sizes from {conn}: {e}"))?;
            (catalog, estimates, conn.to_string())
        } else {
            let (catalog, lazy) = throwaway_target(&args).await?;
            scratch = lazy;
            let what = match &args.seed {
                Some(p) => format!("a throwaway database seeded from {}", p.display()),
                None => "an empty throwaway database".to_string(),
            };
            (catalog, Vec::new(), what)
        };
        if progress {
            eprintln!(
                "read {described}: {} tables ({:.2}s)",
                current.model.tables().count(),
                read_started.elapsed().as_secs_f64()
            );
        }
        let options = PlanOptions {
            allow_destructive: args.allow_destructive,
            allow_blocking: args.allow_blocking,
            lock_timeout_ms: Some(args.lock_timeout),
            estimates,
            refresh: args
                .refresh
                .iter()
                .map(|n| match n.split_once('.') {
                    Some((schema, name)) => crate::model::QualifiedName::new(schema, name),
                    None => crate::model::QualifiedName::new("public", n),
                })
                .collect(),
            progress: if progress {
                crate::plan::planner::Progress::new(|line| eprintln!("{line}"))
            } else {
                crate::plan::planner::Progress::default()
            },
        };
        let planned = make_plan(&current, &declared, &scratch, &options).await?;
        let plan = &planned.plan;
        let color = crate::render::color_for(&std::io::stdout());
        let rendered = crate::render::render(plan, args.format, color);
        if plan.steps().is_empty() {
            print!("{rendered}");
            eprintln!(
                "no changes: {described} matches {} ({:.1}s)",
                args.dir.display(),
                started.elapsed().as_secs_f64()
            );
            return Ok(ExitCode::SUCCESS);
        }
        write_plan(&args.out, plan)?;
        print!("{rendered}");
        for (step, f) in &planned.findings {
            eprintln!("note: step {step}: {} [{}]", f.message, f.rule);
        }
        eprintln!(
            "wrote {} (plan {}, {} steps, proven) in {:.1}s",
            args.out.display(),
            plan.id().short(),
            plan.steps().len(),
            started.elapsed().as_secs_f64()
        );
        Ok(ExitCode::from(2))
    })
}

/// Refuse a declaration that removes enum values rows still hold, without a replacement.
pub(super) async fn check_enum_values(
    client: &tokio_postgres::Client,
    current: &crate::model::Model,
    declared: &crate::model::Model,
) -> miette::Result<()> {
    use crate::catalog::enum_usage::{CheckError, refuse_removed_values_in_use};
    match refuse_removed_values_in_use(client, current, declared).await {
        Ok(()) => Ok(()),
        Err(CheckError::InUse(e)) => Err(e.into()),
        Err(CheckError::Catalog(e)) => Err(miette::miette!("{e}")),
    }
}

fn write_plan(out: &Path, plan: &crate::plan::Plan) -> miette::Result<()> {
    if let Some(parent) = out.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)
                .into_diagnostic()
                .map_err(|e| e.wrap_err(format!("cannot create {}", parent.display())))?;
        }
    }
    crate::plan::file::write(plan, out).map_err(|e| miette::miette!("{e}"))?;
    Ok(())
}

/// A throwaway cluster with a target database (empty, or seeded), which also serves as the
/// scratch server.
async fn throwaway_target(args: &Args) -> miette::Result<(Catalog, LazyScratch)> {
    let scratch = match &args.scratch.dev_url {
        Some(url) => Scratch::dev(url),
        None => Scratch::from_args(None, args.scratch.pg_bin.as_deref()),
    }
    .map_err(|e| miette::miette!("cannot start a throwaway database: {e}"))?;
    let db = scratch
        .create_database()
        .await
        .map_err(|e| miette::miette!("cannot create the throwaway target: {e}"))?;
    let client = db.client().await.map_err(|e| miette::miette!("{e}"))?;
    if let Some(seed) = &args.seed {
        let text = std::fs::read_to_string(seed)
            .map_err(|e| miette::miette!("cannot read {}: {e}", seed.display()))?;
        let source = SqlSource {
            name: seed.display().to_string(),
            text,
        };
        crate::ops::import::run_source(&client, &source).await?;
    }
    // A fresh session: the seed may have changed settings such as search_path.
    drop(client);
    let client = db.client().await.map_err(|e| miette::miette!("{e}"))?;
    let catalog = crate::catalog::introspect(&client)
        .await
        .map_err(|e| miette::miette!("reading the throwaway target: {e}"))?;
    drop(client);
    // The target is dropped with the cluster (or below, on a dev server).
    let _ = db.drop_now().await;
    Ok((catalog, LazyScratch::ready(scratch)))
}

/// `100ms`, `2s` or a bare number of milliseconds, at least 1 ms.
fn parse_lock_timeout(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1_000)
    } else {
        (t, 1)
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 100ms or 2s"))?;
    let ms = n.saturating_mul(scale);
    if ms == 0 {
        return Err("a lock_timeout of 0 would wait forever; give at least 1ms".into());
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::parse_lock_timeout;

    #[test]
    fn lock_timeouts_are_read_in_milliseconds_and_seconds_and_never_zero() {
        assert_eq!(parse_lock_timeout("100ms"), Ok(100));
        assert_eq!(parse_lock_timeout("2s"), Ok(2_000));
        assert_eq!(parse_lock_timeout("250"), Ok(250));
        assert!(parse_lock_timeout("0ms").is_err());
        assert!(parse_lock_timeout("fast").is_err());
    }
}
