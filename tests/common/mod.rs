//! The test bed: one throwaway PostgreSQL cluster per test binary, a fresh database per test.
//!
//! Include it with `mod common;`. The cluster starts on first use and is removed when the test
//! binary exits (the cluster's watchdog sees to that even though statics are never dropped).
//! If no PostgreSQL server binaries can be found, tests fail with a message saying so: a
//! missing server is never a silent skip.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use formwork::pg::cluster::{ClusterOptions, EphemeralCluster};
use formwork::pg::connect::ConnInfo;

static CLUSTER: OnceLock<Result<EphemeralCluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU64 = AtomicU64::new(0);

/// The shared cluster of this test binary, started on first use.
pub fn cluster() -> &'static EphemeralCluster {
    let result = CLUSTER.get_or_init(|| {
        EphemeralCluster::start(&ClusterOptions::default()).map_err(|e| e.to_string())
    });
    match result {
        Ok(c) => c,
        Err(e) => {
            panic!("these tests need a real PostgreSQL server and none could be started: {e}")
        }
    }
}

/// The major version of the test cluster's server (`postgres --version`).
#[allow(dead_code)]
pub fn server_major() -> u32 {
    static MAJOR: OnceLock<u32> = OnceLock::new();
    *MAJOR.get_or_init(|| {
        let out = std::process::Command::new(cluster().bin_dir().join("postgres"))
            .arg("--version")
            .output()
            .expect("run postgres --version");
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .nth(2)
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("unexpected `postgres --version` output: {text}"))
    })
}

/// `sql` as the test cluster's server accepts it: before PostgreSQL 15, unique constraints
/// and indexes cannot say NULLS NOT DISTINCT, so the fixtures' uses of it are left out (the
/// default, NULLS DISTINCT, is what those servers have).
#[allow(dead_code)]
pub fn for_server(sql: &str) -> std::borrow::Cow<'_, str> {
    if server_major() >= 15 {
        std::borrow::Cow::Borrowed(sql)
    } else {
        std::borrow::Cow::Owned(sql.replace(" NULLS NOT DISTINCT", ""))
    }
}

/// A scratch source on the test cluster for `make_plan`'s proof.
#[allow(dead_code)]
pub fn scratch() -> formwork::pg::scratch::LazyScratch {
    use formwork::pg::scratch::{LazyScratch, Scratch};
    LazyScratch::ready(Scratch::Dev(cluster().conn_info("postgres")))
}

/// The model a declaration in one KDL file gives, panicking with the diagnostic if it does
/// not load.
#[allow(dead_code)]
pub fn declared(kdl: &str) -> formwork::model::Model {
    formwork::kdl::load::load_sources(&[formwork::kdl::diag::SourceFile {
        name: "schema.kdl".into(),
        text: kdl.into(),
    }])
    .unwrap_or_else(|e| panic!("declaration does not load: {e:?}"))
}

/// The catalog of a test database.
#[allow(dead_code)]
pub async fn catalog(db: &TestDb) -> formwork::catalog::Catalog {
    formwork::catalog::introspect(&db.client().await)
        .await
        .unwrap()
}

/// The declaration a user would have after `formwork dump` of a database holding `sql`: the
/// dumped KDL files, loaded back.
#[allow(dead_code)]
pub async fn declaration_of(sql: &str) -> formwork::model::Model {
    let db = TestDb::new().await;
    if !sql.trim().is_empty() {
        db.execute(sql).await;
    }
    let model = catalog(&db).await.model;
    let files: Vec<formwork::kdl::diag::SourceFile> = formwork::kdl::write::model_to_files(&model)
        .into_iter()
        .map(|(path, text)| formwork::kdl::diag::SourceFile {
            name: path.display().to_string(),
            text,
        })
        .collect();
    formwork::kdl::load::load_sources(&files)
        .unwrap_or_else(|e| panic!("dumped KDL does not load: {e:?}"))
}

/// The error planning `db` toward `desired` is refused with; panics if a plan is made.
#[allow(dead_code)]
pub async fn refusal(
    db: &TestDb,
    desired: &formwork::model::Model,
    options: &formwork::plan::planner::PlanOptions,
) -> formwork::plan::planner::PlannerError {
    let current = catalog(db).await;
    match formwork::plan::planner::make_plan(&current, desired, &scratch(), options).await {
        Ok(_) => panic!("the plan was expected to be refused"),
        Err(e) => e,
    }
}

/// Plan `db` toward `desired`, apply, and check convergence: the database has the declared
/// fingerprint and a second plan is empty. Returns the plan.
#[allow(dead_code)]
pub async fn converge(
    db: &TestDb,
    desired: &formwork::model::Model,
    options: &formwork::plan::planner::PlanOptions,
) -> formwork::plan::planner::Planned {
    use formwork::catalog::fingerprint::fingerprint;
    use formwork::plan::planner::make_plan;
    let scratch = scratch();
    let before = catalog(db).await;
    let planned = make_plan(&before, desired, &scratch, options)
        .await
        .unwrap_or_else(|e| panic!("planning failed: {e}"));
    let sql: Vec<&str> = planned
        .plan
        .steps()
        .iter()
        .map(|s| s.sql.as_str())
        .collect();
    formwork::apply::execute_steps(&db.client().await, &planned.plan)
        .await
        .unwrap_or_else(|e| panic!("applying failed: {e}\n{}", sql.join("\n")));
    let after = catalog(db).await;
    assert_eq!(
        fingerprint(&after.model),
        planned.plan.desired_fingerprint(),
        "the database does not have the declared fingerprint after the plan:\n{}",
        sql.join("\n")
    );
    let again = make_plan(&after, desired, &scratch, options)
        .await
        .unwrap_or_else(|e| panic!("planning again failed: {e}"));
    assert!(
        again.plan.steps().is_empty(),
        "a second plan is not empty after\n{}\nsecond: {:?}",
        sql.join("\n"),
        again
            .plan
            .steps()
            .iter()
            .map(|s| &s.sql)
            .collect::<Vec<_>>()
    );
    planned
}

/// `formwork::ops::import::import` of SQL text on a scratch server of the test cluster,
/// panicking with the diagnostic if it fails.
pub async fn import_sql(text: String) -> formwork::ops::import::Imported {
    let scratch =
        formwork::pg::scratch::Scratch::dev(&cluster().conn_info("postgres").to_url_string())
            .expect("scratch");
    let source = formwork::ops::import::SqlSource {
        name: "import.sql".into(),
        text,
    };
    formwork::ops::import::import(&scratch, &source)
        .await
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)))
}

/// A fresh, empty database of its own for one test.
pub struct TestDb {
    name: String,
    conn_info: ConnInfo,
}

impl TestDb {
    pub async fn new() -> TestDb {
        TestDb::from_template("template0").await
    }

    /// A fresh database copied from `template` (another test database, prepared once and
    /// no longer connected to), which is much faster than loading the same rows again.
    pub async fn from_template(template: &str) -> TestDb {
        let cluster = cluster();
        let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{}_{n}", std::process::id());
        let admin = cluster
            .conn_info("postgres")
            .connect()
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test cluster: {e}"));
        let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
        let mut attempts = 0;
        // A session on the template that was just closed may linger for a moment (55006).
        while let Err(e) = admin.batch_execute(&sql).await {
            attempts += 1;
            let busy = e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE);
            if !busy || attempts > 50 {
                panic!("cannot create test database {name}: {e}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        TestDb {
            conn_info: cluster.conn_info(&name),
            name,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn conn_info(&self) -> &ConnInfo {
        &self.conn_info
    }

    /// A connection string for the `formwork` binary's `--db` (includes no password: the
    /// cluster uses trust authentication over its private socket).
    pub fn url(&self) -> String {
        self.conn_info.to_url_string()
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        self.conn_info
            .connect()
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.name))
    }

    /// Run a batch of SQL statements, panicking with the server's message on failure. The
    /// fixtures are written for the newest servers; [`for_server`] adapts them to older ones.
    pub async fn execute(&self, sql: &str) {
        let client = self.client().await;
        let sql = &*for_server(sql);
        if let Err(e) = client.batch_execute(sql).await {
            let detail = e
                .as_db_error()
                .map(|d| format!("{}: {}", d.severity(), d.message()))
                .unwrap_or_else(|| e.to_string());
            panic!("SQL failed in {}: {detail}\n{sql}", self.name);
        }
    }
}

/// A fresh database for synchronous tests.
pub fn test_db() -> TestDb {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(TestDb::new())
}

/// A directory of its own under the system temp dir, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "formwork-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// Write `text` to `name` inside the directory (parents created); returns the path.
    pub fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&p, text).expect("write file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
pub mod converge;
pub mod workload;

/// The `formwork` binary as the tests run it: `DATABASE_URL` from the environment never leaks
/// in, scratch databases go to this test binary's cluster, and output has no colour.
pub fn formwork_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_formwork"));
    cmd.env_remove("DATABASE_URL")
        .env(
            "FORMWORK_DEV_URL",
            cluster().conn_info("postgres").to_url_string(),
        )
        .env("NO_COLOR", "1");
    cmd
}
