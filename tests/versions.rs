//! Behaviour that differs between PostgreSQL majors, planned and applied on whichever major
//! the suite runs on (`.ci/run` runs it on 14 to 18): each test asserts the newer behaviour
//! where the server has it and the older one (or a clear refusal) where it does not.

mod common;

use common::{TestDb, converge, declared, server_major};
use formwork::plan::planner::PlanOptions;

const ROWS: &str = "CREATE TABLE t (id bigint PRIMARY KEY, a int, b int);
    INSERT INTO t SELECT g, g, g % 3 FROM generate_series(1, 100) g;";

async fn count(db: &TestDb) -> i64 {
    db.client()
        .await
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn virtual_generated_columns_on_18_and_a_clear_refusal_before() {
    let db = TestDb::new().await;
    db.execute(ROWS).await;
    let desired = declared(
        r#"schema "public" {
            table "t" {
                column "id" "bigint"
                column "a" "integer" nullable=#true
                column "b" "integer" nullable=#true
                column "twice" "integer" nullable=#true {
                    generated "a * 2" kind="virtual"
                }
                primary-key "id"
            }
        }"#,
    );
    if server_major() >= 18 {
        let planned = converge(&db, &desired, &PlanOptions::default()).await;
        // A virtual column is computed on read: adding one rewrites nothing and takes no
        // backfill, so the plan is a single statement.
        assert_eq!(planned.plan.steps().len(), 1);
        let twice: i32 = db
            .client()
            .await
            .query_one("SELECT twice FROM t WHERE id = 21", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(twice, 42);
        assert_eq!(count(&db).await, 100);
    } else {
        let err = common::refusal(&db, &desired, &PlanOptions::default())
            .await
            .to_string();
        assert!(err.contains("does not build"), "{err}");
    }
}

#[tokio::test]
async fn nulls_not_distinct_from_15_and_a_clear_refusal_before() {
    let db = TestDb::new().await;
    db.execute(ROWS).await;
    let desired = declared(
        r#"schema "public" {
            table "t" {
                column "id" "bigint"
                column "a" "integer" nullable=#true
                column "b" "integer" nullable=#true
                primary-key "id"
                unique "t_a_key" "a" nulls-not-distinct=#true
            }
        }"#,
    );
    if server_major() >= 15 {
        converge(&db, &desired, &PlanOptions::default()).await;
        let client = db.client().await;
        client
            .batch_execute("INSERT INTO t VALUES (1001, NULL, 0)")
            .await
            .unwrap();
        let dup = client
            .batch_execute("INSERT INTO t VALUES (1002, NULL, 0)")
            .await;
        assert!(dup.is_err(), "a second NULL must be refused");
        assert_eq!(count(&db).await, 101);
    } else {
        let err = common::refusal(&db, &desired, &PlanOptions::default())
            .await
            .to_string();
        assert!(err.contains("does not build"), "{err}");
    }
}

#[tokio::test]
async fn set_not_null_is_proven_by_a_validated_check_on_every_major() {
    // 18 records NOT NULL as a named pg_constraint row; older majors only set attnotnull.
    // Either way the plan proves the column first (a validated CHECK), so SET NOT NULL does
    // not scan under ACCESS EXCLUSIVE, and the database converges to the same model.
    let db = TestDb::new().await;
    db.execute(ROWS).await;
    let desired = declared(
        r#"schema "public" {
            table "t" {
                column "id" "bigint"
                column "a" "integer"
                column "b" "integer" nullable=#true
                primary-key "id"
            }
        }"#,
    );
    let planned = converge(&db, &desired, &PlanOptions::default()).await;
    let sql: Vec<&str> = planned
        .plan
        .steps()
        .iter()
        .map(|s| s.sql.as_str())
        .collect();
    assert!(
        sql.iter().any(|s| s.contains("NOT VALID"))
            && sql.iter().any(|s| s.contains("SET NOT NULL")),
        "{sql:#?}"
    );
    let set = planned
        .plan
        .steps()
        .iter()
        .find(|s| s.sql.contains("SET NOT NULL"))
        .unwrap();
    assert!(
        set.scans.is_empty(),
        "SET NOT NULL must not scan: {:?}",
        set.scans
    );
    let named: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'n'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    if server_major() >= 18 {
        assert!(named >= 1, "18 keeps NOT NULL as a constraint row");
    } else {
        assert_eq!(named, 0);
    }
    assert_eq!(count(&db).await, 100);
}

/// Temporal keys (18: `WITHOUT OVERLAPS` primary keys, `PERIOD` foreign keys) are not in the
/// model: they are listed as not managed, and a declaration that does not mention them plans
/// nothing that touches them.
#[tokio::test]
async fn temporal_keys_on_18_are_listed_as_not_managed_and_left_alone() {
    if server_major() < 18 {
        return;
    }
    let db = TestDb::new().await;
    db.execute(
        "CREATE EXTENSION btree_gist;
         CREATE TABLE parents (id integer NOT NULL, during daterange NOT NULL,
             CONSTRAINT parents_pk PRIMARY KEY (id, during WITHOUT OVERLAPS));
         CREATE TABLE children (id integer NOT NULL, parent_id integer NOT NULL,
             during daterange NOT NULL,
             CONSTRAINT children_fk FOREIGN KEY (parent_id, PERIOD during)
                 REFERENCES parents (id, PERIOD during));
         INSERT INTO parents VALUES (1, '[2024-01-01,2025-01-01)');
         INSERT INTO children VALUES (1, 1, '[2024-02-01,2024-03-01)');",
    )
    .await;
    let c = common::catalog(&db).await;
    for name in [
        "temporal key parents_pk on public.parents",
        "temporal key children_fk on public.children",
    ] {
        assert!(
            c.unmanaged.iter().any(|u| u.name == name),
            "{name} not listed in {:#?}",
            c.unmanaged
        );
    }
    let public = &c.model.schemas["public"];
    assert!(public.tables["parents"].primary_key.is_none());
    assert!(public.tables["children"].foreign_keys.is_empty());
    // The declaration is the database's own dump: nothing to do, the keys stay.
    let planned = converge(&db, &c.model, &PlanOptions::default()).await;
    assert!(planned.plan.steps().is_empty());
    let keys: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_constraint WHERE conname IN ('parents_pk', 'children_fk')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(keys, 2);
}
