//! The plan as a JSON document for programs: bots that comment on pull requests and policy
//! checks that refuse plans with certain hazards. The schema is `docs/plan-json.md`.
//!
//! The document is built from structs declared here rather than by serializing [`Plan`]
//! directly, so the published schema changes only when this file does: renaming a field of the
//! plan cannot silently break a consumer. Keys appear in the order the structs declare them.
//! `format_version` goes up when a field is removed, renamed or changes meaning; adding a
//! field does not change it.

use serde::Serialize;

use super::Summary;
use crate::model::{ObjectKind, QualifiedName};
use crate::plan::{
    Backfill, BatchKey, Hazard, LockMode, Phase, Plan, TableEstimate, TargetIdentity,
};

/// The version of the JSON document; docs/plan-json.md describes version 1.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    format_version: u32,
    id: String,
    short_id: String,
    formwork_version: &'a str,
    target: &'a TargetIdentity,
    server_major_version: u32,
    source_fingerprint: String,
    desired_fingerprint: String,
    summary: JsonSummary,
    estimates: &'a [TableEstimate],
    unmanaged: Vec<JsonUnmanaged<'a>>,
    steps: Vec<JsonStep<'a>>,
}

#[derive(Serialize)]
struct JsonSummary {
    steps: usize,
    by_phase: indexmap::IndexMap<&'static str, usize>,
    by_hazard: indexmap::IndexMap<&'static str, usize>,
}

#[derive(Serialize)]
struct JsonUnmanaged<'a> {
    kind: ObjectKind,
    description: &'static str,
    name: &'a str,
}

#[derive(Serialize)]
struct JsonStep<'a> {
    number: usize,
    phase: Phase,
    description: &'a str,
    sql: &'a str,
    transactional: bool,
    lock_timeout_ms: u64,
    statement_timeout_ms: u64,
    locks: Vec<JsonLock<'a>>,
    scans: &'a [QualifiedName],
    rewrites: &'a [QualifiedName],
    hazards: &'a [Hazard],
    expected_fingerprint_after: String,
    /// `null` unless the step is a backfill.
    backfill: Option<JsonBackfill<'a>>,
}

#[derive(Serialize)]
struct JsonBackfill<'a> {
    table: &'a QualifiedName,
    /// `"columns"` (a primary or unique key) or `"ctid"` (block ranges).
    key: &'static str,
    key_columns: Vec<JsonKeyColumn<'a>>,
    set: Vec<JsonAssignment<'a>>,
    predicate: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonKeyColumn<'a> {
    name: &'a str,
    data_type: &'a str,
}

#[derive(Serialize)]
struct JsonAssignment<'a> {
    column: &'a str,
    expression: &'a str,
}

fn backfill(b: &Backfill) -> JsonBackfill<'_> {
    let (key, key_columns) = match &b.key {
        BatchKey::Columns(cols) => (
            "columns",
            cols.iter()
                .map(|c| JsonKeyColumn {
                    name: &c.name,
                    data_type: &c.data_type,
                })
                .collect(),
        ),
        BatchKey::Ctid => ("ctid", Vec::new()),
    };
    JsonBackfill {
        table: &b.table,
        key,
        key_columns,
        set: b
            .set
            .iter()
            .map(|a| JsonAssignment {
                column: &a.column,
                expression: &a.expression,
            })
            .collect(),
        predicate: b.predicate.as_deref(),
    }
}

#[derive(Serialize)]
struct JsonLock<'a> {
    mode: LockMode,
    name: &'static str,
    object: &'a QualifiedName,
    blocks_traffic: bool,
    blocks: &'static str,
}

pub(super) fn render(plan: &Plan) -> String {
    let summary = Summary::of(plan);
    let doc = Document {
        format_version: FORMAT_VERSION,
        id: plan.id().to_hex(),
        short_id: plan.id().short(),
        formwork_version: plan.formwork_version(),
        target: plan.target(),
        server_major_version: plan.server_major_version(),
        source_fingerprint: plan.source_fingerprint().to_hex(),
        desired_fingerprint: plan.desired_fingerprint().to_hex(),
        summary: JsonSummary {
            steps: summary.steps,
            by_phase: summary
                .by_phase
                .iter()
                .map(|(p, n)| (p.as_str(), *n))
                .collect(),
            by_hazard: summary
                .by_hazard
                .iter()
                .map(|(k, n)| (k.as_str(), *n))
                .collect(),
        },
        estimates: plan.estimates(),
        unmanaged: plan
            .unmanaged()
            .iter()
            .map(|u| JsonUnmanaged {
                kind: u.kind,
                description: u.kind.describe(),
                name: &u.name,
            })
            .collect(),
        steps: plan
            .steps()
            .iter()
            .enumerate()
            .map(|(i, s)| JsonStep {
                number: i + 1,
                phase: s.phase,
                description: &s.description,
                sql: &s.sql,
                transactional: s.transactional,
                lock_timeout_ms: s.lock_timeout_ms,
                statement_timeout_ms: s.statement_timeout_ms,
                locks: s
                    .locks
                    .iter()
                    .map(|l| JsonLock {
                        mode: l.mode,
                        name: l.mode.name(),
                        object: &l.object,
                        blocks_traffic: l.mode.blocks_traffic(),
                        blocks: l.mode.blocks(),
                    })
                    .collect(),
                scans: &s.scans,
                rewrites: &s.rewrites,
                hazards: &s.hazards,
                expected_fingerprint_after: s.expected_fingerprint_after.to_hex(),
                backfill: s.as_backfill().map(backfill),
            })
            .collect(),
    };
    // Serializing these structs cannot fail (string keys, no maps with other keys), but a
    // rendering must not panic: say so in the output instead.
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("cannot render the plan as JSON: {e}") }).to_string()
    });
    text.push('\n');
    text
}
