//! The plan file (`plan.bin`) and its approval sidecar (`plan.bin.approval`): the only code
//! that turns plans and approvals into bytes and back.
//!
//! Both files share one envelope (docs/plan-file.md has the byte layout):
//!
//! ```text
//! magic (14 bytes) | format version (u16 LE) | body length N (u32 LE) | body (N bytes) | blake3 (32 bytes)
//! ```
//!
//! The body is the postcard encoding of the contents; the trailer is the blake3 hash of every
//! byte before it. For a plan file that hash is the plan id. Reading is strict, because a
//! plan file that is not exactly what formwork wrote must never run: wrong magic, an unknown
//! version, a length that disagrees with the file, a hash that does not match, a body with
//! bytes left after decoding, a body that is not the canonical encoding of what it decodes to
//! (so one plan has exactly one valid file and one id), and a plan the builder would refuse
//! are all errors. No input panics.
//!
//! It knows nothing about databases: whether a plan fits a target is `apply`'s question.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::approval::Approval;
use super::{Plan, PlanContents, PlanError, PlanId};

/// Version of the envelope and body encoding this formwork writes and the only one it reads.
pub const FORMAT_VERSION: u16 = 4;

/// First bytes of every plan file.
pub const PLAN_MAGIC: &[u8; 14] = b"FORMWORK-PLAN\0";
/// First bytes of every approval file.
pub const APPROVAL_MAGIC: &[u8; 14] = b"FORMWORK-APPR\0";

/// Bytes before the body: magic, version, body length.
pub const HEADER_LEN: usize = 14 + 2 + 4;
/// Bytes after the body: the blake3 hash.
pub const TRAILER_LEN: usize = 32;

/// Plan files larger than this are refused before they are read into memory. A plan is SQL
/// text and a few hashes per step; 64 MiB is thousands of times a large one.
pub const MAX_FILE_LEN: u64 = 64 * 1024 * 1024;

/// Which of the two files a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Plan,
    Approval,
}

impl FileKind {
    fn magic(self) -> &'static [u8; 14] {
        match self {
            FileKind::Plan => PLAN_MAGIC,
            FileKind::Approval => APPROVAL_MAGIC,
        }
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Plan => "plan file",
            FileKind::Approval => "approval file",
        })
    }
}

/// Why a plan or approval file was refused (or could not be written).
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("could not read or write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the {kind} is larger than the {MAX_FILE_LEN} bytes formwork accepts; refusing it")]
    TooLarge { kind: FileKind },
    #[error("this is not a formwork {kind} (it does not start with the {kind} signature)")]
    WrongMagic { kind: FileKind },
    #[error(
        "the {kind} was made by a newer formwork (format version {found}; this formwork reads version {supported}); refusing it"
    )]
    NewerVersion {
        kind: FileKind,
        found: u16,
        supported: u16,
    },
    #[error(
        "the {kind} has format version {found}, which no formwork release writes (this formwork reads version {supported}); refusing it"
    )]
    UnknownVersion {
        kind: FileKind,
        found: u16,
        supported: u16,
    },
    #[error(
        "the {kind} is truncated or damaged: it is {len} bytes, its header says {expected}; refusing it"
    )]
    Truncated {
        kind: FileKind,
        len: usize,
        expected: usize,
    },
    #[error(
        "the {kind} has {extra} unexpected bytes after its end (it is {len} bytes, its header says {expected}); refusing it"
    )]
    TrailingBytes {
        kind: FileKind,
        extra: usize,
        len: usize,
        expected: usize,
    },
    #[error("the {kind} was altered or damaged (its content does not match its hash); refusing it")]
    HashMismatch { kind: FileKind },
    #[error("the {kind}'s content could not be decoded ({reason}); refusing it")]
    Decode { kind: FileKind, reason: String },
    #[error("the {kind}'s content has {extra} bytes left over after decoding; refusing it")]
    BodyLeftover { kind: FileKind, extra: usize },
    #[error(
        "the {kind} is not in the canonical encoding formwork writes (the same content can be written only one way); refusing it"
    )]
    NotCanonical { kind: FileKind },
    #[error("the plan file describes a plan formwork would never make: {0}; refusing it")]
    InvalidPlan(PlanError),
    #[error("the {kind} could not be encoded: {reason}")]
    Encode { kind: FileKind, reason: String },
}

/// Encode a plan's contents and compute its id; how [`super::PlanBuilder::build`] seals.
pub(super) fn seal(contents: &PlanContents) -> Result<(Vec<u8>, PlanId), PlanError> {
    let body = postcard::to_stdvec(contents).map_err(|e| PlanError::Encode(e.to_string()))?;
    let bytes = envelope(FileKind::Plan, &body).map_err(|e| PlanError::Encode(e.to_string()))?;
    let id = PlanId(trailer(&bytes));
    Ok((bytes, id))
}

/// The plan file's bytes, exactly as sealed.
pub fn to_bytes(plan: &Plan) -> &[u8] {
    &plan.sealed
}

/// Read a plan from its file's bytes, refusing anything formwork did not write.
pub fn from_bytes(bytes: &[u8]) -> Result<Plan, PlanFileError> {
    let kind = FileKind::Plan;
    let body = open_envelope(kind, bytes)?;
    let contents: PlanContents = decode_canonical(kind, body)?;
    contents.check().map_err(PlanFileError::InvalidPlan)?;
    Ok(Plan {
        id: PlanId(trailer(bytes)),
        contents,
        sealed: bytes.to_vec(),
    })
}

/// Write a plan file. The bytes go to a temporary file beside it first and are renamed into
/// place, so a crash never leaves half a plan under the real name.
pub fn write(plan: &Plan, path: &Path) -> Result<(), PlanFileError> {
    write_atomically(path, to_bytes(plan))
}

/// Read and check a plan file.
pub fn read(path: &Path) -> Result<Plan, PlanFileError> {
    from_bytes(&read_limited(FileKind::Plan, path)?)
}

/// Where the approval of the plan at `plan_path` is kept: the same name with `.approval`
/// appended (`plan.bin` → `plan.bin.approval`). Approvals live beside the plan, never inside
/// it, so approving a plan cannot change its bytes or its id.
pub fn approval_path(plan_path: &Path) -> PathBuf {
    let mut name = plan_path.as_os_str().to_os_string();
    name.push(".approval");
    PathBuf::from(name)
}

/// An approval file's bytes.
pub fn approval_to_bytes(approval: &Approval) -> Result<Vec<u8>, PlanFileError> {
    let kind = FileKind::Approval;
    let body = postcard::to_stdvec(approval).map_err(|e| PlanFileError::Encode {
        kind,
        reason: e.to_string(),
    })?;
    envelope(kind, &body)
}

/// Read an approval from its file's bytes. This checks the file, not the approval: call
/// [`Approval::verify`] with the key and the plan.
pub fn approval_from_bytes(bytes: &[u8]) -> Result<Approval, PlanFileError> {
    let kind = FileKind::Approval;
    decode_canonical(kind, open_envelope(kind, bytes)?)
}

pub fn write_approval(approval: &Approval, path: &Path) -> Result<(), PlanFileError> {
    write_atomically(path, &approval_to_bytes(approval)?)
}

pub fn read_approval(path: &Path) -> Result<Approval, PlanFileError> {
    approval_from_bytes(&read_limited(FileKind::Approval, path)?)
}

fn envelope(kind: FileKind, body: &[u8]) -> Result<Vec<u8>, PlanFileError> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&n| u64::from(n) + (HEADER_LEN + TRAILER_LEN) as u64 <= MAX_FILE_LEN)
        .ok_or(PlanFileError::TooLarge { kind })?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len() + TRAILER_LEN);
    bytes.extend_from_slice(kind.magic());
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(body);
    let hash = blake3::hash(&bytes);
    bytes.extend_from_slice(hash.as_bytes());
    Ok(bytes)
}

/// The last 32 bytes of a file whose envelope has been checked.
fn trailer(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Some(tail) = bytes
        .len()
        .checked_sub(TRAILER_LEN)
        .and_then(|s| bytes.get(s..))
    {
        out.copy_from_slice(tail);
    }
    out
}

/// Check magic, version, length and hash, in that order, and return the body. Magic and
/// version come first because they are the part of the layout every version keeps: a newer
/// file is named as such even if the rest of its layout changed.
fn open_envelope(kind: FileKind, bytes: &[u8]) -> Result<&[u8], PlanFileError> {
    let magic = kind.magic();
    let prefix = &bytes[..bytes.len().min(magic.len())];
    if prefix != &magic[..prefix.len()] {
        return Err(PlanFileError::WrongMagic { kind });
    }
    let (Some(version), Some(body_len)) = (bytes.get(14..16), bytes.get(16..20)) else {
        return Err(PlanFileError::Truncated {
            kind,
            len: bytes.len(),
            expected: HEADER_LEN + TRAILER_LEN,
        });
    };
    let version = u16::from_le_bytes([version[0], version[1]]);
    if version > FORMAT_VERSION {
        return Err(PlanFileError::NewerVersion {
            kind,
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version != FORMAT_VERSION {
        return Err(PlanFileError::UnknownVersion {
            kind,
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let body_len = u32::from_le_bytes([body_len[0], body_len[1], body_len[2], body_len[3]]);
    // usize is at least 32 bits on every target formwork builds for; saturate anyway.
    let expected = usize::try_from(body_len)
        .unwrap_or(usize::MAX)
        .saturating_add(HEADER_LEN + TRAILER_LEN);
    if bytes.len() < expected {
        return Err(PlanFileError::Truncated {
            kind,
            len: bytes.len(),
            expected,
        });
    }
    if bytes.len() > expected {
        return Err(PlanFileError::TrailingBytes {
            kind,
            extra: bytes.len() - expected,
            len: bytes.len(),
            expected,
        });
    }
    let hashed = &bytes[..expected - TRAILER_LEN];
    if blake3::hash(hashed) != blake3::Hash::from(trailer(bytes)) {
        return Err(PlanFileError::HashMismatch { kind });
    }
    Ok(&hashed[HEADER_LEN..])
}

/// Decode a body, refusing leftovers (postcard stops where the value ends and would ignore
/// them) and encodings other than the one formwork writes.
fn decode_canonical<T>(kind: FileKind, body: &[u8]) -> Result<T, PlanFileError>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let (value, rest): (T, &[u8]) =
        postcard::take_from_bytes(body).map_err(|e| PlanFileError::Decode {
            kind,
            reason: e.to_string(),
        })?;
    if !rest.is_empty() {
        return Err(PlanFileError::BodyLeftover {
            kind,
            extra: rest.len(),
        });
    }
    match postcard::to_stdvec(&value) {
        Ok(again) if again == body => Ok(value),
        _ => Err(PlanFileError::NotCanonical { kind }),
    }
}

fn read_limited(kind: FileKind, path: &Path) -> Result<Vec<u8>, PlanFileError> {
    let io = |source| PlanFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    // Read one byte past the limit to tell "at the limit" from "over it" without trusting
    // metadata (a pipe or a growing file has none worth trusting).
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(PlanFileError::TooLarge { kind });
    }
    Ok(bytes)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PlanFileError> {
    let io = |source| PlanFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp_name = path.as_os_str().to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fingerprint::Fingerprint;
    use crate::plan::{PlanBuilder, TargetIdentity};

    fn empty_plan() -> Plan {
        let fp = Fingerprint([7; 32]);
        let target = TargetIdentity {
            system_identifier: "1".into(),
            database: "d".into(),
        };
        PlanBuilder::new(target, 15, fp, fp).build().unwrap()
    }

    #[test]
    fn the_plan_id_is_the_hash_of_everything_before_it() {
        let plan = empty_plan();
        let bytes = to_bytes(&plan);
        let (hashed, tail) = bytes.split_at(bytes.len() - 32);
        assert_eq!(blake3::hash(hashed).as_bytes(), tail);
        assert_eq!(&plan.id().0, tail);
        assert_eq!(&bytes[..14], PLAN_MAGIC);
        assert_eq!(&bytes[14..16], &FORMAT_VERSION.to_le_bytes());
        let body_len = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        assert_eq!(body_len as usize, bytes.len() - HEADER_LEN - TRAILER_LEN);
    }

    /// A file whose hash is right but whose body was made some other way: only a deliberate
    /// forgery gets this far, and it must still be refused.
    fn reseal(body: &[u8]) -> Vec<u8> {
        envelope(FileKind::Plan, body).unwrap()
    }

    #[test]
    fn a_correctly_hashed_body_with_leftover_bytes_is_refused() {
        let plan = empty_plan();
        let mut body = to_bytes(&plan)[HEADER_LEN..to_bytes(&plan).len() - 32].to_vec();
        body.push(0);
        assert!(matches!(
            from_bytes(&reseal(&body)),
            Err(PlanFileError::BodyLeftover { extra: 1, .. })
        ));
    }

    #[test]
    fn a_correctly_hashed_non_canonical_encoding_is_refused() {
        let plan = empty_plan();
        let body = &to_bytes(&plan)[HEADER_LEN..to_bytes(&plan).len() - 32];
        // The body ends with the step count, a varint 0; write it as the overlong 0x80 0x00.
        assert_eq!(body.last(), Some(&0));
        let mut overlong = body[..body.len() - 1].to_vec();
        overlong.extend_from_slice(&[0x80, 0x00]);
        // postcard decodes the overlong form, so only the re-encoding check catches it.
        let err = from_bytes(&reseal(&overlong)).unwrap_err();
        assert!(matches!(err, PlanFileError::NotCanonical { .. }), "{err}");
    }

    #[test]
    fn a_correctly_hashed_plan_the_builder_would_refuse_is_refused() {
        let plan = empty_plan();
        let mut contents = plan.contents.clone();
        contents.desired_fingerprint = Fingerprint([8; 32]);
        let body = postcard::to_stdvec(&contents).unwrap();
        assert!(matches!(
            from_bytes(&reseal(&body)),
            Err(PlanFileError::InvalidPlan(PlanError::EndsElsewhere { .. }))
        ));
    }

    #[test]
    fn approval_sidecar_sits_beside_the_plan() {
        assert_eq!(
            approval_path(Path::new("out/plan.bin")),
            PathBuf::from("out/plan.bin.approval")
        );
    }
}
