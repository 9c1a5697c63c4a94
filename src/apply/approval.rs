//! Whether a plan may run: the approval check `apply` makes before it connects to anything.
//!
//! Three ways to approve, one of which must be chosen: the plan id the operator reviewed
//! (`--approve` with the full plan id the renderings show), a signed approval
//! beside the plan checked with the secret key (`--key-file`/`--key-env`), or, for development
//! databases only, `--auto-approve`. The keyed check itself is [`crate::plan::approval`]; this
//! module reads keys and sidecars and turns the choice into a yes or a clear no. Key material
//! never appears in a message: errors name the file or variable, never its content.

use std::path::{Path, PathBuf};

use crate::plan::approval::{ApprovalError, ApprovalKey};
use crate::plan::file::{self, PlanFileError};
use crate::plan::{Plan, SHORT_ID_LEN};

/// The number of hex digits of a full plan id.
const FULL_ID_LEN: usize = 64;

/// Where the approval key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    File(PathBuf),
    Env(String),
}

/// How the operator approves a plan.
#[derive(Debug, Clone)]
pub enum ApprovalChoice {
    /// The plan id as reviewed: all 64 hex digits. The 12-digit short form is for display:
    /// 48 bits do not stop someone from crafting another plan with the same short id.
    PlanId(String),
    /// A signed approval sidecar (`<plan>.approval`) verified with a key.
    Signed { sidecar: PathBuf, key: KeySource },
    /// No approval: development only, announced loudly by the caller.
    Auto,
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalRefused {
    #[error(
        "the plan is not approved. Approve it with --approve <plan id> (the id shown when it was planned), with a signed approval (`formwork approve` then --key-file/--key-env), or, on a development database only, --auto-approve"
    )]
    NoApproval,
    #[error(
        "--approve {given:?} is not a full plan id: give all 64 hex digits (the `id` line of every rendering); the {SHORT_ID_LEN}-digit short id only names a plan for display"
    )]
    MalformedId { given: String },
    #[error("--approve names plan {given}, but this file is plan {actual}; refusing it")]
    WrongId { given: String, actual: String },
    #[error("cannot read the approval key from {}: {reason}", .path.display())]
    KeyFile { path: PathBuf, reason: String },
    #[error("the environment variable {var} holding the approval key is not set or not UTF-8")]
    KeyEnv { var: String },
    #[error("the approval key: {0}")]
    WeakKey(ApprovalError),
    #[error("no approval beside the plan ({} not found); make one with `formwork approve`", .path.display())]
    NoSidecar { path: PathBuf },
    #[error("the approval file: {0}")]
    SidecarFile(PlanFileError),
    #[error("{0}")]
    Invalid(ApprovalError),
}

/// Read the secret and derive the approval key. A key file's trailing newline is not part of
/// the secret (files written with `echo` have one).
pub fn load_key(source: &KeySource) -> Result<ApprovalKey, ApprovalRefused> {
    let secret: Vec<u8> = match source {
        KeySource::File(path) => {
            let mut bytes = std::fs::read(path).map_err(|e| ApprovalRefused::KeyFile {
                path: path.clone(),
                reason: e.kind().to_string(),
            })?;
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                bytes.pop();
            }
            bytes
        }
        KeySource::Env(var) => std::env::var(var)
            .map_err(|_| ApprovalRefused::KeyEnv { var: var.clone() })?
            .into_bytes(),
    };
    ApprovalKey::from_secret(&secret).map_err(ApprovalRefused::WeakKey)
}

/// Whether `plan` may run under `choice`. Returns a description of the approval for the log.
pub fn check(plan: &Plan, choice: &ApprovalChoice) -> Result<String, ApprovalRefused> {
    match choice {
        ApprovalChoice::Auto => Ok("auto-approved (development only)".to_string()),
        ApprovalChoice::PlanId(given) => {
            let given = given.trim().to_ascii_lowercase();
            let full = plan.id().to_hex();
            let is_hex = given.chars().all(|c| c.is_ascii_hexdigit());
            if !is_hex || given.len() != FULL_ID_LEN {
                return Err(ApprovalRefused::MalformedId { given });
            }
            if full != given {
                return Err(ApprovalRefused::WrongId {
                    given,
                    actual: full,
                });
            }
            Ok(format!("approved by plan id {}", plan.id().short()))
        }
        ApprovalChoice::Signed { sidecar, key } => {
            let key = load_key(key)?;
            let approval = read_sidecar(sidecar)?;
            approval
                .verify(&key, plan)
                .map_err(ApprovalRefused::Invalid)?;
            Ok(format!("approved by {}", approval.approver()))
        }
    }
}

fn read_sidecar(path: &Path) -> Result<crate::plan::approval::Approval, ApprovalRefused> {
    match file::read_approval(path) {
        Err(PlanFileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(ApprovalRefused::NoSidecar {
                path: path.to_path_buf(),
            })
        }
        other => other.map_err(ApprovalRefused::SidecarFile),
    }
}
