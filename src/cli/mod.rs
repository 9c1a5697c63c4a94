//! The command line: one small file per subcommand that parses its arguments, calls the library
//! and reports. No schema, SQL or catalog logic lives here.
//!
//! Exit codes are part of the interface scripts rely on: 0 success (and "no findings"),
//! 1 a failure or an error-level finding, 2 bad usage (clap's own convention).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod apply;
mod approve;
mod dump;
mod explain;
mod fmt;
mod import;
mod lint;
mod plan;
mod show;
mod status;
mod validate;

/// Keep PostgreSQL schemas declared in KDL and change live databases without downtime.
#[derive(Debug, Parser)]
#[command(name = "formwork", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Plan(plan::Args),
    Validate(validate::Args),
    Fmt(fmt::Args),
    Dump(dump::Args),
    Import(import::Args),
    Lint(lint::Args),
    Explain(explain::Args),
    Show(show::Args),
    Approve(approve::Args),
    Apply(apply::Args),
    Status(status::Args),
}

/// Parse the command line, run the command, render any error with miette, and map the outcome
/// to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan(args) => plan::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Dump(args) => dump::run(args),
        Command::Import(args) => import::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Show(args) => show::run(args),
        Command::Approve(args) => approve::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Status(args) => status::run(args),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(1)
        }
    }
}

/// Where scratch databases are made, for commands that need one.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ScratchArgs {
    /// A server to create scratch databases on, instead of a local throwaway cluster. formwork
    /// only creates and drops its own uniquely named databases there.
    #[arg(
        long,
        env = "FORMWORK_DEV_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub dev_url: Option<String>,
    /// Directory with the PostgreSQL server binaries for throwaway clusters (default: PG_BIN,
    /// `pg_config --bindir`, or the newest /usr/lib/postgresql/*/bin).
    #[arg(long, value_name = "DIR")]
    pub pg_bin: Option<std::path::PathBuf>,
}

/// A tokio runtime for commands that talk to PostgreSQL. Built per command, not at start-up,
/// so `fmt`, `validate` and `lint` without `--db` never pay for it.
pub(crate) fn runtime() -> miette::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| miette::miette!("cannot start the async runtime: {e}"))
}
