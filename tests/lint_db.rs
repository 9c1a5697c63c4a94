//! `formwork lint --db`: facts from a real PostgreSQL catalog make findings precise.

mod common;

use std::process::Command;

fn lint_with_db(url: &str, sql: &str) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let dir = std::env::temp_dir().join(format!(
        "formwork-lint-db-{}-{}",
        std::process::id(),
        sql.len()
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("m.sql");
    std::fs::write(&path, sql).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_formwork"))
        .current_dir(&dir)
        .args(["lint", "--format", "json", "--db", url, "m.sql"])
        .output()
        .expect("run formwork");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    let findings = doc["findings"].as_array().cloned().unwrap_or_default();
    (out.status.code(), findings, stderr)
}

fn has(findings: &[serde_json::Value], rule: &str, line: u64) -> bool {
    findings
        .iter()
        .any(|f| f["rule"] == rule && f["start"]["line"] == line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_facts_remove_false_positives_and_keep_real_hazards() {
    let db = common::TestDb::new().await;
    db.execute(
        "CREATE TABLE accounts (
             id int PRIMARY KEY,
             email varchar(10),
             nickname text,
             verified_email text,
             CONSTRAINT verified_email_not_null CHECK (verified_email IS NOT NULL)
         );
         INSERT INTO accounts SELECT g, 'a' || g, NULL, 'v' FROM generate_series(1, 5000) g;
         ANALYZE accounts;
         CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
         CREATE INDEX events_at_idx ON events (at);
         CREATE FUNCTION stable_now() RETURNS timestamptz LANGUAGE sql STABLE AS 'SELECT now()';
         CREATE FUNCTION next_token() RETURNS text LANGUAGE sql VOLATILE AS 'SELECT md5(random()::text)';",
    )
    .await;
    let sql = "SET lock_timeout = '1s';\n\
               SET statement_timeout = '1h';\n\
               ALTER TABLE accounts ALTER COLUMN verified_email SET NOT NULL;\n\
               ALTER TABLE accounts ALTER COLUMN nickname SET NOT NULL;\n\
               ALTER TABLE accounts ALTER COLUMN email TYPE varchar(20);\n\
               ALTER TABLE accounts ALTER COLUMN id TYPE bigint;\n\
               ALTER TABLE accounts ADD COLUMN seen timestamptz DEFAULT stable_now();\n\
               ALTER TABLE accounts ADD COLUMN token text DEFAULT next_token();\n\
               CREATE INDEX events_id_idx ON events (id);\n\
               DROP INDEX events_at_idx;\n\
               CREATE INDEX brand_new_idx ON table_created_by_an_earlier_migration_step (a);\n";
    let (code, findings, stderr) = lint_with_db(&db.url(), sql);
    assert_eq!(code, Some(1), "{stderr}");
    let summary: Vec<String> = findings
        .iter()
        .map(|f| format!("{}@{}", f["rule"], f["start"]["line"]))
        .collect();

    // A validated CHECK (col IS NOT NULL) in the catalog makes SET NOT NULL scan-free.
    assert!(!has(&findings, "set-not-null-scan", 3), "{summary:?}");
    assert!(has(&findings, "set-not-null-scan", 4), "{summary:?}");
    // varchar(10) -> varchar(20) is binary-coercible; int -> bigint rewrites, with a row count.
    assert!(
        !has(&findings, "change-column-type-rewrite", 5),
        "{summary:?}"
    );
    let rewrite = findings
        .iter()
        .find(|f| f["rule"] == "change-column-type-rewrite" && f["start"]["line"] == 6)
        .unwrap_or_else(|| panic!("int -> bigint not flagged: {summary:?}"));
    assert!(
        rewrite["message"]
            .as_str()
            .unwrap_or("")
            .contains("about 5000 rows"),
        "{rewrite}"
    );
    // Volatility comes from pg_proc, so user functions are judged correctly.
    assert!(
        !has(&findings, "add-column-volatile-default", 7),
        "{summary:?}"
    );
    assert!(
        has(&findings, "add-column-volatile-default", 8),
        "{summary:?}"
    );
    // Partitioned tables and indexes are known from the catalog.
    assert!(has(&findings, "partitioned-index-build", 9), "{summary:?}");
    assert!(has(&findings, "partitioned-index-drop", 10), "{summary:?}");
    // A table the database does not have yet is new, so building an index on it is not a hazard.
    assert!(
        !has(&findings, "create-index-non-concurrent", 11),
        "{summary:?}"
    );
}

#[test]
fn an_unreachable_database_is_an_error_without_the_password() {
    let dir = std::env::temp_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_formwork"))
        .current_dir(&dir)
        .args([
            "lint",
            "--db",
            "postgresql://someone:s3cr3t-pw@127.0.0.1:1/nothing",
            "-",
        ])
        .output()
        .expect("run formwork");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--db"), "{err}");
    assert!(!err.contains("s3cr3t-pw"), "password leaked: {err}");
}
