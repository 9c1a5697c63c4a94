//! `formwork validate`: load the declaration and report every problem, without a database.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::kdl::load::load_dir;

/// Check the schema declaration: syntax, names, types and references, all files at once.
///
/// Every problem is reported with the file and the place in it. No database is needed.
///
/// Example:
///   formwork validate --dir schemas
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Directory holding the `*.kdl` files (searched recursively).
    #[arg(long, default_value = "schemas")]
    pub dir: PathBuf,
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    let model = load_dir(&args.dir)?;
    let tables: usize = model.schemas.values().map(|s| s.tables.len()).sum();
    println!(
        "{}: {} schema{}, {} table{}, no problems",
        args.dir.display(),
        model.schemas.len(),
        if model.schemas.len() == 1 { "" } else { "s" },
        tables,
        if tables == 1 { "" } else { "s" },
    );
    Ok(ExitCode::SUCCESS)
}
