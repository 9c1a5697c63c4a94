//! A column type change with a declared conversion (`using=`), planned and applied by the
//! `formwork` binary on real PostgreSQL: the values are the declared conversion, not the cast,
//! the table is not rewritten, and the declaration is then met (a second plan is empty).
//! The same change under a concurrent workload writing through the old shape is in
//! `tests/online.rs`.

mod common;

use std::process::Output;

use common::{TempDir, TestDb};

fn formwork(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env(
            "FORMWORK_DEV_URL",
            common::cluster().conn_info("postgres").to_url_string(),
        )
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
    assert!(plan.contains("CREATE TRIGGER"), "{plan}");
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
            && expand[1].starts_with("CREATE FUNCTION")
            && expand[2].starts_with("CREATE TRIGGER"),
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
