//! Round trips through every representation formwork has, on a schema that uses every construct
//! of the model (`fixtures/rich.sql`), against a real PostgreSQL:
//!
//! - SQL → database → `dump` → KDL → load → the model the catalog shows;
//! - model → DDL → empty database → catalog → the same model;
//! - `dump` twice → identical bytes, already in `fmt` form;
//! - `import` of the SQL file, of `pg_dump --schema-only` output and of Alembic-shaped output →
//!   the same KDL as `dump`;
//! - a failing statement is reported with its file, line and the server's message;
//! - objects that are not managed yet are reported, not dropped in silence.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::TestDb;
use formwork::model::{Model, ObjectKind, QualifiedName};

const RICH: &str = include_str!("fixtures/rich.sql");
const UNMANAGED: &str = include_str!("fixtures/unmanaged.sql");
const ALEMBIC: &str = include_str!("fixtures/alembic_offline.sql");

/// A directory of its own under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "formwork-roundtrip-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn formwork(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(args)
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

/// Every file under `dir`, by path relative to it.
fn read_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                out.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn mtimes(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<Option<std::time::SystemTime>> {
    files
        .keys()
        .map(|p| {
            std::fs::metadata(dir.join(p))
                .and_then(|m| m.modified())
                .ok()
        })
        .collect()
}

async fn rich_db() -> TestDb {
    let db = TestDb::new().await;
    db.execute(RICH).await;
    db
}

async fn introspect(db: &TestDb) -> formwork::catalog::Catalog {
    let client = db.client().await;
    formwork::catalog::introspect(&client)
        .await
        .expect("introspect")
}

fn load_files(files: &[(PathBuf, String)]) -> Model {
    let sources: Vec<formwork::kdl::SourceFile> = files
        .iter()
        .map(|(p, text)| formwork::kdl::SourceFile {
            name: p.display().to_string(),
            text: text.clone(),
        })
        .collect();
    match formwork::kdl::load::load_sources(&sources) {
        Ok(m) => m,
        Err(e) => panic!("dumped KDL does not load: {:?}", miette::Report::new(e)),
    }
}

/// The rich fixture really exercises what it claims to: if the catalog silently lost a kind of
/// object, every round trip below would still pass on the smaller model.
fn assert_rich_model_is_complete(m: &Model) {
    let table = |s: &str, t: &str| {
        m.table(&QualifiedName::new(s, t))
            .unwrap_or_else(|| panic!("table {s}.{t} missing"))
    };
    for ext in ["pgcrypto", "citext", "btree_gist"] {
        assert!(m.extensions.contains_key(ext), "extension {ext} missing");
    }
    for s in ["app", "billing", "Audit Log", "ünïcødé", "extensions"] {
        assert!(m.schemas.contains_key(s), "schema {s} missing");
    }
    let app = &m.schemas["app"];
    assert_eq!(app.enums["Session State"].values.len(), 5);
    assert!(
        m.schemas["billing"].sequences["countdown_seq"]
            .options
            .cycle
    );
    assert!(
        m.schemas["Audit Log"].sequences["Entry Seq"]
            .owned_by
            .is_some()
    );
    let events = table("app", "events");
    assert!(events.columns["id"].identity.is_some());
    assert!(events.columns["duration"].generated.is_some());
    assert!(events.columns["description"].collation.is_some());
    assert!(events.foreign_keys.contains_key("events_main_session_fk"));
    let sessions = table("app", "sessions");
    assert!(
        sessions
            .exclusions
            .contains_key("sessions_no_double_booking")
    );
    assert!(!table("billing", "orders").foreign_keys["orders_event_fk"].valid);
    let customers = table("app", "customers");
    assert!(!customers.checks["customers_email_has_at"].valid);
    assert!(customers.checks["customers_balance_nonnegative"].no_inherit);
    // NULLS NOT DISTINCT exists from PostgreSQL 15 (the fixture leaves it out before).
    let nnd = common::server_major() >= 15;
    assert_eq!(
        customers.uniques["customers_phone_key"].nulls_not_distinct,
        nnd
    );
    assert_eq!(
        customers.indexes["customers_phone_nnd_idx"].nulls_not_distinct,
        nnd
    );
    assert_eq!(
        table("app", "rooms")
            .primary_key
            .as_ref()
            .map(|pk| pk.include.clone()),
        Some(vec!["label".to_string()])
    );
    assert_eq!(
        table("billing", "rate_cache").persistence,
        formwork::model::Persistence::Unlogged
    );
    let long = table(
        "ünïcødé",
        "this_table_name_is_exactly_sixty_three_bytes_long_for_testing_x",
    );
    assert!(
        long.columns
            .contains_key("Column With Spaces And \"Quotes\" That Is Exactly 63 Bytes Long!!")
    );
    assert!(
        long.foreign_keys
            .contains_key("fk_with_a_constraint_name_that_is_exactly_sixty_three_bytes_lon")
    );
    assert!(
        table("Audit Log", "Entries")
            .columns
            .contains_key("Row \"Key\"")
    );
    assert_eq!(app.views.len(), 4);
    assert!(m.schemas["billing"].views.contains_key("Top Events"));
    assert!(app.views["big_venues"].options.contains_key("check_option"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dumped_kdl_loads_back_to_the_introspected_model() {
    let db = rich_db().await;
    let catalog = introspect(&db).await;
    assert_rich_model_is_complete(&catalog.model);

    let dump = formwork::ops::dump::dump(db.conn_info())
        .await
        .expect("dump");
    assert_eq!(dump.model, catalog.model);
    let loaded = load_files(&dump.files);
    assert_eq!(loaded, catalog.model);
    assert_eq!(
        formwork::catalog::fingerprint::fingerprint(&loaded),
        formwork::catalog::fingerprint::fingerprint(&catalog.model)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_ddl_rebuilds_the_same_model_in_an_empty_database() {
    let db = rich_db().await;
    let original = introspect(&db).await.model;

    let empty = TestDb::new().await;
    let client = empty.client().await;
    for stmt in formwork::ddl::render(&original) {
        if let Err(e) = client.batch_execute(&stmt).await {
            panic!(
                "rendered DDL failed: {}\n{stmt}",
                e.as_db_error()
                    .map(|d| d.message().to_string())
                    .unwrap_or_else(|| e.to_string())
            );
        }
    }
    let rebuilt = introspect(&empty).await.model;
    assert_eq!(rebuilt, original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_twice_gives_identical_bytes_already_formatted() {
    let db = rich_db().await;
    let (a, b) = (TempDir::new("dump-a"), TempDir::new("dump-b"));
    for dir in [&a, &b] {
        let out = formwork(&["dump", "--db", &db.url(), "--out", &dir.0.to_string_lossy()]);
        assert_success(&out, "dump");
    }
    let (first, second) = (read_tree(&a.0), read_tree(&b.0));
    assert!(!first.is_empty());
    assert_eq!(first, second);

    // A third dump into the same directory rewrites nothing.
    let before = mtimes(&a.0, &first);
    let out = formwork(&["dump", "--db", &db.url(), "--out", &a.0.to_string_lossy()]);
    assert_success(&out, "dump again");
    assert!(stderr(&out).contains("0 changed"), "{}", stderr(&out));
    let after = mtimes(&a.0, &first);
    assert_eq!(before, after);

    for (path, bytes) in &first {
        let text = String::from_utf8(bytes.clone()).expect("KDL is UTF-8");
        let formatted = formwork::kdl::format::format_source(&path.display().to_string(), &text)
            .unwrap_or_else(|e| panic!("{path:?} does not parse: {:?}", miette::Report::new(e)));
        assert_eq!(formatted, text, "{path:?} is not in fmt form");
    }
    let check = formwork(&["fmt", "--dir", &a.0.to_string_lossy(), "--check"]);
    assert_success(&check, "fmt --check on dumped files");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_to_stdout_concatenates_the_files_and_reports_on_stderr() {
    let db = rich_db().await;
    let out = formwork(&["dump", "--db", &db.url(), "--out", "-"]);
    assert_success(&out, "dump --out -");
    let text = String::from_utf8(out.stdout.clone()).expect("UTF-8");
    let dump = formwork::ops::dump::dump(db.conn_info())
        .await
        .expect("dump");
    assert_eq!(text, dump.concatenated());
    assert!(text.contains("this_table_name_is_exactly_sixty_three_bytes_long_for_testing_x"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_of_the_sql_file_gives_the_same_kdl_as_dump() {
    let db = rich_db().await;
    let (dumped, imported) = (TempDir::new("dump"), TempDir::new("import"));
    let out = formwork(&[
        "dump",
        "--db",
        &db.url(),
        "--out",
        &dumped.0.to_string_lossy(),
    ]);
    assert_success(&out, "dump");
    let admin = common::cluster().conn_info("postgres").to_url_string();
    // The fixture as the server accepts it (what rich_db ran).
    let source_dir = TempDir::new("source");
    let source = source_dir.0.join("rich.sql");
    std::fs::create_dir_all(&source_dir.0).unwrap();
    std::fs::write(&source, &*common::for_server(RICH)).unwrap();
    let out = formwork(&[
        "import",
        &source.to_string_lossy(),
        "--dev-url",
        &admin,
        "--out",
        &imported.0.to_string_lossy(),
    ]);
    assert_success(&out, "import");
    assert_eq!(read_tree(&imported.0), read_tree(&dumped.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_of_pg_dump_schema_only_output_gives_the_same_kdl_as_dump() {
    let db = rich_db().await;
    let server: i32 = db
        .client()
        .await
        .query_one(
            "SELECT current_setting('server_version_num')::int / 10000",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // pg_dump refuses a newer server. The server binaries of some majors come without it; then
    // the one on PATH serves if it is at least as new, and otherwise there is nothing to run.
    let bin = common::cluster().bin_dir().join("pg_dump");
    let pg_dump = if bin.exists() {
        bin
    } else {
        PathBuf::from("pg_dump")
    };
    let version = Command::new(&pg_dump).arg("--version").output();
    let major = version.as_ref().ok().and_then(|o| {
        let text = String::from_utf8_lossy(&o.stdout);
        let v = text.split_whitespace().nth(2)?;
        v.split('.').next()?.parse::<i32>().ok()
    });
    if major.is_none_or(|m| m < server) {
        eprintln!(
            "skipped: no pg_dump for PostgreSQL {server} ({} is {major:?})",
            pg_dump.display()
        );
        return;
    }
    let out = Command::new(&pg_dump)
        .args(["--schema-only", "-d", &db.url()])
        .output()
        .expect("run pg_dump");
    assert_success(&out, "pg_dump --schema-only");
    let sql = String::from_utf8(out.stdout).expect("UTF-8");
    let source = formwork::ops::import::SqlSource {
        name: "pg_dump.sql".into(),
        text: sql,
    };
    let scratch = formwork::pg::scratch::Scratch::dev(
        &common::cluster().conn_info("postgres").to_url_string(),
    )
    .expect("scratch");
    let imported = formwork::ops::import::import(&scratch, &source)
        .await
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    let dump = formwork::ops::dump::dump(db.conn_info())
        .await
        .expect("dump");
    assert_eq!(imported.model, dump.model);
    assert_eq!(imported.files, dump.files);
    // pg_dump 15.18+ writes `\restrict`/`\unrestrict` lines; owners are skipped, not run.
    if source.text.contains("\\restrict") {
        assert!(
            imported
                .skipped
                .iter()
                .any(|s| s.reason == formwork::ops::import::SkipReason::MetaCommand)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_of_alembic_offline_output_leaves_out_alembic_version() {
    let scratch = formwork::pg::scratch::Scratch::dev(
        &common::cluster().conn_info("postgres").to_url_string(),
    )
    .expect("scratch");
    let source = formwork::ops::import::SqlSource {
        name: "alembic_offline.sql".into(),
        text: ALEMBIC.into(),
    };
    let imported = formwork::ops::import::import(&scratch, &source)
        .await
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    assert_eq!(
        imported.excluded,
        vec![QualifiedName::new("public", "alembic_version")]
    );
    let names: Vec<String> = imported
        .model
        .tables()
        .map(|(s, t)| format!("{}.{}", s.name, t.name))
        .collect();
    assert_eq!(names, vec!["public.accounts", "public.posts"]);
    let posts = imported
        .model
        .table(&QualifiedName::new("public", "posts"))
        .expect("posts");
    // The second revision's changes are there: a column added and an index created.
    assert!(posts.columns.contains_key("published_at"));
    assert!(posts.indexes.contains_key("ix_posts_published_at"));
    assert!(posts.foreign_keys.contains_key("posts_account_id_fkey"));
    let kdl: String = imported.files.iter().map(|(_, t)| t.as_str()).collect();
    assert!(!kdl.contains("alembic_version"));
}

fn import_file(dir: &TempDir, name: &str, sql: &str) -> (Output, PathBuf) {
    let file = dir.0.join(name);
    std::fs::write(&file, sql).expect("write");
    let out_dir = dir.0.join("out");
    let admin = common::cluster().conn_info("postgres").to_url_string();
    let out = formwork(&[
        "import",
        &file.to_string_lossy(),
        "--dev-url",
        &admin,
        "--out",
        &out_dir.to_string_lossy(),
    ]);
    (out, out_dir)
}

#[test]
fn import_reports_the_failing_statement_with_file_line_and_server_message() {
    let dir = TempDir::new("bad-sql");
    // The server gives a position: the report points at the word it refused.
    let (out, out_dir) = import_file(
        &dir,
        "typo.sql",
        "CREATE TABLE a (id int PRIMARY KEY);\n\
         \n\
         -- a typo in a type name\n\
         CREATE TABLE b (\n    id int,\n    a_id intt\n);\n\
         CREATE TABLE c (id int);\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("typo.sql:6:10"), "{err}");
    assert!(err.contains("type \"intt\" does not exist"), "{err}");
    assert!(!out_dir.exists(), "nothing is written on failure");

    // No position from the server: the report names the statement's first line.
    let (out, _) = import_file(
        &dir,
        "missing.sql",
        "CREATE TABLE a (id int);\n\nCREATE TABLE b (\n    a_id int REFERENCES nope (id)\n);\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("missing.sql:3:1"), "{err}");
    assert!(err.contains("relation \"nope\" does not exist"), "{err}");
}

#[test]
fn import_with_an_ephemeral_cluster_needs_no_server() {
    let dir = TempDir::new("ephemeral");
    let file = dir.0.join("one.sql");
    std::fs::write(
        &file,
        "CREATE TABLE \"Mixed Case\" (\"select\" int PRIMARY KEY);\n",
    )
    .expect("write");
    let out = formwork(&["import", &file.to_string_lossy(), "--out", "-"]);
    assert_success(&out, "import on an ephemeral cluster");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Mixed Case"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_reports_objects_that_are_not_managed_yet() {
    let db = TestDb::new().await;
    db.execute(UNMANAGED).await;
    let dump = formwork::ops::dump::dump(db.conn_info())
        .await
        .expect("dump");
    let kinds: Vec<ObjectKind> = dump.unmanaged.iter().map(|u| u.kind).collect();
    for kind in [ObjectKind::Policy, ObjectKind::Policy] {
        assert!(kinds.contains(&kind), "{kind:?} not reported: {kinds:?}");
    }
    // Partitioned tables and partitions are managed: dumped, not reported.
    assert!(
        !kinds.contains(&ObjectKind::Partition) && !kinds.contains(&ObjectKind::PartitionedTable),
        "partitioning reported as unmanaged: {kinds:?}"
    );

    let dir = TempDir::new("unmanaged");
    let out = formwork(&["dump", "--db", &db.url(), "--out", &dir.0.to_string_lossy()]);
    assert_success(&out, "dump");
    let err = stderr(&out);
    assert!(err.contains("not managed yet"), "{err}");
    assert!(
        err.contains("sales_recent"),
        "the partitioned table's policy is missing from the report:\n{err}"
    );
    let kdl: String = read_tree(&dir.0)
        .values()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(kdl.contains("items"));
    // Managed now: dumped, not reported.
    assert!(kdl.contains("function \"touch_updated_at\""), "{kdl}");
    assert!(kdl.contains("trigger \"items_touch\""), "{kdl}");
    assert!(kdl.contains("materialized-view \"item_prices\""), "{kdl}");
    assert!(kdl.contains("policy \"items_owner\""), "{kdl}");
    assert!(!err.contains("item_prices"), "{err}");
    assert!(kdl.contains("domain \"positive_price\""), "{kdl}");
    assert!(kdl.contains("partition-of=\"sales\""), "{kdl}");
    assert!(!err.contains("positive_price"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_never_prints_the_password() {
    let db = TestDb::new().await;
    db.execute("CREATE TABLE t (id int)").await;
    // Trust authentication ignores the password, so the dump succeeds and its output can be
    // searched for it.
    let url = db.url();
    let with_password = match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) => format!("{scheme}://{user}:s3cr3t-pw@{host}"),
            None => format!("{scheme}://postgres:s3cr3t-pw@{rest}"),
        },
        None => format!("{url} password=s3cr3t-pw"),
    };
    let dir = TempDir::new("password");
    let out = formwork(&[
        "dump",
        "--db",
        &with_password,
        "--out",
        &dir.0.to_string_lossy(),
    ]);
    assert_success(&out, "dump with a password");
    let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    assert!(!all.contains("s3cr3t-pw"), "{all}");
    let bad = formwork(&[
        "dump",
        "--db",
        &with_password.replace(db.name(), "no_such_db"),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(!stderr(&bad).contains("s3cr3t-pw"), "{}", stderr(&bad));
}
