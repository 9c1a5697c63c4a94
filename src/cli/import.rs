//! `formwork import`: SQL DDL (such as `pg_dump --schema-only` output) as KDL files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use miette::IntoDiagnostic;

use crate::ops::dump;
use crate::ops::import::{self, SqlSource};
use crate::pg::scratch::Scratch;

/// Turn a file of SQL DDL into KDL files.
///
/// The file runs statement by statement in a throwaway database (on `--dev-url`, or on a local
/// cluster formwork starts from the PostgreSQL binaries), which is then read back and written
/// exactly as `formwork dump` would write it. Accepts `pg_dump --schema-only` output (psql
/// meta-commands such as `\restrict` are skipped) and Alembic's offline `--sql` output (its
/// `alembic_version` table is left out). Ownership, privileges and role statements are skipped
/// and counted. The first failing statement stops the import and is shown with its file, line
/// and the server's message.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  pg_dump --schema-only app > schema.sql && formwork import schema.sql
  alembic upgrade head --sql > upgrade.sql && formwork import upgrade.sql --out schemas
  formwork import schema.sql --dev-url postgres://postgres@localhost/postgres --out -")]
pub struct Args {
    /// The SQL file to import.
    #[arg(value_name = "FILE.sql")]
    file: PathBuf,
    /// Directory to write the KDL files into (created if missing), or `-` for standard output.
    #[arg(long, default_value = "schemas", value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    scratch: super::ScratchArgs,
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| miette::miette!("cannot read {}: {e}", args.file.display()))?;
    let source = SqlSource {
        name: args.file.display().to_string(),
        text,
    };
    let scratch = Scratch::from_args(
        args.scratch.dev_url.as_deref(),
        args.scratch.pg_bin.as_deref(),
    )
    .map_err(|e| miette::miette!("cannot get a scratch database: {e}"))?;
    let imported = super::runtime()?.block_on(import::import(&scratch, &source))?;
    drop(scratch);

    if args.out.as_os_str() == "-" {
        use std::io::Write;
        let text = dump::concatenate(&imported.files);
        std::io::stdout()
            .write_all(text.as_bytes())
            .into_diagnostic()?;
    } else {
        let written = dump::write_dir(&args.out, &imported.files)?;
        eprintln!(
            "imported {} ({} statements) into {}: {} files, {} changed",
            source.name,
            imported.executed,
            args.out.display(),
            imported.files.len(),
            written.changed.len()
        );
        warn_stale(&written.stale);
    }
    let mut skipped: BTreeMap<_, Vec<u64>> = BTreeMap::new();
    for s in &imported.skipped {
        skipped.entry(s.reason).or_default().push(s.line);
    }
    for (reason, lines) in skipped {
        let lines: Vec<String> = lines.iter().map(u64::to_string).collect();
        eprintln!(
            "skipped {} {} (line {})",
            lines.len(),
            reason.describe(),
            lines.join(", ")
        );
    }
    for t in &imported.excluded {
        eprintln!("left out {t}: Alembic's bookkeeping table, not part of the schema");
    }
    if let Some(report) = crate::ops::unmanaged_report(&imported.unmanaged) {
        eprint!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Name `.kdl` files in the output directory that this run did not write.
pub(super) fn warn_stale(stale: &[impl AsRef<Path>]) {
    if stale.is_empty() {
        return;
    }
    eprintln!(
        "warning: {} .kdl file(s) in the output directory were not written by this run and \
         would be loaded with it; remove them if they are left over:",
        stale.len()
    );
    for p in stale {
        eprintln!("  {}", p.as_ref().display());
    }
}
