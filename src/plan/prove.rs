//! The proof: run the plan on a copy of the target's schema before anyone sees it.
//!
//! The units the plan touches are rebuilt in a scratch database from the target's model (with
//! the context they need, see `materialize`), checked to read back exactly as the target's, and
//! then every step runs there the way `apply` will run it. After each step the catalog is read
//! back and the fingerprint of the whole state (the target's untouched units plus the scratch
//! database's touched ones) is recorded: it is what `apply` expects after that step. The locks
//! a transactional step really took are read from `pg_locks` before its commit, and a table
//! whose relfilenode changed was rewritten. A plan whose last state is not the declared one is
//! never written.
//!
//! Each transactional step's declared locks are compared with the observed ones on the tables
//! that existed before the plan, table by table, on the strongest mode: a step that takes more
//! (or less) than it says is mislabelled, and the planner refuses the plan. ACCESS SHARE alone
//! is left out of the comparison on both sides: it conflicts only with ACCESS EXCLUSIVE, so it
//! cannot stall traffic, and PostgreSQL takes it incidentally (a view's query, a foreign key's
//! lookup) where the SQL does not show it.
//!
//! Steps that run outside a transaction (`CONCURRENTLY`) cannot be observed from their own
//! session; their locks are the classifier's. Their rewrites are observed like any other.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::catalog::fingerprint::{Fingerprint, UnitHashes};
use crate::catalog::{CatalogError, introspect, observe};
use crate::model::{Model, QualifiedName, UnitKey, UnitKind};
use crate::pg::scratch::LazyScratch;

use super::materialize::{self, MaterializeError};
use super::{LockTaken, Step};

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("rebuilding the target's schema in a scratch database failed: {0}")]
    Rebuild(#[from] MaterializeError),
    #[error(
        "the target's schema does not read back the same from a scratch database ({units}); \
         formwork cannot prove a plan for it"
    )]
    Unfaithful { units: String },
    #[error("step {step} ({description}) fails on a copy of the target: {message}\n  {sql}")]
    StepFailed {
        step: usize,
        description: String,
        sql: String,
        message: String,
    },
    #[error("reading the scratch database failed: {0}")]
    Catalog(#[from] CatalogError),
    #[error("{0}")]
    Scratch(String),
}

/// What running a step in the scratch database showed.
#[derive(Debug, Clone)]
pub struct Observed {
    pub fingerprint_after: Fingerprint,
    /// Strongest lock per relation that existed before the plan (transactional steps only).
    pub locks: Option<Vec<LockTaken>>,
    /// Tables whose storage was rewritten.
    pub rewrites: Vec<QualifiedName>,
    /// When the step's declared locks on pre-existing tables differ from what it took: both
    /// sides, strongest mode per table, named as the tables were called before the step.
    pub lock_mismatch: Option<LockMismatch>,
}

/// Declared and observed locks of a step that do not agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockMismatch {
    pub declared: Vec<LockTaken>,
    pub observed: Vec<LockTaken>,
}

/// The outcome of a proof: per step what was observed, and the model the plan ends with.
#[derive(Debug)]
pub struct Proof {
    pub steps: Vec<Observed>,
    pub end: Model,
}

/// Run `steps` on a copy of the units of `current` they touch, and record what happens.
/// `desired` is the state the plan ends with.
pub async fn prove(
    current: &Model,
    current_hashes: &UnitHashes,
    desired: &Model,
    desired_hashes: &UnitHashes,
    steps: &[Step],
    scratch: &LazyScratch,
    progress: &super::planner::Progress,
) -> Result<Proof, ProofError> {
    let mut core: HashSet<UnitKey> = current_hashes
        .differing(desired_hashes)
        .into_iter()
        .collect();
    // A table a step locks is changed by it even when its declaration is not (the columns
    // of an enum being rebuilt are converted to its copy and back under the old name).
    for step in steps {
        for l in &step.locks {
            let key = crate::diff::relation_unit(current, &l.object);
            if current.has_unit(&key) {
                core.insert(key);
            }
        }
    }
    // Views calling a changed function may be dropped and recreated with it.
    for v in crate::diff::views_calling_units(current, &core) {
        core.insert(UnitKey::new(UnitKind::View, &v.schema, &v.name));
    }
    // Views that read a touched table or view may be dropped and recreated by the plan.
    let deps = crate::diff::view_dependencies(current);
    loop {
        let before = core.len();
        for (view, reads) in &deps {
            let vk = UnitKey::new(UnitKind::View, &view.schema, &view.name);
            if !core.contains(&vk)
                && reads
                    .iter()
                    .any(|r| core.contains(&crate::diff::relation_unit(current, r)))
            {
                core.insert(vk);
            }
        }
        if core.len() == before {
            break;
        }
    }
    // A renamed table may leave a view under its old name until the contract phase
    // (`diff::renames`): that name is touched as a view too.
    let views_of_tables: Vec<UnitKey> = core
        .iter()
        .filter(|k| k.kind == UnitKind::Table)
        .map(|k| UnitKey::new(UnitKind::View, &k.schema, &k.name))
        .collect();
    core.extend(views_of_tables);
    for key in current.unit_keys() {
        if matches!(key.kind, UnitKind::Extension | UnitKind::Schema) {
            core.insert(key);
        }
    }
    let on_current: HashSet<UnitKey> = core
        .iter()
        .filter(|k| current.has_unit(k))
        .cloned()
        .collect();
    // What the plan's new and changed units need on the desired side (a foreign key's target,
    // a sequence's owner, what a view reads) must exist in the copy too, as context.
    let on_desired: HashSet<UnitKey> = core
        .iter()
        .filter(|k| desired.has_unit(k))
        .cloned()
        .collect();
    // Only tables and views: sequences and enums come with any build (or with the tables whose
    // defaults name them), and pulling a sequence in as context would pull its owner too.
    let needed: HashSet<UnitKey> = materialize::context(desired, &on_desired)
        .into_iter()
        .filter(|k| {
            matches!(
                k.kind,
                UnitKind::Table | UnitKind::View | UnitKind::MaterializedView
            )
        })
        .filter(|k| current.has_unit(k) && !core.contains(k))
        .collect();
    let built = materialize::restricted_with(current, &on_current, &needed);
    let t = std::time::Instant::now();
    let (db, client) = materialize::build(scratch, &built).await?;
    progress.say(t, || {
        format!(
            "rebuilt {} touched units of the target ({} tables with context) in a scratch database",
            on_current.len(),
            built.tables().count()
        )
    });
    let result = run(&client, current, current_hashes, &core, steps, progress).await;
    drop(client);
    let _ = db.drop_now().await;
    result
}

async fn run(
    client: &tokio_postgres::Client,
    current: &Model,
    current_hashes: &UnitHashes,
    core: &HashSet<UnitKey>,
    steps: &[Step],
    progress: &super::planner::Progress,
) -> Result<Proof, ProofError> {
    // The rebuild must read back as the target: otherwise fingerprints proven here would never
    // match the target's.
    let read = introspect(client).await?.model;
    let mut hashes = current_hashes.clone();
    hashes.replace(core, &read);
    if hashes != *current_hashes {
        let units: Vec<String> = hashes
            .differing(current_hashes)
            .iter()
            .map(|k| k.to_string())
            .collect();
        return Err(ProofError::Unfaithful {
            units: units.join(", "),
        });
    }

    let before = observe::relations(client).await?;
    let mut previous = before.clone();
    let mut observed = Vec::with_capacity(steps.len());
    let mut last = read;
    for (i, step) in steps.iter().enumerate() {
        let t = std::time::Instant::now();
        let rows = crate::apply::run_step(client, step, Some(observe::HELD_LOCKS))
            .await
            .map_err(|e| ProofError::StepFailed {
                step: i + 1,
                description: step.description.clone(),
                sql: step.sql.clone(),
                message: crate::apply::error_message(&e),
            })?;
        let after = observe::relations(client).await?;
        // Only relations that existed before the plan count: locks on what the plan itself
        // creates block nobody. They are named as they are called after the step.
        let locks = step.transactional.then(|| {
            let mut out: Vec<LockTaken> = observe::held_locks(&rows)
                .into_iter()
                .filter(|(oid, _)| before.contains_key(oid))
                .filter_map(|(oid, mode)| {
                    let rel = after.get(&oid).or_else(|| before.get(&oid))?;
                    Some(LockTaken {
                        mode,
                        object: rel.name.clone(),
                    })
                })
                .collect();
            out.sort_by(|a, b| a.object.cmp(&b.object).then(a.mode.cmp(&b.mode)));
            out
        });
        let lock_mismatch = if step.transactional {
            compare_locks(step, &observe::held_locks(&rows), &before, &previous)
        } else {
            None
        };
        let rewrites: Vec<QualifiedName> = previous
            .iter()
            .filter(|(oid, _)| before.contains_key(oid))
            .filter_map(|(oid, rel)| {
                let now = after.get(oid)?;
                (rel.kind == 'r' && rel.filenode != now.filenode).then(|| now.name.clone())
            })
            .collect();
        previous = after;
        last = introspect(client).await?.model;
        let mut h = current_hashes.clone();
        // A unit the target does not have was made by the plan, even when the declaration
        // does not have it either (the copy of an enum being rebuilt).
        let mut made = core.clone();
        made.extend(
            last.unit_keys()
                .into_iter()
                .filter(|k| !current.has_unit(k)),
        );
        h.replace(&made, &last);
        progress.say(t, || {
            format!(
                "  step {} of {} proven: {}",
                i + 1,
                steps.len(),
                step.description
            )
        });
        observed.push(Observed {
            fingerprint_after: h.fingerprint(),
            locks,
            rewrites,
            lock_mismatch,
        });
    }
    let mut end = current.clone();
    end.replace_units(core, &last);
    Ok(Proof {
        steps: observed,
        end,
    })
}

/// The step's declared locks against `held` (strongest mode by OID), on the tables of `before`
/// (the state before the plan) that still exist in `previous` (the state before this step).
fn compare_locks(
    step: &Step,
    held: &HashMap<i64, crate::locks::LockMode>,
    before: &HashMap<i64, observe::Relation>,
    previous: &HashMap<i64, observe::Relation>,
) -> Option<LockMismatch> {
    use crate::locks::LockMode;
    let existing: HashMap<&QualifiedName, i64> = previous
        .iter()
        .filter(|(oid, _)| before.get(oid).is_some_and(|r| matches!(r.kind, 'r' | 'p')))
        .map(|(oid, rel)| (&rel.name, *oid))
        .collect();
    let strongest = |pairs: &mut dyn Iterator<Item = (i64, LockMode)>| {
        let mut out: BTreeMap<QualifiedName, LockMode> = BTreeMap::new();
        for (oid, mode) in pairs {
            if mode == LockMode::AccessShare {
                continue;
            }
            if let Some(rel) = previous.get(&oid) {
                let e = out.entry(rel.name.clone()).or_insert(mode);
                *e = (*e).max(mode);
            }
        }
        out
    };
    let declared = strongest(
        &mut step
            .locks
            .iter()
            .filter_map(|l| existing.get(&l.object).map(|oid| (*oid, l.mode))),
    );
    let observed = strongest(
        &mut held
            .iter()
            .filter(|(oid, _)| existing.values().any(|o| o == *oid))
            .map(|(oid, mode)| (*oid, *mode)),
    );
    if declared == observed {
        return None;
    }
    let list = |m: BTreeMap<QualifiedName, LockMode>| {
        m.into_iter()
            .map(|(object, mode)| LockTaken { mode, object })
            .collect()
    };
    Some(LockMismatch {
        declared: list(declared),
        observed: list(observed),
    })
}
