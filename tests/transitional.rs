//! An apply interrupted in the middle of an online sequence leaves formwork's transitional
//! objects (`formwork_notnull_*` checks, `formwork_idx_*` indexes, the shadow and retired
//! columns of a type change). The interruption is made
//! by running a prefix of a plan's steps by hand; a second plan must then reach the declared
//! state without a data-loss refusal, remove the leftovers with the online forms, and leave
//! user objects named `formwork_...` alone.

mod common;

use common::TestDb;
use formwork::catalog::fingerprint::fingerprint;
use formwork::model::Model;
use formwork::plan::planner::{PlanOptions, Planned, make_plan};

use common::{catalog, declared, scratch};

/// Plan with the default options (no data loss, no blocking allowed).
async fn plan(db: &TestDb, kdl: &str) -> Planned {
    make_plan(
        &catalog(db).await,
        &declared(kdl),
        &scratch(),
        &PlanOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("planning failed: {e}"))
}

fn sqls(p: &Planned) -> Vec<String> {
    p.plan.steps().iter().map(|s| s.sql.clone()).collect()
}

/// Run the first `n` steps of `p` by hand: an apply killed after step `n`.
async fn run_prefix(db: &TestDb, p: &Planned, n: usize) {
    for sql in sqls(p).iter().take(n) {
        db.execute(sql).await;
    }
}

/// Plan again, apply, and check the declared fingerprint is reached and a third plan is empty.
async fn converge(db: &TestDb, kdl: &str) -> Planned {
    let again = plan(db, kdl).await;
    formwork::apply::execute_steps(&db.client().await, &again.plan)
        .await
        .unwrap_or_else(|e| panic!("applying failed: {e}\n{:?}", sqls(&again)));
    assert_eq!(
        fingerprint(&catalog(db).await.model),
        again.plan.desired_fingerprint(),
        "not converged after {:?}",
        sqls(&again)
    );
    let third = plan(db, kdl).await;
    assert!(third.plan.steps().is_empty(), "{:?}", sqls(&third));
    again
}

/// Names of formwork's transitional objects still in the database.
async fn leftovers(db: &TestDb) -> Vec<String> {
    db.client()
        .await
        .query(
            "SELECT conname::text FROM pg_constraint WHERE conname ~ '^formwork_[a-z]+_[0-9a-f]{16}$' \
             UNION ALL SELECT relname::text FROM pg_class WHERE relname ~ '^formwork_[a-z]+_[0-9a-f]{16}$'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

const NULLABLE: &str = r#"
schema "public" {
    table "t" {
        column "id" "bigint"
        column "c" "text" nullable=#true
        primary-key "id"
    }
}
"#;

async fn table_with_rows() -> TestDb {
    let db = TestDb::new().await;
    db.execute(
        "CREATE TABLE t (id bigint PRIMARY KEY, c text);
         INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g;",
    )
    .await;
    db
}

#[tokio::test]
async fn an_interrupted_set_not_null_is_finished_with_its_own_check_at_every_step() {
    let required = NULLABLE.replace(r#""text" nullable=#true"#, r#""text""#);
    // The sequence is: ADD ... NOT VALID, VALIDATE, SET NOT NULL, DROP CONSTRAINT.
    for killed_after in 1..=3 {
        let db = table_with_rows().await;
        let first = plan(&db, &required).await;
        assert_eq!(first.plan.steps().len(), 4, "{:?}", sqls(&first));
        run_prefix(&db, &first, killed_after).await;
        assert_eq!(leftovers(&db).await.len(), 1);
        let again = converge(&db, &required).await;
        let s = sqls(&again);
        assert!(
            !s.iter().any(|x| x.contains("ADD CONSTRAINT")),
            "the leftover check is reused, not added again: {s:?}"
        );
        // Only what the first plan had not done yet remains, with the same check.
        assert_eq!(s, sqls(&first)[killed_after..], "after step {killed_after}");
        assert!(leftovers(&db).await.is_empty());
    }
}

#[tokio::test]
async fn a_leftover_not_null_check_is_dropped_when_the_column_stays_nullable() {
    let db = table_with_rows().await;
    let required = NULLABLE.replace(r#""text" nullable=#true"#, r#""text""#);
    let first = plan(&db, &required).await;
    run_prefix(&db, &first, 2).await;
    let again = converge(&db, NULLABLE).await;
    let steps = again.plan.steps();
    assert_eq!(steps.len(), 1, "{:?}", sqls(&again));
    assert!(steps[0].sql.contains("DROP CONSTRAINT \"formwork_notnull_"));
    assert!(steps[0].description.contains("clean up transitional check"));
    assert!(leftovers(&db).await.is_empty());
}

const INDEXED: &str = r#"
schema "public" {
    table "t" {
        column "id" "bigint"
        column "a" "integer"
        column "b" "integer"
        primary-key "id"
        index "t_a_idx" "a"
    }
}
"#;

async fn indexed_table() -> TestDb {
    let db = TestDb::new().await;
    db.execute(
        "CREATE TABLE t (id bigint PRIMARY KEY, a integer NOT NULL, b integer NOT NULL);
         CREATE INDEX t_a_idx ON t (a);
         INSERT INTO t SELECT g, g % 7, g FROM generate_series(1, 100) g;",
    )
    .await;
    db
}

fn indexed_two_columns() -> String {
    INDEXED.replace(r#"index "t_a_idx" "a""#, r#"index "t_a_idx" "a" "b""#)
}

#[tokio::test]
async fn an_interrupted_index_replacement_is_finished_without_rebuilding() {
    let changed = indexed_two_columns();
    // The replacement is: CREATE INDEX CONCURRENTLY temp, DROP INDEX CONCURRENTLY old, RENAME.
    for killed_after in 1..=2 {
        let db = indexed_table().await;
        let first = plan(&db, &changed).await;
        assert_eq!(first.plan.steps().len(), 3, "{:?}", sqls(&first));
        run_prefix(&db, &first, killed_after).await;
        let again = converge(&db, &changed).await;
        let s = sqls(&again);
        assert!(
            !s.iter().any(|x| x.contains("CREATE INDEX")),
            "the built index is reused: {s:?}"
        );
        assert_eq!(s.len(), 3 - killed_after, "{s:?}");
        assert!(
            again
                .plan
                .steps()
                .iter()
                .all(|st| st.description.contains("finish replacing index t_a_idx")),
            "{s:?}"
        );
        assert!(leftovers(&db).await.is_empty());
    }
}

#[tokio::test]
async fn an_invalid_leftover_index_is_dropped_concurrently_then_rebuilt() {
    let db = indexed_table().await;
    let changed = indexed_two_columns();
    let first = plan(&db, &changed).await;
    run_prefix(&db, &first, 1).await;
    // A concurrent build that failed leaves its index INVALID.
    db.execute(
        "UPDATE pg_index SET indisvalid = false \
         WHERE indexrelid = (SELECT oid FROM pg_class WHERE relname ~ '^formwork_idx_')",
    )
    .await;
    let again = converge(&db, &changed).await;
    let s = sqls(&again);
    assert!(
        s[0].starts_with("DROP INDEX CONCURRENTLY \"public\".\"formwork_idx_"),
        "{s:?}"
    );
    assert!(again.plan.steps()[0].description.contains("INVALID"));
    assert!(s.iter().any(|x| x.contains("CREATE INDEX CONCURRENTLY")));
    assert!(leftovers(&db).await.is_empty());
}

#[tokio::test]
async fn user_indexes_named_like_formwork_are_left_alone() {
    let db = indexed_table().await;
    db.execute(
        "CREATE INDEX formwork_idx_custom ON t (b);
         CREATE INDEX formwork_idx_0123456789abcdef ON t (a, b);",
    )
    .await;
    let kdl = INDEXED.replace(
        r#"index "t_a_idx" "a""#,
        r#"index "t_a_idx" "a"
        index "formwork_idx_custom" "b"
        index "formwork_idx_0123456789abcdef" "a" "b""#,
    );
    let p = plan(&db, &kdl).await;
    assert!(p.plan.steps().is_empty(), "{:?}", sqls(&p));
    // Undeclared, a name that does not have the exact pattern is a user index: dropping it is
    // the ordinary drop, not a cleanup.
    let p = plan(
        &db,
        &INDEXED.replace(
            r#"index "t_a_idx" "a""#,
            r#"index "t_a_idx" "a"
        index "formwork_idx_0123456789abcdef" "a" "b""#,
        ),
    )
    .await;
    let steps = p.plan.steps();
    assert_eq!(steps.len(), 1, "{:?}", sqls(&p));
    assert!(steps[0].sql.contains("formwork_idx_custom"));
    assert!(!steps[0].description.contains("transitional"));
}

#[tokio::test]
async fn status_lists_leftover_transitional_objects_and_what_removes_them() {
    let db = indexed_table().await;
    let first = plan(&db, &indexed_two_columns()).await;
    run_prefix(&db, &first, 1).await;
    db.execute("CREATE INDEX formwork_idx_custom ON t (b)")
        .await;
    let temp = leftovers(&db).await;
    assert_eq!(temp.len(), 1);
    let o = formwork_cli(&["status", "--db", &db.url(), "--dir", "/nonexistent/schemas"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains(&temp[0]))
        .unwrap_or_else(|| panic!("{} not listed:\n{text}", temp[0]));
    assert!(line.starts_with("transitional index"), "{line}");
    assert!(line.contains("renames it into place"), "{line}");
    assert!(!text.contains("formwork_idx_custom"), "{text}");
}

fn formwork_cli(args: &[&str]) -> std::process::Output {
    common::formwork_command().args(args).output().unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn a_killed_apply_then_a_new_plan_finishes_the_not_null_sequence_through_the_cli() {
    use std::io::BufRead;
    let db = table_with_rows().await;
    let url = db.url();
    let dir = common::TempDir::new("transitional-kill");
    let schemas = dir.0.join("schemas");
    let schemas = schemas.to_str().unwrap();
    let file = dir.0.join("plan.bin");
    let file = file.to_str().unwrap();
    dir.write(
        "schemas/public.kdl",
        &NULLABLE.replace(r#""text" nullable=#true"#, r#""text""#),
    );
    let o = formwork_cli(&["plan", "--db", &url, "--dir", schemas, "--out", file]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // Killed (SIGKILL) right after the NOT VALID check was added.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(["apply", file, "--db", &url, "--auto-approve"])
        .env_remove("DATABASE_URL")
        .env(formwork::apply::executor::TEST_PAUSE_ENV, "1")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("paused after step 1") {
            break;
        }
    }
    assert!(seen.contains("paused after step 1"), "{seen}");
    // While the apply holds its advisory lock, status reports it as running now.
    let o = formwork_cli(&["status", "--db", &url, "--dir", "/nonexistent/schemas"]);
    assert!(text(&o).contains("running"), "{}", text(&o));
    assert!(text(&o).contains("applying now"), "{}", text(&o));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(leftovers(&db).await.len(), 1);

    // Once the server has noticed the client is gone, the journal row still says `running`,
    // and status tells it apart from a live apply.
    let mut shown = String::new();
    for _ in 0..50 {
        let o = formwork_cli(&["status", "--db", &url, "--dir", schemas]);
        shown = text(&o);
        if shown.contains("interrupted") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(shown.contains("interrupted"), "{shown}");
    assert!(
        shown.contains("apply the same plan again to resume"),
        "{shown}"
    );
    assert!(!shown.contains("applying now"), "{shown}");
    assert!(
        shown.contains("transitional check formwork_notnull_"),
        "{shown}"
    );

    // A new plan (the old one is abandoned) picks the sequence up where it stopped.
    let again = dir.0.join("again.bin");
    let again = again.to_str().unwrap();
    let o = formwork_cli(&["plan", "--db", &url, "--dir", schemas, "--out", again]);
    let shown = text(&o);
    assert_eq!(o.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("transitional check left by an interrupted apply"),
        "{shown}"
    );
    let o = formwork_cli(&["apply", again, "--db", &url, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = formwork_cli(&["plan", "--db", &url, "--dir", schemas, "--out", again]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(leftovers(&db).await.is_empty());
    let o = formwork_cli(&["status", "--db", &url, "--dir", schemas]);
    assert!(text(&o).contains("the database matches"), "{}", text(&o));
    assert!(!text(&o).contains("transitional check"), "{}", text(&o));
}

const ACCOUNTS: &str = r#"
schema "public" {
    table "accounts" {
        column "id" "bigint"
        column "code" "bigint" default="0"
        column "note" "text" nullable=#true
        primary-key "id"
        unique "accounts_code_key" "code"
        index "accounts_note" "note" "code"
    }
}
"#;

/// Run the first `n` steps of `p` by hand, a backfill as one UPDATE of every row.
async fn run_prefix_with_backfills(db: &TestDb, p: &Planned, n: usize) {
    for step in p.plan.steps().iter().take(n) {
        match step.as_backfill() {
            Some(b) => {
                let set: Vec<String> = b
                    .set
                    .iter()
                    .map(|a| format!("\"{}\" = {}", a.column, a.expression))
                    .collect();
                db.execute(&format!(
                    "UPDATE \"{}\".\"{}\" SET {}",
                    b.table.schema,
                    b.table.name,
                    set.join(", ")
                ))
                .await;
            }
            None => db.execute(&step.sql).await,
        }
    }
}

#[tokio::test]
async fn a_type_change_interrupted_after_any_step_is_resumed_and_converges() {
    let setup = "CREATE TABLE accounts (id integer PRIMARY KEY, \
         code integer NOT NULL DEFAULT 0 CONSTRAINT accounts_code_key UNIQUE, note text); \
         CREATE INDEX accounts_note ON accounts (note, code); \
         INSERT INTO accounts SELECT g, g * 10, 'n' || g FROM generate_series(1, 200) g;";
    let first = {
        let db = TestDb::new().await;
        db.execute(setup).await;
        plan(&db, ACCOUNTS).await
    };
    let n = first.plan.steps().len();
    let swap = first
        .plan
        .steps()
        .iter()
        .filter(|s| s.sql.contains("RENAME COLUMN \"id\""))
        .count();
    assert_eq!(swap, 1, "{:#?}", sqls(&first));
    for killed_after in 1..n {
        let db = TestDb::new().await;
        db.execute(setup).await;
        // The same starting state: the first plan's steps apply as they are.
        run_prefix_with_backfills(&db, &first, killed_after).await;
        // Written through whatever shape the table has now.
        db.execute("INSERT INTO accounts (id, code) VALUES (1000, 10000)")
            .await;
        let again = converge(&db, ACCOUNTS).await;
        let s = sqls(&again);
        assert!(
            !s.iter().any(|x| x.contains("TYPE bigint")),
            "after step {killed_after}: {s:#?}"
        );
        // Resumed, not started over: only what the first plan had not done yet, plus the
        // idempotent trigger and backfill steps of a type change whose shadow exists.
        let rest = &sqls(&first)[killed_after..];
        for x in &s {
            assert!(
                rest.contains(x)
                    || x.starts_with("CREATE OR REPLACE")
                    || x.starts_with("UPDATE \"public\".\"accounts\" SET \"formwork_new_"),
                "after step {killed_after}, {x} was not left to do: {s:#?}"
            );
        }
        let wrong: i64 = db
            .client()
            .await
            .query_one("SELECT count(*) FROM accounts WHERE code <> id * 10", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(wrong, 0, "after step {killed_after}");
        let left: i64 = db
            .client()
            .await
            .query_one(
                "SELECT (SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass \
                 AND attname LIKE 'formwork%' AND NOT attisdropped) \
                 + (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'formwork%') \
                 + (SELECT count(*) FROM pg_proc WHERE proname LIKE 'formwork%')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "after step {killed_after}");
        assert!(leftovers(&db).await.is_empty(), "after step {killed_after}");
    }
}

#[tokio::test]
async fn user_columns_named_like_a_shadow_or_retired_column_are_left_alone() {
    let db = TestDb::new().await;
    db.execute(
        "CREATE TABLE t (id bigint PRIMARY KEY, c text, \
         formwork_new_0123456789abcdef bigint, formwork_old_0123456789abcdef bigint)",
    )
    .await;
    let kdl = NULLABLE.replace(
        r#"column "c" "text" nullable=#true"#,
        r#"column "c" "text" nullable=#true
        column "formwork_new_0123456789abcdef" "bigint" nullable=#true
        column "formwork_old_0123456789abcdef" "bigint" nullable=#true"#,
    );
    let p = plan(&db, &kdl).await;
    assert!(p.plan.steps().is_empty(), "{:?}", sqls(&p));
    // Their hashes are no column's: not transitional, even undeclared.
    let current = catalog(&db).await.model;
    assert_eq!(
        formwork::diff::transitional::find(&current, &Model::default()),
        []
    );
    // Undeclared, dropping one is an ordinary data loss, refused without permission.
    let refused = make_plan(
        &catalog(&db).await,
        &declared(NULLABLE),
        &scratch(),
        &PlanOptions::default(),
    )
    .await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("formwork_new_0123456789abcdef"),
        "{message}"
    );
}
