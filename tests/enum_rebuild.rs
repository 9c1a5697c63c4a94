//! Removing and reordering enum values by rebuilding the type, planned and applied by the
//! `formwork` binary on real PostgreSQL: the plan's shape, the refusal when rows hold a removed
//! value without a declared replacement, the replacement applied to every row, defaults and
//! indexes carried over, nothing transitional left after the contract, a second plan empty,
//! and an apply killed in the middle of the backfill resumed to the same end. The same change
//! under a concurrent workload is in `tests/online.rs`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::{TempDir, TestDb};

fn formwork(args: &[&str]) -> Output {
    common::formwork_command()
        .args(args)
        .env("NO_COLOR", "1")
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

async fn scalar<T: for<'a> tokio_postgres::types::FromSql<'a>>(db: &TestDb, sql: &str) -> T {
    db.client()
        .await
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// A table of tickets whose `mood` column has a default and an index; `meh` is held by every
/// third row, `busy` by the others with an even id.
const SEED: &str = "\
    CREATE TYPE mood AS ENUM ('calm', 'meh', 'busy'); \
    CREATE TABLE tickets (id bigint PRIMARY KEY, mood mood NOT NULL DEFAULT 'calm', note text); \
    CREATE INDEX tickets_mood ON tickets (mood); \
    INSERT INTO tickets SELECT g, CASE WHEN g % 3 = 0 THEN 'meh' WHEN g % 2 = 0 THEN 'busy' \
        ELSE 'calm' END::mood, 'n' || g FROM generate_series(1, 3000) g;";

/// The declaration of SEED's table with `enum` as the enum node.
fn declared(enum_node: &str) -> String {
    format!(
        r#"
schema "public" {{
    {enum_node}
    table "tickets" {{
        column "id" "bigint"
        column "mood" "mood" default="'calm'::mood"
        column "note" "text" nullable=#true
        primary-key "id"
        index "tickets_mood" "mood"
    }}
}}
"#
    )
}

const REPLACED: &str =
    "enum \"mood\" \"calm\" \"busy\" {\n        removed \"meh\" replaced-by=\"calm\"\n    }";

struct Bed {
    db: TestDb,
    dir: TempDir,
}

impl Bed {
    async fn new(tag: &str, seed: &str, declaration: &str) -> Bed {
        let db = TestDb::new().await;
        db.execute(seed).await;
        let dir = TempDir::new(tag);
        dir.write("schemas/public.kdl", declaration);
        Bed { db, dir }
    }

    fn file(&self) -> String {
        self.dir.0.join("plan.bin").to_str().unwrap().to_string()
    }

    fn plan(&self) -> Output {
        let schemas = self.dir.0.join("schemas");
        let _ = std::fs::remove_file(self.file());
        formwork(&[
            "plan",
            "--db",
            &self.db.url(),
            "--dir",
            schemas.to_str().unwrap(),
            "--out",
            &self.file(),
        ])
    }

    fn steps(&self) -> Vec<serde_json::Value> {
        let shown = formwork(&["show", &self.file(), "--format", "json"]);
        let json: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("plan JSON");
        json["steps"].as_array().expect("steps").clone()
    }

    fn apply(&self, extra: &[&str]) -> Output {
        let url = self.db.url();
        let file = self.file();
        let mut args = vec!["apply", &file, "--db", &url, "--auto-approve"];
        args.extend_from_slice(extra);
        formwork(&args)
    }

    /// Plan, apply every phase, and check that a second plan is empty.
    async fn converge(&self) {
        let o = self.plan();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let o = self.apply(&["--phase", "all"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let o = self.plan();
        assert_eq!(o.status.code(), Some(0), "second plan: {}", text(&o));
        assert_nothing_left(&self.db).await;
    }
}

/// Output with miette's line wrapping undone (it wraps long lines behind a box-drawing margin).
fn flat(out: &str) -> String {
    out.split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

fn sql_of(steps: &[serde_json::Value]) -> Vec<String> {
    steps
        .iter()
        .filter_map(|s| s["sql"].as_str().map(str::to_string))
        .collect()
}

/// No object named `formwork_%` in the catalog: types, table columns, relations outside the
/// journal's schema, functions, triggers. (An index keeps the name its column had when it was
/// built as the name of its own attribute; that is not an object.)
async fn assert_nothing_left(db: &TestDb) {
    let left: i64 = scalar(
        db,
        "SELECT (SELECT count(*) FROM pg_type WHERE typname LIKE 'formwork%') \
         + (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
              WHERE attname LIKE 'formwork%' AND NOT attisdropped AND c.relkind = 'r') \
         + (SELECT count(*) FROM pg_class WHERE relname LIKE 'formwork%' \
              AND relnamespace <> 'formwork'::regnamespace) \
         + (SELECT count(*) FROM pg_proc WHERE proname LIKE 'formwork%') \
         + (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'formwork%')",
    )
    .await;
    let names: String = scalar(
        db,
        "SELECT coalesce(string_agg(n, ', '), '') FROM (SELECT typname::text n FROM pg_type \
         WHERE typname LIKE 'formwork%' UNION ALL SELECT attname::text FROM pg_attribute \
         WHERE attname LIKE 'formwork%' AND NOT attisdropped \
         AND attrelid IN (SELECT oid FROM pg_class WHERE relkind = 'r') UNION ALL SELECT relname::text \
         FROM pg_class WHERE relname LIKE 'formwork%' AND relnamespace <> 'formwork'::regnamespace \
         UNION ALL SELECT proname::text FROM pg_proc WHERE proname LIKE 'formwork%') x",
    )
    .await;
    assert_eq!(left, 0, "transitional objects left behind: {names}");
}

/// Every ticket's mood, by id.
async fn moods(db: &TestDb) -> Vec<(i64, String)> {
    db.client()
        .await
        .query("SELECT id, mood::text FROM tickets ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn labels(db: &TestDb) -> String {
    scalar(db, "SELECT enum_range(NULL::mood)::text").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_value_plans_a_copy_of_the_type_an_online_conversion_and_a_contract() {
    let bed = Bed::new("enum-shape", SEED, &declared(REPLACED)).await;
    let o = bed.plan();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let steps = bed.steps();
    let sql = sql_of(&steps);
    let all = sql.join("\n");
    assert!(
        sql[0].starts_with("CREATE TYPE \"public\".\"formwork_enum_")
            && sql[0].ends_with("AS ENUM ('calm', 'busy')"),
        "{all}"
    );
    for fragment in [
        "CREATE OR REPLACE TRIGGER",
        "CASE \"mood\"::text WHEN 'meh' THEN 'calm' ELSE \"mood\"::text END",
        "CREATE INDEX CONCURRENTLY",
        "RENAME COLUMN",
    ] {
        assert!(all.contains(fragment), "{fragment}: {all}");
    }
    assert!(!all.contains("CASCADE"), "{all}");
    assert!(
        !all.contains("TYPE \"public\".\"formwork_enum_")
            || !all.contains("ALTER COLUMN \"mood\" TYPE"),
        "{all}"
    );
    let phases: Vec<&str> = steps.iter().filter_map(|s| s["phase"].as_str()).collect();
    let contract: Vec<&String> = sql
        .iter()
        .zip(&phases)
        .filter(|(_, p)| **p == "contract")
        .map(|(s, _)| s)
        .collect();
    assert_eq!(contract.len(), 2, "{contract:#?}");
    assert!(contract[0].contains("DROP COLUMN"), "{contract:#?}");
    assert!(
        contract[1].starts_with("DROP TYPE \"public\".\"mood\";\nALTER TYPE")
            && contract[1].contains("RENAME TO \"mood\""),
        "{contract:#?}"
    );
    assert_eq!(phases.last(), Some(&"contract"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replacement_is_applied_to_every_row_and_default_and_index_carry_over() {
    let bed = Bed::new("enum-replaced", SEED, &declared(REPLACED)).await;
    let before = moods(&bed.db).await;
    bed.converge().await;
    let db = &bed.db;
    assert_eq!(labels(db).await, "{calm,busy}");
    let after = moods(db).await;
    let expected: Vec<(i64, String)> = before
        .into_iter()
        .map(|(id, m)| (id, if m == "meh" { "calm".into() } else { m }))
        .collect();
    assert_eq!(
        after, expected,
        "every row holds the conversion of its value"
    );
    let default: String = scalar(
        db,
        "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'tickets'::regclass",
    )
    .await;
    assert_eq!(default, "'calm'::mood");
    db.execute("INSERT INTO tickets (id) VALUES (9001)").await;
    let index: String = scalar(db, "SELECT pg_get_indexdef('tickets_mood'::regclass)").await;
    assert_eq!(
        index,
        "CREATE INDEX tickets_mood ON public.tickets USING btree (mood)"
    );
    let not_null: bool = scalar(
        db,
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'tickets'::regclass AND attname = 'mood'",
    )
    .await;
    assert!(not_null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_holding_a_removed_value_without_replacement_refuse_the_plan() {
    let bed = Bed::new(
        "enum-refused",
        SEED,
        &declared(r#"enum "mood" "calm" "busy""#),
    )
    .await;
    let o = bed.plan();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let flat = flat(&out);
    assert!(
        flat.contains("public.tickets.mood: 1000 rows hold \"meh\", which enum public.mood loses"),
        "{out}"
    );
    assert!(flat.contains("removed \"meh\" replaced-by="), "{out}");
    assert!(
        !std::path::Path::new(&bed.file()).exists(),
        "no plan is written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_no_row_holds_is_removed_without_a_replacement() {
    let bed = Bed::new(
        "enum-unused",
        SEED,
        &declared(r#"enum "mood" "calm" "meh""#),
    )
    .await;
    bed.db
        .execute("UPDATE tickets SET mood = 'calm' WHERE mood = 'busy'")
        .await;
    bed.converge().await;
    assert_eq!(labels(&bed.db).await, "{calm,meh}");
    let meh: i64 = scalar(&bed.db, "SELECT count(*) FROM tickets WHERE mood = 'meh'").await;
    assert_eq!(meh, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorder_rebuilds_the_type_with_every_value_kept() {
    let bed = Bed::new(
        "enum-reorder",
        SEED,
        &declared(r#"enum "mood" "busy" "meh" "calm""#),
    )
    .await;
    let o = bed.plan();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let all = sql_of(&bed.steps()).join("\n");
    assert!(all.contains("AS ENUM ('busy', 'meh', 'calm')"), "{all}");
    assert!(!all.contains("CASE"), "the identity needs no CASE: {all}");
    bed.converge().await;
    assert_eq!(labels(&bed.db).await, "{busy,meh,calm}");
    let counts: String = scalar(
        &bed.db,
        "SELECT string_agg(mood::text || '=' || n, ',' ORDER BY mood) FROM \
         (SELECT mood, count(*) n FROM tickets GROUP BY mood) c",
    )
    .await;
    assert_eq!(
        counts, "busy=1000,meh=1000,calm=1000",
        "sorted by the new order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enum_no_column_uses_is_rebuilt_too() {
    let bed = Bed::new(
        "enum-alone",
        "CREATE TYPE mood AS ENUM ('calm', 'meh', 'busy'); CREATE TABLE tickets (id bigint PRIMARY KEY, mood text, note text)",
        &declared(r#"enum "mood" "busy" "calm""#).replace(
            r#"column "mood" "mood" default="'calm'::mood""#,
            r#"column "mood" "text" nullable=#true"#,
        ).replace("        index \"tickets_mood\" \"mood\"\n", ""),
    )
    .await;
    bed.converge().await;
    assert_eq!(labels(&bed.db).await, "{busy,calm}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_naming_an_undeclared_value_is_reported_at_its_span() {
    let dir = TempDir::new("enum-kdl");
    dir.write(
        "schemas/public.kdl",
        "schema \"public\" {\n    enum \"mood\" \"calm\" {\n        removed \"meh\" replaced-by=\"clam\"\n    }\n}\n",
    );
    let o = formwork(&["validate", "--dir", dir.0.join("schemas").to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("\"meh\" is replaced by \"clam\", which enum `public.mood` does not declare"),
        "{out}"
    );
    assert!(
        out.contains("replaced-by=\"clam\""),
        "the span is shown: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_killed_in_the_middle_of_the_backfill_resumes_and_converges() {
    let seed = SEED.replace("generate_series(1, 3000)", "generate_series(1, 60000)");
    let bed = Bed::new("enum-kill", &seed, &declared(REPLACED)).await;
    let o = bed.plan();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let file = bed.file();
    let url = bed.db.url();
    let args = [
        "apply",
        &file,
        "--db",
        &url,
        "--auto-approve",
        "--phase",
        "all",
        "--backfill-initial-rows",
        "200",
        "--backfill-max-rows",
        "200",
        "--backfill-pause-ms",
        "5",
        "--log-format",
        "json",
    ];
    let mut child = common::formwork_command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let client = bed.db.client().await;
    for _ in 0..100 {
        let held: i64 = client
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
    let finished: bool = scalar(&bed.db, "SELECT finished FROM formwork.backfills").await;
    assert!(!finished, "killed in the middle of the backfill: {seen}");
    // Writes through the old shape between the kill and the resumption are converted too.
    bed.db
        .execute("INSERT INTO tickets (id, mood) VALUES (70001, 'meh'), (70002, 'busy')")
        .await;

    let mut again = args.to_vec();
    again.extend(["--wait-lock", "20"]);
    let o = formwork(&again);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("backfill-resumed"), "{out}");
    let o = bed.plan();
    assert_eq!(o.status.code(), Some(0), "converged: {}", text(&o));
    assert_nothing_left(&bed.db).await;
    let wrong: i64 = scalar(
        &bed.db,
        "SELECT count(*) FROM tickets WHERE mood::text <> CASE WHEN id IN (70001) THEN 'calm' \
         WHEN id = 70002 THEN 'busy' WHEN id % 3 = 0 THEN 'calm' WHEN id % 2 = 0 THEN 'busy' \
         ELSE 'calm' END",
    )
    .await;
    assert_eq!(wrong, 0, "every row holds the conversion of its value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn between_the_phases_status_lists_the_copy_and_the_old_shape_still_takes_writes() {
    let bed = Bed::new("enum-phases", SEED, &declared(REPLACED)).await;
    let o = bed.plan();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = bed.apply(&["--phase", "expand"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The application writes untyped literals, old values included: the replacement applies.
    bed.db
        .execute("INSERT INTO tickets (id, mood) VALUES (9001, 'busy'), (9002, 'calm'); INSERT INTO tickets (id) VALUES (9003)")
        .await;
    let schemas = bed.dir.0.join("schemas");
    let o = formwork(&[
        "status",
        "--db",
        &bed.db.url(),
        "--dir",
        schemas.to_str().unwrap(),
    ]);
    let out = text(&o);
    assert!(out.contains("contract step(s) pending"), "{out}");
    // Until then a new plan says what to finish rather than planning over the half-done state.
    let flat = flat(&out);
    assert!(
        flat.contains(
            "the copy an earlier plan made to rebuild it, still exists: finish that plan first"
        ),
        "{out}"
    );
    assert!(
        out.contains("transitional enum formwork_enum_") && out.contains(" on public.mood "),
        "{out}"
    );
    let o = bed.apply(&["--phase", "contract"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = bed.plan();
    assert_eq!(o.status.code(), Some(0), "second plan: {}", text(&o));
    assert_nothing_left(&bed.db).await;
    let written: String = scalar(
        &bed.db,
        "SELECT string_agg(mood::text, ',' ORDER BY id) FROM tickets WHERE id > 9000",
    )
    .await;
    assert_eq!(written, "busy,calm,calm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renamed_and_replaced_values_convert_together_in_one_rebuild() {
    let bed = Bed::new(
        "enum-rename-remove",
        SEED,
        &declared(
            "enum \"mood\" {\n        value \"calm\"\n        value \"hectic\" renamed-from=\"busy\"\n        removed \"meh\" replaced-by=\"calm\"\n    }",
        ),
    )
    .await;
    let o = bed.plan();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let all = sql_of(&bed.steps()).join("\n");
    assert!(
        all.contains("CASE \"mood\"::text WHEN 'meh' THEN 'calm' WHEN 'busy' THEN 'hectic' ELSE \"mood\"::text END"),
        "{all}"
    );
    assert!(
        !all.contains("RENAME VALUE"),
        "the copy has the new name: {all}"
    );
    bed.converge().await;
    assert_eq!(labels(&bed.db).await, "{calm,hectic}");
    let wrong: i64 = scalar(
        &bed.db,
        "SELECT count(*) FROM tickets WHERE mood::text <> CASE WHEN id % 3 = 0 THEN 'calm' \
         WHEN id % 2 = 0 THEN 'hectic' ELSE 'calm' END",
    )
    .await;
    assert_eq!(wrong, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_a_view_reads_is_converted_in_place_and_only_with_blocking_allowed() {
    let seed = format!(
        "{SEED} CREATE VIEW calm_tickets AS SELECT id, mood FROM tickets WHERE note IS NOT NULL;"
    );
    let declaration = declared(REPLACED).replace(
        "    table \"tickets\" {",
        "    view \"calm_tickets\" \"SELECT id, mood FROM tickets WHERE note IS NOT NULL\"\n    table \"tickets\" {",
    );
    let bed = Bed::new("enum-view", &seed, &declaration).await;
    let o = bed.plan();
    let out = text(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "refused without --allow-blocking: {out}"
    );
    let o = formwork(&[
        "plan",
        "--db",
        &bed.db.url(),
        "--dir",
        bed.dir.0.join("schemas").to_str().unwrap(),
        "--out",
        &bed.file(),
        "--allow-blocking",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let all = sql_of(&bed.steps()).join("\n");
    assert!(
        all.contains("ALTER COLUMN \"mood\" TYPE \"public\".\"formwork_enum_"),
        "{all}"
    );
    let shown = text(&formwork(&["show", &bed.file()]));
    assert!(
        flat(&shown).contains("columns of a table a view reads are retyped in place"),
        "{shown}"
    );
    let o = bed.apply(&["--phase", "all"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = bed.plan();
    assert_eq!(o.status.code(), Some(0), "second plan: {}", text(&o));
    assert_nothing_left(&bed.db).await;
    let calm: i64 = scalar(
        &bed.db,
        "SELECT count(*) FROM calm_tickets WHERE mood = 'calm'",
    )
    .await;
    assert_eq!(calm, 2000, "meh became calm, seen through the view");
}
