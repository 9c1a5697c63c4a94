//! The diff: what must change to turn one model into another, as ordered SQL drafts.
//!
//! Both models have been read from a catalog (the desired one through a scratch database, see
//! `plan::normalize`), so two objects are equal exactly when PostgreSQL would print them the
//! same way, and any difference is real. Objects are matched by name, or through
//! `renamed_from` when the declaration says so; nothing else is ever guessed to be a rename.
//!
//! Each object kind has one file that knows how to compare it and which statements change it:
//! `schemas` (schemas and extensions), `enums`, `sequences`, `tables` (tables and columns),
//! `constraints`, `indexes`, `views`, `functions` (functions and procedures), `triggers`,
//! `privileges`; `renames` makes table and column renames by expand and
//! contract. They produce [`Draft`]s: one statement each, with the
//! [`Stage`] that orders it, whether it may run in a transaction, the hazards only the planner
//! knows of (data loss, compatibility), and the data loss it needs permission for. Locks, scans
//! and rewrites are not decided here: the lock classifier reads them from the SQL, and the proof
//! checks them against what PostgreSQL really took.
//!
//! Changes to tables that already exist take their online form: indexes built and dropped
//! `CONCURRENTLY`, foreign keys and checks added `NOT VALID` then validated in their own
//! transaction, `SET NOT NULL` proven by a validated check first, unique and primary keys
//! attached to an index built concurrently. Tables created by the same plan need none of this.
//!
//! This module reads two models and writes text; it runs no SQL and reads no catalog.

mod constraints;
pub mod enum_rebuild;
mod enums;
mod functions;
mod indexes;
pub mod matviews;
mod partitions;
mod policies;
mod privileges;
mod renames;
mod retype;
mod schemas;
mod sequences;
mod tables;
pub mod transitional;
mod triggers;
mod types;
mod views;

pub(crate) use functions::calls;
pub use functions::views_calling_units;
pub use partitions::partition_locks;
pub use types::carry_intent as carry_user_type_intent;

use std::collections::HashSet;

use indexmap::IndexMap;

use crate::locks::LockMode;
use crate::model::{DataLoss, DataLossKind, Model, QualifiedName};
use crate::plan::{Hazard, HazardKind, Phase};

/// Where a draft goes in the plan. Drafts are sorted by stage (stable, so drafts of one stage
/// keep the order they were produced in, which matters for multi-step sequences such as
/// `SET NOT NULL`). Everything before [`Stage::Revoke`] is the expand phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    CreateSchema,
    Extension,
    Enum,
    /// Domains, composite and range types: created, renamed, changed in place.
    Type,
    Sequence,
    /// Views dropped to be recreated later in this phase (their query changed, or a column
    /// they read is changing type or going away).
    DropViewForRecreate,
    /// Materialized views reading a table whose columns change shape: after the views that
    /// read them, created again among the views (`matviews`).
    DropMatviewForRecreate,
    /// Triggers dropped to be created again later in this phase (their function is dropped
    /// and created again, or a constraint trigger changes).
    DropTriggerForRecreate,
    /// Functions PostgreSQL cannot replace in place (a new result type, renamed arguments):
    /// dropped here, created again at [`Stage::CreateFunction`].
    DropFunctionForRecreate,
    Rename,
    /// Foreign keys that no longer apply or are replaced: before any key they reference is
    /// dropped or replaced.
    RelaxForeignKeys,
    /// Constraints and defaults that no longer apply, and replaced constraints and indexes:
    /// relaxing happens before the new application version needs it.
    Relax,
    /// A table or view dropped because an object of another kind takes its name: it must go
    /// before its successor is created, so in the expand phase.
    DropForReplace,
    /// Functions and procedures whose bodies are not checked at creation: before the tables
    /// whose defaults and checks may call them.
    CreateFunction,
    CreateTable,
    Columns,
    NotNull,
    /// SQL-language functions, whose bodies are checked at creation: after the new tables
    /// and columns they may name.
    CreateFunctionLate,
    CreateIndex,
    /// An index rebuilt under a temporary name replaces the old one: the old index is dropped
    /// concurrently and the new one renamed, after every build of [`Stage::CreateIndex`].
    ReplaceIndex,
    AddConstraint,
    AddForeignKey,
    Validate,
    SequenceOwner,
    CreateView,
    /// Triggers created or replaced, and their enabled state: after their functions and
    /// tables.
    Trigger,
    /// Row-level security flags and policies: after every relation their expressions may
    /// read exists, before anything they read goes away (`policies`).
    Policy,
    /// `REFRESH MATERIALIZED VIEW` steps a plan was asked for (`--refresh`): last, once
    /// everything the queries read is in its new shape.
    Refresh,
    Comment,
    /// Privileges the declaration adds, once every object they are on exists.
    Grant,
    // Contract: what only the previous application version needed.
    /// Privileges the declaration no longer gives (the previous version may still use them).
    Revoke,
    DropView,
    DropTrigger,
    DropIndex,
    DropColumn,
    DropTable,
    /// After the tables, triggers and columns that used them.
    DropFunction,
    DropSequence,
    /// Domains, composite and range types, after the columns and types that use them.
    DropType,
    DropEnum,
    DropExtension,
    DropSchema,
}

impl Stage {
    pub fn phase(self) -> Phase {
        if self >= Stage::Revoke {
            Phase::Contract
        } else {
            Phase::Expand
        }
    }
}

/// One statement the plan will contain, before it is labelled with locks and proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub stage: Stage,
    /// What the statement does, in words ("add column public.users.email").
    pub description: String,
    pub sql: String,
    pub transactional: bool,
    /// Hazards that the SQL alone does not reveal (the classifier adds lock hazards).
    pub hazards: Vec<Hazard>,
    /// The data loss this statement causes, which the planner refuses unless allowed.
    pub loss: Option<DataLoss>,
    /// Set when the draft is a batched backfill; `sql` is then its batch statement.
    pub backfill: Option<crate::plan::Backfill>,
    /// Locks the statement takes that its SQL does not show, known from the models (dropping
    /// a foreign key also locks the table it references). The planner adds them to the
    /// classifier's, and the proof checks both against what PostgreSQL took.
    pub locks: Vec<(LockMode, QualifiedName)>,
    /// The statement does not scan although its SQL alone would (`SET NOT NULL` after a
    /// validated `CHECK (col IS NOT NULL)`, which PostgreSQL uses as proof).
    pub no_scan: bool,
}

impl Draft {
    fn new(stage: Stage, description: impl Into<String>, sql: impl Into<String>) -> Draft {
        Draft {
            stage,
            description: description.into(),
            sql: sql.into(),
            transactional: true,
            hazards: Vec::new(),
            loss: None,
            backfill: None,
            locks: Vec::new(),
            no_scan: false,
        }
    }

    /// A batched backfill (`plan::backfill`); its SQL is the batch statement.
    fn backfill(stage: Stage, description: impl Into<String>, b: crate::plan::Backfill) -> Draft {
        let mut d = Draft::new(stage, description, b.batch_sql());
        d.backfill = Some(b);
        d
    }

    fn without_scan(mut self) -> Draft {
        self.no_scan = true;
        self
    }

    fn also_locks(mut self, mode: LockMode, table: QualifiedName) -> Draft {
        self.locks.push((mode, table));
        self
    }

    fn outside_transaction(mut self) -> Draft {
        self.transactional = false;
        self
    }

    fn hazard(mut self, kind: HazardKind, message: impl Into<String>) -> Draft {
        self.hazards.push(Hazard {
            kind,
            message: message.into(),
        });
        self
    }

    fn loses(mut self, loss: DataLoss, message: impl Into<String>) -> Draft {
        self.loss = Some(loss);
        self.hazard(HazardKind::DeletesData, message)
    }
}

/// A change the planner cannot make (yet), with the objects concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Unsupported {
    pub message: String,
}

/// The result of a diff: drafts in plan order.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub drafts: Vec<Draft>,
}

impl Diff {
    /// Every data loss the drafts cause, in plan order.
    pub fn losses(&self) -> impl Iterator<Item = (&Draft, &DataLoss)> {
        self.drafts
            .iter()
            .filter_map(|d| d.loss.as_ref().map(|l| (d, l)))
    }
}

/// What the object-kind files share while diffing.
pub(crate) struct Ctx<'a> {
    pub current: &'a Model,
    pub desired: &'a Model,
    /// Tables the plan creates: they are empty and unused, so no online forms are needed.
    pub new_tables: HashSet<QualifiedName>,
    /// Tables (by current name) whose columns change type or go away: views reading them are
    /// recreated.
    pub reshaped_tables: HashSet<QualifiedName>,
    pub drafts: Vec<Draft>,
    pub unsupported: Vec<String>,
    /// The target server's major version: some changes have a better form on newer servers.
    pub pg_major: u32,
    /// `SET NOT NULL` sequences an interrupted apply left half done (see [`transitional`]).
    pub resumed_not_null: transitional::Resumed,
    /// Type changes an interrupted apply left half done: `retype` resumes each with its shadow
    /// column and takes it out; the rest are abandoned (see [`transitional`]).
    pub resumed_retypes: transitional::Retypes,
    /// Functions (all overloads of the name) dropped and created again: the views and
    /// triggers that use them are recreated around them.
    pub replaced_functions: HashSet<QualifiedName>,
    /// Views (desired names) that `views` creates or recreates: their triggers are created
    /// after them.
    pub built_views: HashSet<QualifiedName>,
}

impl Ctx<'_> {
    fn push(&mut self, draft: Draft) {
        self.drafts.push(draft);
    }

    /// What a table of the current model is called once the plan's renames ran (every stage
    /// after [`Stage::Rename`]).
    fn renamed(&self, table: &QualifiedName) -> QualifiedName {
        let Some(schema) = self.desired.schemas.get(&table.schema) else {
            return table.clone();
        };
        if schema.tables.contains_key(&table.name) {
            return table.clone();
        }
        schema
            .tables
            .values()
            .find(|t| t.renamed_from.as_deref() == Some(table.name.as_str()))
            .map_or_else(
                || table.clone(),
                |t| QualifiedName::new(&table.schema, &t.name),
            )
    }

    /// [`temp_name`] for an object of `schema` that no relation or constraint of that schema
    /// uses in either model: a user who happens to own an object of that name gets a
    /// different (still deterministic) name instead of a collision.
    fn fresh_name(&self, purpose: &str, schema: &str, parts: &[&str]) -> String {
        let taken = |name: &str| {
            [self.current, self.desired]
                .iter()
                .filter_map(|m| m.schemas.get(schema))
                .any(|s| schema_uses(s, name))
        };
        let mut n = 0u32;
        loop {
            let salt = n.to_string();
            let mut salted: Vec<&str> = parts.to_vec();
            if n > 0 {
                salted.push(&salt);
            }
            let name = temp_name(purpose, &salted);
            if !taken(&name) {
                return name;
            }
            n += 1;
        }
    }
}

/// Whether `name` is the name of a relation (table, view, sequence, index) or of a constraint
/// of a table in `schema`.
fn schema_uses(schema: &crate::model::Schema, name: &str) -> bool {
    schema.views.contains_key(name)
        || schema
            .materialized_views
            .values()
            .any(|m| m.name == name || m.indexes.contains_key(name))
        || schema.sequences.contains_key(name)
        || schema.enums.contains_key(name)
        || schema.tables.values().any(|t| {
            t.name == name
                || t.indexes.contains_key(name)
                || t.primary_key.as_ref().is_some_and(|pk| pk.name == name)
                || t.uniques.contains_key(name)
                || t.checks.contains_key(name)
                || t.exclusions.contains_key(name)
                || t.foreign_keys.contains_key(name)
        })
}

/// Compare `current` to `desired` and return the statements that turn one into the other, in
/// the order they must run, for a server of major version `pg_major`. Renames follow
/// `renamed_from` in `desired`.
pub fn diff(current: &Model, desired: &Model, pg_major: u32) -> Result<Diff, Unsupported> {
    let separated = transitional::separate(current, desired);
    let current = types::with_renamed_types(&separated.model, desired).unwrap_or(separated.model);
    let mut ctx = Ctx {
        current: &current,
        desired,
        new_tables: HashSet::new(),
        reshaped_tables: HashSet::new(),
        drafts: separated.drafts,
        unsupported: Vec::new(),
        pg_major,
        resumed_not_null: separated.not_null,
        resumed_retypes: separated.retypes,
        replaced_functions: HashSet::new(),
        built_views: HashSet::new(),
    };
    schemas::diff(&mut ctx);
    enums::diff(&mut ctx);
    types::diff(&mut ctx);
    sequences::diff(&mut ctx);
    tables::diff(&mut ctx);
    for ((table, column), shadow) in std::mem::take(&mut ctx.resumed_retypes) {
        ctx.push(transitional::abandon(&table, &column, &shadow.name));
    }
    functions::diff(&mut ctx);
    let created_matviews = matviews::diff(&mut ctx);
    views::diff(&mut ctx, created_matviews);
    triggers::diff(&mut ctx);
    privileges::diff(&mut ctx);
    if !ctx.unsupported.is_empty() {
        return Err(Unsupported {
            message: ctx.unsupported.join("\n"),
        });
    }
    let mut drafts = ctx.drafts;
    drafts.sort_by_key(|d| d.stage);
    Ok(Diff { drafts })
}

/// How the items of a map correspond between the two models.
pub(crate) struct Pairing<'a, T> {
    /// (current, desired, renamed): the same object on both sides.
    pub matched: Vec<(&'a T, &'a T, bool)>,
    pub created: Vec<&'a T>,
    pub dropped: Vec<&'a T>,
}

/// Pair items by name, and through `renamed_from` when the old name exists in `current` and
/// is not itself still declared.
pub(crate) fn pair<'a, T>(
    current: &'a IndexMap<String, T>,
    desired: &'a IndexMap<String, T>,
    renamed_from: impl Fn(&T) -> Option<&String>,
) -> Pairing<'a, T> {
    let mut matched = Vec::new();
    let mut created = Vec::new();
    let mut used: HashSet<&str> = HashSet::new();
    for (name, d) in desired {
        if let Some(c) = current.get(name) {
            matched.push((c, d, false));
            used.insert(name);
            continue;
        }
        match renamed_from(d) {
            Some(old)
                if current.contains_key(old)
                    && !desired.contains_key(old)
                    && !used.contains(old.as_str()) =>
            {
                used.insert(old);
                matched.push((&current[old], d, true));
            }
            _ => created.push(d),
        }
    }
    let dropped = current
        .iter()
        .filter(|(name, _)| !used.contains(name.as_str()))
        .map(|(_, c)| c)
        .collect();
    Pairing {
        matched,
        created,
        dropped,
    }
}

/// [`pair`] for one kind of object, schema by schema: each schema of `desired` against the same
/// schema of `current` (everything created when the schema is new), then the schemas that go
/// away (everything in them dropped).
pub(crate) fn pair_in_schemas<'a, T>(
    current: &'a Model,
    desired: &'a Model,
    items: impl Fn(&'a crate::model::Schema) -> &'a IndexMap<String, T>,
    renamed_from: impl Fn(&T) -> Option<&String> + Copy,
) -> Vec<(&'a str, Pairing<'a, T>)> {
    let mut out = Vec::new();
    for (sname, ds) in &desired.schemas {
        let p = match current.schemas.get(sname) {
            Some(cs) => pair(items(cs), items(ds), renamed_from),
            None => Pairing {
                matched: Vec::new(),
                created: items(ds).values().collect(),
                dropped: Vec::new(),
            },
        };
        out.push((sname.as_str(), p));
    }
    for (sname, cs) in &current.schemas {
        if !desired.schemas.contains_key(sname) {
            out.push((
                sname.as_str(),
                Pairing {
                    matched: Vec::new(),
                    created: Vec::new(),
                    dropped: items(cs).values().collect(),
                },
            ));
        }
    }
    out
}

/// A data loss on an object of a schema.
pub(crate) fn loss(kind: DataLossKind, schema: &str, name: &str, member: Option<&str>) -> DataLoss {
    DataLoss {
        kind,
        schema: Some(schema.to_string()),
        name: name.to_string(),
        member: member.map(str::to_string),
    }
}

/// `COMMENT ON <target> IS '...'`, or `IS NULL` when there is no comment. `target` is SQL
/// (`TABLE "s"."t"`), `what` the same in words (`table s.t`).
pub(crate) fn comment_on(target: String, what: String, text: Option<&str>) -> Draft {
    Draft::new(
        Stage::Comment,
        format!("comment on {what}"),
        format!(
            "COMMENT ON {target} IS {}",
            text.map_or("NULL".to_string(), crate::sql::quote_literal)
        ),
    )
}

/// `"schema"."name"` in SQL.
pub(crate) fn qn(schema: &str, name: &str) -> String {
    crate::sql::qualified(&QualifiedName::new(schema, name))
}

/// `schema.name` for messages.
pub(crate) fn display(schema: &str, name: &str) -> String {
    format!("{schema}.{name}")
}

/// A name for a temporary object: a fixed prefix, the purpose, and a hash of what it is for,
/// within PostgreSQL's 63-byte limit (the purpose is a short word). The same object always gets
/// the same name, so a plan is deterministic; [`Ctx::fresh_name`] steps around user objects.
pub(crate) fn temp_name(purpose: &str, parts: &[&str]) -> String {
    let mut hasher = blake3::Hasher::new();
    for p in parts {
        hasher.update(p.as_bytes());
        hasher.update(&[0]);
    }
    let hex = hasher.finalize().to_hex();
    format!("formwork_{purpose}_{}", &hex[..16])
}

/// The unit of the relation `q` of `model`: its view or materialized view, a table otherwise.
pub fn relation_unit(model: &Model, q: &QualifiedName) -> crate::model::UnitKey {
    use crate::model::{UnitKey, UnitKind};
    let s = model.schemas.get(&q.schema);
    let kind = if s.is_some_and(|s| s.views.contains_key(&q.name)) {
        UnitKind::View
    } else if s.is_some_and(|s| s.materialized_views.contains_key(&q.name)) {
        UnitKind::MaterializedView
    } else {
        UnitKind::Table
    };
    UnitKey::new(kind, &q.schema, &q.name)
}

/// The tables, views and materialized views of `model` by (schema, name), for [`view_reads`].
pub fn relation_names(model: &Model) -> HashSet<(&str, &str)> {
    model
        .schemas
        .values()
        .flat_map(|s| {
            s.tables
                .keys()
                .chain(s.views.keys())
                .chain(s.materialized_views.keys())
                .map(move |n| (s.name.as_str(), n.as_str()))
        })
        .collect()
}

/// The relations of `known` that a view of `schema` with this query reads.
pub fn view_reads(known: &HashSet<(&str, &str)>, schema: &str, query: &str) -> Vec<QualifiedName> {
    crate::ddl::views::referenced_views(schema, query, known)
        .into_iter()
        .map(|(s, n)| QualifiedName::new(s, n))
        .collect()
}

/// For each view of `model`, the tables and views its query reads (found by parsing the query;
/// see `ddl::views`).
pub fn view_dependencies(
    model: &Model,
) -> std::collections::HashMap<QualifiedName, Vec<QualifiedName>> {
    views::dependencies(model)
        .into_iter()
        .map(|((s, n), reads)| {
            (
                QualifiedName::new(s, n),
                reads
                    .into_iter()
                    .map(|(s, n)| QualifiedName::new(s, n))
                    .collect(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
