//! JSON output, written incrementally. The schema (also in `docs/lint-json.md`):
//!
//! ```json
//! {
//!   "schema": "formwork-lint/1",
//!   "findings": [
//!     { "file": "m.sql", "rule": "create-index-non-concurrent", "severity": "error",
//!       "message": "...", "help": "...",
//!       "start": { "offset": 0, "line": 1, "column": 1 },
//!       "end":   { "offset": 30, "line": 1, "column": 31 } }
//!   ],
//!   "summary": { "files": 1, "errors": 1, "warnings": 0, "notices": 0 }
//! }
//! ```
//!
//! Offsets are bytes; lines and columns are 1-based, columns count characters, `end` is
//! exclusive. Findings appear in file order, then source order.

use std::io::{self, Write};

use crate::lint::{Finding, Severity};

/// Counts for the summary (shared by the renderers).
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    pub notices: usize,
}

impl Summary {
    pub fn count(&mut self, f: &Finding) {
        match f.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
            Severity::Notice => self.notices += 1,
        }
    }
}

#[derive(serde::Serialize)]
struct Row<'a> {
    file: &'a str,
    #[serde(flatten)]
    finding: &'a Finding,
}

/// Writes the document as findings arrive.
pub struct JsonWriter {
    first: bool,
}

impl JsonWriter {
    pub fn begin(w: &mut dyn Write) -> io::Result<JsonWriter> {
        w.write_all(b"{\"schema\":\"formwork-lint/1\",\"findings\":[")?;
        Ok(JsonWriter { first: true })
    }

    pub fn finding(&mut self, w: &mut dyn Write, file: &str, f: &Finding) -> io::Result<()> {
        if !self.first {
            w.write_all(b",")?;
        }
        self.first = false;
        w.write_all(b"\n")?;
        serde_json::to_writer(&mut *w, &Row { file, finding: f }).map_err(io::Error::other)
    }

    pub fn end(self, w: &mut dyn Write, s: &Summary) -> io::Result<()> {
        writeln!(
            w,
            "\n],\"summary\":{{\"files\":{},\"errors\":{},\"warnings\":{},\"notices\":{}}}}}",
            s.files, s.errors, s.warnings, s.notices
        )
    }
}
