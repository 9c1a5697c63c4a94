//! `formwork fmt`: rewrite the declaration files in canonical layout, comments kept.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::kdl::format::format_source;
use crate::kdl::load::read_dir_sources;

/// Rewrite `*.kdl` files in canonical layout: four-space indent, one node per line,
/// properties in a fixed order, strings quoted. Comments are kept; running it twice changes
/// nothing the second time.
///
/// With --check nothing is written: the files that would change are listed and the exit code
/// is 1 if there are any (for CI).
///
/// Examples:
///   formwork fmt
///   formwork fmt --dir schemas --check
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Directory holding the `*.kdl` files (searched recursively).
    #[arg(long, default_value = "schemas")]
    pub dir: PathBuf,
    /// Do not write; list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    let sources = read_dir_sources(&args.dir)?;
    let mut problems = Vec::new();
    let mut changed = Vec::new();
    for src in &sources {
        match format_source(&src.name, &src.text) {
            Ok(out) if out != src.text => changed.push((src.name.clone(), out)),
            Ok(_) => {}
            Err(e) => problems.extend(e.problems),
        }
    }
    if !problems.is_empty() {
        return Err(crate::kdl::LoadError { problems }.into());
    }
    if args.check {
        for (name, _) in &changed {
            println!("would reformat {name}");
        }
        return Ok(if changed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    for (name, out) in &changed {
        std::fs::write(name, out).map_err(|e| miette::miette!("cannot write {name}: {e}"))?;
        println!("formatted {name}");
    }
    Ok(ExitCode::SUCCESS)
}
