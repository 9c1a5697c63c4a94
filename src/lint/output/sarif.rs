//! SARIF 2.1.0 (OASIS), the format GitHub code scanning ingests.
//!
//! One run, the rules of this formwork version in `tool.driver.rules` (with their full
//! documentation as help), one result per finding. Columns count Unicode code points, which
//! the run declares with `columnKind`.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::lint::rules;
use crate::lint::{Finding, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Collects results and writes the log at the end.
#[derive(Default)]
pub struct SarifLog {
    results: Vec<Value>,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "note",
    }
}

impl SarifLog {
    pub fn add(&mut self, file: &str, f: &Finding) {
        let index = rules::all()
            .iter()
            .position(|r| r.id == f.rule)
            .unwrap_or(0);
        self.results.push(json!({
            "ruleId": f.rule,
            "ruleIndex": index,
            "level": level(f.severity),
            "message": { "text": format!("{} Help: {}", f.message, f.help) },
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": { "uri": uri(file) },
                    "region": {
                        "startLine": f.start.line,
                        "startColumn": f.start.column,
                        "endLine": f.end.line.max(f.start.line),
                        "endColumn": if f.end.line > f.start.line || f.end.column > f.start.column { f.end.column } else { f.start.column + 1 },
                        "charOffset": f.start.offset,
                        "charLength": f.end.offset.saturating_sub(f.start.offset),
                    }
                }
            }]
        }));
    }

    pub fn write(self, w: &mut dyn Write) -> io::Result<()> {
        let driver_rules: Vec<Value> = rules::all()
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "name": r.id,
                    "shortDescription": { "text": r.summary },
                    "fullDescription": { "text": r.summary },
                    "help": { "text": r.help, "markdown": rules::explain(r) },
                    "defaultConfiguration": {
                        "level": match r.level { crate::lint::Level::Off => "none", crate::lint::Level::On(s) => level(s) },
                        "enabled": r.level != crate::lint::Level::Off,
                    },
                })
            })
            .collect();
        let log = json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "formwork",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/formwork/formwork",
                    "rules": driver_rules,
                }},
                "columnKind": "unicodeCodePoints",
                "results": self.results,
            }]
        });
        serde_json::to_writer_pretty(&mut *w, &log).map_err(io::Error::other)?;
        writeln!(w)
    }
}

/// A relative URI reference for a path (stdin stays `stdin`).
fn uri(file: &str) -> String {
    let p = file.strip_prefix("./").unwrap_or(file);
    p.replace('\\', "/")
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '%' => "%25".to_string(),
            '#' => "%23".to_string(),
            '?' => "%3F".to_string(),
            c => c.to_string(),
        })
        .collect()
}
