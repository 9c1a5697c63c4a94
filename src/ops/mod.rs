//! Library operations behind the commands that bring an existing schema into formwork.
//!
//! - [`dump`]: a live database's catalog to KDL files.
//! - [`import`]: a file of SQL DDL (such as `pg_dump --schema-only` or Alembic's offline
//!   output) to KDL files, through a scratch database.
//!
//! Each operation returns data (a model, files, a report); the CLI decides where it goes. These
//! operations read catalogs and write files; they never change a target database.

pub mod dump;
pub mod import;
mod report;

pub use report::unmanaged_report;
