//! `formwork dump`: a live database's schema as KDL files.

use std::path::PathBuf;
use std::process::ExitCode;

use miette::IntoDiagnostic;

use crate::ops::dump::{self, Dump};
use crate::pg::connect::ConnInfo;

/// Write a live database's schema as KDL files.
///
/// Reads the catalog (read-only) and writes one KDL file per schema in the canonical `fmt`
/// layout. The output is deterministic: dumping an unchanged database again gives identical
/// bytes, and files whose content did not change are not rewritten. Objects formwork does not
/// manage yet (functions, triggers, policies, ...) are listed on standard error, never dropped
/// in silence.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  formwork dump --db postgres://app@localhost:5432/app
  formwork dump --db 'host=/run/postgresql dbname=app' --out schemas
  formwork dump --out - | less          # DATABASE_URL, to standard output")]
pub struct Args {
    /// Database to read: a libpq URL (`postgres://user@host/db`) or keyword string
    /// (`host=... dbname=...`). Missing parts come from the PG* environment variables.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    db: String,
    /// Directory to write the KDL files into (created if missing), or `-` for standard output.
    #[arg(long, default_value = "schemas", value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    let conn = ConnInfo::parse(&args.db).map_err(|e| miette::miette!("{e}"))?;
    let dumped: Dump = super::runtime()?.block_on(dump::dump(&conn))?;
    if args.out.as_os_str() == "-" {
        use std::io::Write;
        std::io::stdout()
            .write_all(dumped.concatenated().as_bytes())
            .into_diagnostic()?;
    } else {
        let written = dump::write_dir(&args.out, &dumped.files)?;
        eprintln!(
            "dumped {conn} into {}: {} files, {} changed",
            args.out.display(),
            dumped.files.len(),
            written.changed.len()
        );
        super::import::warn_stale(&written.stale);
    }
    if let Some(report) = crate::ops::unmanaged_report(&dumped.unmanaged) {
        eprint!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
