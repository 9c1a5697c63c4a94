//! The KDL schema language: reading declarations into a [`crate::model::Model`], writing a
//! model back as files, and formatting files canonically.
//!
//! - [`spec`]: the table of nodes, arguments and properties (one edit adds a construct).
//! - [`load`]: files to model, reporting every problem of a run at once with its span.
//! - [`parse`]: the fast KDL parser `load` reads files with (the `kdl` crate is its fallback).
//! - [`write`]: model to files in canonical form (what `dump` writes).
//! - [`format`]: canonical formatting of hand-written files, comments kept (`fmt`).
//! - [`types`], [`names`]: type resolution and formwork's reference strings.
//!
//! The language itself is documented in `docs/kdl.md`. This module never talks to a database:
//! SQL text (types, defaults, expressions, queries) is carried, not interpreted, apart from
//! checking that a column's type exists.

pub mod diag;
pub mod format;
pub mod load;
pub mod names;
pub mod parse;
mod scan;
pub mod spec;
mod text;
pub mod types;
pub mod write;

pub use diag::{LoadError, Problem, ProblemKind, SourceFile};
