//! Column type changes by expand and contract, planned and applied by the `formwork` binary on
//! real PostgreSQL: a declared conversion (`using=`) gives the values, not the cast; keys and
//! checks on the column are rebuilt on the new column; an apply killed (SIGKILL) in the middle
//! of the backfill leaves the shadow column and its trigger, and a new `formwork plan` resumes
//! the change with them (or drops them when the change is no longer declared); a retired
//! column left by `apply --phase expand` is dropped by the next plan's contract phase. Every
//! case checks the values row by row against the expected conversion, that the table was not
//! rewritten, and that a second plan is empty. The same changes under a concurrent workload
//! are in `tests/online.rs`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::{TempDir, TestDb};

fn formwork(args: &[&str]) -> Output {
    common::formwork_command()
        .args(args)
        .output()
        .expect("run formwork")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn scalar_i64(db: &TestDb, sql: &str) -> i64 {
    db.client()
        .await
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

const DECLARED: &str = r#"
schema "public" {
    table "prices" {
        column "id" "bigint"
        column "amount" "bigint" default="0" using="amount::bigint * 100"
        primary-key "id"
        index "prices_amount" "amount"
    }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_conversion_replaces_the_cast_without_rewriting_the_table() {
    let db = TestDb::new().await;
    db.execute(
        "CREATE TABLE prices (id bigint PRIMARY KEY, amount integer NOT NULL DEFAULT 0); \
         CREATE INDEX prices_amount ON prices (amount); \
         INSERT INTO prices SELECT g, g FROM generate_series(1, 5000) g;",
    )
    .await;
    let filenode = scalar_i64(&db, "SELECT pg_relation_filenode('prices')::bigint").await;
    let dir = TempDir::new("using");
    dir.write("schemas/public.kdl", DECLARED);
    let schemas = dir.0.join("schemas");
    let file = dir.0.join("plan.bin");
    let (schemas, file) = (schemas.to_str().unwrap(), file.to_str().unwrap());
    let url = db.url();

    let o = formwork(&["plan", "--db", &url, "--dir", schemas, "--out", file]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let shown = formwork(&["show", file]);
    let plan = text(&shown);
    assert!(plan.contains("CREATE OR REPLACE TRIGGER"), "{plan}");
    assert!(!plan.contains("TYPE bigint"), "{plan}");

    // The sync trigger converts what the running application writes through the old shape:
    // the plan's first steps run by hand in a transaction that is rolled back.
    let shown = formwork(&["show", file, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("plan JSON");
    let sql: Vec<String> = json["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["sql"].as_str().map(str::to_string))
        .collect();
    let expand = &sql[..3];
    assert!(
        expand[0].contains("ADD COLUMN")
            && expand[1].starts_with("CREATE OR REPLACE FUNCTION")
            && expand[2].starts_with("CREATE OR REPLACE TRIGGER"),
        "add column, function, trigger: {sql:#?}"
    );
    let shadow = expand[0]
        .split('"')
        .find(|w| w.starts_with("formwork_new_"))
        .expect("the shadow column")
        .to_string();
    let client = db.client().await;
    client.batch_execute("BEGIN").await.unwrap();
    for s in expand {
        client.batch_execute(s).await.unwrap();
    }
    client
        .batch_execute(
            "INSERT INTO prices (id, amount) VALUES (9001, 7); \
             UPDATE prices SET amount = 8 WHERE id = 1",
        )
        .await
        .unwrap();
    let converted: Vec<i64> = client
        .query(
            &format!("SELECT \"{shadow}\" FROM prices WHERE id IN (1, 9001) ORDER BY id"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(converted, [800, 700]);
    client.batch_execute("ROLLBACK").await.unwrap();

    let o = formwork(&[
        "apply",
        file,
        "--db",
        &url,
        "--auto-approve",
        "--phase",
        "all",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let wrong = scalar_i64(&db, "SELECT count(*) FROM prices WHERE amount <> id * 100").await;
    assert_eq!(wrong, 0, "every value is the declared conversion");
    assert_eq!(
        scalar_i64(&db, "SELECT pg_relation_filenode('prices')::bigint").await,
        filenode,
        "prices was rewritten"
    );
    let o = formwork(&["plan", "--db", &url, "--dir", schemas, "--out", file]);
    assert_eq!(o.status.code(), Some(0), "a second plan: {}", text(&o));
}

/// A table being retyped, its declaration, and the files of the test.
struct Bed {
    db: TestDb,
    dir: TempDir,
    url: String,
}

impl Bed {
    async fn new(tag: &str, setup: &str, declared: &str) -> Bed {
        let db = TestDb::new().await;
        db.execute(setup).await;
        let dir = TempDir::new(tag);
        dir.write("schemas/public.kdl", declared);
        let url = db.url();
        Bed { db, dir, url }
    }

    fn path(&self, name: &str) -> String {
        self.dir
            .0
            .join(name)
            .to_str()
            .expect("UTF-8 path")
            .to_string()
    }

    fn declare(&self, declared: &str) {
        self.dir.write("schemas/public.kdl", declared);
    }

    /// `formwork plan` into `file`: returns the exit code and the output.
    fn plan(&self, file: &str) -> (Option<i32>, String) {
        let schemas = self.path("schemas");
        let o = formwork(&["plan", "--db", &self.url, "--dir", &schemas, "--out", file]);
        (o.status.code(), text(&o))
    }

    /// The SQL of each step of a plan file.
    fn steps(&self, file: &str) -> Vec<(String, String)> {
        let shown = formwork(&["show", file, "--format", "json"]);
        let json: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("plan JSON");
        json["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| {
                (
                    s["description"].as_str().unwrap_or_default().to_string(),
                    s["sql"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    fn apply(&self, file: &str, phase: &str) {
        let o = formwork(&[
            "apply",
            file,
            "--db",
            &self.url,
            "--auto-approve",
            "--phase",
            phase,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }

    /// Start applying `file` with small backfill batches and kill it (SIGKILL) once the
    /// backfill has committed some batches; waits until the server has ended its session.
    async fn apply_killed_in_backfill(&self, file: &str) {
        let mut child = common::formwork_command()
            .args([
                "apply",
                file,
                "--db",
                &self.url,
                "--auto-approve",
                "--backfill-initial-rows",
                "200",
                "--backfill-max-rows",
                "200",
                "--backfill-pause-ms",
                "5",
                "--log-format",
                "json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start formwork apply");
        let stdout = child.stdout.take().expect("stdout");
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read apply output");
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("backfill-progress") && !line.contains("\"rows_scanned\":0") {
                break;
            }
        }
        child.kill().expect("kill apply");
        child.wait().expect("reap apply");
        assert!(seen.contains("backfill-progress"), "{seen}");
        for _ in 0..100 {
            let held = scalar_i64(
                &self.db,
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
            )
            .await;
            if held == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the killed apply's session did not end");
    }

    /// Nothing of formwork's is left and a new plan finds nothing to do.
    async fn assert_converged(&self) {
        assert_eq!(
            self.leftovers().await,
            Vec::<String>::new(),
            "transitional objects left behind"
        );
        let (code, out) = self.plan(&self.path("last.bin"));
        assert_eq!(code, Some(0), "a last plan: {out}");
    }

    /// formwork's objects still in the database: columns, relations, triggers, functions,
    /// constraints.
    async fn leftovers(&self) -> Vec<String> {
        self.db
            .client()
            .await
            .query(
                // Index columns keep the name the column had when the index was built
                // (PostgreSQL prints index definitions with the table's column names).
                "SELECT 'column ' || attname FROM pg_attribute JOIN pg_class c \
                 ON c.oid = attrelid AND c.relkind = 'r' WHERE attname LIKE 'formwork%' \
                 AND NOT attisdropped \
                 UNION ALL SELECT 'relation ' || relname FROM pg_class \
                 WHERE relname LIKE 'formwork%' \
                 UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger \
                 WHERE tgname LIKE 'formwork%' \
                 UNION ALL SELECT 'function ' || proname FROM pg_proc \
                 WHERE proname LIKE 'formwork%' \
                 UNION ALL SELECT 'constraint ' || conname FROM pg_constraint \
                 WHERE conname LIKE 'formwork%'",
                &[],
            )
            .await
            .expect("list leftovers")
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
}

const ROWS: i64 = 60_000;

const ITEMS: &str = "CREATE TABLE items (id bigint PRIMARY KEY, amount integer NOT NULL, \
     note text); CREATE INDEX items_amount ON items (amount); \
     INSERT INTO items SELECT g, g % 1000, NULL FROM generate_series(1, 60000) g; ANALYZE items;";

const ITEMS_DECLARED: &str = r#"
schema "public" {
    table "items" {
        column "id" "bigint"
        column "amount" "integer"
        column "note" "text" nullable=#true
        primary-key "id"
        index "items_amount" "amount"
    }
}
"#;

fn items_bigint() -> String {
    ITEMS_DECLARED.replace(r#""amount" "integer""#, r#""amount" "bigint""#)
}

/// Writes made while the change is interrupted, through the old shape: new rows, and updates
/// of rows the backfill has and has not reached yet. `amount` is then `id % 1000` everywhere
/// except the updated rows, where it is `id * 3`.
const INTERRUPTED_WRITES: &str = "INSERT INTO items (id, amount) \
     SELECT g, g % 1000 FROM generate_series(60001, 60100) g; \
     UPDATE items SET amount = id * 3, note = 'moved' WHERE id IN (1, 2, 59999, 60000, 60050);";

async fn assert_items_converted(bed: &Bed) {
    let ty: String = bed
        .db
        .client()
        .await
        .query_one(
            "SELECT format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' \
             ELSE '' END FROM pg_attribute WHERE attrelid = 'items'::regclass \
             AND attname = 'amount'",
            &[],
        )
        .await
        .expect("amount's type")
        .get(0);
    assert_eq!(ty, "bigint not null");
    let rows = scalar_i64(&bed.db, "SELECT count(*) FROM items").await;
    assert_eq!(rows, ROWS + 100, "rows written during the interruption");
    let wrong = scalar_i64(
        &bed.db,
        "SELECT count(*) FROM items WHERE amount IS DISTINCT FROM \
         CASE WHEN note = 'moved' THEN id * 3 ELSE id % 1000 END",
    )
    .await;
    assert_eq!(wrong, 0, "rows whose amount is not the expected conversion");
    let moved = scalar_i64(&bed.db, "SELECT count(*) FROM items WHERE note = 'moved'").await;
    assert_eq!(moved, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retype_killed_mid_backfill_is_resumed_by_the_next_plan() {
    let bed = Bed::new("retype-kill", ITEMS, &items_bigint()).await;
    let filenode = scalar_i64(&bed.db, "SELECT pg_relation_filenode('items')::bigint").await;
    let first = bed.path("first.bin");
    let (code, out) = bed.plan(&first);
    assert_eq!(code, Some(2), "{out}");
    bed.apply_killed_in_backfill(&first).await;

    // The shadow column is half filled, and its trigger still converts every write.
    let shadow: String = bed
        .db
        .client()
        .await
        .query_one(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = 'items'::regclass \
             AND attname LIKE 'formwork_new_%'",
            &[],
        )
        .await
        .expect("the shadow column is left")
        .get(0);
    let filled = scalar_i64(
        &bed.db,
        &format!("SELECT count(*) FROM items WHERE \"{shadow}\" IS NOT NULL"),
    )
    .await;
    assert!(filled > 0 && filled < ROWS, "killed mid-backfill: {filled}");
    bed.db.execute(INTERRUPTED_WRITES).await;
    let by_trigger = scalar_i64(
        &bed.db,
        &format!("SELECT count(*) FROM items WHERE id > {ROWS} AND \"{shadow}\" = amount"),
    )
    .await;
    assert_eq!(by_trigger, 100, "the trigger outlived the kill");

    let schemas = bed.path("schemas");
    let o = formwork(&["status", "--db", &bed.url, "--dir", &schemas]);
    let status = text(&o);
    assert!(
        status.contains(&format!("transitional column {shadow} on public.items")),
        "{status}"
    );

    // The next plan resumes: no second shadow, no drop of it, no blocking ALTER TYPE.
    let again = bed.path("again.bin");
    let (code, out) = bed.plan(&again);
    assert_eq!(code, Some(2), "{out}");
    let steps = bed.steps(&again);
    let sql: Vec<&str> = steps.iter().map(|(_, s)| s.as_str()).collect();
    assert!(!sql.iter().any(|s| s.contains("ADD COLUMN")), "{sql:#?}");
    assert!(!sql.iter().any(|s| s.contains("TYPE bigint")), "{sql:#?}");
    assert!(
        !sql.iter()
            .any(|s| s.contains(&format!("DROP COLUMN \"{shadow}\""))),
        "{sql:#?}"
    );
    assert!(
        sql.iter()
            .any(|s| s.starts_with("CREATE OR REPLACE TRIGGER")),
        "{sql:#?}"
    );
    assert!(
        steps
            .iter()
            .any(|(d, _)| d.contains("in batches") && d.contains("resumed")),
        "{steps:#?}"
    );
    bed.apply(&again, "all");

    assert_items_converted(&bed).await;
    assert_eq!(
        scalar_i64(&bed.db, "SELECT pg_relation_filenode('items')::bigint").await,
        filenode,
        "items was rewritten"
    );
    bed.assert_converged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_column_left_by_a_change_no_longer_declared_is_dropped_with_its_trigger() {
    let bed = Bed::new("retype-abandon", ITEMS, &items_bigint()).await;
    let first = bed.path("first.bin");
    let (code, out) = bed.plan(&first);
    assert_eq!(code, Some(2), "{out}");
    bed.apply_killed_in_backfill(&first).await;
    assert!(!bed.leftovers().await.is_empty());

    // The declaration goes back to integer: the shadow, its trigger and function go away.
    bed.declare(ITEMS_DECLARED);
    let again = bed.path("again.bin");
    let (code, out) = bed.plan(&again);
    assert_eq!(code, Some(2), "{out}");
    let steps = bed.steps(&again);
    assert_eq!(steps.len(), 1, "{steps:#?}");
    assert!(steps[0].0.contains("clean up shadow column"), "{steps:#?}");
    bed.apply(&again, "all");
    // Writes work without the trigger.
    bed.db.execute(INTERRUPTED_WRITES).await;
    bed.assert_converged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_column_left_after_the_expand_phase_is_dropped_by_the_next_plans_contract() {
    let bed = Bed::new("retype-retired", ITEMS, &items_bigint()).await;
    let first = bed.path("first.bin");
    let (code, out) = bed.plan(&first);
    assert_eq!(code, Some(2), "{out}");
    bed.apply(&first, "expand");
    bed.db.execute(INTERRUPTED_WRITES).await;

    let schemas = bed.path("schemas");
    let o = formwork(&["status", "--db", &bed.url, "--dir", &schemas]);
    let status = text(&o);
    assert!(
        status.contains("transitional column formwork_old_")
            && status.contains("transitional index formwork_oldidx_"),
        "{status}"
    );

    let again = bed.path("again.bin");
    let (code, out) = bed.plan(&again);
    assert_eq!(code, Some(2), "{out}");
    let steps = bed.steps(&again);
    assert_eq!(
        steps.len(),
        1,
        "only the retired column is dropped: {steps:#?}"
    );
    assert!(
        steps[0].1.contains("DROP COLUMN \"formwork_old_"),
        "{steps:#?}"
    );
    bed.apply(&again, "all");
    assert_items_converted(&bed).await;
    bed.assert_converged().await;
}

const ACCOUNTS: &str = "CREATE TABLE accounts (id integer CONSTRAINT accounts_pk PRIMARY KEY, \
     code integer NOT NULL CONSTRAINT accounts_code_key UNIQUE, \
     balance integer NOT NULL CONSTRAINT accounts_balance_positive CHECK (balance >= 0), \
     note text); \
     COMMENT ON CONSTRAINT accounts_pk ON accounts IS 'by id'; \
     INSERT INTO accounts SELECT g, g + 1000000, g % 500, NULL FROM generate_series(1, 20000) g;";

const ACCOUNTS_BIGINT: &str = r#"
schema "public" {
    table "accounts" {
        column "id" "bigint"
        column "code" "bigint"
        column "balance" "bigint"
        column "note" "text" nullable=#true
        primary-key "id" name="accounts_pk" comment="by id"
        unique "accounts_code_key" "code"
        check "accounts_balance_positive" "balance >= 0"
    }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_and_check_columns_are_retyped_with_their_constraints_rebuilt_on_the_new_column() {
    let bed = Bed::new("retype-keys", ACCOUNTS, ACCOUNTS_BIGINT).await;
    let filenode = scalar_i64(&bed.db, "SELECT pg_relation_filenode('accounts')::bigint").await;
    let file = bed.path("plan.bin");
    let (code, out) = bed.plan(&file);
    assert_eq!(code, Some(2), "{out}");
    let steps = bed.steps(&file);
    let sql: Vec<&str> = steps.iter().map(|(_, s)| s.as_str()).collect();
    assert!(!sql.iter().any(|s| s.contains("TYPE bigint")), "{sql:#?}");
    for fragment in [
        "PRIMARY KEY USING INDEX",
        "UNIQUE USING INDEX",
        "CHECK (balance >= 0) NOT VALID",
        "VALIDATE CONSTRAINT \"accounts_balance_positive\"",
    ] {
        assert!(
            sql.iter().any(|s| s.contains(fragment)),
            "{fragment}: {sql:#?}"
        );
    }
    let unique_builds = sql
        .iter()
        .filter(|s| s.starts_with("CREATE UNIQUE INDEX CONCURRENTLY"))
        .count();
    assert_eq!(unique_builds, 2, "{sql:#?}");
    bed.apply(&file, "all");

    let wrong = scalar_i64(
        &bed.db,
        "SELECT count(*) FROM accounts WHERE code <> id + 1000000 OR balance <> id % 500",
    )
    .await;
    assert_eq!(wrong, 0);
    assert_eq!(
        scalar_i64(&bed.db, "SELECT count(*) FROM accounts").await,
        20000
    );
    let types: String = bed
        .db
        .client()
        .await
        .query_one(
            "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' \
             ORDER BY attname) FROM pg_attribute WHERE attrelid = 'accounts'::regclass \
             AND attnum > 0 AND NOT attisdropped",
            &[],
        )
        .await
        .expect("column types")
        .get(0);
    assert_eq!(types, "balance bigint, code bigint, id bigint, note text");
    // The constraints are enforced on the new columns, and valid.
    let client = bed.db.client().await;
    for (sql, state) in [
        (
            "INSERT INTO accounts (id, code, balance) VALUES (1, 5, 5)",
            "23505",
        ),
        (
            "INSERT INTO accounts (id, code, balance) VALUES (30000, 1000001, 5)",
            "23505",
        ),
        (
            "INSERT INTO accounts (id, code, balance) VALUES (30000, 5, -1)",
            "23514",
        ),
    ] {
        let e = client.execute(sql, &[]).await.expect_err(sql);
        assert_eq!(e.code().map(|c| c.code()), Some(state), "{sql}: {e}");
    }
    client
        .execute(
            "INSERT INTO accounts (id, code, balance) VALUES (9000000000, 9000000001, 1)",
            &[],
        )
        .await
        .expect("a bigint key");
    let invalid = scalar_i64(
        &bed.db,
        "SELECT count(*) FROM pg_constraint WHERE conrelid = 'accounts'::regclass \
         AND NOT convalidated",
    )
    .await;
    assert_eq!(invalid, 0);

    assert_eq!(
        scalar_i64(&bed.db, "SELECT pg_relation_filenode('accounts')::bigint").await,
        filenode,
        "accounts was rewritten"
    );
    bed.assert_converged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_other_tables_reference_is_retyped_in_place_and_the_plan_says_why() {
    let bed = Bed::new(
        "retype-referenced",
        "CREATE TABLE parents (id integer PRIMARY KEY); \
         CREATE TABLE children (id bigint PRIMARY KEY, parent integer REFERENCES parents);",
        r#"
schema "public" {
    table "parents" {
        column "id" "bigint"
        primary-key "id"
    }
    table "children" {
        column "id" "bigint"
        column "parent" "integer" nullable=#true
        primary-key "id"
        foreign-key "children_parent_fkey" "parent" references="parents(id)"
    }
}
"#,
    )
    .await;
    let (code, out) = bed.plan(&bed.path("plan.bin"));
    assert_eq!(code, Some(1), "a blocking ALTER TYPE is refused: {out}");
    assert!(out.contains("ALTER COLUMN \"id\" TYPE bigint"), "{out}");
    // Accepted, the step says why it blocks.
    let file = bed.path("plan.bin");
    let schemas = bed.path("schemas");
    let o = formwork(&[
        "plan",
        "--db",
        &bed.url,
        "--dir",
        &schemas,
        "--out",
        &file,
        "--allow-blocking",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let steps = bed.steps(&file);
    assert!(
        steps.iter().any(|(d, s)| s.contains("TYPE bigint")
            && d.contains("foreign keys reference")
            && d.contains("referencing columns")),
        "{steps:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_key_column_is_retyped_with_its_key_added_again_and_validated() {
    let bed = Bed::new(
        "retype-fk",
        "CREATE TABLE parents (id bigint PRIMARY KEY); \
         INSERT INTO parents SELECT generate_series(1, 100); \
         CREATE TABLE children (id bigint PRIMARY KEY, parent integer \
         CONSTRAINT children_parent_fkey REFERENCES parents ON DELETE CASCADE); \
         COMMENT ON CONSTRAINT children_parent_fkey ON children IS 'whose child'; \
         INSERT INTO children SELECT g, g % 100 + 1 FROM generate_series(1, 5000) g;",
        r#"
schema "public" {
    table "parents" {
        column "id" "bigint"
        primary-key "id"
    }
    table "children" {
        column "id" "bigint"
        column "parent" "bigint" nullable=#true
        primary-key "id"
        foreign-key "children_parent_fkey" "parent" references="parents(id)" on-delete="cascade" comment="whose child"
    }
}
"#,
    )
    .await;
    let file = bed.path("plan.bin");
    let (code, out) = bed.plan(&file);
    assert_eq!(code, Some(2), "{out}");
    let steps = bed.steps(&file);
    let sql: Vec<&str> = steps.iter().map(|(_, s)| s.as_str()).collect();
    assert!(!sql.iter().any(|s| s.contains("TYPE bigint")), "{sql:#?}");
    assert!(
        sql.iter().any(|s| s.contains("RENAME COLUMN")
            && s.contains("FOREIGN KEY")
            && s.contains("NOT VALID")),
        "{sql:#?}"
    );
    bed.apply(&file, "all");
    let wrong = scalar_i64(
        &bed.db,
        "SELECT count(*) FROM children WHERE parent IS DISTINCT FROM id % 100 + 1",
    )
    .await;
    assert_eq!(wrong, 0);
    let valid = scalar_i64(
        &bed.db,
        "SELECT count(*) FROM pg_constraint WHERE conname = 'children_parent_fkey' \
         AND convalidated AND confdeltype = 'c' \
         AND obj_description(oid, 'pg_constraint') = 'whose child'",
    )
    .await;
    assert_eq!(valid, 1);
    // Enforced on the new column.
    let e = bed
        .db
        .client()
        .await
        .execute("INSERT INTO children (id, parent) VALUES (9000, 5000)", &[])
        .await
        .expect_err("a parent that does not exist");
    assert_eq!(e.code().map(|c| c.code()), Some("23503"), "{e}");
    bed.db.execute("DELETE FROM parents WHERE id = 1").await;
    assert_eq!(
        scalar_i64(&bed.db, "SELECT count(*) FROM children WHERE parent = 1").await,
        0
    );
    bed.assert_converged().await;
}
