//! Approvals: a keyed signature saying "this person accepts this plan and these hazards".
//!
//! `apply` runs only an approved plan. One way is the operator typing the plan id they
//! reviewed; the other is an [`Approval`] made with a secret key (typically by CI or a
//! reviewer's `formwork approve`) and checked by `apply` with the same key. The MAC is a blake3
//! keyed hash over the plan id, the approver and the hazard kinds accepted, so none of them can
//! be changed without the key, and an approval cannot be moved to another plan.
//!
//! Approvals are kept beside the plan (`plan.bin.approval`, see [`super::file`]), never in it,
//! so approving a plan leaves its bytes and its id unchanged. This module signs and verifies;
//! it does not read files or decide where keys come from.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{HazardKind, Plan, PlanId};

/// The blake3 `derive_key` context: fixed forever for this MAC construction, so a key derived
/// from the same secret for any other purpose is a different key.
const KEY_CONTEXT: &str = "formwork 2026-11-26 plan approval v1";

/// Domain separation at the start of every MAC input.
const MAC_DOMAIN: &[u8] = b"formwork-approval-v1\0";

/// Secrets shorter than this are refused: an approval key is only as strong as its secret.
pub const MIN_SECRET_LEN: usize = 16;

/// Longest approver name accepted, in bytes.
pub const MAX_APPROVER_LEN: usize = 256;

/// The key approvals are signed and verified with, derived from a secret.
#[derive(Clone)]
pub struct ApprovalKey([u8; 32]);

impl ApprovalKey {
    /// Derive the approval key from a secret (at least [`MIN_SECRET_LEN`] bytes).
    pub fn from_secret(secret: &[u8]) -> Result<ApprovalKey, ApprovalError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(ApprovalError::WeakSecret { len: secret.len() });
        }
        Ok(ApprovalKey(blake3::derive_key(KEY_CONTEXT, secret)))
    }
}

impl fmt::Debug for ApprovalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApprovalKey(..)")
    }
}

/// A signed approval of one plan. Its fields are read-only: only [`Approval::sign`] makes one
/// (besides reading an approval file), and [`Approval::verify`] is what makes it mean anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    plan_id: PlanId,
    approver: String,
    /// Sorted, without repeats.
    hazards_accepted: Vec<HazardKind>,
    mac: [u8; 32],
}

/// Why an approval could not be made or does not approve a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error(
        "the approval secret is {len} bytes; it must be at least {MIN_SECRET_LEN} (use a long random string)"
    )]
    WeakSecret { len: usize },
    #[error(
        "the approver must be 1 to {MAX_APPROVER_LEN} bytes of text without control characters"
    )]
    BadApprover,
    #[error("this approval is for plan {approved}, not for plan {plan}; refusing the plan")]
    ForOtherPlan { approved: PlanId, plan: PlanId },
    #[error(
        "the approval does not verify with this key: it was made with another key or altered; refusing the plan"
    )]
    BadMac,
    #[error("the approval does not accept these hazards of the plan: {}; refusing the plan", list(.missing))]
    HazardsNotAccepted { missing: Vec<HazardKind> },
}

fn list(kinds: &[HazardKind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Approval {
    /// Approve `plan` as `approver`, accepting the given hazard kinds (order and repeats do not
    /// matter). Accepting fewer kinds than the plan has is allowed here and refused by
    /// [`Approval::verify`].
    pub fn sign(
        key: &ApprovalKey,
        plan: &Plan,
        approver: &str,
        hazards_accepted: impl IntoIterator<Item = HazardKind>,
    ) -> Result<Approval, ApprovalError> {
        if approver.is_empty()
            || approver.len() > MAX_APPROVER_LEN
            || approver.chars().any(char::is_control)
        {
            return Err(ApprovalError::BadApprover);
        }
        let mut hazards: Vec<HazardKind> = hazards_accepted.into_iter().collect();
        hazards.sort();
        hazards.dedup();
        let mac = mac(key, &plan.id(), approver, &hazards);
        Ok(Approval {
            plan_id: plan.id(),
            approver: approver.to_string(),
            hazards_accepted: hazards,
            mac: *mac.as_bytes(),
        })
    }

    /// Check that this approval, under `key`, approves `plan`: same plan id, a MAC that only
    /// the key could have made, and every hazard kind of the plan accepted.
    pub fn verify(&self, key: &ApprovalKey, plan: &Plan) -> Result<(), ApprovalError> {
        if self.plan_id != plan.id() {
            return Err(ApprovalError::ForOtherPlan {
                approved: self.plan_id,
                plan: plan.id(),
            });
        }
        let expected = mac(key, &self.plan_id, &self.approver, &self.hazards_accepted);
        // blake3::Hash equality is constant-time.
        if expected != blake3::Hash::from(self.mac) {
            return Err(ApprovalError::BadMac);
        }
        let missing: Vec<HazardKind> = plan
            .hazard_kinds()
            .into_iter()
            .filter(|k| !self.hazards_accepted.contains(k))
            .collect();
        if !missing.is_empty() {
            return Err(ApprovalError::HazardsNotAccepted { missing });
        }
        Ok(())
    }

    pub fn plan_id(&self) -> PlanId {
        self.plan_id
    }
    pub fn approver(&self) -> &str {
        &self.approver
    }
    pub fn hazards_accepted(&self) -> &[HazardKind] {
        &self.hazards_accepted
    }
}

/// The MAC input is self-delimiting (docs/plan-file.md): the domain string, the 32-byte plan
/// id, then the approver and each hazard kind's name as u32 little-endian length + UTF-8, the
/// names preceded by their count. Names rather than enum positions, so the MAC does not depend
/// on the plan file's encoding of hazard kinds.
fn mac(
    key: &ApprovalKey,
    plan_id: &PlanId,
    approver: &str,
    hazards: &[HazardKind],
) -> blake3::Hash {
    let mut h = blake3::Hasher::new_keyed(&key.0);
    h.update(MAC_DOMAIN);
    h.update(&plan_id.0);
    put_str(&mut h, approver);
    h.update(&(hazards.len() as u32).to_le_bytes());
    for kind in hazards {
        put_str(&mut h, kind.as_str());
    }
    h.finalize()
}

fn put_str(h: &mut blake3::Hasher, s: &str) {
    // Approvers are capped at MAX_APPROVER_LEN when signing and approval files at 64 MiB, so
    // the length always fits; saturating keeps a forged oversized one from wrapping.
    h.update(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_le_bytes());
    h.update(s.as_bytes());
}
