//! Normalization: the declaration as PostgreSQL itself would print it.
//!
//! A declaration says `varchar(20)`, `now()` or `x > 0`; a catalog says `character
//! varying(20)`, `now()` and `(x > 0)`. Rather than teach formwork every spelling rule, the
//! declared units that differ from the target are created in a scratch database and read back
//! with the same introspection that reads the target, so the two sides are compared in the
//! same words and any remaining difference is real.
//!
//! A declared unit equal to the target's (the fast path for a declaration made by `dump`) is
//! already in normal form and is not materialized: the cost follows what changed. Declaration-
//! only intent (`renamed_from`, `allow_data_loss`) does not survive a round trip through a
//! catalog and is carried over from the declaration.

use std::collections::HashSet;

use crate::catalog::fingerprint::UnitHashes;
use crate::catalog::{CatalogError, introspect};
use crate::model::{Model, Schema, Table, UnitKey, UnitKind};
use crate::pg::scratch::LazyScratch;

use super::materialize::{self, MaterializeError};

#[derive(Debug, thiserror::Error)]
pub enum NormalizeError {
    #[error(transparent)]
    Materialize(#[from] MaterializeError),
    #[error("reading the scratch database back failed: {0}")]
    Catalog(#[from] CatalogError),
}

/// The declared model in normal form, given the hashes of the target's units (already normal)
/// to skip units that are equal. Returns the model and the number of units that had to be materialized.
pub async fn normalize(
    declared: &Model,
    current_hashes: &UnitHashes,
    scratch: &LazyScratch,
) -> Result<(Model, usize), NormalizeError> {
    let declared_hashes = UnitHashes::of(declared);
    let core: HashSet<UnitKey> = declared_hashes
        .differing(current_hashes)
        .into_iter()
        .filter(|k| declared.has_unit(k))
        .collect();
    if core.is_empty() {
        return Ok((declared.clone(), 0));
    }
    let built = materialize::restricted(declared, &core);
    let (db, client) = materialize::build(scratch, &built).await?;
    let read = introspect(&client).await;
    drop(client);
    let _ = db.drop_now().await;
    let read = read?.model;

    let mut replace = core.clone();
    for key in declared.unit_keys() {
        if matches!(key.kind, UnitKind::Extension | UnitKind::Schema) {
            replace.insert(key);
        }
    }
    let mut out = declared.clone();
    out.replace_units(&replace, &read);
    // A function's key is its signature, which PostgreSQL rewrites (`int` reads back as
    // `integer`): a declared key may not exist in the copy. Every function is built as
    // context, so all of them are taken from the copy, under the keys it gives them.
    if core.iter().any(|k| k.kind == UnitKind::Function) {
        for (sname, s) in out.schemas.iter_mut() {
            s.functions = read
                .schemas
                .get(sname)
                .map(|r| r.functions.clone())
                .unwrap_or_default();
        }
    }
    carry_intent(&mut out, declared);
    Ok((out, core.len()))
}

/// Copy `renamed_from` (everywhere), `allow_data_loss`, `backfills`, `conversions` and
/// `atomic_renames` from the declaration.
pub fn carry_intent(into: &mut Model, declared: &Model) {
    into.allow_data_loss = declared.allow_data_loss.clone();
    into.backfills = declared.backfills.clone();
    into.conversions = declared.conversions.clone();
    into.enum_replacements = declared.enum_replacements.clone();
    into.atomic_renames = declared.atomic_renames.clone();
    for (sname, ds) in &declared.schemas {
        let Some(s) = into.schemas.get_mut(sname) else {
            continue;
        };
        carry_schema(s, ds);
    }
}

fn carry_schema(s: &mut Schema, ds: &Schema) {
    for (n, de) in &ds.enums {
        if let Some(e) = s.enums.get_mut(n) {
            e.renamed_from = de.renamed_from.clone();
            for v in e.values.iter_mut() {
                if let Some(dv) = de.values.iter().find(|dv| dv.name == v.name) {
                    v.renamed_from = dv.renamed_from.clone();
                }
            }
        }
    }
    crate::diff::carry_user_type_intent(s, ds);
    for (n, dq) in &ds.sequences {
        if let Some(q) = s.sequences.get_mut(n) {
            q.renamed_from = dq.renamed_from.clone();
        }
    }
    for (n, dv) in &ds.views {
        if let Some(v) = s.views.get_mut(n) {
            v.renamed_from = dv.renamed_from.clone();
        }
    }
    for (n, dm) in &ds.materialized_views {
        if let Some(m) = s.materialized_views.get_mut(n) {
            m.renamed_from = dm.renamed_from.clone();
            for (i, di) in &dm.indexes {
                if let Some(x) = m.indexes.get_mut(i) {
                    x.renamed_from = di.renamed_from.clone();
                }
            }
        }
    }
    for (n, dt) in &ds.tables {
        if let Some(t) = s.tables.get_mut(n) {
            carry_table(t, dt);
        }
    }
    // Functions by name and number of arguments: their keys may have been normalized.
    for f in s.functions.values_mut() {
        let mut same = ds
            .functions
            .values()
            .filter(|d| d.name == f.name && d.arguments.len() == f.arguments.len());
        if let (Some(d), None) = (same.next(), same.next()) {
            f.renamed_from = d.renamed_from.clone();
        }
    }
}

fn carry_table(t: &mut Table, dt: &Table) {
    t.renamed_from = dt.renamed_from.clone();
    for (n, dc) in &dt.columns {
        if let Some(c) = t.columns.get_mut(n) {
            c.renamed_from = dc.renamed_from.clone();
        }
    }
    if let (Some(pk), Some(dpk)) = (t.primary_key.as_mut(), dt.primary_key.as_ref()) {
        pk.renamed_from = dpk.renamed_from.clone();
    }
    macro_rules! carry {
        ($field:ident) => {
            for (n, d) in &dt.$field {
                if let Some(x) = t.$field.get_mut(n) {
                    x.renamed_from = d.renamed_from.clone();
                }
            }
        };
    }
    carry!(uniques);
    carry!(foreign_keys);
    carry!(checks);
    carry!(exclusions);
    carry!(indexes);
    carry!(triggers);
    carry!(policies);
}
