//! Functions, procedures and triggers as the model holds them.
//!
//! A function is identified by its schema, name and input argument types (overloads are
//! different objects), so a schema keys its functions by [`Function::key`]. Bodies, types,
//! defaults and settings are SQL text: PostgreSQL normalises them when the declaration is read
//! back through a scratch database. A trigger belongs to its table and names its function.
//!
//! Aggregates and window functions are not modelled (they stay listed as unmanaged), and
//! neither are formwork's own transitional functions and triggers (`diff::transitional`).

use serde::{Deserialize, Serialize};

use super::{Deferrable, Grant, Grantee, QualifiedName};

/// `FUNCTION` or `PROCEDURE`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoutineKind {
    #[default]
    Function,
    Procedure,
}

/// How an argument is passed. `TABLE` columns are not arguments: they are part of the return
/// type (`RETURNS TABLE(...)`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArgMode {
    #[default]
    In,
    Out,
    InOut,
    Variadic,
}

impl ArgMode {
    /// Whether the argument is part of the function's identity (input arguments).
    pub fn is_input(self) -> bool {
        !matches!(self, ArgMode::Out)
    }

    pub fn sql(self) -> &'static str {
        match self {
            ArgMode::In => "IN",
            ArgMode::Out => "OUT",
            ArgMode::InOut => "INOUT",
            ArgMode::Variadic => "VARIADIC",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Volatility {
    Immutable,
    Stable,
    #[default]
    Volatile,
}

impl Volatility {
    pub fn sql(self) -> &'static str {
        match self {
            Volatility::Immutable => "IMMUTABLE",
            Volatility::Stable => "STABLE",
            Volatility::Volatile => "VOLATILE",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Parallel {
    #[default]
    Unsafe,
    Restricted,
    Safe,
}

impl Parallel {
    pub fn sql(self) -> &'static str {
        match self {
            Parallel::Unsafe => "UNSAFE",
            Parallel::Restricted => "RESTRICTED",
            Parallel::Safe => "SAFE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionArg {
    /// `None` for an unnamed argument.
    pub name: Option<String>,
    pub mode: ArgMode,
    /// The type as SQL text.
    pub data_type: String,
    /// The default expression as SQL text.
    pub default: Option<String>,
}

/// A function or procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    pub kind: RoutineKind,
    /// In declaration order, `OUT` arguments included.
    pub arguments: Vec<FunctionArg>,
    /// The result as PostgreSQL prints it (`integer`, `SETOF text`, `TABLE(id integer)`,
    /// `trigger`); `None` for a procedure.
    pub returns: Option<String>,
    pub language: String,
    /// The body: the source text, or for a SQL-standard body (`BEGIN ATOMIC ... END`,
    /// `RETURN ...`) that text as PostgreSQL prints it.
    pub body: String,
    pub volatility: Volatility,
    pub strict: bool,
    pub security_definer: bool,
    pub leakproof: bool,
    pub parallel: Parallel,
    /// `COST` when not the language's default (1 for C and internal, 100 otherwise).
    pub cost: Option<i64>,
    /// `ROWS` of a set-returning function when not the default 1000.
    pub rows: Option<i64>,
    /// `SET name = value` settings, by name; values as PostgreSQL stores them.
    pub config: indexmap::IndexMap<String, String>,
    pub comment: Option<String>,
    /// The access list minus the owner's entries (see `model::privileges`), PostgreSQL's
    /// default included: a routine nobody granted anything on holds [`Function::default_grants`]
    /// (EXECUTE for PUBLIC), and one whose PUBLIC EXECUTE was revoked does not.
    pub grants: Vec<Grant>,
    pub renamed_from: Option<String>,
}

impl Function {
    /// What a routine holds when created: EXECUTE for PUBLIC (a NULL `proacl`).
    pub fn default_grants() -> Vec<Grant> {
        vec![Grant {
            grantee: Grantee::Public,
            privileges: vec!["EXECUTE".to_string()],
            with_grant_option: false,
        }]
    }

    /// Whether every role may call the routine (PUBLIC holds EXECUTE, PostgreSQL's default).
    pub fn public_execute(&self) -> bool {
        self.grants.iter().any(|g| {
            g.grantee == Grantee::Public
                && g.privileges.iter().any(|p| p == "EXECUTE" || p == "ALL")
        })
    }

    /// The grants beyond PUBLIC's EXECUTE: what a declaration writes as `grant` nodes and a
    /// new routine is given after its creation. PUBLIC cannot hold the grant option, so every
    /// grant to PUBLIC is the default one.
    pub fn granted(&self) -> impl Iterator<Item = &Grant> {
        self.grants.iter().filter(|g| g.grantee != Grantee::Public)
    }

    /// The key of the function in its schema: `name(type, ...)` over the input arguments.
    pub fn key(&self) -> String {
        signature_key(&self.name, &self.arguments)
    }

    /// The input argument types, comma-separated (the SQL identity of the function without
    /// its name).
    pub fn identity_types(&self) -> String {
        self.arguments
            .iter()
            .filter(|a| a.mode.is_input())
            .map(|a| a.data_type.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether the body is a SQL-standard body (PostgreSQL 14+), parsed at creation and
    /// written without quotes.
    pub fn has_sql_standard_body(&self) -> bool {
        if !self.language.eq_ignore_ascii_case("sql") {
            return false;
        }
        let b = self.body.trim_start().to_ascii_uppercase();
        b.starts_with("BEGIN ATOMIC") || b.starts_with("RETURN ") || b.starts_with("RETURN\n")
    }
}

/// `name(type, ...)` over the input arguments of `arguments`.
pub fn signature_key(name: &str, arguments: &[FunctionArg]) -> String {
    let types: Vec<&str> = arguments
        .iter()
        .filter(|a| a.mode.is_input())
        .map(|a| a.data_type.as_str())
        .collect();
    format!("{name}({})", types.join(", "))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerTiming {
    Before,
    #[default]
    After,
    InsteadOf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TriggerEvent {
    Insert,
    Update,
    Delete,
    Truncate,
}

impl TriggerEvent {
    pub const ALL: [TriggerEvent; 4] = [
        TriggerEvent::Insert,
        TriggerEvent::Update,
        TriggerEvent::Delete,
        TriggerEvent::Truncate,
    ];

    pub fn word(self) -> &'static str {
        match self {
            TriggerEvent::Insert => "insert",
            TriggerEvent::Update => "update",
            TriggerEvent::Delete => "delete",
            TriggerEvent::Truncate => "truncate",
        }
    }
}

/// `ALTER TABLE ... ENABLE/DISABLE [REPLICA | ALWAYS] TRIGGER`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerState {
    /// Fires unless the session replication role is `replica` (the default).
    #[default]
    Enabled,
    Disabled,
    /// Fires only when the session replication role is `replica`.
    Replica,
    /// Fires whatever the session replication role.
    Always,
}

impl TriggerState {
    pub fn word(self) -> &'static str {
        match self {
            TriggerState::Enabled => "enabled",
            TriggerState::Disabled => "disabled",
            TriggerState::Replica => "replica",
            TriggerState::Always => "always",
        }
    }
}

/// A trigger on a table (or, `INSTEAD OF`, a view: not modelled yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub name: String,
    pub timing: TriggerTiming,
    /// Sorted, without duplicates.
    pub events: Vec<TriggerEvent>,
    /// `UPDATE OF` columns, in declaration order.
    pub update_of: Vec<String>,
    pub for_each_row: bool,
    /// The `WHEN` condition without the parentheses.
    pub when: Option<String>,
    pub function: QualifiedName,
    /// Arguments passed to the function (`TG_ARGV`), as strings.
    pub arguments: Vec<String>,
    pub state: TriggerState,
    /// `CREATE CONSTRAINT TRIGGER`.
    pub constraint: bool,
    pub deferrable: Deferrable,
    /// `REFERENCING OLD TABLE AS ...`.
    pub old_table: Option<String>,
    /// `REFERENCING NEW TABLE AS ...`.
    pub new_table: Option<String>,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}
