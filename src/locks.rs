//! PostgreSQL's table-level lock modes: one type for the lock classifier, the lint rules and
//! the plan's steps, so a lock the linter names and a lock a plan records are the same value.
//!
//! The conflict table is PostgreSQL's "Explicit Locking" table, identical for 12 to 18.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// PostgreSQL's eight table-level lock modes, weakest first.
///
/// Serialized (in JSON) with PostgreSQL's `pg_locks.mode` spelling. In the plan file a mode is
/// its position in this list, so the order is part of the file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LockMode {
    #[serde(rename = "AccessShareLock")]
    AccessShare,
    #[serde(rename = "RowShareLock")]
    RowShare,
    #[serde(rename = "RowExclusiveLock")]
    RowExclusive,
    #[serde(rename = "ShareUpdateExclusiveLock")]
    ShareUpdateExclusive,
    #[serde(rename = "ShareLock")]
    Share,
    #[serde(rename = "ShareRowExclusiveLock")]
    ShareRowExclusive,
    #[serde(rename = "ExclusiveLock")]
    Exclusive,
    #[serde(rename = "AccessExclusiveLock")]
    AccessExclusive,
}

impl LockMode {
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// The spelling of `pg_locks.mode`, e.g. `AccessExclusiveLock`.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    /// The spelling of `LOCK TABLE ... IN <name> MODE` and of the documentation, e.g.
    /// `ACCESS EXCLUSIVE`.
    pub fn name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// What application traffic this lock blocks, in words for messages.
    pub fn blocks(self) -> &'static str {
        match self {
            LockMode::AccessExclusive => "all reads and writes",
            LockMode::Exclusive => "writes and SELECT ... FOR UPDATE/SHARE",
            LockMode::ShareRowExclusive | LockMode::Share => "writes (INSERT, UPDATE, DELETE)",
            LockMode::ShareUpdateExclusive => "other schema changes, VACUUM and index builds",
            LockMode::RowExclusive => "SHARE and stronger locks",
            LockMode::RowShare => "EXCLUSIVE and ACCESS EXCLUSIVE locks",
            LockMode::AccessShare => "only ACCESS EXCLUSIVE locks",
        }
    }

    /// Whether holding this lock stops ordinary reads or writes.
    pub fn blocks_traffic(self) -> bool {
        self >= LockMode::Share
    }

    /// The conflict table of PostgreSQL's "Explicit Locking" (the same for 12 to 18): each mode
    /// is a bit, in the order of [`LockMode::ALL`].
    pub fn conflicts_with(self, other: LockMode) -> bool {
        const CONFLICTS: [u8; 8] = [
            0b1000_0000, // ACCESS SHARE: ACCESS EXCLUSIVE
            0b1100_0000, // ROW SHARE: EXCLUSIVE and up
            0b1111_0000, // ROW EXCLUSIVE: SHARE and up
            0b1111_1000, // SHARE UPDATE EXCLUSIVE: itself and up
            0b1110_1100, // SHARE: ROW EXCLUSIVE, SHARE UPDATE EXCLUSIVE, SHARE ROW EXCLUSIVE and up
            0b1111_1100, // SHARE ROW EXCLUSIVE: ROW EXCLUSIVE and up
            0b1111_1110, // EXCLUSIVE: ROW SHARE and up
            0b1111_1111, // ACCESS EXCLUSIVE: everything
        ];
        CONFLICTS[self as usize] & (1 << other as usize) != 0
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown lock mode {0:?}: expected a PostgreSQL lock mode such as \"ACCESS EXCLUSIVE\" or \"AccessExclusiveLock\""
)]
pub struct UnknownLockMode(pub String);

impl FromStr for LockMode {
    type Err = UnknownLockMode;
    /// Either spelling: `AccessExclusiveLock` (exactly) or `ACCESS EXCLUSIVE` (any case, any
    /// run of spaces).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let words = s.split_whitespace().collect::<Vec<_>>().join(" ");
        LockMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s || m.name().eq_ignore_ascii_case(&words))
            .ok_or_else(|| UnknownLockMode(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_modes_parse_in_both_spellings_and_print_back() {
        for mode in LockMode::ALL {
            assert_eq!(mode.as_str().parse::<LockMode>(), Ok(mode));
            assert_eq!(mode.name().parse::<LockMode>(), Ok(mode));
            assert_eq!(mode.name().to_lowercase().parse::<LockMode>(), Ok(mode));
        }
        assert_eq!(
            "share  row exclusive".parse(),
            Ok(LockMode::ShareRowExclusive)
        );
        assert!("ACCESS".parse::<LockMode>().is_err());
        assert!("accessexclusivelock".parse::<LockMode>().is_err());
        assert_eq!(
            serde_json::to_string(&LockMode::ShareUpdateExclusive).ok(),
            Some("\"ShareUpdateExclusiveLock\"".to_string())
        );
    }

    #[test]
    fn lock_conflicts_follow_postgresql_table_and_are_symmetric() {
        use LockMode::*;
        assert!(AccessShare.conflicts_with(AccessExclusive));
        assert!(!AccessShare.conflicts_with(Exclusive));
        assert!(RowExclusive.conflicts_with(Share));
        assert!(!RowExclusive.conflicts_with(RowExclusive));
        assert!(ShareUpdateExclusive.conflicts_with(ShareUpdateExclusive));
        assert!(!Share.conflicts_with(Share));
        assert!(ShareRowExclusive.conflicts_with(ShareRowExclusive));
        assert!(Exclusive.conflicts_with(RowShare));
        assert!(!Exclusive.conflicts_with(AccessShare));
        for a in LockMode::ALL {
            assert!(AccessExclusive.conflicts_with(a));
            for b in LockMode::ALL {
                assert_eq!(a.conflicts_with(b), b.conflicts_with(a), "{a} / {b}");
            }
        }
    }
}
