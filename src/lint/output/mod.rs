//! Renderings of findings: human (miette), json, SARIF 2.1.0 and GitHub workflow commands.
//!
//! Renderers only format; they never decide what is a finding. json and github write each
//! finding as it arrives so that output does not wait for (or hold) the whole run; SARIF is one
//! JSON document and keeps its results until the end; human needs the source text of the file
//! being reported, which the caller passes along with each finding.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

/// The output format of `formwork lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Diagnostics with the source line and a caret under the offending part.
    Human,
    /// One JSON document (schema in `docs/lint-json.md`).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=...::`), shown as annotations on the diff.
    Github,
}
