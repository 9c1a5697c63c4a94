//! The `lint` section of a project's `formwork.kdl`: rule levels, PostgreSQL version,
//! transaction assumption and excluded paths.
//!
//! ```kdl
//! lint {
//!     pg-version "15.4"
//!     assume-in-transaction #true
//!     exclude "migrations/legacy/**"
//!     rule "require-lock-timeout" level="error"
//!     rule "index-too-many-columns" level="off"
//! }
//! ```
//!
//! The document is walked by hand (kdl's serde layer mishandles lists that occur once). Other
//! top-level nodes belong to other parts of formwork and are left alone here; inside `lint`,
//! every node and value is checked and every problem is reported with its span.

use std::collections::HashMap;

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};
use miette::{Diagnostic, NamedSource, SourceSpan};

use super::{Level, PgVersion, rules};

/// The lint settings of a project.
#[derive(Debug, Clone, Default)]
pub struct LintConfig {
    pub pg_version: Option<PgVersion>,
    pub assume_in_transaction: Option<bool>,
    pub exclude: Vec<glob::Pattern>,
    pub levels: HashMap<String, Level>,
}

/// A problem in the config file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(formwork::lint::config))]
pub struct ConfigProblem {
    message: String,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
    #[help]
    help: Option<String>,
}

/// Every problem found in the config, reported together.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("invalid lint configuration in {name}")]
#[diagnostic(code(formwork::lint::config))]
pub struct ConfigError {
    name: String,
    #[source_code]
    src: NamedSource<String>,
    #[related]
    problems: Vec<ConfigProblem>,
}

impl LintConfig {
    /// Parse the `lint` section of `text` (the whole `formwork.kdl`); no section means defaults.
    pub fn parse(name: &str, text: &str) -> Result<LintConfig, Box<dyn Diagnostic + Send + Sync>> {
        let doc = KdlDocument::parse(text)
            .map_err(|e| Box::new(e) as Box<dyn Diagnostic + Send + Sync>)?;
        let mut cfg = LintConfig::default();
        let mut problems = Vec::new();
        for node in doc.nodes().iter().filter(|n| n.name().value() == "lint") {
            let Some(children) = node.children() else {
                continue;
            };
            for child in children.nodes() {
                cfg.node(child, &mut problems);
            }
        }
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(Box::new(ConfigError {
                name: name.to_string(),
                src: NamedSource::new(name, text.to_string()),
                problems,
            }))
        }
    }

    fn node(&mut self, n: &KdlNode, problems: &mut Vec<ConfigProblem>) {
        let problem =
            |span: SourceSpan, message: String, label: &str, help: Option<String>| ConfigProblem {
                message,
                span,
                label: label.into(),
                help,
            };
        match n.name().value() {
            "pg-version" => match first_arg(n).map(|e| (e, value_string(e.value()))) {
                Some((e, Some(v))) => match PgVersion::parse(&v) {
                    Some(p) => self.pg_version = Some(p),
                    None => problems.push(problem(
                        e.span(),
                        format!("`{v}` is not a PostgreSQL version"),
                        "here",
                        Some("Write it like \"15\" or \"14.3\".".into()),
                    )),
                },
                _ => problems.push(problem(
                    n.span(),
                    "pg-version needs a version".into(),
                    "here",
                    Some("pg-version \"15\"".into()),
                )),
            },
            "assume-in-transaction" => match first_arg(n).map(KdlEntry::value) {
                Some(KdlValue::Bool(b)) => self.assume_in_transaction = Some(*b),
                _ => problems.push(problem(
                    n.span(),
                    "assume-in-transaction needs #true or #false".into(),
                    "here",
                    None,
                )),
            },
            "exclude" => {
                let args: Vec<&KdlEntry> =
                    n.entries().iter().filter(|e| e.name().is_none()).collect();
                if args.is_empty() {
                    problems.push(problem(
                        n.span(),
                        "exclude needs at least one path pattern".into(),
                        "here",
                        None,
                    ));
                }
                for e in args {
                    match e.value().as_string().map(glob::Pattern::new) {
                        Some(Ok(p)) => self.exclude.push(p),
                        Some(Err(err)) => problems.push(problem(
                            e.span(),
                            format!("invalid pattern: {err}"),
                            "this pattern",
                            None,
                        )),
                        None => problems.push(problem(
                            e.span(),
                            "exclude takes strings".into(),
                            "not a string",
                            None,
                        )),
                    }
                }
            }
            "rule" => {
                let id =
                    first_arg(n).and_then(|e| e.value().as_string().map(|s| (e, s.to_string())));
                let level = n
                    .entry("level")
                    .map(|e| (e, e.value().as_string().map(str::to_string)));
                let Some((id_entry, id)) = id else {
                    problems.push(problem(
                        n.span(),
                        "rule needs a rule id".into(),
                        "here",
                        Some("rule \"set-not-null-scan\" level=\"warning\"".into()),
                    ));
                    return;
                };
                if rules::find(&id).is_none() {
                    let suggestion = rules::all()
                        .iter()
                        .map(|r| (strsim::jaro_winkler(r.id, &id), r.id))
                        .max_by(|a, b| a.0.total_cmp(&b.0))
                        .filter(|(score, _)| *score > 0.8)
                        .map(|(_, r)| format!("Did you mean `{r}`?"));
                    problems.push(problem(
                        id_entry.span(),
                        format!("unknown lint rule `{id}`"),
                        "not a rule id",
                        suggestion.or(Some("`formwork explain --all` lists the rules.".into())),
                    ));
                    return;
                }
                match level {
                    Some((e, Some(l))) => match Level::parse(&l) {
                        Some(level) => {
                            self.levels.insert(id, level);
                        }
                        None => problems.push(problem(
                            e.span(),
                            format!("unknown level `{l}`"),
                            "here",
                            Some("Use \"error\", \"warning\", \"notice\" or \"off\".".into()),
                        )),
                    },
                    _ => problems.push(problem(
                        n.span(),
                        "rule needs level=\"error|warning|notice|off\"".into(),
                        "here",
                        None,
                    )),
                }
            }
            other => {
                let known = ["pg-version", "assume-in-transaction", "exclude", "rule"];
                let suggestion = known
                    .iter()
                    .map(|k| (strsim::jaro_winkler(k, other), *k))
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .filter(|(score, _)| *score > 0.8)
                    .map(|(_, k)| format!("Did you mean `{k}`?"));
                problems.push(problem(
                    n.name().span(),
                    format!("unknown lint setting `{other}`"),
                    "unknown",
                    suggestion.or(Some(format!("Known settings: {}.", known.join(", ")))),
                ));
            }
        }
    }

    /// Whether a path is excluded from linting.
    pub fn excluded(&self, path: &str) -> bool {
        let p = path.strip_prefix("./").unwrap_or(path);
        self.exclude.iter().any(|pat| pat.matches(p))
    }
}

fn first_arg(n: &KdlNode) -> Option<&KdlEntry> {
    n.entries().iter().find(|e| e.name().is_none())
}

fn value_string(v: &KdlValue) -> Option<String> {
    match v {
        KdlValue::String(s) => Some(s.clone()),
        KdlValue::Integer(i) => Some(i.to_string()),
        KdlValue::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_lint_section_and_ignores_others() {
        let text = "schema \"public\" { }\nlint {\n  pg-version \"14.2\"\n  assume-in-transaction #true\n  exclude \"old/**\"\n  rule \"truncate\" level=\"off\"\n}\n";
        let cfg = LintConfig::parse("formwork.kdl", text)
            .map_err(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            cfg.pg_version,
            Some(PgVersion {
                major: 14,
                minor: 2
            })
        );
        assert_eq!(cfg.assume_in_transaction, Some(true));
        assert!(cfg.excluded("old/1.sql"));
        assert_eq!(cfg.levels.get("truncate"), Some(&Level::Off));
    }

    #[test]
    fn reports_every_problem_with_suggestions() {
        let text = "lint {\n  rule \"truncat\" level=\"off\"\n  rule \"truncate\" level=\"loud\"\n  pg-versoin \"15\"\n}\n";
        let err = LintConfig::parse("formwork.kdl", text).err().map(|e| {
            let related: Vec<String> = e
                .related()
                .map(|r| r.map(|d| d.to_string()).collect())
                .unwrap_or_default();
            related
        });
        let related = err.unwrap_or_default();
        assert_eq!(related.len(), 3, "{related:?}");
        assert!(related[0].contains("truncat"));
        assert!(related[1].contains("loud"));
        assert!(related[2].contains("pg-versoin"));
    }
}
