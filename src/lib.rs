//! formwork: PostgreSQL schemas declared in KDL, changed online.
//!
//! The library does all the work; `src/cli` is a thin layer of commands over it. Read
//! `ARCHITECTURE.md` for the map of the code.

pub mod apply;
pub mod catalog;
pub mod ddl;
pub mod diff;
pub mod kdl;
pub mod lint;
pub mod locks;
pub mod model;
pub mod ops;
pub mod pg;
pub mod plan;
pub mod render;
pub mod sql;
pub mod sqlfile;

pub mod cli;
