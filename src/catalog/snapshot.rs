//! Catalog snapshots: a [`Catalog`] saved as a JSON file, so that a plan can be made against
//! production's schema by someone (or a CI job) that has no credentials for production.
//!
//! `formwork dump --snapshot FILE` writes one; `plan --from-snapshot FILE` reads it. The file is
//! pretty-printed JSON so it can be reviewed and diffed like the KDL, and it records the
//! fingerprint of the model it contains: a snapshot whose model no longer hashes to its recorded
//! fingerprint was edited or damaged and is refused, because a plan made against it would be
//! bound to a catalog state that never existed. (Apply compares the live fingerprint with the
//! plan's source fingerprint, so an honest snapshot of a database that has since changed is
//! caught there, not here.)
//!
//! Writing is deterministic: the same catalog gives the same bytes (fields in declaration
//! order, maps in the order introspection produced them).
//!
//! Not done here: reading a catalog (that is `introspect`) or deciding whether a snapshot is
//! recent enough (that is apply's fingerprint check).

use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};
use serde::{Deserialize, Serialize};

use super::fingerprint::{Fingerprint, fingerprint};
use super::{Catalog, ServerInfo};
use crate::model::{Model, Unmanaged};

/// The value of the `format` field that marks a snapshot.
pub const FORMAT: &str = "formwork-snapshot";

/// The newest snapshot version this build reads, and the one it writes.
pub const VERSION: u64 = 1;

/// Larger files are refused before they are read (a 5,000-table catalog is tens of MiB).
pub const MAX_BYTES: u64 = 1024 * 1024 * 1024;

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: &'static str,
    version: u64,
    formwork_version: &'static str,
    fingerprint: Fingerprint,
    server: &'a ServerInfo,
    unmanaged: &'a [Unmanaged],
    roles: &'a Option<Vec<String>>,
    model: &'a Model,
}

#[derive(Deserialize)]
struct SnapshotOwned {
    // `format`, `version` and `formwork_version` were checked on the untyped document.
    fingerprint: Fingerprint,
    server: ServerInfo,
    unmanaged: Vec<Unmanaged>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    model: Model,
}

const HELP_WRITE: &str = "snapshots are written by `formwork dump --db URL --snapshot FILE`";

/// Why a snapshot could not be written or read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SnapshotError {
    #[error("cannot read snapshot {}: {source}", path.display())]
    #[diagnostic(code(formwork::snapshot::read))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write snapshot {}: {source}", path.display())]
    #[diagnostic(code(formwork::snapshot::write))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin} is {size} bytes; snapshots over {MAX_BYTES} bytes are refused")]
    #[diagnostic(
        code(formwork::snapshot::too_large),
        help("is this really a snapshot? {HELP_WRITE}")
    )]
    TooLarge { origin: String, size: u64 },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(Box<SyntaxError>),
    #[error("{origin} is not a formwork snapshot: {reason}")]
    #[diagnostic(code(formwork::snapshot::not_a_snapshot), help("{HELP_WRITE}"))]
    NotASnapshot { origin: String, reason: String },
    #[error(
        "{origin} is a version {found} snapshot{}; this formwork reads version {VERSION} at most",
        written_by.as_ref().map(|v| format!(" written by formwork {v}")).unwrap_or_default()
    )]
    #[diagnostic(
        code(formwork::snapshot::version),
        help("use the formwork release that wrote the snapshot, or a newer one")
    )]
    UnsupportedVersion {
        origin: String,
        found: u64,
        written_by: Option<String>,
    },
    #[error("{origin} has invalid content at line {line}, column {column}: {message}")]
    #[diagnostic(
        code(formwork::snapshot::content),
        help("the file was edited or written by an incompatible formwork; {HELP_WRITE}")
    )]
    Content {
        origin: String,
        message: String,
        line: usize,
        column: usize,
    },
    #[error(
        "{origin} does not match its fingerprint: it records {recorded}, but the schema in it \
         hashes to {computed}"
    )]
    #[diagnostic(
        code(formwork::snapshot::fingerprint),
        help(
            "the file was edited or corrupted after it was written, so it no longer shows a state \
             the database was in. Do not plan against it: dump a new snapshot from the database"
        )
    )]
    FingerprintMismatch {
        origin: String,
        recorded: Fingerprint,
        computed: Fingerprint,
    },
    #[error("cannot encode the snapshot: {0}")]
    #[diagnostic(code(formwork::snapshot::encode))]
    Encode(String),
}

/// A snapshot that is not valid JSON, with the position serde_json gave up at (1-based; columns
/// count bytes).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{origin} is not valid JSON: {message} at line {line}, column {column}")]
#[diagnostic(
    code(formwork::snapshot::syntax),
    help(
        "a snapshot is a JSON document written by `formwork dump --snapshot`; a file cut short \
         (a failed copy, a full disk) ends early like this. Write it again from the database"
    )
)]
pub struct SyntaxError {
    pub origin: String,
    pub message: String,
    pub line: usize,
    pub column: usize,
    #[source_code]
    src: NamedSource<String>,
    #[label("here")]
    pub at: SourceSpan,
}

/// The snapshot text of a catalog: pretty-printed JSON ending with a line break.
pub fn to_string(catalog: &Catalog) -> Result<String, SnapshotError> {
    encode(catalog).map(|(text, _)| text)
}

/// The snapshot text and the fingerprint recorded in it (computing a fingerprint walks the
/// whole model, so callers that report it take it from here).
pub fn encode(catalog: &Catalog) -> Result<(String, Fingerprint), SnapshotError> {
    let fingerprint = fingerprint(&catalog.model);
    let doc = SnapshotRef {
        format: FORMAT,
        version: VERSION,
        formwork_version: env!("CARGO_PKG_VERSION"),
        fingerprint,
        server: &catalog.server,
        unmanaged: &catalog.unmanaged,
        roles: &catalog.roles,
        model: &catalog.model,
    };
    let mut text =
        serde_json::to_string_pretty(&doc).map_err(|e| SnapshotError::Encode(e.to_string()))?;
    text.push('\n');
    Ok((text, fingerprint))
}

/// Read a snapshot's text; messages call it "the snapshot".
pub fn from_str(text: &str) -> Result<Catalog, SnapshotError> {
    parse(text, "the snapshot")
}

/// Write a snapshot file (its directory is created if missing) and return the fingerprint it
/// records. The text goes to a temporary file next to `path` that is then renamed over it, so
/// an interrupted write never leaves a truncated snapshot behind.
pub fn write(path: &Path, catalog: &Catalog) -> Result<Fingerprint, SnapshotError> {
    let (text, fingerprint) = encode(catalog)?;
    let err = |source| SnapshotError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path.file_name().ok_or_else(|| {
        err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(&tmp, text.as_bytes()).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })?;
    Ok(fingerprint)
}

/// Read a snapshot file; refused if it is not a snapshot, is of a newer version, or its model
/// does not hash to its recorded fingerprint.
pub fn read(path: &Path) -> Result<Catalog, SnapshotError> {
    let io = |source| SnapshotError::Read {
        path: path.to_path_buf(),
        source,
    };
    let origin = path.display().to_string();
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_BYTES {
        return Err(SnapshotError::TooLarge { origin, size });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let text = String::from_utf8(bytes).map_err(|e| SnapshotError::NotASnapshot {
        origin: origin.clone(),
        reason: format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    parse(&text, &origin)
}

/// The fields that say what a document is, read before the rest so that JSON which is not a
/// snapshot, or is a newer one, is named as such instead of failing on a missing field. The
/// other fields are skipped without being built.
#[derive(Deserialize)]
struct Header {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
    formwork_version: Option<serde_json::Value>,
}

fn parse(text: &str, origin: &str) -> Result<Catalog, SnapshotError> {
    let not_a_snapshot = |reason: String| SnapshotError::NotASnapshot {
        origin: origin.to_string(),
        reason,
    };
    // A struct would also deserialize from an array; only an object is a snapshot.
    if !text.trim_start().starts_with('{') {
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| syntax(e, text, origin))?;
        return Err(not_a_snapshot(format!(
            "it is a JSON {}, not an object",
            json_kind(&doc)
        )));
    }
    let header: Header = serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => not_a_snapshot(strip_position(&e)),
        _ => syntax(e, text, origin),
    })?;
    match header.format {
        Some(serde_json::Value::String(f)) if f == FORMAT => {}
        Some(other) => {
            return Err(not_a_snapshot(format!(
                "its `format` is {other}, not \"{FORMAT}\""
            )));
        }
        None => {
            return Err(not_a_snapshot(format!(
                "it has no `format` field (\"{FORMAT}\")"
            )));
        }
    }
    let version = match header.version.as_ref().and_then(serde_json::Value::as_u64) {
        Some(v) if v >= 1 => v,
        _ => {
            return Err(not_a_snapshot(
                "its `version` is missing or not a positive integer".into(),
            ));
        }
    };
    if version > VERSION {
        return Err(SnapshotError::UnsupportedVersion {
            origin: origin.to_string(),
            found: version,
            written_by: header
                .formwork_version
                .as_ref()
                .and_then(|v| v.as_str())
                .map(str::to_string),
        });
    }
    let snap: SnapshotOwned = serde_json::from_str(text).map_err(|e| SnapshotError::Content {
        origin: origin.to_string(),
        message: strip_position(&e),
        line: e.line(),
        column: e.column(),
    })?;
    let computed = fingerprint(&snap.model);
    if computed != snap.fingerprint {
        return Err(SnapshotError::FingerprintMismatch {
            origin: origin.to_string(),
            recorded: snap.fingerprint,
            computed,
        });
    }
    Ok(Catalog {
        model: snap.model,
        unmanaged: snap.unmanaged,
        server: snap.server,
        roles: snap.roles,
    })
}

fn syntax(e: serde_json::Error, text: &str, origin: &str) -> SnapshotError {
    let (line, column) = (e.line(), e.column());
    SnapshotError::Syntax(Box::new(SyntaxError {
        origin: origin.to_string(),
        message: strip_position(&e),
        line,
        column,
        at: SourceSpan::new(byte_offset(text, line, column).into(), 0),
        src: NamedSource::new(origin, text.to_string()),
    }))
}

/// serde_json's message without its " at line L column C" suffix (the error says it its own
/// way).
fn strip_position(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    }
}

/// The byte offset of serde_json's 1-based line and column (columns count bytes), clamped to
/// the text and to a character boundary.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut at = (line_start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, ObjectKind, Schema, Table};

    fn catalog() -> Catalog {
        let mut t = Table {
            name: "users".into(),
            ..Table::default()
        };
        for (name, ty) in [("id", "bigint"), ("email", "text")] {
            t.columns.insert(
                name.into(),
                Column {
                    grants: Vec::new(),
                    name: name.into(),
                    data_type: ty.into(),
                    not_null: true,
                    default: None,
                    identity: None,
                    generated: None,
                    collation: None,
                    comment: Some("ünïcode \"quoted\"".into()),
                    renamed_from: None,
                },
            );
        }
        let mut s = Schema {
            name: "public".into(),
            ..Schema::default()
        };
        s.tables.insert("users".into(), t);
        let mut model = Model::default();
        model.schemas.insert("public".into(), s);
        Catalog {
            model,
            unmanaged: vec![Unmanaged {
                kind: ObjectKind::Function,
                name: "public.f()".into(),
            }],
            server: ServerInfo {
                version_num: 150018,
                system_identifier: "7300000000000000000".into(),
                database: "app".into(),
            },
            roles: Some(vec!["app".into(), "postgres".into()]),
        }
    }

    fn text() -> String {
        match to_string(&catalog()) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn round_trips_and_records_the_fingerprint() {
        let t = text();
        let back = from_str(&t).expect("reads back");
        assert_eq!(back, catalog());
        let fp = fingerprint(&catalog().model).to_hex();
        assert!(t.contains(&format!("\"fingerprint\": \"{fp}\"")), "{t}");
        assert!(t.starts_with("{\n  \"format\": \"formwork-snapshot\",\n  \"version\": 1,"));
        assert_eq!(to_string(&back).expect("again"), t);
    }

    #[test]
    fn a_newer_version_is_refused_naming_the_writer() {
        let t = text()
            .replacen("\"version\": 1,", "\"version\": 7,", 1)
            .replacen(env!("CARGO_PKG_VERSION"), "9.9.9", 1);
        match from_str(&t) {
            Err(SnapshotError::UnsupportedVersion {
                found, written_by, ..
            }) => {
                assert_eq!(found, 7);
                assert_eq!(written_by.as_deref(), Some("9.9.9"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_that_is_not_a_snapshot_is_named_as_such() {
        for (doc, reason) in [
            ("[1, 2]", "it is a JSON array, not an object"),
            ("{\"steps\": []}", "it has no `format` field"),
            ("{\"format\": \"other\"}", "its `format` is \"other\""),
            (
                "{\"format\": \"formwork-snapshot\", \"version\": \"1\"}",
                "its `version` is missing or not a positive integer",
            ),
        ] {
            match from_str(doc) {
                Err(e @ SnapshotError::NotASnapshot { .. }) => {
                    assert!(e.to_string().contains(reason), "{e} / {reason}")
                }
                other => panic!("{doc}: {other:?}"),
            }
        }
    }

    #[test]
    fn syntax_errors_point_at_their_line_and_column() {
        let t = text();
        let cut = &t[..t.find("\"model\"").unwrap_or(t.len())];
        match from_str(cut) {
            Err(SnapshotError::Syntax(e)) => {
                assert_eq!(e.line, cut.lines().count());
                assert!(e.column > 0);
                assert!(e.at.offset() <= cut.len());
            }
            other => panic!("{other:?}"),
        }
        match from_str("{\n  \"format\": x\n}") {
            Err(SnapshotError::Syntax(e)) => {
                assert_eq!((e.line, e.column), (2, 13));
                assert!(e.to_string().contains("line 2, column 13"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_syntax_error_renders_pointing_at_its_place() {
        let Err(e) = from_str("{\n  \"format\": x\n}") else {
            panic!("accepted")
        };
        let mut out = String::new();
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        handler.render_report(&mut out, &e).expect("render");
        assert!(out.contains("[the snapshot:2:13]"), "{out}");
        assert!(out.contains("\"format\": x"), "{out}");
        assert!(out.contains("cut short"), "{out}");
    }

    #[test]
    fn a_wrong_field_type_is_content_error_with_position() {
        let t = text().replacen("\"not_null\": true", "\"not_null\": \"yes\"", 1);
        match from_str(&t) {
            Err(SnapshotError::Content { line, message, .. }) => {
                assert!(line > 1);
                assert!(message.contains("invalid type"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn offsets_respect_multibyte_characters() {
        let s = "é\nab";
        assert_eq!(byte_offset(s, 1, 2), 0);
        assert_eq!(byte_offset(s, 2, 2), 4);
        assert_eq!(byte_offset(s, 9, 9), s.len());
    }
}
