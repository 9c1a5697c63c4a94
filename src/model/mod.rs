//! The schema model: one type for both sides of every comparison.
//!
//! A [`Model`] is what a set of KDL files declares and also what the catalog of a live database
//! contains. "Converged" means the two are equal, and the catalog fingerprint is a hash of a
//! model's canonical form (see `catalog::fingerprint`).
//!
//! This module is plain data: no I/O, no SQL generation, no parsing. Those live in `kdl`,
//! `catalog` and `ddl`, which all speak this type.
//!
//! Conventions that every producer of a model follows:
//! - Maps (`IndexMap`) are unordered as far as meaning goes: `IndexMap`'s equality ignores order
//!   and the fingerprint sorts them. Their insertion order is only the display order (columns in
//!   `attnum` order, everything else sorted by name when read from the catalog).
//! - `Vec`s are ordered and their order is meaningful (enum labels, key columns, index keys).
//! - SQL fragments (types, defaults, expressions, view queries) are kept as text. Normal form
//!   comes from PostgreSQL itself: the catalog prints them its own way, so two models are only
//!   compared once both were read from a catalog (the desired one through a scratch database).
//! - Names are stored unquoted, exactly as the catalog spells them. Quoting happens in one place,
//!   `crate::sql`, when SQL is generated.
//! - Declaration-only intent (`renamed_from`) is never read from a catalog and is left out of
//!   the fingerprint.

use indexmap::IndexMap;

mod functions;
mod privileges;
mod types;
mod units;
pub use functions::*;
pub use privileges::{
    DEFAULT_GRANT_KINDS, DefaultGrant, Grant, Grantee, exploded, exploded_defaults,
    normalize_default_grants, normalize_grants, privilege_rank,
};
use serde::{Deserialize, Serialize};
pub use types::{CompositeAttribute, CompositeType, Domain, DomainCheck, RangeType};
pub use units::{UnitKey, UnitKind};

/// A whole database as formwork manages it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Model {
    /// Extensions by name (extensions are database-wide; each lives in one schema).
    pub extensions: IndexMap<String, Extension>,
    /// Schemas by name.
    pub schemas: IndexMap<String, Schema>,
    /// Losses of data the declaration accepts (`allow-data-loss` in KDL): the planner refuses
    /// to drop a table, column, enum, enum value, sequence or extension, or to narrow a column's
    /// type, unless it is listed here or `--allow-destructive` is given. Declaration-only
    /// intent like `renamed_from`: never read from a catalog, not part of equality or of the
    /// fingerprint.
    #[serde(skip)]
    pub allow_data_loss: Vec<DataLoss>,
    /// How to fill new columns in existing rows (`backfill=` on a KDL column). Declaration-only
    /// intent like `renamed_from`: never read from a catalog, not part of equality or of the
    /// fingerprint, and only used when the column is added to a table that already exists.
    #[serde(skip)]
    pub backfills: Vec<ColumnBackfill>,
    /// How to convert existing values when a column's type changes (`using=` on a KDL column):
    /// an expression over the row's columns as they are before the change. Declaration-only
    /// intent like `backfills`: not part of equality or of the fingerprint, and only used by the
    /// plan that changes the column's type.
    #[serde(skip)]
    pub conversions: Vec<ColumnBackfill>,
    /// Values removed from an enum and the declared value their rows get instead (`removed
    /// "old" replaced-by="new"` in an enum block). Declaration-only intent like `conversions`:
    /// used by the plan that rebuilds the type (`diff::enum_rebuild`).
    #[serde(skip)]
    pub enum_replacements: Vec<EnumReplacement>,
    /// Renames the running application tolerates being atomic (`rename="atomic"` next to
    /// `renamed-from` in KDL): a table (`column` is `None`) or a column, by its declared name.
    /// Other renames are made by expand and contract. Declaration-only intent like
    /// `renamed_from`.
    #[serde(skip)]
    pub atomic_renames: Vec<AtomicRename>,
}

/// A declared replacement of a removed enum value: rows of `type_name` holding `value` get
/// `replaced_by`, a value the enum declares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EnumReplacement {
    pub type_name: QualifiedName,
    pub value: String,
    pub replaced_by: String,
}

/// A rename declared atomic: the table `table` (declared name), or its column `column`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AtomicRename {
    pub table: QualifiedName,
    pub column: Option<String>,
}

/// A declared backfill: the SQL expression existing rows of `table` get in the new `column`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ColumnBackfill {
    pub table: QualifiedName,
    pub column: String,
    pub expression: String,
}

impl Model {
    /// The declared conversion (`using=`) of a column whose type changes, if any.
    pub fn conversion_of(&self, table: &QualifiedName, column: &str) -> Option<&str> {
        self.conversions
            .iter()
            .find(|b| &b.table == table && b.column == column)
            .map(|b| b.expression.as_str())
    }

    /// The declared replacement of a value removed from enum `type_name`, if any.
    pub fn replacement_of(&self, type_name: &QualifiedName, value: &str) -> Option<&str> {
        self.enum_replacements
            .iter()
            .find(|r| &r.type_name == type_name && r.value == value)
            .map(|r| r.replaced_by.as_str())
    }

    /// Whether the rename of table `table` (`column` `None`) or of its column is declared
    /// atomic (`rename="atomic"`).
    pub fn rename_is_atomic(&self, table: &QualifiedName, column: Option<&str>) -> bool {
        self.atomic_renames
            .iter()
            .any(|r| &r.table == table && r.column.as_deref() == column)
    }

    /// The declared backfill expression of a column, if any.
    pub fn backfill_of(&self, table: &QualifiedName, column: &str) -> Option<&str> {
        self.backfills
            .iter()
            .find(|b| &b.table == table && b.column == column)
            .map(|b| b.expression.as_str())
    }
}

impl PartialEq for Model {
    fn eq(&self, other: &Self) -> bool {
        self.extensions == other.extensions && self.schemas == other.schemas
    }
}

impl Eq for Model {}

/// One declared acceptance of data loss. `schema` is `None` only for extensions; `member` is
/// the column of a table or the value of an enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DataLoss {
    pub kind: DataLossKind,
    pub schema: Option<String>,
    pub name: String,
    pub member: Option<String>,
}

/// What a [`DataLoss`] allows to lose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DataLossKind {
    /// Dropping the table and its rows.
    Table,
    /// Dropping the column or narrowing its type (values that do not fit are lost or refused).
    Column,
    /// Dropping the enum type.
    Enum,
    /// Removing a value from an enum.
    EnumValue,
    /// Dropping the sequence and its current value.
    Sequence,
    /// Dropping the extension and the objects it owns.
    Extension,
    /// Dropping a domain, composite or range type (`allow-data-loss "type" <name>`).
    Type,
    /// Dropping an attribute of a composite type or narrowing its type.
    Attribute,
}

/// A schema and the objects in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub name: String,
    pub comment: Option<String>,
    pub enums: IndexMap<String, Enum>,
    pub sequences: IndexMap<String, Sequence>,
    pub tables: IndexMap<String, Table>,
    pub views: IndexMap<String, View>,
    /// Functions and procedures by signature (`name(argtype, ...)`, see [`Function::key`]):
    /// overloads are different objects.
    pub functions: IndexMap<String, Function>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub materialized_views: IndexMap<String, MaterializedView>,
    /// Domains, composite types and range types (`model::types`).
    pub domains: IndexMap<String, Domain>,
    pub composites: IndexMap<String, CompositeType>,
    pub ranges: IndexMap<String, RangeType>,
    /// Privileges on the schema itself (not on `public`, whose access list each major
    /// initialises differently and which formwork never creates).
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Privileges roles' future objects in this schema get (`ALTER DEFAULT PRIVILEGES ... IN
    /// SCHEMA`), also on `public`.
    #[serde(default)]
    pub default_grants: Vec<DefaultGrant>,
}

/// `CREATE EXTENSION`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub name: String,
    /// Schema the extension's objects live in.
    pub schema: String,
    /// Installed version; `None` in a declaration means "whatever is the default".
    pub version: Option<String>,
    pub comment: Option<String>,
}

/// A schema-qualified name of a relation or type, unquoted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for QualifiedName {
    /// Human-readable `schema.name` (not SQL: use `crate::sql::qualified` for that).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// An enum type with its labels in sort order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enum {
    pub name: String,
    pub values: Vec<EnumValue>,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumValue {
    pub name: String,
    pub renamed_from: Option<String>,
}

/// Options shared by sequences and identity columns. `None` means PostgreSQL's default for the
/// sequence's data type and direction; producers store `None` rather than a value equal to the
/// default, so a declaration that omits an option equals a catalog that has the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceOptions {
    /// `smallint`, `integer` or `bigint`; `None` = `bigint` for a sequence, the column's type
    /// for an identity.
    pub data_type: Option<String>,
    pub start: Option<i64>,
    pub increment: Option<i64>,
    pub min_value: Option<i64>,
    pub max_value: Option<i64>,
    pub cache: Option<i64>,
    pub cycle: bool,
}

/// A standalone sequence (serial columns own theirs through `owned_by`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    pub name: String,
    pub options: SequenceOptions,
    pub owned_by: Option<ColumnRef>,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
    #[serde(default)]
    pub grants: Vec<Grant>,
}

/// A column of a table, for `OWNED BY` and the like.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ColumnRef {
    pub table: QualifiedName,
    pub column: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Persistence {
    #[default]
    Permanent,
    Unlogged,
}

/// A table with its columns, constraints and indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub persistence: Persistence,
    /// In `attnum` order for display; column order is not part of equality.
    pub columns: IndexMap<String, Column>,
    pub primary_key: Option<PrimaryKey>,
    pub uniques: IndexMap<String, Unique>,
    pub foreign_keys: IndexMap<String, ForeignKey>,
    pub checks: IndexMap<String, Check>,
    pub exclusions: IndexMap<String, Exclusion>,
    /// Indexes that do not back a constraint.
    pub indexes: IndexMap<String, Index>,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
    /// Triggers on the table, by name.
    pub triggers: IndexMap<String, Trigger>,
    /// `ENABLE` / `FORCE ROW LEVEL SECURITY`.
    #[serde(default, skip_serializing_if = "RowSecurity::is_off")]
    pub row_security: RowSecurity,
    /// Row-level security policies by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub policies: IndexMap<String, Policy>,
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// The partition key of a partitioned table as PostgreSQL prints it
    /// (`pg_get_partkeydef`: `RANGE (created_at)`, `LIST (region)`, `HASH (id)`).
    #[serde(default)]
    pub partition_by: Option<String>,
    /// Set when the table is a partition. A partition holds only what is its own: columns,
    /// their NOT NULLs and defaults, constraints and indexes come from the parent and are not
    /// repeated; local constraints and indexes are kept.
    #[serde(default)]
    pub partition_of: Option<Partition>,
}

/// Where a partition sits: its parent and its bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    pub parent: QualifiedName,
    /// The bound as `pg_get_expr(relpartbound)` prints it: `FOR VALUES FROM (...) TO (...)`,
    /// `FOR VALUES IN (...)`, `FOR VALUES WITH (modulus m, remainder r)` or `DEFAULT`.
    pub bound: String,
}

/// The row-level security flags of a table (`relrowsecurity`, `relforcerowsecurity`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowSecurity {
    /// `ENABLE ROW LEVEL SECURITY`: policies apply to everyone but the owner and superusers.
    pub enabled: bool,
    /// `FORCE ROW LEVEL SECURITY`: policies apply to the table's owner too.
    pub forced: bool,
}

impl RowSecurity {
    pub fn is_off(&self) -> bool {
        !self.enabled && !self.forced
    }
}

/// The command a policy applies to (`FOR ...`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyCommand {
    #[default]
    All,
    Select,
    Insert,
    Update,
    Delete,
}

impl PolicyCommand {
    /// The SQL keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            PolicyCommand::All => "ALL",
            PolicyCommand::Select => "SELECT",
            PolicyCommand::Insert => "INSERT",
            PolicyCommand::Update => "UPDATE",
            PolicyCommand::Delete => "DELETE",
        }
    }
}

/// `CREATE POLICY name ON table AS PERMISSIVE|RESTRICTIVE FOR command TO roles USING (...)
/// WITH CHECK (...)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    /// `AS PERMISSIVE` (the default) or `AS RESTRICTIVE` (`false`).
    pub permissive: bool,
    pub command: PolicyCommand,
    /// Role names, sorted and unique; [`Policy::PUBLIC`] stands for `PUBLIC` (no role can have
    /// that name).
    pub roles: Vec<String>,
    /// The `USING` expression, without parentheses.
    pub using: Option<String>,
    /// The `WITH CHECK` expression, without parentheses.
    pub with_check: Option<String>,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

impl Policy {
    /// The spelling of `PUBLIC` in [`Policy::roles`].
    pub const PUBLIC: &'static str = "public";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The full type as SQL text, arrays and modifiers included (`numeric(10,2)`, `text[]`).
    pub data_type: String,
    pub not_null: bool,
    /// Default expression as SQL text. Identity and generated columns have none.
    pub default: Option<String>,
    pub identity: Option<Identity>,
    pub generated: Option<Generated>,
    /// Collation when not the type's default.
    pub collation: Option<String>,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
    /// Column privileges (`GRANT SELECT (col)`), besides those on the whole table.
    #[serde(default)]
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentityKind {
    Always,
    ByDefault,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub kind: IdentityKind,
    pub options: SequenceOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GeneratedKind {
    Stored,
    /// PostgreSQL 18+.
    Virtual,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generated {
    pub expression: String,
    pub kind: GeneratedKind,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Deferrable {
    #[default]
    NotDeferrable,
    InitiallyImmediate,
    InitiallyDeferred,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryKey {
    pub name: String,
    pub columns: Vec<String>,
    pub include: Vec<String>,
    pub deferrable: Deferrable,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unique {
    pub name: String,
    pub columns: Vec<String>,
    pub include: Vec<String>,
    /// `NULLS NOT DISTINCT` (PostgreSQL 15+).
    pub nulls_not_distinct: bool,
    pub deferrable: Deferrable,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FkAction {
    #[default]
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FkMatch {
    #[default]
    Simple,
    Full,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub references: QualifiedName,
    pub referenced_columns: Vec<String>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
    pub match_type: FkMatch,
    pub deferrable: Deferrable,
    /// `false` for a constraint added `NOT VALID` and not validated since.
    pub valid: bool,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    /// The boolean expression, without the surrounding `CHECK (...)`.
    pub expression: String,
    pub no_inherit: bool,
    pub valid: bool,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

/// `EXCLUDE USING method (element WITH operator, ...)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    pub name: String,
    pub method: String,
    pub elements: Vec<ExclusionElement>,
    pub include: Vec<String>,
    pub predicate: Option<String>,
    pub deferrable: Deferrable,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExclusionElement {
    pub key: IndexKey,
    pub operator: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    pub unique: bool,
    /// Access method (`btree`, `gin`, `gist`, ...).
    pub method: String,
    pub keys: Vec<IndexKey>,
    pub include: Vec<String>,
    /// Partial index predicate, without `WHERE`.
    pub predicate: Option<String>,
    pub nulls_not_distinct: bool,
    /// `false` for an INVALID index (a failed concurrent build). A declaration is always valid,
    /// so an invalid index in a catalog is a difference to repair.
    pub valid: bool,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

/// One key of an index: a column or an expression, with its ordering options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKeyTarget {
    Column(String),
    /// An expression as SQL text, without the surrounding parentheses.
    Expression(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexKey {
    pub target: IndexKeyTarget,
    /// Collation when not the column's default.
    pub collation: Option<String>,
    /// Operator class when not the type's default for the access method.
    pub opclass: Option<String>,
    pub descending: bool,
    /// `Some(true)` for `NULLS FIRST`, `Some(false)` for `NULLS LAST`, `None` for the default
    /// that goes with the direction (last for ascending, first for descending).
    pub nulls_first: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    pub name: String,
    /// The query as SQL text (`SELECT ...`), without a trailing semicolon.
    pub query: String,
    /// `WITH (...)` options such as `security_barrier` and `check_option`, by name.
    pub options: IndexMap<String, String>,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
    /// `INSTEAD OF` (and statement-level) triggers on the view, by name.
    pub triggers: IndexMap<String, Trigger>,
    #[serde(default)]
    pub grants: Vec<Grant>,
}

/// `CREATE MATERIALIZED VIEW name WITH (options) AS query WITH [NO] DATA`, with its indexes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterializedView {
    pub name: String,
    /// The query as SQL text (`SELECT ...`), without a trailing semicolon.
    pub query: String,
    /// Storage parameters (`fillfactor`, `autovacuum_enabled`, ...), by name.
    pub options: IndexMap<String, String>,
    /// `WITH DATA` (the default): the rows are computed and it can be read. `false` for `WITH
    /// NO DATA`, which cannot be read until it is refreshed.
    pub populated: bool,
    pub indexes: IndexMap<String, Index>,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

impl MaterializedView {
    /// A unique index that `REFRESH MATERIALIZED VIEW CONCURRENTLY` can use: unique, on plain
    /// columns only, without a predicate.
    pub fn concurrent_refresh_index(&self) -> Option<&Index> {
        self.indexes.values().find(|i| {
            i.unique
                && i.predicate.is_none()
                && i.keys
                    .iter()
                    .all(|k| matches!(k.target, IndexKeyTarget::Column(_)))
        })
    }
}

/// The kinds of object formwork knows of, for messages and for listing what it does not manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectKind {
    Extension,
    Schema,
    Enum,
    Sequence,
    Table,
    Column,
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
    Exclusion,
    Index,
    View,
    // Kinds that exist in PostgreSQL but are not managed yet.
    Domain,
    CompositeType,
    RangeType,
    MaterializedView,
    Function,
    Procedure,
    Aggregate,
    Trigger,
    Policy,
    PartitionedTable,
    Partition,
    ForeignTable,
    EventTrigger,
    Publication,
    Subscription,
    Rule,
    Grant,
    Other,
}

impl ObjectKind {
    /// Lower-case words as used in messages ("foreign key", "materialized view").
    pub fn describe(self) -> &'static str {
        match self {
            ObjectKind::Extension => "extension",
            ObjectKind::Schema => "schema",
            ObjectKind::Enum => "enum",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Table => "table",
            ObjectKind::Column => "column",
            ObjectKind::PrimaryKey => "primary key",
            ObjectKind::Unique => "unique constraint",
            ObjectKind::ForeignKey => "foreign key",
            ObjectKind::Check => "check constraint",
            ObjectKind::Exclusion => "exclusion constraint",
            ObjectKind::Index => "index",
            ObjectKind::View => "view",
            ObjectKind::Domain => "domain",
            ObjectKind::CompositeType => "composite type",
            ObjectKind::RangeType => "range type",
            ObjectKind::MaterializedView => "materialized view",
            ObjectKind::Function => "function",
            ObjectKind::Procedure => "procedure",
            ObjectKind::Aggregate => "aggregate",
            ObjectKind::Trigger => "trigger",
            ObjectKind::Policy => "row-level security policy",
            ObjectKind::PartitionedTable => "partitioned table",
            ObjectKind::Partition => "partition",
            ObjectKind::ForeignTable => "foreign table",
            ObjectKind::EventTrigger => "event trigger",
            ObjectKind::Publication => "publication",
            ObjectKind::Subscription => "subscription",
            ObjectKind::Rule => "rule",
            ObjectKind::Grant => "privilege",
            ObjectKind::Other => "object",
        }
    }
}

/// An object found in a catalog that formwork does not manage. `dump` and `plan` list these so
/// that nobody mistakes a partial picture for the whole one; nothing ever alters or drops them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unmanaged {
    pub kind: ObjectKind,
    /// A human-readable identification, such as `public.audit_trigger()` or
    /// `trigger set_updated_at on public.events`.
    pub name: String,
}

impl Model {
    /// The table with this qualified name, if any.
    pub fn table(&self, name: &QualifiedName) -> Option<&Table> {
        self.schemas.get(&name.schema)?.tables.get(&name.name)
    }

    /// Every table with its schema name, in display order.
    pub fn tables(&self) -> impl Iterator<Item = (&Schema, &Table)> {
        self.schemas
            .values()
            .flat_map(|s| s.tables.values().map(move |t| (s, t)))
    }
}
