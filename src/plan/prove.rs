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
//! Steps that run outside a transaction (`CONCURRENTLY`) cannot be observed from their own
//! session; their locks are the classifier's.

use std::collections::{HashMap, HashSet};

use crate::catalog::fingerprint::{Fingerprint, UnitHashes};
use crate::catalog::{CatalogError, introspect};
use crate::model::{Model, QualifiedName, UnitKey, UnitKind};
use crate::pg::scratch::LazyScratch;

use super::materialize::{self, MaterializeError};
use super::{LockMode, LockTaken, Step};

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
}

/// The outcome of a proof: per step what was observed, and the model the plan ends with.
#[derive(Debug)]
pub struct Proof {
    pub steps: Vec<Observed>,
    pub end: Model,
}

const LOCKS_QUERY: &str = "SELECT l.mode, c.oid::bigint \
     FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
     WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted";

const FILENODES_QUERY: &str = "SELECT c.oid::bigint, n.nspname, c.relname, c.relkind::text, \
     c.relfilenode::bigint \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') \
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')";

/// Run `steps` on a copy of the units of `current` they touch, and record what happens.
/// `desired` names the units the plan ends with; `touched` are units the steps may change
/// beyond those that differ (views recreated because of a table they read).
pub async fn prove(
    current: &Model,
    current_hashes: &UnitHashes,
    desired_hashes: &UnitHashes,
    steps: &[Step],
    scratch: &LazyScratch,
) -> Result<Proof, ProofError> {
    let mut core: HashSet<UnitKey> = current_hashes
        .differing(desired_hashes)
        .into_iter()
        .collect();
    // Views that read a touched table or view may be dropped and recreated by the plan.
    let deps = crate::diff::view_dependencies(current);
    loop {
        let before = core.len();
        for (view, reads) in &deps {
            let vk = UnitKey::new(UnitKind::View, &view.schema, &view.name);
            if !core.contains(&vk)
                && reads.iter().any(|r| {
                    core.contains(&UnitKey::table(r))
                        || core.contains(&UnitKey::new(UnitKind::View, &r.schema, &r.name))
                })
            {
                core.insert(vk);
            }
        }
        if core.len() == before {
            break;
        }
    }
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
    let built = materialize::restricted(current, &on_current);
    let (db, client) = materialize::build(scratch, &built).await?;
    let result = run(&client, current, current_hashes, &core, steps).await;
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

    let relations = relations(client).await?;
    let mut observed = Vec::with_capacity(steps.len());
    let mut last = read;
    for (i, step) in steps.iter().enumerate() {
        let rows = crate::apply::run_step(client, step, Some(LOCKS_QUERY))
            .await
            .map_err(|e| ProofError::StepFailed {
                step: i + 1,
                description: step.description.clone(),
                sql: step.sql.clone(),
                message: crate::apply::error_message(&e),
            })?;
        let after = relations_now(client).await?;
        let locks = step.transactional.then(|| {
            let mut strongest: HashMap<i64, LockMode> = HashMap::new();
            for row in &rows {
                let mode: String = row.get(0);
                let oid: i64 = row.get(1);
                if !relations.contains_key(&oid) {
                    continue;
                }
                if let Ok(m) = mode.parse::<LockMode>() {
                    let e = strongest.entry(oid).or_insert(m);
                    *e = (*e).max(m);
                }
            }
            let mut out: Vec<LockTaken> = strongest
                .into_iter()
                .filter_map(|(oid, mode)| {
                    // Named as the relation is called after the step (it may have been renamed).
                    let name = after.get(&oid).or_else(|| relations.get(&oid))?;
                    Some(LockTaken {
                        mode,
                        object: name.0.clone(),
                    })
                })
                .collect();
            out.sort_by(|a, b| a.object.cmp(&b.object).then(a.mode.cmp(&b.mode)));
            out
        });
        let rewrites: Vec<QualifiedName> = relations
            .iter()
            .filter_map(|(oid, (_, kind, node))| {
                let (name, _, node_after) = after.get(oid)?;
                (kind == "r" && node != node_after).then(|| name.clone())
            })
            .collect();
        last = introspect(client).await?.model;
        let mut h = current_hashes.clone();
        h.replace(core, &last);
        observed.push(Observed {
            fingerprint_after: h.fingerprint(),
            locks,
            rewrites,
        });
    }
    let mut end = current.clone();
    end.replace_units(core, &last);
    Ok(Proof {
        steps: observed,
        end,
    })
}

type Relations = HashMap<i64, (QualifiedName, String, i64)>;

async fn relations(client: &tokio_postgres::Client) -> Result<Relations, ProofError> {
    relations_now(client).await
}

async fn relations_now(client: &tokio_postgres::Client) -> Result<Relations, ProofError> {
    let rows = client
        .query(FILENODES_QUERY, &[])
        .await
        .map_err(|e| ProofError::Scratch(crate::apply::error_message(&e)))?;
    Ok(rows
        .iter()
        .map(|r| {
            let oid: i64 = r.get(0);
            let schema: String = r.get(1);
            let name: String = r.get(2);
            let kind: String = r.get(3);
            let node: i64 = r.get(4);
            (oid, (QualifiedName::new(schema, name), kind, node))
        })
        .collect())
}
