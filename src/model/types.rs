//! Domains, composite types and range types: the user-defined types other than enums.
//!
//! Like the rest of the model these are plain data. SQL fragments (base types, defaults, CHECK
//! expressions, attribute types) are text as PostgreSQL prints them; user types in them are
//! schema-qualified because introspection runs with an empty `search_path`. Nothing here knows
//! how the types are created or changed (`ddl::types`, `diff::types`).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// `CREATE DOMAIN name AS base_type [COLLATE] [DEFAULT] [NOT NULL] [CONSTRAINT c CHECK (...)]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub name: String,
    /// The underlying type as SQL text, modifiers and array brackets included.
    pub base_type: String,
    /// Collation when not the base type's default.
    pub collation: Option<String>,
    pub default: Option<String>,
    pub not_null: bool,
    /// CHECK constraints by name.
    pub checks: IndexMap<String, DomainCheck>,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

/// A CHECK constraint of a domain; the expression refers to the value as `VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainCheck {
    pub name: String,
    /// The boolean expression, without the surrounding `CHECK (...)`.
    pub expression: String,
    /// `false` for a constraint added `NOT VALID` and not validated since.
    pub valid: bool,
    pub renamed_from: Option<String>,
}

/// `CREATE TYPE name AS (attribute type, ...)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompositeType {
    pub name: String,
    /// In order: the order of a composite's attributes is part of its meaning (row
    /// constructors, `*` expansion).
    pub attributes: Vec<CompositeAttribute>,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompositeAttribute {
    pub name: String,
    pub data_type: String,
    /// Collation when not the type's default.
    pub collation: Option<String>,
    pub renamed_from: Option<String>,
}

/// `CREATE TYPE name AS RANGE (SUBTYPE = ..., ...)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeType {
    pub name: String,
    pub subtype: String,
    /// Operator class when not the subtype's default btree class.
    pub subtype_opclass: Option<String>,
    /// Collation when not the subtype's default.
    pub collation: Option<String>,
    /// Canonical function (`regproc` text), if any.
    pub canonical: Option<String>,
    /// Subtype difference function (`regproc` text), if any.
    pub subtype_diff: Option<String>,
    /// The multirange type PostgreSQL 14+ creates with the range. `None` in a declaration
    /// means PostgreSQL's default name; a catalog always says.
    pub multirange: Option<String>,
    pub comment: Option<String>,
    pub renamed_from: Option<String>,
}

impl RangeType {
    /// The multirange name PostgreSQL picks when none is given: `range` in the name replaced by
    /// `multirange`, or `_multirange` appended (names that do not fit in 63 bytes are left to
    /// PostgreSQL).
    pub fn default_multirange(name: &str) -> String {
        match name.find("range") {
            Some(i) => format!("{}multirange{}", &name[..i], &name[i + 5..]),
            None => format!("{name}_multirange"),
        }
    }
}
