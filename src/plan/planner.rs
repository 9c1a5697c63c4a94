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
    /// Size estimates of the target's tables; those the plan touches are recorded in it.
    pub estimates: Vec<TableEstimate>,
    /// Told what the planner is doing, with timings, as it goes.
    pub progress: Progress,
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
    #[error(transparent)]
    #[diagnostic(code(formwork::plan::invalid))]
    Plan(#[from] PlanError),
}

/// Plan `current` toward `declared`.
pub async fn make_plan(
    current: &Catalog,
    declared: &Model,
    scratch: &LazyScratch,
    options: &PlanOptions,
) -> Result<Planned, PlannerError> {
    let progress = &options.progress;
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
    let diff = diff::diff(&current.model, &desired, pg_major)?;
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
    let drafted: Vec<Step> = diff
        .drafts
        .iter()
        .map(|d| label(d, pg_major, &new_tables))
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
    for (mut step, seen) in drafted.into_iter().zip(&proof.steps) {
        if let Some(locks) = &seen.locks {
            step.locks = locks.clone();
        }
        for t in &seen.rewrites {
            if !step.rewrites.contains(t) {
                step.rewrites.push(t.clone());
            }
        }
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
    let findings = gate(&plan, &current.model, pg_major, options)?;
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

/// A draft as a step, with the locks, scans and rewrites the classifier reads from its SQL
/// (the proof replaces the locks and rewrites of transactional steps by what it observed).
fn label(d: &Draft, pg_major: u32, new_tables: &HashSet<QualifiedName>) -> Step {
    let mut step = match &d.backfill {
        Some(b) => Step::backfill(b.clone(), d.stage.phase(), Fingerprint([0; 32])),
        None => Step::new(d.sql.clone(), d.stage.phase(), Fingerprint([0; 32])),
    }
    .description(d.description.clone());
    if !d.transactional {
        step = step.non_transactional();
    }
    step.hazards = d.hazards.clone();
    let effect = crate::sqlfile::split(&d.sql).find_map(|item| match item {
        crate::sqlfile::Item::Statement(st) => {
            Some(lint::classify::classify(&st.tokens, pg_major.max(10)).effect)
        }
        _ => None,
    });
    if let Some(effect) = effect {
        let tables: Vec<QualifiedName> = effect
            .locks
            .iter()
            .filter(|(_, t)| t.kind == lint::classify::ObjKind::Table)
            .map(|(_, t)| qualified(&t.name))
            .filter(|q| !new_tables.contains(q))
            .collect();
        for (mode, target) in &effect.locks {
            let q = qualified(&target.name);
            if !new_tables.contains(&q) {
                step.locks.push(LockTaken {
                    mode: *mode,
                    object: q,
                });
            }
        }
        if effect.scans {
            if let Some(t) = tables.first() {
                step.scans.push(t.clone());
            }
        }
        if effect.rewrites {
            if let Some(t) = tables.first() {
                step.rewrites.push(t.clone());
            }
        }
    }
    step
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

/// Lint the plan's session script with the lock rules. Error-level findings refuse the plan
/// unless blocking steps are accepted; the rest are returned.
fn gate(
    plan: &Plan,
    current: &Model,
    pg_major: u32,
    options: &PlanOptions,
) -> Result<Vec<(usize, Finding)>, PlannerError> {
    let script = plan.session_script();
    let mut facts = lint::DbFacts {
        tables: Some(
            current
                .tables()
                .map(|(s, t)| format!("{}.{}", s.name, t.name))
                .collect(),
        ),
        ..lint::DbFacts::default()
    };
    for (schema, t) in current.tables() {
        let key = format!("{}.{}", schema.name, t.name);
        let types = facts.column_types.entry(key.clone()).or_default();
        for c in t.columns.values() {
            types.insert(c.name.clone(), c.data_type.clone());
            if c.not_null {
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
        pg_version: lint::PgVersion {
            major: if pg_major == 0 { 15 } else { pg_major },
            minor: 0,
        },
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
                "step {step}: {} [{}]\n      {sql}",
                f.message, f.rule
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
