//! Backfills on real PostgreSQL: the engine walks integer, composite text and key-less (ctid)
//! tables batch by batch without losing or clobbering rows written concurrently, a killed
//! `formwork apply` resumes from its journal instead of starting over, and a new column with a
//! volatile default is planned and applied without rewriting the table.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::{TempDir, TestDb};
use formwork::apply::Event;
use formwork::apply::backfill::{self, BackfillOptions, JournalSlot};
use formwork::apply::retry::RetryPolicy;
use formwork::catalog::fingerprint::fingerprint;
use formwork::model::QualifiedName;
use formwork::plan::{Assignment, Backfill, BatchKey, KeyColumn, Phase, Step};

fn formwork(args: &[&str]) -> Output {
    common::formwork_command().args(args).output().unwrap()
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

async fn scalar(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

fn fill(table: &str, key: BatchKey, column: &str, expression: &str) -> Backfill {
    Backfill {
        table: QualifiedName::new("public", table),
        key,
        set: vec![Assignment {
            column: column.into(),
            expression: expression.into(),
        }],
        predicate: Some(format!("\"{column}\" IS NULL")),
    }
}

fn step_of(b: &Backfill) -> Step {
    Step::backfill(
        b.clone(),
        Phase::Expand,
        formwork::catalog::fingerprint::Fingerprint([0; 32]),
    )
}

/// Small batches so that even a test-sized table takes many of them.
fn small_batches() -> BackfillOptions {
    BackfillOptions {
        initial_rows: 100,
        max_rows: 500,
        ..BackfillOptions::default()
    }
}

/// Run the engine with a journal slot, collecting its events.
async fn run_engine(
    db: &TestDb,
    b: &Backfill,
    options: &BackfillOptions,
) -> (backfill::Report, Vec<Event>) {
    run_step_engine(db, &step_of(b), b, options, &RetryPolicy::default()).await
}

async fn run_step_engine(
    db: &TestDb,
    step: &Step,
    b: &Backfill,
    options: &BackfillOptions,
    retry: &RetryPolicy,
) -> (backfill::Report, Vec<Event>) {
    let client = db.client().await;
    client
        .batch_execute(include_str!("../src/apply/queries/journal_schema.sql"))
        .await
        .unwrap();
    let mut events = Vec::new();
    let report = backfill::run(
        &client,
        step,
        b,
        options,
        retry,
        Some(&JournalSlot {
            plan_id: "test".into(),
            step: 1,
        }),
        1,
        &mut |e| events.push(e.clone()),
    )
    .await
    .unwrap();
    (report, events)
}

#[tokio::test]
async fn an_integer_key_is_walked_in_many_batches_and_fills_every_row_once() {
    let db = TestDb::new().await;
    db.execute(
        "CREATE TABLE items (id bigint PRIMARY KEY, v int); \
         INSERT INTO items SELECT g * 3, NULL FROM generate_series(1, 5000) g; \
         UPDATE items SET v = -1 WHERE id % 7 = 0; ANALYZE items;",
    )
    .await;
    let b = fill(
        "items",
        BatchKey::Columns(vec![KeyColumn {
            name: "id".into(),
            data_type: "bigint".into(),
        }]),
        "v",
        "(id / 3)::int",
    );
    let (report, events) = run_engine(&db, &b, &small_batches()).await;
    assert!(
        report.batches >= 10,
        "5,000 rows in batches of at most 500: {report:?}"
    );
    assert_eq!(report.rows_scanned, 5000);
    let preset = scalar(&db, "SELECT count(*) FROM items WHERE id % 7 = 0").await;
    assert_eq!(report.rows_updated as i64, 5000 - preset, "{report:?}");
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM items WHERE v IS NULL").await,
        0
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM items WHERE v <> (CASE WHEN id % 7 = 0 THEN -1 ELSE (id / 3)::int END)"
        )
        .await,
        0,
        "rows the predicate excluded keep their value, the others got the expression"
    );
    let last = events.last().unwrap();
    assert!(
        matches!(
            last,
            Event::BackfillProgress {
                done: true,
                rows_estimate: Some(5000),
                ..
            }
        ),
        "{last:?}"
    );
    let journal = db.client().await;
    let row = journal
        .query_one(
            "SELECT finished, rows_scanned, batches FROM formwork.backfills",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, i64>(1), 5000);
    assert_eq!(row.get::<_, i64>(2) as u64, report.batches);
}

#[tokio::test]
async fn a_composite_text_key_with_awkward_values_is_walked_by_row_comparison() {
    let db = TestDb::new().await;
    db.execute(
        "CREATE TABLE \"Accounts\" (tenant int, \"Code\" text COLLATE \"C\", note text, \
           PRIMARY KEY (tenant, \"Code\")); \
         INSERT INTO \"Accounts\" SELECT t, c, NULL FROM generate_series(1, 7) t, \
           (SELECT 'k''' || g || E'\\\\' || chr(65 + g % 26) AS c FROM generate_series(1, 400) g) s;",
    )
    .await;
    let b = Backfill {
        table: QualifiedName::new("public", "Accounts"),
        key: BatchKey::Columns(vec![
            KeyColumn {
                name: "tenant".into(),
                data_type: "integer".into(),
            },
            KeyColumn {
                name: "Code".into(),
                data_type: "text".into(),
            },
        ]),
        set: vec![Assignment {
            column: "note".into(),
            expression: "tenant || '/' || \"Code\"".into(),
        }],
        predicate: Some("note IS NULL".into()),
    };
    let (report, _) = run_engine(&db, &b, &small_batches()).await;
    assert!(report.batches >= 6, "{report:?}");
    assert_eq!(report.rows_updated, 2800);
    assert_eq!(report.rows_scanned, 2800);
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM \"Accounts\" WHERE note IS DISTINCT FROM tenant || '/' || \"Code\""
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_table_without_a_key_is_filled_by_block_ranges() {
    let db = TestDb::new().await;
    db.execute(
        "CREATE TABLE logs (line text, n int); \
         INSERT INTO logs SELECT repeat('x', 50) || g, NULL FROM generate_series(1, 6000) g; \
         ANALYZE logs;",
    )
    .await;
    let b = fill("logs", BatchKey::Ctid, "n", "length(line)");
    let (report, _) = run_engine(&db, &b, &small_batches()).await;
    assert!(report.batches >= 10, "{report:?}");
    assert_eq!(report.rows_updated, 6000);
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM logs WHERE n IS NULL").await,
        0
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM logs WHERE n <> length(line)").await,
        0
    );
}

/// Writers insert, update and delete while the engine runs; afterwards no row is NULL, rows the
/// application wrote a value into keep it, and no row is lost or duplicated.
async fn concurrent_writes_survive(key: BatchKey) {
    let db = TestDb::new().await;
    db.execute(
        "CREATE TABLE items (id bigint PRIMARY KEY, payload int NOT NULL, v bigint); \
         INSERT INTO items SELECT g, g, NULL FROM generate_series(1, 30000) g; ANALYZE items;",
    )
    .await;
    let b = fill("items", key, "v", "payload * 10");
    let stop = Arc::new(AtomicBool::new(false));
    let inserted = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..2i64 {
        let client = db.client().await;
        let stop = stop.clone();
        let inserted = inserted.clone();
        writers.push(tokio::spawn(async move {
            let mut n = 0i64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let id = 1_000_000 + w * 1_000_000 + n;
                // New rows arrive already filled by the application (the new version writes
                // the column), with a value the backfill must not overwrite.
                client
                    .execute("INSERT INTO items VALUES ($1, 1, -$1::int8)", &[&id])
                    .await
                    .unwrap();
                inserted.fetch_add(1, Ordering::Relaxed);
                // The old application version updates other columns of unfilled rows.
                let target = (n * 7919 + w * 13) % 30000 + 1;
                client
                    .execute(
                        "UPDATE items SET payload = payload + 0 WHERE id = $1",
                        &[&target],
                    )
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }));
    }
    let options = BackfillOptions {
        pause: Duration::from_millis(2),
        ..small_batches()
    };
    let (report, _) = run_engine(&db, &b, &options).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let extra = inserted.load(Ordering::Relaxed) as i64;
    assert!(
        extra > 20,
        "the writers ran during the backfill ({extra} rows)"
    );
    assert!(report.batches > 20, "{report:?}");
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM items").await,
        30000 + extra
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM items WHERE v IS NULL").await,
        0
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM items WHERE id <= 30000 AND v <> payload * 10"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM items WHERE id > 30000 AND v <> -id"
        )
        .await,
        0,
        "values the application wrote are not overwritten"
    );
}

#[tokio::test]
async fn rows_written_concurrently_are_neither_lost_nor_overwritten_by_a_key_walk() {
    concurrent_writes_survive(BatchKey::Columns(vec![KeyColumn {
        name: "id".into(),
        data_type: "bigint".into(),
    }]))
    .await;
}

#[tokio::test]
async fn rows_moved_by_concurrent_updates_are_found_by_another_ctid_pass() {
    concurrent_writes_survive(BatchKey::Ctid).await;
}

const START: &str = "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL); \
     INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20000) g; ANALYZE items;";

const WITH_TOKEN: &str = r#"
schema "public" {
    table "items" {
        column "id" "bigint"
        column "name" "text"
        column "token" "uuid" default="gen_random_uuid()"
        primary-key "id"
    }
}
"#;

fn plan(db: &TestDb, dir: &TempDir, file: &Path) -> Output {
    formwork(&[
        "plan",
        "--db",
        &db.url(),
        "--dir",
        p(&dir.0.join("schemas")),
        "--out",
        p(file),
    ])
}

#[tokio::test]
async fn a_volatile_default_on_an_existing_table_is_added_without_rewrite_and_backfilled() {
    let db = TestDb::new().await;
    db.execute(START).await;
    let relfilenode = "SELECT relfilenode::int8 FROM pg_class WHERE oid = 'items'::regclass";
    let before = scalar(&db, relfilenode).await;
    let dir = TempDir::new("volatile");
    dir.write("schemas/public.kdl", WITH_TOKEN);
    let file = dir.0.join("plan.bin");
    let o = plan(&db, &dir, &file);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let planned = formwork::plan::file::read(&file).unwrap();
    let steps = planned.steps();
    assert!(
        steps.iter().all(|s| s.rewrites.is_empty()),
        "no step rewrites: {steps:#?}"
    );
    let bf = steps
        .iter()
        .find_map(|s| s.as_backfill())
        .expect("a backfill step");
    assert_eq!(
        bf.key,
        BatchKey::Columns(vec![KeyColumn {
            name: "id".into(),
            data_type: "bigint".into()
        }])
    );
    let sqls: Vec<&str> = steps.iter().map(|s| s.sql.as_str()).collect();
    assert!(sqls[0].contains("ADD COLUMN \"token\" uuid") && !sqls[0].contains("DEFAULT"));
    assert!(
        sqls[1].contains("SET DEFAULT gen_random_uuid()"),
        "{sqls:#?}"
    );
    assert!(sqls[2].starts_with("UPDATE"), "{sqls:#?}");
    assert!(
        sqls.iter().any(|s| s.contains("VALIDATE CONSTRAINT")),
        "NOT NULL the online way: {sqls:#?}"
    );

    // The session script shows the batch statement; lint --plan accepts it.
    let lint = formwork(&["lint", "--plan", p(&file)]);
    assert_eq!(lint.status.code(), Some(0), "{}", out(&lint));

    let id = planned.id().to_hex();
    let o = formwork(&[
        "apply",
        p(&file),
        "--db",
        &db.url(),
        "--approve",
        &id,
        "--backfill-initial-rows",
        "500",
        "--backfill-max-rows",
        "2000",
    ]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("backfill walked 20000 rows"), "{text}");

    assert_eq!(
        scalar(&db, relfilenode).await,
        before,
        "the table was not rewritten"
    );
    assert_eq!(
        scalar(&db, "SELECT count(DISTINCT token) FROM items").await,
        20000,
        "every existing row got its own value"
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM items WHERE token IS NULL").await,
        0
    );
    let second = dir.0.join("second.bin");
    let o = plan(&db, &dir, &second);
    assert_eq!(o.status.code(), Some(0), "nothing left to do: {}", out(&o));
    let c = db.client().await;
    let live = fingerprint(&formwork::catalog::introspect(&c).await.unwrap().model);
    assert_eq!(live, planned.desired_fingerprint());
}

#[tokio::test]
async fn a_killed_apply_resumes_its_backfill_from_the_journal_and_converges() {
    let db = TestDb::new().await;
    db.execute(
        "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL); \
         INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 60000) g; ANALYZE items;",
    )
    .await;
    let dir = TempDir::new("kill");
    dir.write("schemas/public.kdl", WITH_TOKEN);
    let file = dir.0.join("plan.bin");
    let o = plan(&db, &dir, &file);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let planned = formwork::plan::file::read(&file).unwrap();
    let id = planned.id().to_hex();
    let n = planned
        .steps()
        .iter()
        .position(|s| s.as_backfill().is_some())
        .unwrap()
        + 1;
    let args = [
        "apply",
        p(&file),
        "--db",
        &db.url(),
        "--approve",
        &id,
        "--backfill-initial-rows",
        "200",
        "--backfill-max-rows",
        "200",
        "--backfill-pause-ms",
        "5",
        "--log-format",
        "json",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(args)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill -9 once the backfill has committed a few batches (its progress events say so).
    let stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("backfill-progress") && !line.contains("\"rows_scanned\":0") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let c = db.client().await;
    // The server notices the dead client within moments and rolls back the batch in flight;
    // its session (and formwork's advisory lock) is gone once that is done.
    for _ in 0..100 {
        let held: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if held == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = c
        .query_one(
            "SELECT last_key, finished, rows_scanned, runs FROM formwork.backfills",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}: {seen}"));
    let last_key: Vec<String> = row.get(0);
    let killed_at: i64 = last_key[0].parse().unwrap();
    assert!(!row.get::<_, bool>(1), "killed mid-way: {seen}");
    let scanned_before: i64 = row.get(2);
    assert!(killed_at > 0 && killed_at < 60000, "{killed_at}");
    assert_eq!(
        scanned_before, killed_at,
        "keys 1..=last are done, nothing more"
    );
    let filled = scalar(&db, "SELECT count(*) FROM items WHERE token IS NOT NULL").await;
    assert_eq!(
        filled, killed_at,
        "the journal and the rows committed together"
    );
    let kept = scalar(
        &db,
        "SELECT hashtext(string_agg(token::text, ',' ORDER BY id))::int8 FROM items WHERE token IS NOT NULL",
    )
    .await;

    let mut again = args.to_vec();
    again.extend(["--wait-lock", "20"]);
    let o = formwork(&again);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("backfill-resumed"), "{text}");
    assert!(
        !text.contains(&format!("\"step\":{},\"total\"", n - 1)),
        "earlier steps did not run again: {text}"
    );
    let row = c
        .query_one(
            "SELECT finished, rows_scanned, runs FROM formwork.backfills",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(
        row.get::<_, i64>(1),
        60000,
        "the second run walked only the rows after the last committed key"
    );
    assert_eq!(row.get::<_, i32>(2), 2);
    assert_eq!(
        scalar(
            &db,
            &format!(
                "SELECT hashtext(string_agg(token::text, ',' ORDER BY id))::int8 FROM items WHERE id <= {killed_at}"
            )
        )
        .await,
        kept,
        "rows filled before the kill keep their values"
    );
    assert_eq!(
        scalar(&db, "SELECT count(DISTINCT token) FROM items").await,
        60000
    );
    let second = dir.0.join("second.bin");
    let o = plan(&db, &dir, &second);
    assert_eq!(o.status.code(), Some(0), "converged: {}", out(&o));
}

const WITH_REQUIRED: &str = r#"
schema "public" {
    table "items" {
        column "id" "bigint"
        column "name" "text"
        column "number" "integer" backfill="split_part(name, ' ', 2)::integer * 10"
        primary-key "id"
    }
}
"#;

#[tokio::test]
async fn a_required_column_without_default_is_filled_from_its_declared_backfill() {
    let db = TestDb::new().await;
    db.execute(START).await;
    let dir = TempDir::new("required");
    dir.write("schemas/public.kdl", WITH_REQUIRED);
    let file = dir.0.join("plan.bin");
    let o = plan(&db, &dir, &file);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let planned = formwork::plan::file::read(&file).unwrap();
    let sqls: Vec<&str> = planned.steps().iter().map(|s| s.sql.as_str()).collect();
    assert!(
        sqls[0].ends_with("ADD COLUMN \"number\" integer"),
        "added nullable, no default: {sqls:#?}"
    );
    let bf = planned.steps()[1].as_backfill().expect("then the backfill");
    assert_eq!(
        bf.set[0].expression,
        "split_part(name, ' ', 2)::integer * 10"
    );
    assert!(sqls.iter().any(|s| s.contains("SET NOT NULL")), "{sqls:#?}");

    let id = planned.id().to_hex();
    let o = formwork(&["apply", p(&file), "--db", &db.url(), "--approve", &id]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM items WHERE number = id * 10").await,
        20000
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass \
             AND attname = 'number' AND attnotnull"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'formwork_%'"
        )
        .await,
        0,
        "the temporary check is gone"
    );
    // The property is intent: the database now matches the declaration with it.
    let second = dir.0.join("second.bin");
    let o = plan(&db, &dir, &second);
    assert_eq!(o.status.code(), Some(0), "nothing left to do: {}", out(&o));
}

#[tokio::test]
async fn a_row_locked_by_the_application_makes_a_batch_wait_its_lock_timeout_and_retry() {
    let db = TestDb::new().await;
    db.execute(
        "CREATE TABLE items (id bigint PRIMARY KEY, v int); \
         INSERT INTO items SELECT g, NULL FROM generate_series(1, 5000) g; ANALYZE items;",
    )
    .await;
    let holder = db.client().await;
    holder
        .batch_execute("BEGIN; SELECT * FROM items WHERE id = 2500 FOR UPDATE")
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        holder.batch_execute("COMMIT").await.unwrap();
    });
    let b = fill(
        "items",
        BatchKey::Columns(vec![KeyColumn {
            name: "id".into(),
            data_type: "bigint".into(),
        }]),
        "v",
        "id::int",
    );
    let step = step_of(&b).lock_timeout_ms(100);
    let started = std::time::Instant::now();
    let retry = RetryPolicy {
        budget: Duration::from_secs(30),
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
    };
    let (report, events) = run_step_engine(&db, &step, &b, &small_batches(), &retry).await;
    release.await.unwrap();
    let retries = events
        .iter()
        .filter(|e| matches!(e, Event::StepRetry { error, .. } if error.contains("lock")))
        .count();
    assert!(
        retries >= 1,
        "the locked row made a batch give up and retry: {events:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(1400));
    assert_eq!(report.rows_updated, 5000);
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM items WHERE v IS DISTINCT FROM id"
        )
        .await,
        0
    );
}
