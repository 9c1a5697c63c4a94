//! `formwork approve`, `apply` and `status` against real PostgreSQL: every refusal runs
//! nothing (the catalog fingerprint is unchanged), lock conflicts are retried or given up
//! within the budget, two applies never interleave, and a killed apply resumes and converges.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{TempDir, TestDb};
use formwork::catalog::fingerprint::{Fingerprint, fingerprint};
use formwork::plan::{Phase, Plan, PlanBuilder, Step, TargetIdentity};

const SECRET: &str = "correct-horse-battery-staple-42";
const OTHER_SECRET: &str = "another-long-secret-key-9999";

fn formwork(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = common::formwork_command();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn apply(file: &Path, url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["apply", p(file), "--db", url];
    args.extend_from_slice(extra);
    formwork(&args, &[])
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

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn live_fp(db: &TestDb) -> Fingerprint {
    let c = db.client().await;
    fingerprint(&formwork::catalog::introspect(&c).await.unwrap().model)
}

async fn scalar_i64(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

/// A fresh database at START.
fn start_db(rt: &tokio::runtime::Runtime) -> TestDb {
    rt.block_on(async {
        let db = TestDb::new().await;
        db.execute(START).await;
        db
    })
}

fn invalid_indexes(rt: &tokio::runtime::Runtime, db: &TestDb) -> i64 {
    rt.block_on(scalar_i64(
        db,
        "SELECT count(*) FROM pg_index WHERE NOT indisvalid",
    ))
}

/// The database is at the plan's end, with no INVALID index left and `rows` rows in items.
fn assert_converged(rt: &tokio::runtime::Runtime, db: &TestDb, plan: &Plan, rows: i64) {
    assert_eq!(rt.block_on(live_fp(db)), plan.desired_fingerprint());
    assert_eq!(invalid_indexes(rt, db), 0, "no INVALID index left");
    let count = rt.block_on(scalar_i64(db, "SELECT count(*) FROM items"));
    assert_eq!(count, rows);
}

async fn has_formwork_schema(db: &TestDb) -> bool {
    scalar_i64(
        db,
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'formwork'",
    )
    .await
        == 1
}

const START: &str = "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL); \
     INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;";

/// A concurrent index build, as a hand-written plan step.
const BUILD_INDEX: &str = "CREATE INDEX CONCURRENTLY items_name_idx ON public.items (name)";

const DECLARED: &str = r#"
schema "public" {
    table "items" {
        column "id" "bigint"
        column "name" "text"
        column "note" "text" nullable=#true
        primary-key "id"
        index "items_name_idx" "name"
    }
    table "tags" {
        column "id" "bigint"
        column "label" "text"
        primary-key "id"
    }
}
"#;

/// A database at START and a plan (made by `formwork plan`) that takes it to DECLARED.
fn planned(dir: &TempDir, rt: &tokio::runtime::Runtime) -> (TestDb, PathBuf, Plan) {
    let db = start_db(rt);
    dir.write("schemas/public.kdl", DECLARED);
    let file = dir.0.join("plan.bin");
    let o = formwork(
        &[
            "plan",
            "--db",
            &db.url(),
            "--dir",
            p(&dir.0.join("schemas")),
            "--out",
            p(&file),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let plan = formwork::plan::file::read(&file).unwrap();
    (db, file, plan)
}

#[test]
fn approvals_are_required_and_every_bad_one_is_refused_before_anything_runs() {
    let rt = rt();
    let dir = TempDir::new("approve");
    let (db, file, plan) = planned(&dir, &rt);
    assert!(
        !plan.hazard_kinds().is_empty(),
        "the sample plan carries hazards"
    );
    let before = rt.block_on(live_fp(&db));
    let url = db.url();
    let key_file = dir.write("key", &format!("{SECRET}\n"));
    let envs = [("APPROVAL_KEY", SECRET), ("OTHER_KEY", OTHER_SECRET)];
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", p(&file), "--db", &url, "--phase", "all"];
        args.extend_from_slice(extra);
        formwork(&args, &envs)
    };
    let refused = |o: &Output, needle: &str| {
        let text = out(o);
        assert_eq!(o.status.code(), Some(1), "{text}");
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
        assert!(
            !text.contains(SECRET) && !text.contains(OTHER_SECRET),
            "{text}"
        );
        assert_eq!(rt.block_on(live_fp(&db)), before, "nothing ran");
        assert!(
            !rt.block_on(has_formwork_schema(&db)),
            "not even the journal"
        );
    };

    refused(&apply(&[]), "not approved");
    refused(&apply(&["--approve", &"0".repeat(64)]), "names plan");
    // The short id names the plan for display only: not enough to approve it.
    let short = plan.id().short();
    refused(&apply(&["--approve", &short]), "not a full plan id");
    refused(&apply(&["--approve", "xyz"]), "not a full plan id");

    // Approving without accepting every hazard writes nothing and names what is missing.
    let sidecar = formwork::plan::file::approval_path(&file);
    let o = formwork(
        &[
            "approve",
            p(&file),
            "--key-env",
            "APPROVAL_KEY",
            "--approver",
            "alice",
            "--accept",
            "deletes-data",
        ],
        &envs,
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    for kind in plan.hazard_kinds() {
        assert!(out(&o).contains(kind.as_str()), "{}", out(&o));
    }
    assert!(!sidecar.exists());
    refused(&apply(&["--key-env", "APPROVAL_KEY"]), "no approval beside");

    // A properly signed approval, checked with the wrong key.
    let o = formwork(
        &[
            "approve",
            p(&file),
            "--key-file",
            p(&key_file),
            "--approver",
            "alice",
            "--accept-all",
        ],
        &envs,
    );
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(!out(&o).contains(SECRET));
    refused(
        &apply(&["--key-env", "OTHER_KEY"]),
        "does not verify with this key",
    );

    // An edited approval file: its envelope hash no longer matches.
    let good = std::fs::read(&sidecar).unwrap();
    let mut edited = good.clone();
    let at = good.windows(5).position(|w| w == b"alice").unwrap();
    edited[at] = b'm';
    std::fs::write(&sidecar, &edited).unwrap();
    refused(&apply(&["--key-env", "APPROVAL_KEY"]), "altered or damaged");

    // A forged approval (signed with another key) and one that leaves a hazard out.
    use formwork::plan::approval::{Approval, ApprovalKey};
    let other = ApprovalKey::from_secret(OTHER_SECRET.as_bytes()).unwrap();
    let forged = Approval::sign(&other, &plan, "mallory", plan.hazard_kinds()).unwrap();
    formwork::plan::file::write_approval(&forged, &sidecar).unwrap();
    refused(
        &apply(&["--key-env", "APPROVAL_KEY"]),
        "does not verify with this key",
    );
    let key = ApprovalKey::from_secret(SECRET.as_bytes()).unwrap();
    let kinds = plan.hazard_kinds();
    let partial = Approval::sign(&key, &plan, "alice", kinds[1..].to_vec()).unwrap();
    formwork::plan::file::write_approval(&partial, &sidecar).unwrap();
    refused(&apply(&["--key-env", "APPROVAL_KEY"]), kinds[0].as_str());

    // The genuine approval runs the plan to its end.
    std::fs::write(&sidecar, &good).unwrap();
    let o = apply(&["--key-file", p(&key_file)]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(!out(&o).contains(SECRET), "{}", out(&o));
    assert_eq!(rt.block_on(live_fp(&db)), plan.desired_fingerprint());
}

#[test]
fn applying_twice_runs_once_and_the_second_run_does_nothing() {
    let rt = rt();
    let dir = TempDir::new("twice");
    let (db, file, plan) = planned(&dir, &rt);
    let url = db.url();
    let short = plan.id().short();
    let full = plan.id().to_string();
    let args = [
        "apply",
        p(&file),
        "--db",
        &url,
        "--approve",
        &full,
        "--phase",
        "all",
    ];
    let o = formwork(&args, &[]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("[1/{}]", plan.steps().len())),
        "{text}"
    );
    assert!(text.contains("applied plan"), "{text}");
    assert_eq!(rt.block_on(live_fp(&db)), plan.desired_fingerprint());
    assert_eq!(
        rt.block_on(scalar_i64(
            &db,
            "SELECT count(*) FROM formwork.steps WHERE status = 'done'"
        )),
        plan.steps().len() as i64
    );

    let o = formwork(&args, &[]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("already applied"), "{text}");
    assert!(!text.contains("[1/"), "no step ran: {text}");
    // Each step was attempted exactly once, in the first run.
    assert_eq!(
        rt.block_on(scalar_i64(
            &db,
            "SELECT sum(attempts)::bigint FROM formwork.steps"
        )),
        plan.steps().len() as i64
    );
    assert_eq!(
        rt.block_on(scalar_i64(&db, "SELECT sum(id)::bigint FROM items")),
        500_500
    );

    // status reads the journal and compares with the declaration.
    let o = formwork(
        &["status", "--db", &url, "--dir", p(&dir.0.join("schemas"))],
        &[],
    );
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains(&short) && text.contains("applied"), "{text}");
    assert!(text.contains("the database matches"), "{text}");
}

#[test]
fn expand_runs_by_default_and_contract_waits_until_asked() {
    let rt = rt();
    let db = rt.block_on(async {
        let db = TestDb::new().await;
        db.execute(START).await;
        db.execute("ALTER TABLE items ADD COLUMN legacy text").await;
        db
    });
    let dir = TempDir::new("phases");
    dir.write("schemas/public.kdl", DECLARED);
    let file = dir.0.join("plan.bin");
    let url = db.url();
    let o = formwork(
        &[
            "plan",
            "--db",
            &url,
            "--dir",
            p(&dir.0.join("schemas")),
            "--out",
            p(&file),
            "--allow-destructive",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let plan = formwork::plan::file::read(&file).unwrap();
    let contract = plan
        .steps()
        .iter()
        .filter(|s| s.phase == Phase::Contract)
        .count();
    assert!(contract > 0, "dropping a column is a contract step");
    let id = plan.id().to_hex();

    let o = apply(&file, &url, &["--approve", &id, "--phase", "contract"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("have not all run"), "{}", out(&o));

    let o = apply(&file, &url, &["--approve", &id]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("contract step(s) pending"), "{text}");
    let legacy = "SELECT count(*) FROM information_schema.columns WHERE column_name = 'legacy'";
    assert_eq!(rt.block_on(scalar_i64(&db, legacy)), 1, "not dropped yet");
    let o = formwork(
        &["status", "--db", &url, "--dir", p(&dir.0.join("schemas"))],
        &[],
    );
    assert!(out(&o).contains("expand-done"), "{}", out(&o));
    assert!(out(&o).contains("contract step(s) pending"), "{}", out(&o));
    // Each pending contract step is listed, by number and description, from the journal.
    for (n, s) in plan.steps().iter().enumerate() {
        let line = format!("step {}: {}", n + 1, s.description);
        let listed = out(&o).contains(&line);
        assert_eq!(listed, s.phase == Phase::Contract, "{line}\n{}", out(&o));
    }

    // Pipelines read one JSON event per line on stdout.
    let o = apply(
        &file,
        &url,
        &[
            "--approve",
            &id,
            "--phase",
            "contract",
            "--log-format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let done_steps: Vec<u64> = events
        .iter()
        .filter(|e| e["event"] == "step-done")
        .map(|e| e["step"].as_u64().unwrap())
        .collect();
    let expand = (plan.steps().len() - contract) as u64;
    assert_eq!(
        done_steps,
        (expand + 1..=plan.steps().len() as u64).collect::<Vec<_>>()
    );
    let last = events.last().unwrap();
    assert_eq!(last["event"], "done");
    assert_eq!(last["outcome"], "applied");
    assert_eq!(last["plan_id"], id);
    assert_eq!(rt.block_on(scalar_i64(&db, legacy)), 0);
    assert_eq!(rt.block_on(live_fp(&db)), plan.desired_fingerprint());
}

#[test]
fn drift_between_plan_and_apply_is_refused_and_nothing_runs() {
    let rt = rt();
    let dir = TempDir::new("drift");
    let (db, file, plan) = planned(&dir, &rt);
    rt.block_on(
        db.execute("ALTER TABLE items ADD COLUMN sneaky int; CREATE TABLE intruder (id int)"),
    );
    let before = rt.block_on(live_fp(&db));
    let o = apply(&file, &db.url(), &["--approve", &plan.id().to_hex()]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("drifted"), "{text}");
    // The objects that moved are named (the message is wrapped for the terminal).
    let flat = text
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains("table public.items (altered)"), "{text}");
    assert!(flat.contains("table public.intruder (added)"), "{text}");
    assert!(text.contains(&plan.source_fingerprint().to_hex()), "{text}");
    assert_eq!(rt.block_on(live_fp(&db)), before);
    assert!(!rt.block_on(has_formwork_schema(&db)));
}

#[test]
fn a_plan_for_another_database_is_refused() {
    let rt = rt();
    let dir = TempDir::new("identity");
    let (_a, file, plan) = planned(&dir, &rt);
    let b = start_db(&rt);
    let before = rt.block_on(live_fp(&b));
    assert_eq!(
        before,
        plan.source_fingerprint(),
        "same schema, other database"
    );
    let o = apply(&file, &b.url(), &["--approve", &plan.id().to_hex()]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("was made for") && text.contains(b.name()),
        "{text}"
    );
    assert_eq!(rt.block_on(live_fp(&b)), before);
}

#[test]
fn a_second_apply_fails_fast_while_another_holds_the_lock_or_waits_for_it() {
    let rt = rt();
    let dir = TempDir::new("lock");
    let (db, file, plan) = planned(&dir, &rt);
    let holder = rt.block_on(db.client());
    rt.block_on(holder.execute(
        "SELECT pg_advisory_lock($1)",
        &[&formwork::apply::executor::ADVISORY_LOCK_KEY],
    ))
    .unwrap();
    let url = db.url();
    let id = plan.id().to_hex();
    let args = ["apply", p(&file), "--db", &url, "--approve", &id];
    let started = Instant::now();
    let o = formwork(&args, &[]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("another apply holds"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(10), "fails fast");
    assert_eq!(rt.block_on(live_fp(&db)), plan.source_fingerprint());

    // With --wait-lock it waits for the holder to finish, then runs.
    let release = rt.spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        holder
            .execute(
                "SELECT pg_advisory_unlock($1)",
                &[&formwork::apply::executor::ADVISORY_LOCK_KEY],
            )
            .await
            .unwrap();
        holder
    });
    let mut waiting = args.to_vec();
    waiting.extend(["--wait-lock", "20", "--phase", "all"]);
    let o = formwork(&waiting, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    rt.block_on(release).unwrap();
    assert_eq!(rt.block_on(live_fp(&db)), plan.desired_fingerprint());
}

/// A database at START and a plan for it written by hand (short lock timeouts), its
/// fingerprints taken by running the same statements in a twin database, saved as `plan.bin`
/// in a directory of its own.
fn manual_plan(
    rt: &tokio::runtime::Runtime,
    steps: &[(&str, bool, u64)],
) -> (TestDb, TempDir, PathBuf, Plan) {
    let db = start_db(rt);
    let plan = rt.block_on(async {
        let twin = TestDb::new().await;
        twin.execute(START).await;
        let target = {
            let c = db.client().await;
            formwork::catalog::introspect(&c).await.unwrap().server
        };
        let source = live_fp(&twin).await;
        let mut fps = Vec::new();
        for (sql, _, _) in steps {
            twin.execute(sql).await;
            fps.push(live_fp(&twin).await);
        }
        let mut b = PlanBuilder::new(
            TargetIdentity::of_server(&target),
            target.major() as u32,
            source,
            *fps.last().unwrap_or(&source),
        );
        for ((sql, transactional, lock_ms), fp) in steps.iter().zip(fps) {
            let mut s = Step::new(*sql, Phase::Expand, fp)
                .description(format!("run {sql}"))
                .lock_timeout_ms(*lock_ms);
            if !transactional {
                s = s.non_transactional();
            }
            b = b.step(s);
        }
        b.build().unwrap()
    });
    let dir = TempDir::new("manual");
    let file = dir.0.join("plan.bin");
    formwork::plan::file::write(&plan, &file).unwrap();
    (db, dir, file, plan)
}

/// A session of its own that has run `sql` (typically an open transaction holding locks).
fn hold(rt: &tokio::runtime::Runtime, db: &TestDb, sql: &str) -> tokio_postgres::Client {
    let client = rt.block_on(db.client());
    rt.block_on(client.batch_execute(sql)).unwrap();
    client
}

#[test]
fn a_conflicting_lock_is_retried_until_released_or_given_up_within_the_budget() {
    let rt = rt();
    let (db, _dir, file, plan) = manual_plan(
        &rt,
        &[("ALTER TABLE items ADD COLUMN note text", true, 200)],
    );
    let url = db.url();
    let id = plan.id().to_hex();

    // Held past the budget: the apply gives up cleanly, records why, and changes nothing.
    // Meanwhile another session keeps reading the table: queued behind the apply's ACCESS
    // EXCLUSIVE request, a read waits at most about the step's lock_timeout (200 ms).
    let holder = hold(&rt, &db, "BEGIN; LOCK TABLE items IN ACCESS SHARE MODE");
    let reader = rt.block_on(db.client());
    let reads = rt.spawn(async move {
        let mut slowest = Duration::ZERO;
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            let t = Instant::now();
            reader
                .query_one("SELECT count(*) FROM items", &[])
                .await
                .unwrap();
            slowest = slowest.max(t.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        slowest
    });
    let started = Instant::now();
    let o = apply(&file, &url, &["--approve", &id, "--retry-budget", "1"]);
    let slowest = rt.block_on(reads).unwrap();
    eprintln!("slowest read while apply retried: {slowest:?}");
    assert!(
        slowest < Duration::from_millis(200 + 700),
        "a reader waited {slowest:?}"
    );
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("lock timeout") && text.contains("gave up"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "{text}");
    assert_eq!(rt.block_on(live_fp(&db)), plan.source_fingerprint());
    assert_eq!(
        rt.block_on(scalar_i64(
            &db,
            "SELECT count(*) FROM formwork.steps WHERE status = 'failed' AND attempts > 1"
        )),
        1
    );

    // Released after a second: the apply retries and succeeds.
    let release = rt.spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        holder.batch_execute("COMMIT").await.unwrap();
    });
    let o = apply(&file, &url, &["--approve", &id]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("retrying"), "{text}");
    rt.block_on(release).unwrap();
    assert_eq!(rt.block_on(live_fp(&db)), plan.desired_fingerprint());
    let waited = rt.block_on(scalar_i64(
        &db,
        "SELECT lock_wait_ms FROM formwork.steps WHERE step = 1",
    ));
    assert!(waited >= 500, "lock wait recorded: {waited} ms");
}

#[test]
fn a_failed_concurrent_index_build_leaves_no_invalid_index_and_is_retried() {
    let rt = rt();
    let (db, _dir, file, plan) = manual_plan(&rt, &[(BUILD_INDEX, false, 300)]);
    // An open writing transaction: the build waits for it, times out and leaves its INVALID
    // index behind; the retry must drop it first.
    let writer = hold(&rt, &db, "BEGIN; INSERT INTO items VALUES (1001, 'late')");
    let release = rt.spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        writer.batch_execute("COMMIT").await.unwrap();
    });
    let o = apply(&file, &db.url(), &["--approve", &plan.id().to_hex()]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("dropped the INVALID index"), "{text}");
    rt.block_on(release).unwrap();
    assert_converged(&rt, &db, &plan, 1001);
}

#[test]
fn a_killed_apply_resumes_where_it_stopped_and_converges() {
    let rt = rt();
    let steps = {
        let dir = TempDir::new("kill");
        planned(&dir, &rt).2.steps().len()
    };
    assert!(steps >= 3, "the sample plan has several steps");
    // Killed at every step boundary, including after the last step but before the journal
    // says the plan is applied.
    for k in 1..=steps {
        let dir = TempDir::new("kill");
        let (db, file, plan) = planned(&dir, &rt);
        let url = db.url();
        let id = plan.id().to_hex();
        let checksum = "SELECT sum(hashtext(id::text || name))::bigint FROM items";
        let rows_before = rt.block_on(scalar_i64(&db, checksum));

        let mut child = Command::new(env!("CARGO_BIN_EXE_formwork"))
            .args(["apply", p(&file), "--db", &url, "--approve", &id])
            .args(["--phase", "all"])
            .env_remove("DATABASE_URL")
            .env(formwork::apply::executor::TEST_PAUSE_ENV, k.to_string())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let pause = format!("paused after step {k}");
        let mut seen = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(&pause) {
                break;
            }
        }
        assert!(seen.contains(&pause), "{seen}");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_eq!(
            rt.block_on(live_fp(&db)),
            plan.steps()[k - 1].expected_fingerprint_after
        );

        let o = apply(
            &file,
            &url,
            &["--approve", &id, "--phase", "all", "--wait-lock", "20"],
        );
        let text = out(&o);
        assert_eq!(o.status.code(), Some(0), "after step {k}: {text}");
        if k < steps {
            assert!(text.contains("resuming"), "{text}");
        } else {
            assert!(text.contains("already applied"), "{text}");
        }
        for done in 1..=k {
            assert!(
                !text.contains(&format!("[{done}/")),
                "step {done} ran again: {text}"
            );
        }
        assert_eq!(rt.block_on(scalar_i64(&db, checksum)), rows_before);
        assert_converged(&rt, &db, &plan, 1000);
        let status = rt.block_on(async {
            let c = db.client().await;
            let row = c
                .query_one("SELECT status FROM formwork.plans", &[])
                .await
                .unwrap();
            row.get::<_, String>(0)
        });
        assert_eq!(status, "applied");
    }
}

#[test]
fn an_apply_killed_inside_a_concurrent_build_resumes_without_an_invalid_index() {
    let rt = rt();
    let (db, dir, file, plan) = manual_plan(
        &rt,
        &[
            ("CREATE TABLE tags (id bigint PRIMARY KEY)", true, 5_000),
            (BUILD_INDEX, false, 30_000),
        ],
    );
    let url = db.url();
    let id = plan.id().to_hex();
    // A writer keeps the build waiting in its middle, its INVALID index already created.
    let writer = hold(&rt, &db, "BEGIN; INSERT INTO items VALUES (1001, 'late')");
    let log = dir.0.join("apply.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(["apply", p(&file), "--db", &url, "--approve", &id])
        .env_remove("DATABASE_URL")
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let building =
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONCURRENTLY%'";
    while rt.block_on(scalar_i64(&db, building)) == 0 {
        assert!(Instant::now() < deadline, "the build never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Progress of the waiting build is reported from a second session.
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("index build: ")
    {
        assert!(
            Instant::now() < deadline,
            "no index build progress reported"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The server side of the killed session ends too (as a crashed host's would).
    rt.block_on(db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE query LIKE 'CREATE INDEX CONCURRENTLY%'",
    ));
    rt.block_on(writer.batch_execute("COMMIT")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while rt.block_on(scalar_i64(&db, building)) > 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        invalid_indexes(&rt, &db),
        1,
        "the killed build left its INVALID index"
    );

    let o = apply(&file, &url, &["--approve", &id, "--wait-lock", "20"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("dropped the INVALID index"), "{text}");
    assert!(!text.contains("[1/"), "step 1 is not run again: {text}");
    assert_converged(&rt, &db, &plan, 1001);
}

#[test]
fn passwords_in_the_connection_string_never_reach_the_output() {
    let dir = TempDir::new("secret");
    let rt = rt();
    let (_db, file, plan) = planned(&dir, &rt);
    let o = apply(
        &file,
        "postgres://app:hunter2-very-secret@127.0.0.1:1/app",
        &["--approve", &plan.id().to_hex()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(!out(&o).contains("hunter2-very-secret"), "{}", out(&o));
    let o = formwork(
        &[
            "status",
            "--db",
            "postgres://app:hunter2-very-secret@127.0.0.1:1/app",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(!out(&o).contains("hunter2-very-secret"), "{}", out(&o));
}

#[test]
fn a_development_database_can_be_planned_and_applied_in_one_go_only_with_auto_approve() {
    let rt = rt();
    let db = start_db(&rt);
    let dir = TempDir::new("laptop");
    dir.write("schemas/public.kdl", DECLARED);
    let schemas = dir.0.join("schemas");
    let url = db.url();
    let before = rt.block_on(live_fp(&db));
    let o = formwork(&["apply", "--dir", p(&schemas), "--db", &url], &[]);
    assert_eq!(o.status.code(), Some(2), "usage error: {}", out(&o));
    assert_eq!(rt.block_on(live_fp(&db)), before);

    let o = formwork(
        &[
            "apply",
            "--dir",
            p(&schemas),
            "--db",
            &url,
            "--auto-approve",
            "--phase",
            "all",
        ],
        &[],
    );
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("WITHOUT ANY APPROVAL"), "{text}");
    assert!(
        text.contains("CREATE TABLE \"public\".\"tags\""),
        "the plan is shown: {text}"
    );
    let o = formwork(&["status", "--db", &url, "--dir", p(&schemas)], &[]);
    assert!(out(&o).contains("the database matches"), "{}", out(&o));
}

#[test]
fn a_state_half_way_through_the_plan_is_refused_unless_the_journal_explains_it() {
    let rt = rt();
    let (db, _dir, file, plan) = manual_plan(
        &rt,
        &[
            ("CREATE TABLE tags (id bigint PRIMARY KEY)", true, 1_000),
            ("ALTER TABLE items ADD COLUMN note text", true, 1_000),
        ],
    );
    // Someone ran the first step by hand: the state is one the plan passes through, but
    // nothing says this plan got there.
    rt.block_on(db.execute("CREATE TABLE tags (id bigint PRIMARY KEY)"));
    let o = apply(&file, &db.url(), &["--approve", &plan.id().to_hex()]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("after step 1") && text.contains("no record"),
        "{text}"
    );
    assert_eq!(
        rt.block_on(live_fp(&db)),
        plan.steps()[0].expected_fingerprint_after
    );
    assert!(!rt.block_on(has_formwork_schema(&db)));
}

#[test]
fn a_concurrent_build_that_gives_up_is_cleaned_up_by_the_next_apply() {
    let rt = rt();
    let (db, _dir, file, plan) = manual_plan(&rt, &[(BUILD_INDEX, false, 200)]);
    let id = plan.id().to_hex();
    let writer = hold(&rt, &db, "BEGIN; INSERT INTO items VALUES (1001, 'late')");
    let o = apply(&file, &db.url(), &["--approve", &id, "--retry-budget", "1"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("gave up"), "{text}");
    rt.block_on(writer.batch_execute("COMMIT")).unwrap();

    let o = apply(&file, &db.url(), &["--approve", &id]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert_converged(&rt, &db, &plan, 1001);
    let status = rt.block_on(async {
        let c = db.client().await;
        let row = c
            .query_one("SELECT status, attempts FROM formwork.steps", &[])
            .await
            .unwrap();
        (row.get::<_, String>(0), row.get::<_, i32>(1))
    });
    assert_eq!(status.0, "done");
    assert!(
        status.1 > 2,
        "attempts of both runs are counted: {status:?}"
    );
}
