//! The planner: from a target's catalog and a declaration to a proven, sealed plan.
//!
//! 1. Normalize the declaration through a scratch database (`normalize`).
//! 2. Diff the target's model against it (`crate::diff`): ordered drafts, online forms on
//!    existing tables.
//! 3. Refuse data loss that neither `--allow-destructive` nor an `allow-data-loss` declaration
//!    permits, listing everything that would be lost.
//! 4. Label each draft with the lock classifier shared with `lint`.
//! 5. Prove the steps on a copy of the touched part of the target (`prove`): each step's
//!    expected fingerprint, the locks it really took, the tables it rewrote; the last state must
//!    be the declared one.
//! 6. Seal the plan, then lint its session script with the lock rules (the plan gate): an
//!    error-level finding means formwork planned something unsafe, and the plan is refused
//!    unless the user accepts blocking steps that have no online form yet.

use std::collections::HashSet;

use crate::catalog::Catalog;
use crate::catalog::fingerprint::{Fingerprint, UnitHashes};
use crate::diff::{self, Draft};
use crate::lint::{self, Finding, LintOptions, Severity, SourceText};
use crate::model::{DataLoss, Model, QualifiedName};
use crate::pg::scratch::LazyScratch;

use super::normalize::{NormalizeError, normalize};
use super::prove::{ProofError, prove};
use super::{LockTaken, Plan, PlanBuilder, PlanError, Step, TableEstimate, TargetIdentity};

/// Choices the user makes about a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Allow every data loss (drops, narrowing type changes) without an `allow-data-loss`
    /// declaration.
    pub allow_destructive: bool,
    /// Accept steps that block traffic because they have no online form yet (rewriting type
    /// changes, exclusion constraints...): the plan gate reports them instead of refusing.
    pub allow_blocking: bool,
    /// The `lock_timeout` of steps whose locks conflict with ordinary reads or writes, in
    /// milliseconds; `None` is [`super::SHORT_LOCK_TIMEOUT_MS`]. A step waiting for such a lock
    /// stalls every query queued behind it, so it gives up quickly and `apply` retries it
    /// with backoff. Must not be 0.
    pub lock_timeout_ms: Option<u64>,
    /// Size estimates of the target's tables; those the plan touches are recorded in it.
    pub estimates: Vec<TableEstimate>,
    /// Told what the planner is doing, with timings, as it goes.
    pub progress: Progress,
    /// Materialized views (by declared name) to refresh at the end of the plan, even when
    /// nothing else changes (`diff::matviews::refresh`).
    pub refresh: Vec<QualifiedName>,
}

/// A sink for progress lines (`formwork plan` prints them on a terminal).
#[derive(Clone, Default)]
pub struct Progress(Option<std::sync::Arc<ProgressFn>>);

type ProgressFn = dyn Fn(&str) + Send + Sync;

impl Progress {
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Progress {
        Progress(Some(std::sync::Arc::new(f)))
    }

    pub(crate) fn say(&self, started: std::time::Instant, what: impl FnOnce() -> String) {
        if let Some(f) = &self.0 {
            f(&format!(
                "{} ({:.2}s)",
                what(),
                started.elapsed().as_secs_f64()
            ));
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(on)"
        } else {
            "Progress(off)"
        })
    }
}

/// A plan and what was learnt making it.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    /// The declaration as PostgreSQL normalised it.
    pub desired: Model,
    /// Findings of the plan gate that did not refuse the plan (warnings, notices, and errors
    /// accepted with `allow_blocking`), with the step number each belongs to.
    pub findings: Vec<(usize, Finding)>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlannerError {
    #[error("the declaration does not build in PostgreSQL: {0}")]
    #[diagnostic(
        code(formwork::plan::declaration),
        help("fix the declaration; `formwork validate` checks it without a database")
    )]
    Declaration(#[from] NormalizeError),
    #[error("formwork cannot plan this change yet:\n{0}")]
    #[diagnostic(code(formwork::plan::unsupported))]
    Unsupported(#[from] diff::Unsupported),
    #[error("the plan would lose data:\n{}", .losses.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n"))]
    #[diagnostic(
        code(formwork::plan::destructive),
        help(
            "if this is intended, declare each loss in the schema (for example \
             `allow-data-loss \"column\" \"users\" \"nickname\"`, see docs/kdl.md, \"Destructive \
             changes\"), or pass --allow-destructive to accept every loss in this plan"
        )
    )]
    Destructive { losses: Vec<String> },
    #[error(
        "the declaration grants privileges to roles the database does not have: {}",
        .roles.join(", ")
    )]
    #[diagnostic(
        code(formwork::plan::missing_roles),
        help(
            "roles are not part of the declaration: create them first (CREATE ROLE ...), or \
             remove the grants that name them"
        )
    )]
    MissingRoles { roles: Vec<String> },
    #[error("the plan could not be proven: {0}")]
    #[diagnostic(code(formwork::plan::proof))]
    Proof(#[from] ProofError),
    #[error(
        "the plan does not reach the declared state; after its last step these differences \
         would remain:\n{}",
        .residual.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n")
    )]
    #[diagnostic(
        code(formwork::plan::not_converged),
        help("this is a bug in formwork's planner; the plan was not written")
    )]
    NotConverged { residual: Vec<String> },
    #[error(
        "the plan has steps that block traffic and have no online form yet:\n{}",
        .findings.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n")
    )]
    #[diagnostic(
        code(formwork::plan::gate),
        help(
            "change the declaration another way, or pass --allow-blocking to accept these \
             steps (each is listed with its lock in the plan)"
        )
    )]
    Gate { findings: Vec<String> },
    #[error(
        "step {step} ({description}) does not take the locks it declares:\n  {sql}\n  \
         declared: {}\n  observed: {}",
        show_locks(.declared), show_locks(.observed)
    )]
    #[diagnostic(
        code(formwork::plan::lock_mismatch),
        help(
            "this is a bug in formwork's lock classifier or planner (the observed locks are \
             PostgreSQL's own, read from pg_locks while the step ran on a scratch copy); the \
             plan was not written"
        )
    )]
    LockMismatch {
        step: usize,
        description: String,
        sql: String,
        declared: Vec<LockTaken>,
        observed: Vec<LockTaken>,
    },
    #[error("step {step} ({description}) rewrote {table}, which it does not declare:\n  {sql}")]
    #[diagnostic(
        code(formwork::plan::undeclared_rewrite),
        help(
            "this is a bug in formwork's lock classifier or planner (the table's storage file \
             changed while the step ran on a scratch copy); the plan was not written"
        )
    )]
    UndeclaredRewrite {
        step: usize,
        description: String,
        sql: String,
        table: QualifiedName,
    },
    #[error("lock_timeout must be at least 1 ms (0 would wait forever)")]
    #[diagnostic(code(formwork::plan::lock_timeout))]
    ZeroLockTimeout,
    #[error(transparent)]
    #[diagnostic(code(formwork::plan::invalid))]
    Plan(#[from] PlanError),
}

/// `ACCESS EXCLUSIVE on public.t, ROW SHARE on public.p`, or `none`.
fn show_locks(locks: &[LockTaken]) -> String {
    if locks.is_empty() {
        return "none (beyond ACCESS SHARE)".to_string();
    }
    locks
        .iter()
        .map(|l| format!("{} on {}", l.mode.name(), l.object))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Plan `current` toward `declared`.
pub async fn make_plan(
    current: &Catalog,
    declared: &Model,
    scratch: &LazyScratch,
    options: &PlanOptions,
) -> Result<Planned, PlannerError> {
    let progress = &options.progress;
    let short_timeout = options
        .lock_timeout_ms
        .unwrap_or(super::SHORT_LOCK_TIMEOUT_MS);
    if short_timeout == 0 {
        return Err(PlannerError::ZeroLockTimeout);
    }
    if let Some(existing) = &current.roles {
        let missing: Vec<String> = crate::ddl::privileges::roles(declared)
            .into_iter()
            .filter(|r| existing.binary_search(r).is_err())
            .collect();
        if !missing.is_empty() {
            return Err(PlannerError::MissingRoles { roles: missing });
        }
    }
    let t = std::time::Instant::now();
    let current_hashes = UnitHashes::of(&current.model);
    let (desired, materialized) = normalize(declared, &current_hashes, scratch).await?;
    let desired_hashes = UnitHashes::of(&desired);
    progress.say(t, || {
        format!(
            "normalized the declaration ({materialized} changed units read back through PostgreSQL)"
        )
    });
    let source_fp = current_hashes.fingerprint();
    let desired_fp = desired_hashes.fingerprint();
    let pg_major = u32::try_from(current.server.major()).unwrap_or(0);

    let t = std::time::Instant::now();
    let mut diff = diff::diff(&current.model, &desired, pg_major)?;
    for m in &options.refresh {
        match diff::matviews::refresh(&desired, m) {
            Some(d) => diff.drafts.push(d),
            None => {
                return Err(PlannerError::Unsupported(diff::Unsupported {
                    message: format!(
                        "cannot refresh {m}: the declaration has no materialized view of that name"
                    ),
                }));
            }
        }
    }
    diff.drafts.sort_by_key(|d| d.stage);
    progress.say(t, || format!("diffed: {} statements", diff.drafts.len()));
    let refused: Vec<String> = diff
        .losses()
        .filter(|(_, loss)| !options.allow_destructive && !allowed(&desired.allow_data_loss, loss))
        .map(|(d, _)| {
            d.hazards
                .iter()
                .find(|h| h.kind == super::HazardKind::DeletesData)
                .map_or_else(|| d.description.clone(), |h| h.message.clone())
        })
        .collect();
    if !refused.is_empty() {
        return Err(PlannerError::Destructive { losses: refused });
    }

    let new_tables = new_tables(&current.model, &desired);
    let constrained = constrained_domains(&[&current.model, &desired]);
    let drafted: Vec<Step> = diff
        .drafts
        .iter()
        .map(|d| label(d, pg_major, &new_tables, &constrained, &current.model))
        .collect();

    let mut builder = PlanBuilder::new(
        TargetIdentity::of_server(&current.server),
        pg_major,
        source_fp,
        desired_fp,
    )
    .unmanaged(current.unmanaged.clone())
    .source_units(&current_hashes);

    if drafted.is_empty() {
        if source_fp != desired_fp {
            return Err(PlannerError::NotConverged {
                residual: current_hashes
                    .differing(&desired_hashes)
                    .iter()
                    .map(|k| format!("{k} differs, and formwork found no statement to change it"))
                    .collect(),
            });
        }
        return Ok(Planned {
            plan: builder.build()?,
            desired,
            findings: Vec::new(),
        });
    }

    let t = std::time::Instant::now();
    let proof = prove(
        &current.model,
        &current_hashes,
        &desired,
        &desired_hashes,
        &drafted,
        scratch,
        progress,
    )
    .await?;
    progress.say(t, || {
        format!("proved {} steps on a scratch copy", drafted.len())
    });
    let end_fp = proof
        .steps
        .last()
        .map_or(source_fp, |o| o.fingerprint_after);
    if end_fp != desired_fp {
        return Err(PlannerError::NotConverged {
            residual: residual(&proof.end, &desired, pg_major),
        });
    }

    let mut touched: HashSet<QualifiedName> = HashSet::new();
    for (n, (mut step, seen)) in drafted.into_iter().zip(&proof.steps).enumerate() {
        if let Some(m) = &seen.lock_mismatch {
            return Err(PlannerError::LockMismatch {
                step: n + 1,
                description: step.description,
                sql: step.sql,
                declared: m.declared.clone(),
                observed: m.observed.clone(),
            });
        }
        if let Some(table) = seen.rewrites.iter().find(|t| !step.rewrites.contains(t)) {
            return Err(PlannerError::UndeclaredRewrite {
                step: n + 1,
                description: step.description,
                sql: step.sql,
                table: table.clone(),
            });
        }
        // What PostgreSQL did is the record (the proof compares storage files): a rewrite the
        // classifier assumed from the SQL alone (it cannot tell a binary-coercible ALTER
        // COLUMN ... TYPE from one that copies the table) did not happen, and neither did the
        // scan that came with it.
        step.scans
            .retain(|t| !step.rewrites.contains(t) || seen.rewrites.contains(t));
        step.rewrites.clone_from(&seen.rewrites);
        if let Some(locks) = &seen.locks {
            step.locks = locks.clone();
        }
        step.lock_timeout_ms = lock_timeout(&step, short_timeout);
        step.expected_fingerprint_after = seen.fingerprint_after;
        touched.extend(step.locks.iter().map(|l| l.object.clone()));
        touched.extend(step.scans.iter().cloned());
        touched.extend(step.rewrites.iter().cloned());
        builder = builder.step(step);
    }
    let estimates = options
        .estimates
        .iter()
        .filter(|e| touched.contains(&e.table))
        .cloned()
        .collect();
    let plan = builder.estimates(estimates).build()?;

    let t = std::time::Instant::now();
    let findings = gate(
        &plan,
        &current.model,
        &desired,
        current.server.version_num,
        options,
    )?;
    progress.say(t, || "linted the plan".to_string());
    Ok(Planned {
        plan,
        desired,
        findings,
    })
}

/// Whether the declaration allows this loss.
fn allowed(declared: &[DataLoss], loss: &DataLoss) -> bool {
    declared.iter().any(|d| d == loss)
}

/// Tables the plan creates (not present in the target under this name or a declared old one).
fn new_tables(current: &Model, desired: &Model) -> HashSet<QualifiedName> {
    desired
        .tables()
        .filter(|(s, t)| {
            let here = QualifiedName::new(&s.name, &t.name);
            current.table(&here).is_none()
                && t.renamed_from
                    .as_ref()
                    .is_none_or(|old| current.table(&QualifiedName::new(&s.name, old)).is_none())
        })
        .map(|(s, t)| QualifiedName::new(&s.name, &t.name))
        .collect()
}

/// A draft as a step, with the locks, scans and rewrites the classifier reads from its SQL and
/// the locks the draft knows of beyond it (the proof checks the locks of transactional steps
/// and every step's rewrites against what PostgreSQL did).
/// Domains with a CHECK or NOT NULL in either model, by name: a column of one added to an
/// existing table makes PostgreSQL check every row by rewriting the table, which the SQL alone
/// does not show.
fn constrained_domains(models: &[&Model]) -> HashSet<String> {
    models
        .iter()
        .flat_map(|m| m.schemas.values())
        .flat_map(|s| s.domains.values())
        .filter(|d| d.not_null || !d.checks.is_empty())
        .map(|d| d.name.clone())
        .collect()
}

fn label(
    d: &Draft,
    pg_major: u32,
    new_tables: &HashSet<QualifiedName>,
    constrained: &HashSet<String>,
    current: &Model,
) -> Step {
    let mut step = match &d.backfill {
        Some(b) => Step::backfill(b.clone(), d.stage.phase(), Fingerprint([0; 32])),
        None => Step::new(d.sql.clone(), d.stage.phase(), Fingerprint([0; 32])),
    }
    .description(d.description.clone());
    if !d.transactional {
        step = step.non_transactional();
    }
    step.hazards = d.hazards.clone();
    // Every statement of a step counts: a step of several statements holds the locks of all
    // of them until it commits.
    let effects: Vec<lint::classify::Effect> = crate::sqlfile::split(&d.sql)
        .filter_map(|item| match item {
            crate::sqlfile::Item::Statement(st) => {
                let c = lint::classify::classify(&st.tokens, pg_major.max(10));
                let mut effect = c.effect;
                if let lint::classify::Stmt::AlterTable { actions, .. } = &c.stmt {
                    effect.rewrites |= actions.iter().any(|(a, _)| {
                        matches!(a, lint::classify::AlterAction::AddColumn(col)
                            if !col.ty.array && constrained.contains(&col.ty.base))
                    });
                }
                Some(effect)
            }
            _ => None,
        })
        .collect();
    if effects.is_empty() {
        return step;
    }
    let mut take = |mode: super::LockMode, object: QualifiedName| match step
        .locks
        .iter_mut()
        .find(|l| l.object == object)
    {
        Some(l) => l.mode = l.mode.max(mode),
        None => step.locks.push(LockTaken { mode, object }),
    };
    for effect in &effects {
        for (mode, target) in &effect.locks {
            let q = qualified(&target.name);
            // The index a step builds (or a temporary one it renames) blocks nobody.
            let new_index =
                target.kind == lint::classify::ObjKind::Index && !has_index(current, &q);
            if !new_tables.contains(&q) && !new_index {
                take(*mode, q);
            }
        }
    }
    for (mode, table) in &d.locks {
        if !new_tables.contains(table) {
            take(*mode, table.clone());
        }
    }
    crate::diff::partition_locks(pg_major, &d.sql, &mut step.locks, current);
    for effect in &effects {
        let first_table = effect
            .locks
            .iter()
            .filter(|(_, t)| t.kind == lint::classify::ObjKind::Table)
            .map(|(_, t)| qualified(&t.name))
            .find(|q| !new_tables.contains(q));
        if let Some(t) = first_table {
            if effect.scans && !d.no_scan && !step.scans.contains(&t) {
                step.scans.push(t.clone());
            }
            if effect.rewrites && !step.rewrites.contains(&t) {
                step.rewrites.push(t);
            }
        }
    }
    step
}

/// The lock policy. A step that waits for a lock conflicting with ordinary traffic (anything
/// conflicting with the ACCESS SHARE of a read, the ROW SHARE of `SELECT ... FOR UPDATE` or
/// the ROW EXCLUSIVE of a write) makes every later query on that table queue behind it, so it
/// waits only `short` and `apply` retries it with backoff. A step whose every lock lets reads
/// and writes through (concurrent index builds and drops, `VALIDATE CONSTRAINT`, renaming an
/// existing index: SHARE UPDATE EXCLUSIVE at most) stalls nobody while it waits, and waits long: a
/// concurrent build also waits, under `lock_timeout`, for every transaction older than its
/// snapshot, and giving up there throws away the whole build. A step with no lock on an
/// existing object gets the short timeout: it should not wait at all. A backfill batch takes
/// only ROW EXCLUSIVE, but while it waits for a row the application holds it keeps the rows it
/// already updated locked, so the application's writes to them queue behind it: it waits short.
fn lock_timeout(step: &Step, short: u64) -> u64 {
    if step.as_backfill().is_some() {
        return short;
    }
    let blocks_traffic = |mode: super::LockMode| {
        [
            super::LockMode::AccessShare,
            super::LockMode::RowShare,
            super::LockMode::RowExclusive,
        ]
        .iter()
        .any(|m| mode.conflicts_with(*m))
    };
    if !step.locks.is_empty() && step.locks.iter().all(|l| !blocks_traffic(l.mode)) {
        super::NON_BLOCKING_LOCK_TIMEOUT_MS.max(short)
    } else {
        short
    }
}

/// Whether `current` has an index (or a constraint's index) of this name.
fn has_index(current: &Model, q: &QualifiedName) -> bool {
    current.schemas.get(&q.schema).is_some_and(|s| {
        s.tables.values().any(|t| {
            t.indexes.contains_key(&q.name)
                || t.uniques.contains_key(&q.name)
                || t.exclusions.contains_key(&q.name)
                || t.primary_key.as_ref().is_some_and(|pk| pk.name == q.name)
        })
    })
}

fn qualified(name: &lint::classify::Name) -> QualifiedName {
    QualifiedName::new(
        name.schema.clone().unwrap_or_else(|| "public".to_string()),
        name.name.clone(),
    )
}

/// What would still differ between the end of a plan and the declaration, in words.
fn residual(end: &Model, desired: &Model, pg_major: u32) -> Vec<String> {
    let end_h = UnitHashes::of(end);
    let desired_h = UnitHashes::of(desired);
    let mut out: Vec<String> = match diff::diff(end, desired, pg_major) {
        Ok(d) => d.drafts.iter().map(|d| d.description.clone()).collect(),
        Err(e) => vec![e.message],
    };
    if out.is_empty() {
        out = end_h
            .differing(&desired_h)
            .iter()
            .map(|k| format!("{k} differs in an attribute formwork does not change yet"))
            .collect();
    }
    out
}

/// What to do instead of a refused step, where the planner knows better than the lint rule's
/// general advice (which is written for hand-written migrations).
fn planner_advice(rule: &str) -> Option<&'static str> {
    match rule {
        "add-column-stored-generated" => Some(
            "PostgreSQL computes a stored generated column for every row while it holds ACCESS \
             EXCLUSIVE, and cannot make a column that was filled some other way generated \
             later, so there is no online form. Either declare a plain column (kept up to \
             date by a trigger, filled by a backfill) instead of a generated one, or accept the \
             rewrite in a quiet window with --allow-blocking.",
        ),
        _ => None,
    }
}

/// Lint the plan's session script with the lock rules. Error-level findings refuse the plan
/// unless blocking steps are accepted; the rest are returned.
fn gate(
    plan: &Plan,
    current: &Model,
    desired: &Model,
    server_version_num: i32,
    options: &PlanOptions,
) -> Result<Vec<(usize, Finding)>, PlannerError> {
    let script = plan.session_script();
    let mut facts = lint::DbFacts {
        // Materialized views count as existing relations too (REFRESH, index builds).
        constrained_domains: constrained_domains(&[current, desired]),
        tables: Some(
            current
                .tables()
                .map(|(s, t)| format!("{}.{}", s.name, t.name))
                .chain(current.schemas.values().flat_map(|s| {
                    s.materialized_views
                        .keys()
                        .map(move |m| format!("{}.{m}", s.name))
                }))
                .collect(),
        ),
        ..lint::DbFacts::default()
    };
    for (schema, t) in current.tables() {
        let key = format!("{}.{}", schema.name, t.name);
        let types = facts.column_types.entry(key.clone()).or_default();
        for c in t.columns.values() {
            types.insert(c.name.clone(), c.data_type.clone());
            // A validated `CHECK (c IS NOT NULL)` (a `SET NOT NULL` sequence an interrupted
            // apply left) proves the column as well as NOT NULL does.
            let proven = t
                .checks
                .values()
                .any(|k| k.valid && diff::transitional::proves_not_null(&k.expression, &c.name));
            if c.not_null || proven {
                facts.not_null.insert((key.clone(), c.name.clone()));
            }
        }
    }
    for e in &options.estimates {
        facts.row_estimates.insert(
            format!("{}.{}", e.table.schema, e.table.name),
            e.rows as f64,
        );
    }
    let opts = LintOptions {
        // The whole version: some rules are about minor releases (a bug fixed in 14.4).
        pg_version: u32::try_from(server_version_num)
            .ok()
            .filter(|n| *n >= 10_000)
            .map_or(lint::PgVersion::DEFAULT, |n| lint::PgVersion {
                major: n / 10_000,
                minor: n % 10_000,
            }),
        db: Some(facts),
        ..LintOptions::default()
    };
    let findings = lint::lint_source(
        &SourceText {
            name: format!("plan {}", plan.id().short()),
            text: script.clone(),
        },
        &opts,
    );
    let step_of = |offset: usize| {
        script[..offset.min(script.len())]
            .matches("\n-- step ")
            .count()
    };
    let mut refused = Vec::new();
    let mut kept = Vec::new();
    for f in findings {
        let step = step_of(f.start.offset);
        if f.severity == Severity::Error && !options.allow_blocking {
            let sql = plan
                .steps()
                .get(step.saturating_sub(1))
                .map_or(String::new(), |s| s.sql.clone());
            refused.push(format!(
                "step {step}: {} [{}]\n      {sql}\n    instead: {}",
                f.message,
                f.rule,
                planner_advice(f.rule).unwrap_or(&f.help)
            ));
        } else {
            kept.push((step, f));
        }
    }
    if !refused.is_empty() {
        return Err(PlannerError::Gate { findings: refused });
    }
    Ok(kept)
}
