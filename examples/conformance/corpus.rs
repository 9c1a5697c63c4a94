//! Reading the public fixture sets into one list of cases: a from-state and a to-state, both
//! SQL, plus what a case needs from the server to load at all.
//!
//! The fixtures are other tools' test suites, so only their states are used: migra's
//! `a.sql`/`b.sql`, psqldef's `current`/`desired`. Their expected outputs (`up`, `down`) are
//! those tools' answers, not targets. psqldef's other keys are read for what they say about
//! the states: `min_version` (the server must be at least that major), `flavor` (a server
//! build with extra extensions), `user` (psqldef's test harness then creates unqualified
//! objects in schema `foo`), `managed_roles` (roles that must exist for GRANTs to load) and
//! `error` (psqldef itself refuses the change; the states are still valid, so the case is run
//! and the note kept). `enable_drop`, `manage`, `config`, `offline` and `legacy_ignore_quotes`
//! tune psqldef's own behaviour and say nothing about the states; they are ignored.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// Which fixture set a case comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Set {
    Migra,
    Psqldef,
}

impl Set {
    pub const ALL: [Set; 2] = [Set::Migra, Set::Psqldef];

    pub fn name(self) -> &'static str {
        match self {
            Set::Migra => "migra",
            Set::Psqldef => "psqldef",
        }
    }
}

/// One from-state/to-state pair.
#[derive(Debug, Clone)]
pub struct Case {
    pub set: Set,
    /// `<case dir>` for migra, `<file stem>/<case key>` for psqldef.
    pub name: String,
    /// SQL that builds the from-state (may be empty).
    pub from_sql: String,
    /// SQL that builds the to-state.
    pub to_sql: String,
    /// Schema that unqualified names land in while loading (psqldef's `user` cases).
    pub search_path: Option<String>,
    /// Roles that must exist before the states load.
    pub roles: Vec<String>,
    /// Why the case cannot run on this server at all (version, flavor).
    pub requires: Option<Requirement>,
    /// psqldef's own expected error for this change, kept as a note.
    pub source_error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Requirement {
    /// Minimum server major version.
    MinMajor(i32),
    /// A server flavor with extensions this one may lack.
    Flavor(String),
}

impl Requirement {
    /// `None` when the server meets it; otherwise why not.
    pub fn unmet(&self, server_major: i32) -> Option<String> {
        match self {
            Requirement::MinMajor(m) if server_major < *m => {
                Some(format!("needs PostgreSQL {m} or later"))
            }
            Requirement::MinMajor(_) => None,
            Requirement::Flavor(f) => Some(format!("needs the `{f}` server flavor")),
        }
    }
}

/// Read the sets under `corpus` (`corpus/migra`, `corpus/psqldef`), in a stable order.
pub fn read(corpus: &Path, only: Option<Set>) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for set in Set::ALL {
        if only.is_some_and(|o| o != set) {
            continue;
        }
        let dir = corpus.join(set.name());
        if !dir.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
        match set {
            Set::Migra => read_migra(&dir, &mut cases)?,
            Set::Psqldef => read_psqldef(&dir, &mut cases)?,
        }
    }
    Ok(cases)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    Ok(paths)
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn read_migra(dir: &Path, cases: &mut Vec<Case>) -> Result<(), String> {
    for path in sorted_entries(dir)? {
        let (a, b) = (path.join("a.sql"), path.join("b.sql"));
        if !a.is_file() || !b.is_file() {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        cases.push(Case {
            set: Set::Migra,
            name,
            from_sql: read_text(&a)?,
            to_sql: read_text(&b)?,
            search_path: None,
            roles: Vec::new(),
            requires: None,
            source_error: None,
        });
    }
    Ok(())
}

fn read_psqldef(dir: &Path, cases: &mut Vec<Case>) -> Result<(), String> {
    for path in sorted_entries(dir)? {
        let is_tests = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("tests_") && n.ends_with(".yml"));
        if !is_tests {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .trim_start_matches("tests_")
            .to_string();
        let text = read_text(&path)?;
        let docs = YamlLoader::load_from_str(&text)
            .map_err(|e| format!("{}: invalid YAML: {e}", path.display()))?;
        let Some(Yaml::Hash(top)) = docs.into_iter().next() else {
            return Err(format!("{}: expected a mapping of cases", path.display()));
        };
        for (key, case) in top {
            let (Some(key), Yaml::Hash(_)) = (key.as_str(), &case) else {
                return Err(format!("{}: a case is not a mapping", path.display()));
            };
            cases.push(psqldef_case(&format!("{stem}/{key}"), &case)?);
        }
    }
    Ok(())
}

fn psqldef_case(name: &str, case: &Yaml) -> Result<Case, String> {
    let text = |k: &str| case[k].as_str().map(str::to_string);
    let Some(to_sql) = text("desired") else {
        return Err(format!("psqldef case {name} has no `desired` state"));
    };
    let min_version = match &case["min_version"] {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        _ => None,
    };
    let requires = match (min_version, text("flavor")) {
        (_, Some(flavor)) => Some(Requirement::Flavor(flavor)),
        (Some(v), None) => {
            let major = v
                .split('.')
                .next()
                .and_then(|m| m.trim().parse::<i32>().ok());
            match major {
                Some(m) => Some(Requirement::MinMajor(m)),
                None => return Err(format!("psqldef case {name}: bad min_version {v:?}")),
            }
        }
        (None, None) => None,
    };
    let roles = case["managed_roles"]
        .as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(Case {
        set: Set::Psqldef,
        name: name.to_string(),
        from_sql: text("current").unwrap_or_default(),
        to_sql,
        // psqldef's harness gives the `user` role a search_path of `foo` (psqldef_test.go).
        search_path: text("user").map(|_| "foo".to_string()),
        roles,
        requires,
        source_error: text("error"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(yaml: &str) -> Case {
        let docs = YamlLoader::load_from_str(yaml).unwrap();
        psqldef_case("t/Case", &docs[0]).unwrap()
    }

    #[test]
    fn a_case_without_current_starts_from_an_empty_database() {
        let c = case("desired: |\n  CREATE TABLE t (id int);\n");
        assert_eq!(c.from_sql, "");
        assert!(c.to_sql.contains("CREATE TABLE t"));
        assert!(c.requires.is_none() && c.search_path.is_none());
    }

    #[test]
    fn min_version_is_compared_by_major_whatever_its_spelling() {
        let c = case("desired: ''\nmin_version: \"18.0\"\n");
        assert!(c.requires.as_ref().unwrap().unmet(15).is_some());
        assert!(c.requires.as_ref().unwrap().unmet(18).is_none());
        let c = case("desired: ''\nmin_version: '10'\n");
        assert!(c.requires.unwrap().unmet(15).is_none());
    }

    #[test]
    fn user_cases_load_into_schema_foo_and_roles_are_listed() {
        let c = case("desired: ''\nuser: psqldef_user\nmanaged_roles:\n  - reader\n  - writer\n");
        assert_eq!(c.search_path.as_deref(), Some("foo"));
        assert_eq!(c.roles, ["reader", "writer"]);
    }

    #[test]
    fn a_flavor_is_never_met_and_a_missing_desired_state_is_an_error() {
        assert!(
            case("desired: ''\nflavor: pgvector\n")
                .requires
                .unwrap()
                .unmet(99)
                .is_some()
        );
        let docs = YamlLoader::load_from_str("current: ''\n").unwrap();
        assert!(psqldef_case("t/Case", &docs[0]).is_err());
    }
}
