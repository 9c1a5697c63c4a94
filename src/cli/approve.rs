//! `formwork approve`: sign an approval of a plan file with a secret key.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::apply::approval::{KeySource, load_key};
use crate::plan::HazardKind;
use crate::plan::approval::Approval;

/// Approve a plan: write a signed approval beside it (`FILE.approval`).
///
/// The approval is a blake3 keyed hash over the plan id, the approver's name and the hazard
/// kinds accepted; `formwork apply --key-file/--key-env` verifies it with the same secret. The
/// plan file itself is not changed, so its id stays the same. Every hazard kind in the plan
/// must be accepted (--accept or --accept-all); otherwise nothing is written and the missing
/// kinds are named. The secret must be at least 16 bytes and is never printed.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  formwork show plans/plan.bin                        # review it first
  formwork approve plans/plan.bin --key-env APPROVAL_KEY --approver alice \\
      --accept scans-table,not-transactional
  formwork approve plans/plan.bin --key-file /run/secrets/approval --accept-all")]
pub struct Args {
    /// The plan file to approve.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Read the secret from this file (a trailing newline is ignored).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "key_env",
        conflicts_with = "key_env"
    )]
    key_file: Option<PathBuf>,
    /// Read the secret from this environment variable.
    #[arg(long, value_name = "VAR")]
    key_env: Option<String>,
    /// Who approves (default: the USER environment variable).
    #[arg(long, value_name = "NAME")]
    approver: Option<String>,
    /// Hazard kinds accepted, comma-separated (deletes-data, rewrites-table, scans-table,
    /// access-exclusive, blocks-writes, long-running, not-transactional, breaks-compatibility).
    #[arg(
        long,
        value_name = "HAZARD,...",
        value_delimiter = ',',
        conflicts_with = "accept_all"
    )]
    accept: Vec<HazardKind>,
    /// Accept every hazard kind the plan has.
    #[arg(long)]
    accept_all: bool,
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    let plan = crate::plan::file::read(&args.file).map_err(|e| miette::miette!("{e}"))?;
    let source = match (&args.key_file, &args.key_env) {
        (Some(path), _) => KeySource::File(path.clone()),
        (None, Some(var)) => KeySource::Env(var.clone()),
        (None, None) => return Err(miette::miette!("give --key-file or --key-env")),
    };
    let key = load_key(&source).map_err(|e| miette::miette!("{e}"))?;
    let approver = match args.approver.clone().or_else(|| std::env::var("USER").ok()) {
        Some(name) => name,
        None => return Err(miette::miette!("say who approves with --approver NAME")),
    };
    let accepted: Vec<HazardKind> = if args.accept_all {
        plan.hazard_kinds()
    } else {
        args.accept.clone()
    };
    let missing: Vec<&str> = plan
        .hazard_kinds()
        .into_iter()
        .filter(|k| !accepted.contains(k))
        .map(|k| k.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(miette::miette!(
            help = "review the steps that carry them (`formwork show`), then add them to --accept, or use --accept-all",
            "plan {} has hazards this approval does not accept: {}; nothing was written",
            plan.id().short(),
            missing.join(", ")
        ));
    }
    let approval =
        Approval::sign(&key, &plan, &approver, accepted).map_err(|e| miette::miette!("{e}"))?;
    let out = crate::plan::file::approval_path(&args.file);
    crate::plan::file::write_approval(&approval, &out).map_err(|e| miette::miette!("{e}"))?;
    let kinds: Vec<&str> = approval
        .hazards_accepted()
        .iter()
        .map(|k| k.as_str())
        .collect();
    eprintln!(
        "approved plan {} as {approver}, accepting {}; wrote {}",
        plan.id(),
        if kinds.is_empty() {
            "no hazards (it has none)".to_string()
        } else {
            kinds.join(", ")
        },
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
