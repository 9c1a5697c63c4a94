//! The plan: what `apply` will do to one database, as plain, immutable data.
//!
//! A plan is built once through [`PlanBuilder`], which checks it and seals it: the sealed bytes
//! (see [`file`]) and the plan id are fixed at that moment, and nothing can change the plan
//! afterwards (its fields are private; steps are reachable only by shared reference). Whatever
//! executes a plan takes it and reads it, as Terraform's planfile is read by its apply.
//!
//! The plan binds where it may run (target identity, server major version, the fingerprint of
//! the catalog it was planned against) and what each step is expected to do (SQL, locks, scans,
//! rewrites, hazards, the fingerprint expected after it), so `apply` can refuse a plan that no
//! longer fits the database instead of guessing.
//!
//! There is deliberately no creation time in a plan. The plan id is a hash of the plan, and a
//! timestamp would make two plannings of the same change against the same state produce two
//! ids; without one, a reviewer can re-run the planner and confirm the id they approve is the
//! id that was planned, and a plan is stale because the catalog moved (its source fingerprint),
//! never because of a clock. Times belong to the journal of an apply, not to the plan.
//!
//! This module does not plan (diffing a model into steps lives elsewhere), does not run SQL and
//! does not touch files: [`file`] alone reads and writes plan files, [`approval`] signs and
//! checks approvals.

pub mod approval;
pub mod backfill;
pub mod file;
pub mod materialize;
pub mod normalize;
pub mod planner;
pub mod prove;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use crate::locks::{LockMode, UnknownLockMode};

use crate::catalog::fingerprint::Fingerprint;
use crate::model::QualifiedName;

pub use backfill::{Assignment, Backfill, BatchKey, KeyColumn};

/// The version of formwork that made a plan, bound into every plan.
pub const FORMWORK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Default `lock_timeout` of a step: long enough for a metadata-only change behind ordinary
/// traffic, short enough that a queued strong lock does not stall the application for long.
pub const DEFAULT_LOCK_TIMEOUT_MS: u64 = 5_000;

/// A plan: sealed, immutable, identified by the blake3 hash of its file encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    id: PlanId,
    #[serde(flatten)]
    contents: PlanContents,
    /// The plan file's bytes, fixed when the plan was sealed; `id` is their hash trailer.
    #[serde(skip)]
    sealed: Vec<u8>,
}

/// Everything that is encoded into the plan file body. Field order is the encoding order:
/// changing it (or any type inside) changes the format version (docs/plan-file.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PlanContents {
    formwork_version: String,
    target: TargetIdentity,
    server_major_version: u32,
    source_fingerprint: Fingerprint,
    desired_fingerprint: Fingerprint,
    /// Size estimates of the tables the steps lock, scan or rewrite, read from the target's
    /// `pg_class` when planning, so a reviewer sees how long a lock may be held.
    estimates: Vec<TableEstimate>,
    /// Objects in the target that formwork does not manage: the plan leaves them alone, and
    /// says so, so nobody mistakes the plan for the whole picture.
    unmanaged: Vec<crate::model::Unmanaged>,
    /// The hash of every unit of the source catalog, sorted: they combine into
    /// `source_fingerprint`, and let `apply` name what drifted instead of only saying that
    /// something did. Empty in plans built without a catalog (tests).
    source_units: Vec<UnitDigest>,
    steps: Vec<Step>,
}

/// One unit of the source catalog and its hash (`catalog::fingerprint::UnitHashes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitDigest {
    pub unit: crate::model::UnitKey,
    pub hash: [u8; 32],
}

/// The planner's knowledge of a table's size: `pg_class.reltuples` and `relpages` (estimates
/// kept by VACUUM and ANALYZE; `rows` is -1 when the table was never analyzed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEstimate {
    pub table: QualifiedName,
    pub rows: i64,
    pub pages: i64,
}

impl Plan {
    /// The plan as the SQL session that runs it: each step's `lock_timeout` and
    /// `statement_timeout`, then its statement, inside `BEGIN`/`COMMIT` when the step is
    /// transactional. This is what `formwork lint --plan` checks, so the lock rules judge the
    /// steps in the transaction shape they will really have.
    pub fn session_script(&self) -> String {
        let total = self.steps().len();
        let mut out = format!("-- formwork plan {}: {total} step(s)\n", self.id());
        for (n, step) in self.steps().iter().enumerate() {
            out.push_str(&format!(
                "\n-- step {} of {total} ({}{})\n",
                n + 1,
                step.phase,
                if step.as_backfill().is_some() {
                    ", a backfill: this statement once per batch, each batch its own transaction"
                } else if step.transactional {
                    ""
                } else {
                    ", outside a transaction"
                }
            ));
            out.push_str(&format!(
                "SET lock_timeout = '{}ms';\nSET statement_timeout = '{}ms';\n",
                step.lock_timeout_ms, step.statement_timeout_ms
            ));
            let sql = step.sql.trim_end().trim_end_matches(';');
            if step.transactional {
                out.push_str(&format!("BEGIN;\n{sql};\nCOMMIT;\n"));
            } else {
                out.push_str(&format!("{sql};\n"));
            }
        }
        out
    }

    /// The plan id: the blake3 hash that ends the plan file.
    pub fn id(&self) -> PlanId {
        self.id
    }
    /// The formwork version that made the plan.
    pub fn formwork_version(&self) -> &str {
        &self.contents.formwork_version
    }
    /// The database the plan was made for.
    pub fn target(&self) -> &TargetIdentity {
        &self.contents.target
    }
    /// The server's major version when the plan was made (`15` for 15.18).
    pub fn server_major_version(&self) -> u32 {
        self.contents.server_major_version
    }
    /// The fingerprint of the catalog the plan was made against; the plan starts there.
    pub fn source_fingerprint(&self) -> Fingerprint {
        self.contents.source_fingerprint
    }
    /// The fingerprint of the declared state; the last step ends there.
    pub fn desired_fingerprint(&self) -> Fingerprint {
        self.contents.desired_fingerprint
    }
    /// Size estimates of the tables the plan touches.
    pub fn estimates(&self) -> &[TableEstimate] {
        &self.contents.estimates
    }
    /// The size estimate of one table, if the planner had one.
    pub fn estimate(&self, table: &QualifiedName) -> Option<&TableEstimate> {
        self.contents.estimates.iter().find(|e| &e.table == table)
    }
    /// Objects in the target that formwork does not manage and the plan leaves alone.
    pub fn unmanaged(&self) -> &[crate::model::Unmanaged] {
        &self.contents.unmanaged
    }
    /// The hash of every unit of the source catalog (empty for plans built without one).
    pub fn source_units(&self) -> &[UnitDigest] {
        &self.contents.source_units
    }
    /// The steps, in the order they run.
    pub fn steps(&self) -> &[Step] {
        &self.contents.steps
    }
    /// Every hazard kind any step carries, sorted and without repeats.
    pub fn hazard_kinds(&self) -> Vec<HazardKind> {
        let mut kinds: Vec<HazardKind> = self
            .steps()
            .iter()
            .flat_map(|s| s.hazards.iter().map(|h| h.kind))
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// Which database a plan is for: a cluster (its system identifier, from `pg_control_system()`)
/// and a database name in it. A restored copy of a cluster keeps its system identifier, so the
/// database name is bound as well.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TargetIdentity {
    /// Empty when the planning role could not read it; `apply` then cannot tell clusters apart.
    pub system_identifier: String,
    pub database: String,
}

impl TargetIdentity {
    /// The identity of the database a catalog was read from.
    pub fn of_server(server: &crate::catalog::ServerInfo) -> TargetIdentity {
        TargetIdentity {
            system_identifier: server.system_identifier.clone(),
            database: server.database.clone(),
        }
    }
}

impl fmt::Display for TargetIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.system_identifier.is_empty() {
            write!(
                f,
                "database {:?} (system identifier unknown)",
                self.database
            )
        } else {
            write!(
                f,
                "database {:?} on cluster {}",
                self.database, self.system_identifier
            )
        }
    }
}

/// Expand steps add what the new declaration needs while the old one keeps working; contract
/// steps remove what only the old one needed. All expand steps come before all contract steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Expand,
    Contract,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Expand => "expand",
            Phase::Contract => "contract",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One statement of a plan and everything `apply` and a reviewer need to know about it.
///
/// Plain data with public fields so a planner can fill it in; once a step is inside a sealed
/// [`Plan`] it is only reachable by shared reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// What the step does, in words, for people ("add column public.users.email").
    pub description: String,
    /// One SQL statement, sent as it is; for a backfill, its batch statement
    /// ([`Backfill::batch_sql`]), which the engine sends once per batch.
    pub sql: String,
    /// What running the step means: send `sql`, or walk a table batch by batch.
    pub action: Action,
    pub phase: Phase,
    /// Whether the step runs inside a transaction. `CREATE INDEX CONCURRENTLY` and friends
    /// cannot, and a failure part-way leaves work behind that `apply` must clean up.
    pub transactional: bool,
    /// `SET lock_timeout` for this step, in milliseconds; never 0 (PostgreSQL's "wait forever").
    pub lock_timeout_ms: u64,
    /// `SET statement_timeout` for this step, in milliseconds; 0 means no limit, as in
    /// PostgreSQL (a concurrent index build may rightly take hours).
    pub statement_timeout_ms: u64,
    /// Every lock the statement takes, on what.
    pub locks: Vec<LockTaken>,
    /// Tables the statement reads in full (e.g. validating a constraint).
    pub scans: Vec<QualifiedName>,
    /// Tables the statement rewrites (every row copied into a new file).
    pub rewrites: Vec<QualifiedName>,
    pub hazards: Vec<Hazard>,
    /// The catalog fingerprint once this step has run: how `apply` recognises progress and
    /// resumes, and how it notices that something else changed the schema meanwhile.
    pub expected_fingerprint_after: Fingerprint,
}

impl Step {
    /// A transactional step with the default lock_timeout, no statement_timeout, and no locks,
    /// scans, rewrites or hazards yet.
    pub fn new(
        sql: impl Into<String>,
        phase: Phase,
        expected_fingerprint_after: Fingerprint,
    ) -> Step {
        Step {
            description: String::new(),
            sql: sql.into(),
            action: Action::Sql,
            phase,
            transactional: true,
            lock_timeout_ms: DEFAULT_LOCK_TIMEOUT_MS,
            statement_timeout_ms: 0,
            locks: Vec::new(),
            scans: Vec::new(),
            rewrites: Vec::new(),
            hazards: Vec::new(),
            expected_fingerprint_after,
        }
    }

    /// A backfill step: its `sql` is the batch statement, and it is long-running by nature.
    pub fn backfill(
        backfill: Backfill,
        phase: Phase,
        expected_fingerprint_after: Fingerprint,
    ) -> Step {
        let mut step = Step::new(backfill.batch_sql(), phase, expected_fingerprint_after);
        step.action = Action::Backfill(backfill);
        step
    }

    /// The backfill this step runs, if it is one.
    pub fn as_backfill(&self) -> Option<&Backfill> {
        match &self.action {
            Action::Backfill(b) => Some(b),
            Action::Sql => None,
        }
    }

    pub fn description(mut self, text: impl Into<String>) -> Step {
        self.description = text.into();
        self
    }

    pub fn non_transactional(mut self) -> Step {
        self.transactional = false;
        self
    }

    pub fn lock_timeout_ms(mut self, ms: u64) -> Step {
        self.lock_timeout_ms = ms;
        self
    }

    pub fn statement_timeout_ms(mut self, ms: u64) -> Step {
        self.statement_timeout_ms = ms;
        self
    }

    pub fn lock(mut self, mode: LockMode, object: QualifiedName) -> Step {
        self.locks.push(LockTaken { mode, object });
        self
    }

    pub fn scans(mut self, table: QualifiedName) -> Step {
        self.scans.push(table);
        self
    }

    pub fn rewrites(mut self, table: QualifiedName) -> Step {
        self.rewrites.push(table);
        self
    }

    pub fn hazard(mut self, kind: HazardKind, message: impl Into<String>) -> Step {
        self.hazards.push(Hazard {
            kind,
            message: message.into(),
        });
        self
    }

    /// The hazards this step's facts imply, whatever the planner said: a plan never understates
    /// what a step does, so an approval must accept them.
    fn implied_hazards(&self) -> Vec<Hazard> {
        let mut out = Vec::new();
        for lock in &self.locks {
            if lock.mode == LockMode::AccessExclusive {
                out.push(Hazard {
                    kind: HazardKind::AccessExclusive,
                    message: format!(
                        "takes ACCESS EXCLUSIVE on {}: blocks all reads and writes while held",
                        lock.object
                    ),
                });
            } else if lock.mode.conflicts_with(LockMode::RowExclusive) {
                out.push(Hazard {
                    kind: HazardKind::BlocksWrites,
                    message: format!(
                        "takes {} on {}: blocks writes while held",
                        lock.mode.name(),
                        lock.object
                    ),
                });
            }
        }
        for table in &self.rewrites {
            out.push(Hazard {
                kind: HazardKind::RewritesTable,
                message: format!("rewrites {table}"),
            });
        }
        for table in &self.scans {
            out.push(Hazard {
                kind: HazardKind::ScansTable,
                message: format!("scans all of {table}"),
            });
        }
        if let Some(b) = self.as_backfill() {
            out.push(Hazard {
                kind: HazardKind::LongRunning,
                message: format!(
                    "updates rows of {} in batches: runs as long as the table is large (each \
                     batch holds its row locks only briefly)",
                    b.table
                ),
            });
        }
        if !self.transactional {
            out.push(Hazard {
                kind: HazardKind::NotTransactional,
                message: "runs outside a transaction: a failure can leave partial work".into(),
            });
        }
        out
    }
}

/// How a step runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Send the step's `sql` once (inside a transaction when the step is transactional).
    Sql,
    /// Run a backfill in batches, one transaction each (`apply::backfill`).
    Backfill(Backfill),
}

/// A lock a step takes: its mode and the relation it is taken on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LockTaken {
    pub mode: LockMode,
    pub object: QualifiedName,
}

/// Something a reviewer must know about a step, and an approval must accept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hazard {
    pub kind: HazardKind,
    pub message: String,
}

/// The kinds of hazard, each with a stable kebab-case name used on the command line, in JSON
/// and in approvals.
///
/// In the plan file a kind is its position in this list: new kinds go at the end, and adding
/// one bumps the plan file format version (docs/plan-file.md), so an older formwork refuses a
/// plan it could not describe correctly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HazardKind {
    /// Drops a table, column, type, enum value or anything else holding data.
    DeletesData,
    /// Copies every row of a table into a new file while holding a strong lock.
    RewritesTable,
    /// Reads every row of a table (validation, a non-concurrent index build).
    ScansTable,
    /// Takes ACCESS EXCLUSIVE: blocks reads and writes while held or queued.
    AccessExclusive,
    /// Takes SHARE, SHARE ROW EXCLUSIVE or EXCLUSIVE: blocks writes while held or queued.
    BlocksWrites,
    /// May run for a long time (backfills, concurrent index builds on big tables).
    LongRunning,
    /// Runs outside a transaction: a failure part-way leaves work behind.
    NotTransactional,
    /// Removes or renames something the previous version of the application may still use.
    BreaksCompatibility,
}

impl HazardKind {
    pub const ALL: [HazardKind; 8] = [
        HazardKind::DeletesData,
        HazardKind::RewritesTable,
        HazardKind::ScansTable,
        HazardKind::AccessExclusive,
        HazardKind::BlocksWrites,
        HazardKind::LongRunning,
        HazardKind::NotTransactional,
        HazardKind::BreaksCompatibility,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HazardKind::DeletesData => "deletes-data",
            HazardKind::RewritesTable => "rewrites-table",
            HazardKind::ScansTable => "scans-table",
            HazardKind::AccessExclusive => "access-exclusive",
            HazardKind::BlocksWrites => "blocks-writes",
            HazardKind::LongRunning => "long-running",
            HazardKind::NotTransactional => "not-transactional",
            HazardKind::BreaksCompatibility => "breaks-compatibility",
        }
    }
}

impl fmt::Display for HazardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hazard kind {found:?}; the kinds are: {}", HazardKind::ALL.map(|k| k.as_str()).join(", "))]
pub struct UnknownHazardKind {
    pub found: String,
}

impl FromStr for HazardKind {
    type Err = UnknownHazardKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HazardKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownHazardKind {
                found: s.to_string(),
            })
    }
}

/// A plan id: the 32-byte blake3 hash that ends the plan file.
///
/// `Display` is the full 64 hex digits; [`PlanId::short`] (the first 12) is for display next to
/// the full id only. Anything that approves a plan takes the full id: 48 bits are too few to
/// stop someone from crafting a second plan with the same short id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlanId(pub [u8; 32]);

/// Number of hex digits in [`PlanId::short`].
pub const SHORT_ID_LEN: usize = 12;

impl PlanId {
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first 12 hex digits, for display.
    pub fn short(&self) -> String {
        let mut hex = self.to_hex();
        hex.truncate(SHORT_ID_LEN);
        hex
    }

    /// Parse the full 64-digit id (surrounding whitespace allowed, either case).
    pub fn from_hex(s: &str) -> Result<PlanId, PlanIdParseError> {
        Fingerprint::from_hex(s)
            .map(|f| PlanId(f.0))
            .map_err(|_| PlanIdParseError {
                found_len: s.trim().len(),
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a plan id is 64 hexadecimal digits (the full id, not the {SHORT_ID_LEN}-digit short form); got {found_len} characters"
)]
pub struct PlanIdParseError {
    pub found_len: usize,
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlanId({})", self.to_hex())
    }
}

impl FromStr for PlanId {
    type Err = PlanIdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlanId::from_hex(s)
    }
}

impl Serialize for PlanId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Fingerprint(self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for PlanId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Fingerprint::deserialize(d).map(|f| PlanId(f.0))
    }
}

/// Why a plan could not be sealed (or, read from a file, is not a plan formwork would make).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("step {step} has no SQL")]
    EmptySql { step: usize },
    #[error(
        "step {step} has lock_timeout 0, which PostgreSQL reads as \"wait forever\"; every step needs a lock_timeout"
    )]
    NoLockTimeout { step: usize },
    #[error(
        "step {step} is an expand step after a contract step; every expand step must come first"
    )]
    ExpandAfterContract { step: usize },
    #[error("the plan ends at fingerprint {ends_at}, not at its desired fingerprint {desired}")]
    EndsElsewhere {
        ends_at: Fingerprint,
        desired: Fingerprint,
    },
    #[error("step {step} {what} but does not carry the {kind} hazard")]
    MissingHazard {
        step: usize,
        kind: HazardKind,
        what: &'static str,
    },
    #[error(
        "step {step} is a backfill whose SQL is not its batch statement; what a plan shows must be what runs"
    )]
    BackfillSqlMismatch { step: usize },
    #[error("step {step} is a backfill outside a transaction; every batch commits on its own")]
    BackfillNotTransactional { step: usize },
    #[error("the plan could not be encoded: {0}")]
    Encode(String),
    #[error("the plan's source units do not combine into its source fingerprint")]
    SourceUnitsDisagree,
}

/// Builds a plan, checks it, and seals it. The only way to make a [`Plan`] besides reading a
/// plan file.
#[derive(Debug, Clone)]
pub struct PlanBuilder {
    contents: PlanContents,
}

impl PlanBuilder {
    pub fn new(
        target: TargetIdentity,
        server_major_version: u32,
        source_fingerprint: Fingerprint,
        desired_fingerprint: Fingerprint,
    ) -> PlanBuilder {
        PlanBuilder {
            contents: PlanContents {
                formwork_version: FORMWORK_VERSION.to_string(),
                target,
                server_major_version,
                source_fingerprint,
                desired_fingerprint,
                estimates: Vec::new(),
                unmanaged: Vec::new(),
                source_units: Vec::new(),
                steps: Vec::new(),
            },
        }
    }

    /// Override the recorded formwork version (tests of version checks; the default is this
    /// build's version).
    pub fn formwork_version(mut self, version: impl Into<String>) -> PlanBuilder {
        self.contents.formwork_version = version.into();
        self
    }

    /// Record the size estimates of the tables the plan touches (sorted by table, so the plan id
    /// does not depend on the order they were read in).
    pub fn estimates(mut self, mut estimates: Vec<TableEstimate>) -> PlanBuilder {
        estimates.sort_by(|a, b| a.table.cmp(&b.table));
        self.contents.estimates = estimates;
        self
    }

    /// Record the target's unmanaged objects (sorted, for the same reason).
    pub fn unmanaged(mut self, mut unmanaged: Vec<crate::model::Unmanaged>) -> PlanBuilder {
        unmanaged.sort();
        self.contents.unmanaged = unmanaged;
        self
    }

    /// Record the source catalog unit by unit; they must combine into the source fingerprint.
    pub fn source_units(mut self, units: &crate::catalog::fingerprint::UnitHashes) -> PlanBuilder {
        self.contents.source_units = units
            .entries()
            .map(|(unit, hash)| UnitDigest {
                unit: unit.clone(),
                hash: *hash,
            })
            .collect();
        self
    }

    /// Append a step. Hazards implied by its locks, scans, rewrites and transaction mode are
    /// added if the planner did not name them.
    pub fn step(mut self, mut step: Step) -> PlanBuilder {
        for implied in step.implied_hazards() {
            if !step.hazards.iter().any(|h| h.kind == implied.kind) {
                step.hazards.push(implied);
            }
        }
        self.contents.steps.push(step);
        self
    }

    /// Check the plan and seal it: encode it once, fixing its bytes and its id.
    pub fn build(self) -> Result<Plan, PlanError> {
        self.contents.check()?;
        let (sealed, id) = file::seal(&self.contents)?;
        Ok(Plan {
            id,
            contents: self.contents,
            sealed,
        })
    }
}

impl PlanContents {
    /// What every plan satisfies, whether just built or read from a file.
    fn check(&self) -> Result<(), PlanError> {
        let mut seen_contract = false;
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            if step.sql.trim().is_empty() {
                return Err(PlanError::EmptySql { step: n });
            }
            if step.lock_timeout_ms == 0 {
                return Err(PlanError::NoLockTimeout { step: n });
            }
            if let Some(b) = step.as_backfill() {
                if step.sql != b.batch_sql() {
                    return Err(PlanError::BackfillSqlMismatch { step: n });
                }
                if !step.transactional {
                    return Err(PlanError::BackfillNotTransactional { step: n });
                }
            }
            match step.phase {
                Phase::Contract => seen_contract = true,
                Phase::Expand if seen_contract => {
                    return Err(PlanError::ExpandAfterContract { step: n });
                }
                Phase::Expand => {}
            }
            for implied in step.implied_hazards() {
                if !step.hazards.iter().any(|h| h.kind == implied.kind) {
                    return Err(PlanError::MissingHazard {
                        step: n,
                        kind: implied.kind,
                        what: match implied.kind {
                            HazardKind::AccessExclusive => "takes ACCESS EXCLUSIVE",
                            HazardKind::BlocksWrites => "takes a lock that blocks writes",
                            HazardKind::RewritesTable => "rewrites a table",
                            HazardKind::ScansTable => "scans a table",
                            HazardKind::LongRunning => "is a backfill",
                            _ => "runs outside a transaction",
                        },
                    });
                }
            }
        }
        if !self.source_units.is_empty() {
            let combined = crate::catalog::fingerprint::UnitHashes::from_entries(
                self.source_units.iter().map(|u| (u.unit.clone(), u.hash)),
            )
            .fingerprint();
            if combined != self.source_fingerprint {
                return Err(PlanError::SourceUnitsDisagree);
            }
        }
        let ends_at = self
            .steps
            .last()
            .map_or(self.source_fingerprint, |s| s.expected_fingerprint_after);
        if ends_at != self.desired_fingerprint {
            return Err(PlanError::EndsElsewhere {
                ends_at,
                desired: self.desired_fingerprint,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(b: u8) -> Fingerprint {
        Fingerprint([b; 32])
    }

    fn target() -> TargetIdentity {
        TargetIdentity {
            system_identifier: "7301234567890123456".into(),
            database: "app".into(),
        }
    }

    fn users() -> QualifiedName {
        QualifiedName::new("public", "users")
    }

    #[test]
    fn hazard_kinds_have_stable_kebab_case_names() {
        for kind in HazardKind::ALL {
            assert_eq!(kind.as_str().parse::<HazardKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_string(&kind).ok(),
                Some(format!("\"{}\"", kind.as_str()))
            );
        }
        let err = "drops-stuff".parse::<HazardKind>().unwrap_err().to_string();
        assert!(err.contains("deletes-data"), "{err}");
    }

    #[test]
    fn builder_adds_hazards_implied_by_locks_scans_rewrites_and_transaction_mode() {
        let plan = PlanBuilder::new(target(), 15, fp(1), fp(2))
            .step(
                Step::new(
                    "ALTER TABLE public.users ALTER COLUMN id TYPE bigint",
                    Phase::Expand,
                    fp(2),
                )
                .lock(LockMode::AccessExclusive, users())
                .rewrites(users())
                .non_transactional(),
            )
            .build()
            .unwrap();
        assert_eq!(
            plan.hazard_kinds(),
            vec![
                HazardKind::RewritesTable,
                HazardKind::AccessExclusive,
                HazardKind::NotTransactional
            ]
        );
    }

    #[test]
    fn a_named_hazard_is_not_duplicated_by_the_implied_one() {
        let plan = PlanBuilder::new(target(), 15, fp(1), fp(2))
            .step(
                Step::new("CREATE INDEX i ON public.users (a)", Phase::Expand, fp(2))
                    .lock(LockMode::Share, users())
                    .hazard(HazardKind::BlocksWrites, "blocks inserts into users"),
            )
            .build()
            .unwrap();
        let hazards = &plan.steps()[0].hazards;
        assert_eq!(hazards.len(), 1);
        assert_eq!(hazards[0].message, "blocks inserts into users");
    }

    #[test]
    fn builder_refuses_plans_formwork_must_never_run() {
        let b = || PlanBuilder::new(target(), 15, fp(1), fp(3));
        assert_eq!(
            b().step(Step::new("  ", Phase::Expand, fp(3))).build(),
            Err(PlanError::EmptySql { step: 1 })
        );
        assert_eq!(
            b().step(Step::new("SELECT 1", Phase::Expand, fp(3)).lock_timeout_ms(0))
                .build(),
            Err(PlanError::NoLockTimeout { step: 1 })
        );
        assert_eq!(
            b().step(Step::new("DROP TABLE a", Phase::Contract, fp(2)))
                .step(Step::new("CREATE TABLE b ()", Phase::Expand, fp(3)))
                .build(),
            Err(PlanError::ExpandAfterContract { step: 2 })
        );
        assert_eq!(
            b().step(Step::new("CREATE TABLE b ()", Phase::Expand, fp(2)))
                .build(),
            Err(PlanError::EndsElsewhere {
                ends_at: fp(2),
                desired: fp(3)
            })
        );
        assert!(
            b().build().is_err(),
            "an empty plan must already be at its desired state"
        );
        assert!(PlanBuilder::new(target(), 15, fp(1), fp(1)).build().is_ok());
    }

    #[test]
    fn plan_ids_print_in_full_and_short_and_parse_only_in_full() {
        let id = PlanId([0xab; 32]);
        assert_eq!(id.to_string().len(), 64);
        assert_eq!(id.short(), "abababababab");
        assert_eq!(id.to_string().parse::<PlanId>(), Ok(id));
        assert!(id.short().parse::<PlanId>().is_err());
    }

    #[test]
    fn json_rendering_names_the_id_and_fingerprints_in_hex() {
        let plan = PlanBuilder::new(target(), 15, fp(1), fp(1))
            .build()
            .unwrap();
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["id"], plan.id().to_hex());
        assert_eq!(json["source_fingerprint"], fp(1).to_hex());
        assert_eq!(json["target"]["database"], "app");
    }
}
