//! `formwork dump`: a live database's schema as KDL files, a catalog snapshot, or both.

use std::path::PathBuf;
use std::process::ExitCode;

use miette::IntoDiagnostic;

use crate::catalog::snapshot;
use crate::ops::dump::{self, Dump};
use crate::pg::connect::ConnInfo;

/// Write a live database's schema as KDL files, or as a snapshot to plan against offline.
///
/// Reads the catalog (read-only) and writes one KDL file per schema in the canonical `fmt`
/// layout. The output is deterministic: dumping an unchanged database again gives identical
/// bytes, and files whose content did not change are not rewritten. Objects formwork does not
/// manage yet (functions, triggers, policies, ...) are listed on standard error, never dropped
/// in silence.
///
/// With `--snapshot FILE` the catalog is written as a snapshot instead: a JSON file that
/// `formwork plan --from-snapshot FILE` plans against without a connection to the database.
/// The snapshot records the catalog's fingerprint (printed on standard error); a plan made
/// from it is only applied to a database whose live fingerprint is still that one. Add
/// `--out DIR` to write the KDL files from the same read as well.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  formwork dump --db postgres://app@localhost:5432/app
  formwork dump --db 'host=/run/postgresql dbname=app' --out schemas
  formwork dump --out - | less          # DATABASE_URL, to standard output

  # Someone with production access takes a snapshot ...
  formwork dump --db postgres://ro@prod/app --snapshot prod.snapshot.json
  # ... and anyone plans against it, without credentials:
  formwork plan --from-snapshot prod.snapshot.json

  # A snapshot and the KDL files from one read of the catalog:
  formwork dump --db postgres://ro@prod/app --snapshot prod.snapshot.json --out schemas")]
pub struct Args {
    /// Database to read: a libpq URL (`postgres://user@host/db`) or keyword string
    /// (`host=... dbname=...`). Missing parts come from the PG* environment variables.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    db: String,
    /// Directory to write the KDL files into (created if missing), or `-` for standard output.
    /// Defaults to `schemas`; with `--snapshot`, KDL files are only written when this is given.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write the catalog as a snapshot file (JSON) for `plan --from-snapshot`, or `-` for
    /// standard output. An existing file is replaced; a missing directory is created.
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    let is_stdout = |p: &PathBuf| p.as_os_str() == "-";
    if args.snapshot.as_ref().is_some_and(is_stdout) && args.out.as_ref().is_some_and(is_stdout) {
        eprintln!(
            "error: --snapshot - and --out - cannot share standard output; write one to a file"
        );
        return Ok(ExitCode::from(2));
    }
    let conn = ConnInfo::parse(&args.db).map_err(|e| miette::miette!("{e}"))?;
    let catalog = super::runtime()?.block_on(dump::read_catalog(&conn))?;
    if let Some(path) = &args.snapshot {
        let (written_to, fingerprint) = if is_stdout(path) {
            let (text, fingerprint) = snapshot::encode(&catalog)?;
            write_stdout(&text)?;
            ("standard output".to_string(), fingerprint)
        } else {
            (path.display().to_string(), snapshot::write(path, &catalog)?)
        };
        eprintln!("wrote snapshot of {conn} to {written_to}: fingerprint {fingerprint}");
    }
    let out = match (args.out, &args.snapshot) {
        (Some(out), _) => Some(out),
        (None, None) => Some(PathBuf::from("schemas")),
        (None, Some(_)) => None,
    };
    let dumped = Dump::from_model(catalog.model, catalog.unmanaged);
    if let Some(out) = out {
        if is_stdout(&out) {
            write_stdout(&dumped.concatenated())?;
        } else {
            let written = dump::write_dir(&out, &dumped.files)?;
            eprintln!(
                "dumped {conn} into {}: {} files, {} changed",
                out.display(),
                dumped.files.len(),
                written.changed.len()
            );
            super::import::warn_stale(&written.stale);
        }
    }
    if let Some(report) = crate::ops::unmanaged_report(&dumped.unmanaged) {
        eprint!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

fn write_stdout(text: &str) -> miette::Result<()> {
    use std::io::Write;
    std::io::stdout()
        .write_all(text.as_bytes())
        .into_diagnostic()
}
