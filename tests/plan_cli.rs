//! `formwork plan` from the command line: exit codes, the plan file, output formats, the
//! refusals (data loss, the plan gate) and the throwaway target.

mod common;

use std::path::Path;
use std::process::Output;

use common::TempDir;

fn formwork(args: &[&str]) -> Output {
    common::formwork_command().args(args).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const SCHEMA: &str = r#"
schema "public" {
    table "items" {
        column "id" "bigint"
        column "name" "text"
        column "price" "numeric(10,2)" nullable=#true
        primary-key "id"
    }
}
"#;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn plan_writes_a_plan_and_exits_2_then_0_once_applied() {
    let db = common::test_db();
    let dir = TempDir::new("basic");
    dir.write("schemas/public.kdl", SCHEMA);
    let out = dir.0.join("plans/plan.bin");
    let o = formwork(&[
        "plan",
        "--db",
        &db.url(),
        "--dir",
        path(&dir.0.join("schemas")),
        "--out",
        path(&out),
    ]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("CREATE TABLE \"public\".\"items\""),
        "{stdout}"
    );
    assert!(out.exists());

    // The written plan renders the same through `show`, and applies.
    let shown = formwork(&["show", path(&out)]);
    assert_eq!(shown.status.code(), Some(0));
    assert_eq!(text(&shown).0, stdout);
    let plan = formwork::plan::file::read(&out).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        formwork::apply::execute_steps(&db.client().await, &plan)
            .await
            .unwrap()
    });

    std::fs::remove_file(&out).unwrap();
    let o = formwork(&[
        "plan",
        "--db",
        &db.url(),
        "--dir",
        path(&dir.0.join("schemas")),
        "--out",
        path(&out),
    ]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no changes"), "{stderr}");
    assert!(!out.exists(), "no plan is written when nothing changes");
}

#[test]
fn markdown_and_json_formats() {
    let db = common::test_db();
    let dir = TempDir::new("formats");
    dir.write("schemas/public.kdl", SCHEMA);
    let schemas = dir.0.join("schemas");
    let out = dir.0.join("p.bin");
    let o = formwork(&[
        "plan",
        "--db",
        &db.url(),
        "--dir",
        path(&schemas),
        "--out",
        path(&out),
        "--format",
        "markdown",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let md = text(&o).0;
    assert!(md.contains("<details>") && md.contains("```sql"), "{md}");
    let o = formwork(&[
        "plan",
        "--db",
        &db.url(),
        "--dir",
        path(&schemas),
        "--out",
        path(&out),
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let plan = formwork::plan::file::read(&out).unwrap();
    assert_eq!(json["id"], plan.id().to_string());
    assert_eq!(json["steps"].as_array().unwrap().len(), plan.steps().len());
}

#[test]
fn data_loss_is_refused_with_the_list_and_nothing_is_written() {
    let db = common::test_db();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(db.execute(
        "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2), \
         legacy text); CREATE TABLE old_stuff (id int);",
    ));
    let dir = TempDir::new("loss");
    dir.write("schemas/public.kdl", SCHEMA);
    let out = dir.0.join("p.bin");
    let schemas = dir.0.join("schemas");
    let url = db.url();
    let args = [
        "plan",
        "--db",
        &url,
        "--dir",
        path(&schemas),
        "--out",
        path(&out),
    ];
    let o = formwork(&args);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("public.items.legacy"), "{stderr}");
    assert!(stderr.contains("public.old_stuff"), "{stderr}");
    assert!(stderr.contains("allow-data-loss"), "{stderr}");
    assert!(!out.exists());

    let mut with = args.to_vec();
    with.push("--allow-destructive");
    let o = formwork(&with);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o).1);
    let plan = formwork::plan::file::read(&out).unwrap();
    assert!(
        plan.steps()
            .iter()
            .any(|s| s.sql.starts_with("DROP TABLE") && s.phase == formwork::plan::Phase::Contract)
    );
}

#[test]
fn the_plan_gate_refuses_a_step_with_no_online_form_unless_blocking_is_accepted() {
    let db = common::test_db();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(db.execute(
        "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2));
         CREATE INDEX items_price_idx ON items (price) WHERE price IS NOT NULL;",
    ));
    let dir = TempDir::new("gate");
    // numeric -> text rewrites the table under ACCESS EXCLUSIVE: a column of a partial index
    // has no expand and contract form yet.
    dir.write(
        "schemas/public.kdl",
        &SCHEMA
            .replace(r#""price" "numeric(10,2)""#, r#""price" "text""#)
            .replace(
                r#"primary-key "id""#,
                r#"primary-key "id"
        index "items_price_idx" "price" where="price IS NOT NULL""#,
            ),
    );
    let out = dir.0.join("p.bin");
    let schemas = dir.0.join("schemas");
    let url = db.url();
    let args = [
        "plan",
        "--db",
        &url,
        "--dir",
        path(&schemas),
        "--out",
        path(&out),
    ];
    let o = formwork(&args);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("change-column-type-rewrite"), "{stderr}");
    assert!(stderr.contains("--allow-blocking"), "{stderr}");
    assert!(!out.exists());

    let mut with = args.to_vec();
    with.push("--allow-blocking");
    let o = formwork(&with);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o).1);
    let plan = formwork::plan::file::read(&out).unwrap();
    let step = plan
        .steps()
        .iter()
        .find(|s| s.sql.contains("TYPE text"))
        .unwrap();
    assert!(!step.rewrites.is_empty(), "the proof saw the rewrite");
}

#[test]
fn without_a_database_the_target_is_a_throwaway_one_optionally_seeded() {
    let dir = TempDir::new("throwaway");
    dir.write("schemas/public.kdl", SCHEMA);
    let out = dir.0.join("p.bin");
    let o = formwork(&[
        "plan",
        "--dir",
        path(&dir.0.join("schemas")),
        "--out",
        path(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o).1);
    assert!(text(&o).0.contains("CREATE TABLE"));

    let seed = dir.write(
        "seed.sql",
        "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);\n\\restrict x\n",
    );
    let o = formwork(&[
        "plan",
        "--dir",
        path(&dir.0.join("schemas")),
        "--out",
        path(&out),
        "--seed",
        path(&seed),
    ]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stdout.contains("ADD COLUMN \"price\""), "{stdout}");
    assert!(!stdout.contains("CREATE TABLE"), "{stdout}");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let dir = TempDir::new("bad");
    dir.write(
        "schemas/public.kdl",
        "schema \"public\" { table \"t\" { column } }",
    );
    let o = formwork(&["plan", "--dir", path(&dir.0.join("schemas"))]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    dir.write("schemas/public.kdl", SCHEMA);
    let o = formwork(&[
        "plan",
        "--db",
        "postgres://nobody:secret-password@127.0.0.1:1/x",
        "--dir",
        path(&dir.0.join("schemas")),
    ]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("secret-password"), "{stderr}");
}

#[test]
fn a_snapshot_plans_offline_with_the_live_source_fingerprint() {
    let db = common::test_db();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(db.execute("CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);"));
    let dir = TempDir::new("snapshot");
    dir.write("schemas/public.kdl", SCHEMA);
    let snap = dir.0.join("prod.snapshot.json");
    let o = formwork(&["dump", "--db", &db.url(), "--snapshot", path(&snap)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);

    let offline = dir.0.join("offline.bin");
    let o = formwork(&[
        "plan",
        "--from-snapshot",
        path(&snap),
        "--dir",
        path(&dir.0.join("schemas")),
        "--out",
        path(&offline),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o).1);
    let live = dir.0.join("live.bin");
    let o = formwork(&[
        "plan",
        "--db",
        &db.url(),
        "--dir",
        path(&dir.0.join("schemas")),
        "--out",
        path(&live),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o).1);
    let (offline, live) = (
        formwork::plan::file::read(&offline).unwrap(),
        formwork::plan::file::read(&live).unwrap(),
    );
    // Same starting state, same steps: apply can check the live database against it.
    assert_eq!(offline.source_fingerprint(), live.source_fingerprint());
    assert_eq!(offline.target(), live.target());
    let sql =
        |p: &formwork::plan::Plan| p.steps().iter().map(|s| s.sql.clone()).collect::<Vec<_>>();
    assert_eq!(sql(&offline), sql(&live));
}

#[test]
fn lock_timeout_is_sealed_into_steps_that_block_traffic_and_zero_is_bad_usage() {
    let db = common::test_db();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(db.execute("CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL)"));
    let dir = TempDir::new("lock-timeout");
    dir.write("schemas/public.kdl", SCHEMA);
    let out = dir.0.join("p.bin");
    let args = |timeout: &'static str| {
        vec![
            "plan".to_string(),
            "--db".into(),
            db.url(),
            "--dir".into(),
            path(&dir.0.join("schemas")).into(),
            "--out".into(),
            path(&out).into(),
            "--lock-timeout".into(),
            timeout.into(),
        ]
    };
    let run = |a: Vec<String>| formwork(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let o = run(args("250ms"));
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    let plan = formwork::plan::file::read(&out).unwrap();
    let add = plan
        .steps()
        .iter()
        .find(|s| s.sql.contains("ADD COLUMN"))
        .unwrap();
    assert_eq!(add.lock_timeout_ms, 250);
    let o = run(args("0ms"));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("wait forever"), "{:?}", text(&o));
}
