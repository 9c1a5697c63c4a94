//! `formwork dump` (under construction).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> miette::Result<ExitCode> {
    miette::bail!("`formwork dump` is not built yet")
}
