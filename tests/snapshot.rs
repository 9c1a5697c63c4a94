//! Catalog snapshots against a real PostgreSQL: `formwork dump --snapshot` of a schema that uses
//! every construct of the model reads back as the catalog a fresh introspection sees, with the
//! same fingerprint; the bytes are stable; and files that were edited, cut short or are not
//! snapshots at all are refused with a reason, never a panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{TempDir, TestDb};
use formwork::catalog::Catalog;
use formwork::catalog::fingerprint::fingerprint;
use formwork::catalog::snapshot::{self, SnapshotError};

const RICH: &str = include_str!("fixtures/rich.sql");
const UNMANAGED: &str = include_str!("fixtures/unmanaged.sql");

fn formwork(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(args)
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run formwork")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}",
        out.status.code(),
        stderr(out)
    );
}

async fn rich_db() -> TestDb {
    let db = TestDb::new().await;
    db.execute(RICH).await;
    db.execute(UNMANAGED).await;
    db
}

async fn introspect(db: &TestDb) -> Catalog {
    let client = db.client().await;
    formwork::catalog::introspect(&client)
        .await
        .expect("introspect")
}

/// Dump `db` to a snapshot file in `dir` with the CLI (plus `extra` arguments); returns the
/// file and the CLI's output.
fn dump_snapshot(db: &TestDb, dir: &TempDir, name: &str, extra: &[&str]) -> (PathBuf, Output) {
    let path = dir.0.join(name);
    let (url, file) = (db.url(), path.to_string_lossy().into_owned());
    let mut args = vec!["dump", "--db", &url, "--snapshot", &file];
    args.extend_from_slice(extra);
    let out = formwork(&dir.0, &args);
    assert_success(&out, "dump --snapshot");
    (path, out)
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_of_a_rich_database_reads_back_as_a_fresh_introspection() {
    let db = rich_db().await;
    let dir = TempDir::new("rich");
    let (path, out) = dump_snapshot(&db, &dir, "rich.snapshot.json", &[]);

    let read = snapshot::read(&path).expect("the snapshot reads back");
    let fresh = introspect(&db).await;
    assert_eq!(read, fresh);
    assert_eq!(fingerprint(&read.model), fingerprint(&fresh.model));
    assert!(
        !read.unmanaged.is_empty(),
        "the unmanaged fixture's objects are kept in the snapshot"
    );
    assert_eq!(read.server.database, db.name());

    // The fingerprint is reported, and it is the one recorded in the file.
    let fp = fingerprint(&fresh.model).to_hex();
    assert!(stderr(&out).contains(&fp), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).expect("read snapshot");
    assert!(text.contains(&format!("\"fingerprint\": \"{fp}\"")));

    // Without --out, a snapshot dump writes no KDL files.
    assert!(
        !dir.0.join("schemas").exists(),
        "no schemas directory expected"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_snapshots_of_an_unchanged_database_are_byte_identical() {
    let db = rich_db().await;
    let dir = TempDir::new("twice");
    // The first into a directory that does not exist yet, the second to standard output.
    let (a, _) = dump_snapshot(&db, &dir, "nested/dir/a.json", &[]);
    let a = std::fs::read(a).expect("a");
    let out = formwork(&dir.0, &["dump", "--db", &db.url(), "--snapshot", "-"]);
    assert_success(&out, "dump --snapshot -");
    assert!(a.len() > 10_000, "a rich snapshot is not tiny");
    assert!(a == out.stdout, "two dumps of one database differ");
    // Reading and writing again gives the same bytes too.
    let again = snapshot::to_string(&snapshot::from_str(&String::from_utf8_lossy(&a)).unwrap())
        .expect("encode");
    assert!(again.as_bytes() == a.as_slice());
}

#[test]
fn snapshot_and_kdl_cannot_both_go_to_standard_output() {
    let dir = TempDir::new("usage");
    let out = formwork(
        &dir.0,
        &[
            "dump",
            "--db",
            "postgres://nobody@127.0.0.1:1/none",
            "--snapshot",
            "-",
            "--out",
            "-",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot share standard output"));
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_and_kdl_come_from_one_dump_when_out_is_given() {
    let db = rich_db().await;
    let dir = TempDir::new("both");
    let kdl = dir.0.join("kdl");
    let (snap, _) = dump_snapshot(&db, &dir, "s.json", &["--out", &kdl.to_string_lossy()]);
    let read = snapshot::read(&snap).expect("snapshot");
    let loaded = formwork::kdl::load::load_dir(&kdl).expect("the KDL loads");
    assert_eq!(loaded, read.model);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_model_is_refused_with_the_fingerprint_message() {
    let db = rich_db().await;
    let dir = TempDir::new("edited");
    let (path, _) = dump_snapshot(&db, &dir, "s.json", &[]);
    let text = std::fs::read_to_string(&path).expect("read");
    let edited = text.replacen("\"data_type\": \"bigint\"", "\"data_type\": \"text\"", 1);
    assert_ne!(edited, text, "the fixture has a bigint column");
    std::fs::write(&path, edited).expect("write");
    match snapshot::read(&path) {
        Err(e @ SnapshotError::FingerprintMismatch { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains("does not match its fingerprint"),
                "{message}"
            );
            let help = miette::Diagnostic::help(&e).map(|h| h.to_string());
            assert!(
                help.as_deref()
                    .is_some_and(|h| h.contains("edited or corrupted")),
                "{help:?}"
            );
        }
        other => panic!("expected a fingerprint mismatch, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_and_garbage_files_are_refused_without_panic() {
    let db = rich_db().await;
    let dir = TempDir::new("broken");
    let (path, _) = dump_snapshot(&db, &dir, "s.json", &[]);
    let text = std::fs::read_to_string(&path).expect("read");

    // Cut short at several places, including inside a multi-byte character.
    for cut in [0, 1, text.len() / 3, text.len() / 2, text.len() - 2] {
        let bytes = &text.as_bytes()[..cut];
        std::fs::write(&path, bytes).expect("write");
        match snapshot::read(&path) {
            Err(SnapshotError::Syntax(e)) => {
                assert!(e.line >= 1 && e.column <= bytes.len() + 1, "{e}");
            }
            Err(SnapshotError::NotASnapshot { .. }) => {
                // a cut inside a multi-byte character leaves invalid UTF-8
                assert!(std::str::from_utf8(bytes).is_err());
            }
            other => panic!("cut at {cut}: expected a syntax error, got {other:?}"),
        }
    }

    // Binary garbage and text that is not JSON.
    std::fs::write(&path, [0xff_u8, 0x00, 0x7b, 0xc3, 0x28, 0x22]).expect("write");
    assert!(matches!(
        snapshot::read(&path),
        Err(SnapshotError::NotASnapshot { .. })
    ));
    std::fs::write(&path, "schema \"public\" {\n}\n").expect("write");
    match snapshot::read(&path) {
        Err(SnapshotError::Syntax(e)) => {
            assert!(e.to_string().contains("line 1, column"), "{e}");
            assert_eq!(e.line, 1);
        }
        other => panic!("{other:?}"),
    }
    // Valid JSON of another kind.
    std::fs::write(&path, "{\"plan\": []}").expect("write");
    assert!(matches!(
        snapshot::read(&path),
        Err(SnapshotError::NotASnapshot { .. })
    ));
    // A missing file.
    assert!(matches!(
        snapshot::read(&dir.0.join("missing.json")),
        Err(SnapshotError::Read { .. })
    ));
}
