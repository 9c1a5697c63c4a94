//! `formwork show`: render a plan file for people or programs, after checking it is exactly
//! the file formwork wrote.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::plan::file::PlanFileError;
use crate::render::{self, Format};

/// Show a plan file: every step, the lock it takes on which table, how long the lock is held,
/// its hazards and its SQL.
///
/// The file is checked first (format version, hash, nothing appended or cut off); a plan file
/// that was altered in any way is refused, with exit status 1. `--format markdown` is meant
/// for a pull-request comment, `--format json` for programs (docs/plan-json.md).
///
/// Examples:
///   formwork show plans/plan.bin
///   formwork show plans/plan.bin --format markdown > plan-comment.md
///   formwork show plans/plan.bin --format json | jq '.summary.by_hazard'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The plan file written by `formwork plan --out`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// How to render the plan. `text` is coloured on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    let plan = crate::plan::file::read(&args.file).map_err(|e| match e {
        // The I/O error names the file already.
        PlanFileError::Io { .. } => miette::miette!("{e}"),
        _ => miette::miette!("{}: {e}", args.file.display()),
    })?;
    let stdout = std::io::stdout();
    let color = args.format == Format::Text && render::color_for(&stdout);
    let text = render::render(&plan, args.format, color);
    let mut out = stdout.lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A reader that stopped early (`| head`) has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(miette::miette!(
            "cannot write the plan to standard output: {e}"
        )),
    }
}
