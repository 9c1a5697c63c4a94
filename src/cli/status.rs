//! `formwork status`: what the journal says was applied, and whether the database matches the
//! declaration.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::pg::connect::ConnInfo;
use crate::pg::scratch::LazyScratch;

/// Show the plans applied to a database, contract steps still pending, and whether the
/// database matches the declaration.
///
/// Reads the journal in the `formwork` schema (written by `formwork apply`) and lists, for a
/// plan applied with `--phase expand` only, the contract steps not yet run. Lists formwork's
/// transitional objects an interrupted apply left (temporary checks, replacement indexes) and
/// what removes each. Then, when the
/// declaration directory exists, plans against the live catalog (read-only; the declaration is
/// normalized in a scratch database) and says whether it matches or how many steps a plan
/// would have. Exit status: 0 (also when changes are pending), 1 on error.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  formwork status --db postgres://app@db/app
  formwork status --db \"$DATABASE_URL\" --dir schemas")]
pub struct Args {
    /// Database to report on. Default: DATABASE_URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    db: Option<String>,
    /// Directory with the declaration (`*.kdl`); skipped when it does not exist.
    #[arg(long, default_value = "schemas", value_name = "DIR")]
    dir: PathBuf,
    #[command(flatten)]
    scratch: super::ScratchArgs,
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    let conn = ConnInfo::from_db_arg(args.db.as_deref()).map_err(|e| miette::miette!("{e}"))?;
    let declared = if args.dir.is_dir() {
        Some(crate::kdl::load::load_dir(&args.dir)?)
    } else {
        None
    };
    let rt = super::runtime()?;
    rt.block_on(async {
        let client = conn.connect().await.map_err(|e| miette::miette!("{e}"))?;
        let plans = crate::apply::journal::plans(&client)
            .await
            .map_err(|e| miette::miette!("{e}"))?;
        if plans.is_empty() {
            println!("no plans applied to {conn} (no formwork journal)");
        }
        // Only one apply runs at a time (the advisory lock), so at most one `running` row is
        // live, the latest started (rows come in start order); the others were killed and are
        // shown as such.
        let latest_running = plans.iter().rposition(|p| p.status == "running");
        let holder = if latest_running.is_some() {
            crate::apply::executor::lock_holder(&client)
                .await
                .map_err(|e| miette::miette!("reading {conn}: {e}"))?
        } else {
            None
        };
        for (i, p) in plans.iter().enumerate() {
            let short: String = p.plan_id.chars().take(crate::plan::SHORT_ID_LEN).collect();
            let live = latest_running == Some(i) && holder.is_some();
            let status = if p.status == "running" && !live {
                "interrupted"
            } else {
                p.status.as_str()
            };
            println!(
                "plan {short}  {:<11}  {}/{} steps  started {}{}",
                status,
                p.steps_done,
                p.steps_total,
                p.started_at,
                p.finished_at
                    .as_ref()
                    .map_or(String::new(), |f| format!("  finished {f}"))
            );
            if p.status == "expand-done" {
                println!(
                    "    {} contract step(s) pending: formwork apply <plan file> --phase contract",
                    p.steps_total.saturating_sub(p.expand_steps)
                );
                // Contract steps already done (a contract apply that stopped) are skipped.
                let done = p.steps_done.saturating_sub(p.expand_steps);
                for (i, d) in p.contract_steps.iter().enumerate().skip(done) {
                    println!("      step {}: {d}", p.expand_steps + i + 1);
                }
            }
            if live {
                if let Some((pid, app)) = &holder {
                    println!("    applying now (backend pid {pid}, application {app:?})");
                }
            } else if p.status == "running" {
                println!(
                    "    the apply stopped without finishing: apply the same plan again to resume, \
                     or make a new plan (it finishes what the interrupted steps left)"
                );
            }
            if let Some(e) = &p.error {
                println!("    error: {e}");
            }
        }
        let catalog = crate::catalog::introspect(&client)
            .await
            .map_err(|e| miette::miette!("reading {conn}: {e}"))?;
        // Without a declaration every object of the right shape counts: there is nothing
        // that could declare one of those names.
        let empty = crate::model::Model::default();
        for f in
            crate::diff::transitional::find(&catalog.model, declared.as_ref().unwrap_or(&empty))
        {
            println!(
                "transitional {} {} on {} ({}): {}",
                f.kind.object, f.name, f.table, f.kind.what, f.kind.removal
            );
        }
        let Some(declared) = declared else {
            println!(
                "{} not found: not compared with a declaration",
                args.dir.display()
            );
            return Ok(ExitCode::SUCCESS);
        };
        let scratch =
            LazyScratch::from_args(args.scratch.dev_url.clone(), args.scratch.pg_bin.clone());
        let planned = crate::plan::planner::make_plan(
            &catalog,
            &declared,
            &scratch,
            &crate::plan::planner::PlanOptions {
                allow_destructive: true,
                allow_blocking: true,
                ..Default::default()
            },
        )
        .await?;
        let n = planned.plan.steps().len();
        if n == 0 {
            println!("the database matches {}", args.dir.display());
        } else {
            println!(
                "the database does not match {}: {n} step(s) pending (`formwork plan` shows them)",
                args.dir.display()
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
