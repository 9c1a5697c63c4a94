//! `dump`: read a live database's catalog and turn it into KDL files.
//!
//! The file layout and the text are the KDL writer's (`kdl::write::model_to_files`): already in
//! `fmt` form and deterministic, so dumping an unchanged database twice gives identical bytes.
//! This module adds what a person running `dump` needs around it: writing the files into a
//! directory without touching unchanged ones, naming stale `.kdl` files that the dump did not
//! write (they would still be loaded with the others), and the list of objects that are not
//! managed yet (see [`crate::ops::unmanaged_report`]).
//!
//! It only reads the database: the catalog queries, on a few connections that share one
//! snapshot, nothing else.

use std::path::{Path, PathBuf};

use crate::model::{Model, Unmanaged};
use crate::pg::connect::{ConnError, ConnInfo};

/// What a dump produced.
#[derive(Debug, Clone)]
pub struct Dump {
    pub model: Model,
    /// Objects found in the catalog that formwork does not manage; not in `files`.
    pub unmanaged: Vec<Unmanaged>,
    /// Relative paths and their KDL text, in a stable order.
    pub files: Vec<(PathBuf, String)>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DumpError {
    #[error(transparent)]
    Connect(#[from] ConnError),
    #[error("cannot read the catalog of {target}: {message}")]
    #[diagnostic(code(formwork::dump::catalog))]
    Catalog { target: String, message: String },
    #[error("cannot write {}: {source}", path.display())]
    #[diagnostic(code(formwork::dump::write))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Connect to `conn`, read its catalog and render it as KDL.
pub async fn dump(conn: &ConnInfo) -> Result<Dump, DumpError> {
    let catalog = read_catalog(conn).await?;
    Ok(Dump::from_model(catalog.model, catalog.unmanaged))
}

/// Connect to `conn` and read its catalog, with the server's identity (what a snapshot keeps).
pub async fn read_catalog(conn: &ConnInfo) -> Result<crate::catalog::Catalog, DumpError> {
    use crate::catalog::{CatalogError, MAX_CONNECTIONS, introspect_parallel};
    match introspect_parallel(conn, MAX_CONNECTIONS).await {
        Ok(c) => Ok(c),
        Err(CatalogError::Connect(e)) => Err(DumpError::Connect(e)),
        Err(e) => Err(DumpError::Catalog {
            target: conn.to_string(),
            message: e.to_string(),
        }),
    }
}

impl Dump {
    /// Render an already introspected model.
    pub fn from_model(model: Model, mut unmanaged: Vec<Unmanaged>) -> Dump {
        let files = crate::kdl::write::model_to_files(&model);
        unmanaged.sort();
        unmanaged.dedup();
        Dump {
            model,
            unmanaged,
            files,
        }
    }

    /// Every file in one text, for `--out -` (see [`concatenate`]).
    pub fn concatenated(&self) -> String {
        concatenate(&self.files)
    }
}

/// Files in one text: each preceded by a `// path` comment line, so the result is still one
/// valid KDL document.
pub fn concatenate(files: &[(PathBuf, String)]) -> String {
    let mut out = String::new();
    for (i, (path, text)) in files.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("// {}\n", path.display()));
        out.push_str(text);
    }
    out
}

/// What [`write_dir`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// Files created or whose content changed.
    pub changed: Vec<PathBuf>,
    /// Files already identical, left untouched.
    pub unchanged: Vec<PathBuf>,
    /// `.kdl` files under the directory that this dump did not write. They are left alone (they
    /// may be the user's own) but would be loaded together with the dump.
    pub stale: Vec<PathBuf>,
}

/// Write `files` under `dir` (created if missing). A file whose content is already right is not
/// rewritten, so timestamps only move when the schema did.
pub fn write_dir(dir: &Path, files: &[(PathBuf, String)]) -> Result<Written, DumpError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DumpError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut written = Written::default();
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        if std::fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
            written.unchanged.push(path);
            continue;
        }
        std::fs::write(&path, text).map_err(io(&path))?;
        written.changed.push(path);
    }
    let mut existing = Vec::new();
    collect_kdl(dir, &mut existing).map_err(io(dir))?;
    let ours: std::collections::HashSet<PathBuf> = files.iter().map(|(p, _)| dir.join(p)).collect();
    written.stale = existing.into_iter().filter(|p| !ours.contains(p)).collect();
    written.stale.sort();
    Ok(written)
}

fn collect_kdl(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_kdl(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "kdl") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_dir_skips_identical_files_and_names_stale_ones() {
        let dir = std::env::temp_dir().join(format!("formwork-dump-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("old")).unwrap_or_default();
        std::fs::write(dir.join("old/gone.kdl"), "schema \"gone\"\n").unwrap_or_default();
        std::fs::write(dir.join("notes.txt"), "not KDL").unwrap_or_default();
        let files = vec![
            (PathBuf::from("a.kdl"), "schema \"a\"\n".to_string()),
            (PathBuf::from("sub/b.kdl"), "schema \"b\"\n".to_string()),
        ];
        let first = write_dir(&dir, &files).expect("first write");
        assert_eq!(first.changed.len(), 2);
        assert_eq!(first.stale, vec![dir.join("old/gone.kdl")]);
        let second = write_dir(&dir, &files).expect("second write");
        assert!(second.changed.is_empty());
        assert_eq!(second.unchanged.len(), 2);
        assert_eq!(
            std::fs::read_to_string(dir.join("sub/b.kdl")).unwrap_or_default(),
            "schema \"b\"\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
