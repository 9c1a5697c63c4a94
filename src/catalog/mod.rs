//! Reading a live database's schema into a [`Model`]: the only place that queries the catalog.
//!
//! Introspection runs a fixed list of set-based queries (`queries/*.sql`, one per kind of
//! object) whatever the number of tables, in one read-only snapshot when the session is idle,
//! optionally spread over several connections that share the snapshot ([`introspect_parallel`]).
//! It runs with an empty `search_path`, so user types, names in defaults, CHECK bodies, index
//! expressions and view queries come back schema-qualified, exactly as pg_dump prints them.
//!
//! Left out on purpose: system schemas, formwork's own `formwork` schema, and every object an
//! extension owns (they come back with `CREATE EXTENSION`). Kinds of object the model does not
//! cover yet are listed in [`Catalog::unmanaged`] rather than silently dropped.
//!
//! This module never changes a database.

mod canon;
pub mod enum_usage;
pub mod estimates;
pub mod fingerprint;
pub mod introspect;
pub mod observe;
pub mod routines;
pub mod snapshot;

pub use introspect::{MAX_CONNECTIONS, QUERY_COUNT, introspect, introspect_parallel};

use crate::model::{Model, Unmanaged};

/// What introspection found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Catalog {
    pub model: Model,
    /// Objects present in the database that formwork leaves alone, sorted.
    pub unmanaged: Vec<Unmanaged>,
    pub server: ServerInfo,
    /// Every role of the server, sorted, to check that the roles a declaration grants to
    /// exist (formwork never creates roles); `None` when unknown (an older snapshot).
    #[serde(default)]
    pub roles: Option<Vec<String>>,
}

/// Identity of the server and database that were read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServerInfo {
    /// `server_version_num`, e.g. `150018`.
    pub version_num: i32,
    /// `pg_control_system().system_identifier`; empty when the role may not read it.
    pub system_identifier: String,
    pub database: String,
}

impl ServerInfo {
    /// The major version (`15` for `150018`).
    pub fn major(&self) -> i32 {
        self.version_num / 10000
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog query `{query}` failed: {message}")]
    Query {
        query: &'static str,
        message: String,
    },
    #[error(transparent)]
    Connect(#[from] crate::pg::connect::ConnError),
    #[error("unexpected catalog content: {0}")]
    Unexpected(String),
}
