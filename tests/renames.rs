//! Renames of tables and columns declared with `renamed-from`, on real PostgreSQL: by expand
//! and contract by default (the old name keeps working for the running application until the
//! contract phase), atomic when declared `rename="atomic"`, refused when only the atomic form
//! is possible and the declaration does not say the application tolerates it.
//!
//! The expand and contract tests run the plan one step at a time and, after every step, write
//! and read through the old name (and, once the expand is done, through the new one), checking
//! that a value written on one side is seen on the other. Then the plan must reach the declared
//! fingerprint, a second plan must be empty, and every row must hold its value. Interrupted
//! expands (a prefix of the steps run by hand, a backfill stopped half way) must be finished by
//! a new plan.

mod common;

use common::TestDb;
use formwork::catalog::fingerprint::fingerprint;
use formwork::kdl::diag::SourceFile;
use formwork::kdl::load::load_sources;
use formwork::plan::planner::{PlanOptions, Planned, PlannerError, make_plan};
use formwork::plan::{HazardKind, Phase};

use common::{catalog, declared, scratch};

async fn try_plan(db: &TestDb, kdl: &str) -> Result<Planned, PlannerError> {
    make_plan(
        &catalog(db).await,
        &declared(kdl),
        &scratch(),
        &PlanOptions::default(),
    )
    .await
}

async fn plan(db: &TestDb, kdl: &str) -> Planned {
    try_plan(db, kdl)
        .await
        .unwrap_or_else(|e| panic!("planning failed: {e}"))
}

fn sqls(p: &Planned) -> Vec<String> {
    p.plan.steps().iter().map(|s| s.sql.clone()).collect()
}

async fn run_step(db: &TestDb, p: &Planned, i: usize) {
    let step = &p.plan.steps()[i];
    formwork::apply::run_step(&db.client().await, step, None)
        .await
        .unwrap_or_else(|e| panic!("step {} failed: {e}\n{}", i + 1, step.sql));
}

/// The plan reached the declared fingerprint, and planning again finds nothing.
async fn assert_converged(db: &TestDb, kdl: &str, p: &Planned) {
    assert_eq!(
        fingerprint(&catalog(db).await.model),
        p.plan.desired_fingerprint(),
        "not at the declared fingerprint after {:#?}",
        sqls(p)
    );
    let again = plan(db, kdl).await;
    assert!(
        again.plan.steps().is_empty(),
        "a second plan is not empty: {:#?}",
        sqls(&again)
    );
}

async fn text_of(db: &TestDb, sql: &str) -> Option<String> {
    db.client()
        .await
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client()
        .await
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

async fn fails(db: &TestDb, sql: &str) -> bool {
    db.client().await.batch_execute(sql).await.is_err()
}

const COLUMN_SQL: &str = "
CREATE TABLE t (id bigint PRIMARY KEY, email text NOT NULL DEFAULT 'none', n integer);
CREATE INDEX t_email_idx ON t (email);
INSERT INTO t SELECT g, 'u' || g || '@x', g FROM generate_series(1, 2000) g;
";

const COLUMN_KDL: &str = r#"
schema "public" {
    table "t" {
        column "id" "bigint"
        column "email_address" "text" default="'none'" renamed-from="email"
        column "n" "integer" nullable=#true
        primary-key "id"
        index "t_email_idx" "email_address"
    }
}
"#;

async fn column_db() -> TestDb {
    let db = TestDb::new().await;
    db.execute(COLUMN_SQL).await;
    db
}

#[tokio::test]
async fn a_column_rename_is_planned_as_expand_and_contract() {
    let db = column_db().await;
    let p = plan(&db, COLUMN_KDL).await;
    let steps = p.plan.steps();
    let s = sqls(&p);
    let expand: Vec<&str> = steps
        .iter()
        .filter(|st| st.phase == Phase::Expand)
        .map(|st| st.sql.as_str())
        .collect();
    let contract: Vec<&str> = steps
        .iter()
        .filter(|st| st.phase == Phase::Contract)
        .map(|st| st.sql.as_str())
        .collect();
    assert!(
        expand[0].starts_with("ALTER TABLE \"public\".\"t\" ADD COLUMN \"email_address\" text"),
        "{s:#?}"
    );
    assert!(!expand[0].contains("DEFAULT") && !expand[0].contains("NOT NULL"));
    assert!(expand[1].starts_with("CREATE FUNCTION \"public\".\"formwork_rename_"));
    assert!(expand[2].starts_with("CREATE TRIGGER \"formwork_rename_"));
    assert!(steps[3].as_backfill().is_some(), "{s:#?}");
    assert_eq!(
        expand[4],
        "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"email_address\" SET DEFAULT 'none'::text, \
         ALTER COLUMN \"email\" DROP DEFAULT"
    );
    assert!(expand.iter().any(|q| q.contains("VALIDATE CONSTRAINT")));
    assert!(
        expand.iter().any(
            |q| q.starts_with("CREATE INDEX CONCURRENTLY \"formwork_idx_")
                && q.contains("(\"email_address\")")
        ),
        "{s:#?}"
    );
    assert!(!s.iter().any(|q| q.contains("RENAME COLUMN")), "{s:#?}");
    assert_eq!(contract.len(), 1, "{s:#?}");
    assert!(contract[0].starts_with("ALTER TABLE \"public\".\"t\" DROP COLUMN \"email\";"));
    assert!(contract[0].contains("DROP TRIGGER \"formwork_rename_"));
    assert!(contract[0].contains("DROP FUNCTION \"public\".\"formwork_rename_"));
    assert!(contract[0].contains("RENAME TO \"t_email_idx\""));
    let last = steps.last().unwrap();
    assert!(
        last.hazards
            .iter()
            .any(|h| h.kind == HazardKind::BreaksCompatibility)
    );
    // Only contract steps may break the running application.
    for st in steps.iter().filter(|st| st.phase == Phase::Expand) {
        assert!(
            !st.hazards
                .iter()
                .any(|h| h.kind == HazardKind::BreaksCompatibility),
            "{}",
            st.sql
        );
    }
}

#[tokio::test]
async fn both_column_names_work_after_every_expand_step_and_contract_leaves_nothing() {
    let db = column_db().await;
    let p = plan(&db, COLUMN_KDL).await;
    let steps = p.plan.steps();
    let expand = steps.iter().filter(|s| s.phase == Phase::Expand).count();
    let trigger_step = steps
        .iter()
        .position(|s| s.sql.starts_with("CREATE TRIGGER"))
        .unwrap();
    let mut key = 10_000;
    for i in 0..expand {
        run_step(&db, &p, i).await;
        // The running application: writes and reads through the old name.
        key += 1;
        db.execute(&format!(
            "INSERT INTO t (id, email, n) VALUES ({key}, 'old{key}', 0);
             UPDATE t SET email = 'upd{i}' WHERE id = 1;"
        ))
        .await;
        assert_eq!(
            text_of(&db, &format!("SELECT email FROM t WHERE id = {key}")).await,
            Some(format!("old{key}")),
            "after step {}",
            i + 1
        );
        // Omitting the column still gives it its default.
        key += 1;
        db.execute(&format!("INSERT INTO t (id) VALUES ({key})"))
            .await;
        assert_eq!(
            text_of(&db, &format!("SELECT email FROM t WHERE id = {key}")).await,
            Some("none".into()),
            "after step {}",
            i + 1
        );
        if i >= trigger_step {
            assert_eq!(
                text_of(
                    &db,
                    &format!("SELECT email_address FROM t WHERE id = {}", key - 1)
                )
                .await,
                Some(format!("old{}", key - 1)),
                "a write through the old name is seen through the new one after step {}",
                i + 1
            );
            assert_eq!(
                text_of(&db, "SELECT email_address FROM t WHERE id = 1").await,
                Some(format!("upd{i}"))
            );
        }
    }
    // Expand done: the new application version writes through the new name, the old one still
    // runs; each sees the other's writes.
    db.execute(
        "INSERT INTO t (id, email_address, n) VALUES (20001, 'new@x', 1);
         UPDATE t SET email_address = 'new2@x' WHERE id = 2;
         INSERT INTO t (id) VALUES (20002);
         INSERT INTO t (id, email) VALUES (20003, 'old@x');
         UPDATE t SET email = 'old3@x' WHERE id = 3;",
    )
    .await;
    for (id, v) in [
        (20001, "new@x"),
        (2, "new2@x"),
        (20002, "none"),
        (20003, "old@x"),
        (3, "old3@x"),
    ] {
        assert_eq!(
            text_of(&db, &format!("SELECT email FROM t WHERE id = {id}")).await,
            Some(v.into()),
            "old name, row {id}"
        );
        assert_eq!(
            text_of(&db, &format!("SELECT email_address FROM t WHERE id = {id}")).await,
            Some(v.into()),
            "new name, row {id}"
        );
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM t WHERE email IS DISTINCT FROM email_address"
        )
        .await,
        0
    );
    // The new application inserting NULL into the NOT NULL column fails as declared.
    assert!(
        fails(
            &db,
            "INSERT INTO t (id, email_address) VALUES (20004, NULL)"
        )
        .await
    );

    for i in expand..steps.len() {
        run_step(&db, &p, i).await;
    }
    assert_converged(&db, COLUMN_KDL, &p).await;
    assert!(fails(&db, "SELECT email FROM t").await);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM t WHERE id <= 2000 AND id > 3 \
             AND email_address <> 'u' || id || '@x'"
        )
        .await,
        0,
        "seeded rows keep their values"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM t").await,
        2000 + 2 * expand as i64 + 3
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 't'::regclass AND NOT tgisinternal"
        )
        .await,
        0,
        "the sync trigger is gone"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_proc WHERE proname LIKE 'formwork%'"
        )
        .await,
        0,
        "the sync function is gone"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_indexes WHERE tablename = 't' AND indexname = 't_email_idx' \
             AND indexdef LIKE '%(email_address)%'"
        )
        .await,
        1,
        "the index on the new column has the declared name"
    );
}

const TABLE_SQL: &str = "
CREATE TABLE clients (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text NOT NULL,
    since timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id bigint PRIMARY KEY, client_id bigint NOT NULL REFERENCES clients (id));
INSERT INTO clients (name) SELECT 'c' || g FROM generate_series(1, 500) g;
INSERT INTO orders SELECT g, g FROM generate_series(1, 500) g;
";

const TABLE_KDL: &str = r#"
schema "public" {
    table "customers" renamed-from="clients" {
        column "id" "bigint" identity="by-default"
        column "name" "text"
        column "since" "timestamp with time zone" default="now()"
        primary-key "id"
    }
    table "orders" {
        column "id" "bigint"
        column "client_id" "bigint"
        primary-key "id"
        foreign-key "orders_client_id_fkey" "client_id" references="customers(id)"
    }
}
"#;

#[tokio::test]
async fn a_table_rename_leaves_an_updatable_view_until_the_contract() {
    let db = TestDb::new().await;
    db.execute(TABLE_SQL).await;
    let p = plan(&db, TABLE_KDL).await;
    let s = sqls(&p);
    // The declared primary key has no name: it gets the new table's default name.
    assert_eq!(s.len(), 3, "no foreign key is replaced: {s:#?}");
    assert_eq!(
        s[1],
        "ALTER TABLE \"public\".\"customers\" RENAME CONSTRAINT \"clients_pkey\" TO \"customers_pkey\""
    );
    assert_eq!(
        s[0],
        "ALTER TABLE \"public\".\"clients\" RENAME TO \"customers\";\n\
         CREATE VIEW \"public\".\"clients\" AS SELECT \"id\", \"name\", \"since\" FROM \
         \"public\".\"customers\""
    );
    assert_eq!(p.plan.steps()[0].phase, Phase::Expand);
    assert_eq!(s[2], "DROP VIEW \"public\".\"clients\"");
    assert_eq!(p.plan.steps()[2].phase, Phase::Contract);

    run_step(&db, &p, 0).await;
    run_step(&db, &p, 1).await;
    // The old name: reads, inserts with defaults (identity and now()), updates, deletes,
    // upserts; the new name sees them, and the other way round.
    db.execute(
        "INSERT INTO clients (name) VALUES ('through the view');
         UPDATE clients SET name = 'renamed' WHERE id = 1;
         INSERT INTO clients (id, name) VALUES (2, 'x') ON CONFLICT (id) DO UPDATE SET name = 'upserted';
         INSERT INTO customers (name) VALUES ('through the table');
         INSERT INTO orders VALUES (501, 501);",
    )
    .await;
    assert_eq!(
        text_of(&db, "SELECT name FROM customers WHERE id = 501").await,
        Some("through the view".into())
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM customers WHERE since IS NULL").await,
        0
    );
    assert_eq!(
        text_of(&db, "SELECT name FROM customers WHERE id = 1").await,
        Some("renamed".into())
    );
    assert_eq!(
        text_of(&db, "SELECT name FROM clients WHERE id = 2").await,
        Some("upserted".into())
    );
    assert_eq!(
        text_of(&db, "SELECT name FROM clients WHERE id = 502").await,
        Some("through the table".into())
    );
    db.execute("DELETE FROM orders WHERE id = 500; DELETE FROM clients WHERE id = 500")
        .await;
    assert_eq!(count(&db, "SELECT count(*) FROM customers").await, 501);

    // `formwork status` lists the view as transitional.
    let found = formwork::diff::transitional::find(&catalog(&db).await.model, &declared(TABLE_KDL));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].name, "clients");
    assert_eq!(found[0].table.name, "customers");
    assert_eq!(
        found[0].kind.object,
        formwork::diff::transitional::ObjectType::View
    );
    // A plan made now (expand done, contract pending) recognizes the view: only its drop is
    // left, in the contract phase.
    let pending = plan(&db, TABLE_KDL).await;
    assert_eq!(sqls(&pending), ["DROP VIEW \"public\".\"clients\""]);
    assert_eq!(pending.plan.steps()[0].phase, Phase::Contract);

    run_step(&db, &p, 2).await;
    assert_converged(&db, TABLE_KDL, &p).await;
    assert!(fails(&db, "SELECT 1 FROM clients").await);
}

#[tokio::test]
async fn a_table_and_one_of_its_columns_renamed_together_keep_the_old_shape_working() {
    let db = TestDb::new().await;
    db.execute(TABLE_SQL).await;
    let kdl = TABLE_KDL.replace(
        r#"column "name" "text""#,
        r#"column "full_name" "text" renamed-from="name""#,
    );
    let p = plan(&db, &kdl).await;
    let steps = p.plan.steps();
    let expand = steps.iter().filter(|s| s.phase == Phase::Expand).count();
    for i in 0..expand {
        run_step(&db, &p, i).await;
        db.execute(&format!(
            "INSERT INTO clients (name) VALUES ('old shape {i}')"
        ))
        .await;
    }
    db.execute("INSERT INTO customers (full_name) VALUES ('new shape')")
        .await;
    assert_eq!(
        count(&db, "SELECT count(*) FROM clients WHERE name = 'new shape'").await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM customers WHERE full_name LIKE 'old shape%'"
        )
        .await,
        expand as i64
    );
    for i in expand..steps.len() {
        run_step(&db, &p, i).await;
    }
    assert_converged(&db, &kdl, &p).await;
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM customers WHERE id <= 500 AND full_name <> 'c' || id"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn an_expand_stopped_during_the_backfill_is_finished_by_the_next_plan() {
    let db = column_db().await;
    let first = plan(&db, COLUMN_KDL).await;
    let backfill = first
        .plan
        .steps()
        .iter()
        .position(|s| s.as_backfill().is_some())
        .unwrap();
    for i in 0..backfill {
        run_step(&db, &first, i).await;
    }
    // Part of the rows copied, as a killed backfill leaves them; the application kept writing.
    db.execute(
        "UPDATE t SET email_address = email WHERE id <= 700;
         INSERT INTO t (id, email) VALUES (5000, 'during');
         UPDATE t SET email = 'changed' WHERE id = 1500;",
    )
    .await;
    let found =
        formwork::diff::transitional::find(&catalog(&db).await.model, &declared(COLUMN_KDL));
    assert!(
        found.iter().any(|f| f.name == "email"
            && f.kind.object == formwork::diff::transitional::ObjectType::Column),
        "the old column is listed as transitional: {found:?}"
    );
    let again = plan(&db, COLUMN_KDL).await;
    let s = sqls(&again);
    assert!(!s.iter().any(|q| q.contains("ADD COLUMN")), "{s:#?}");
    assert!(
        s.iter()
            .any(|q| q.starts_with("CREATE OR REPLACE FUNCTION")),
        "{s:#?}"
    );
    assert!(
        again
            .plan
            .steps()
            .iter()
            .any(|st| st.as_backfill().is_some())
    );
    assert!(
        !again
            .plan
            .steps()
            .iter()
            .any(|st| st.hazards.iter().any(|h| h.kind == HazardKind::DeletesData)),
        "the old column is not data loss: {s:#?}"
    );
    formwork::apply::execute_steps(&db.client().await, &again.plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_converged(&db, COLUMN_KDL, &again).await;
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM t WHERE id <= 2000 AND id <> 1500 \
             AND email_address <> 'u' || id || '@x'"
        )
        .await,
        0
    );
    assert_eq!(
        text_of(&db, "SELECT email_address FROM t WHERE id = 1500").await,
        Some("changed".into())
    );
    assert_eq!(
        text_of(&db, "SELECT email_address FROM t WHERE id = 5000").await,
        Some("during".into())
    );
}

#[tokio::test]
async fn an_expand_stopped_after_any_step_is_finished_by_the_next_plan() {
    let first = {
        let db = column_db().await;
        sqls(&plan(&db, COLUMN_KDL).await).len()
    };
    let expand_steps = first - 1;
    for stopped_after in 1..=expand_steps {
        let db = column_db().await;
        let p = plan(&db, COLUMN_KDL).await;
        for i in 0..stopped_after {
            run_step(&db, &p, i).await;
        }
        let again = plan(&db, COLUMN_KDL).await;
        formwork::apply::execute_steps(&db.client().await, &again.plan)
            .await
            .unwrap_or_else(|e| panic!("after step {stopped_after}: {e}\n{:#?}", sqls(&again)));
        assert_converged(&db, COLUMN_KDL, &again).await;
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM t WHERE email_address <> 'u' || id || '@x'"
            )
            .await,
            0,
            "after step {stopped_after}"
        );
    }
}

#[tokio::test]
async fn a_rename_declared_atomic_is_one_rename() {
    let db = column_db().await;
    let kdl = COLUMN_KDL.replace(
        r#"renamed-from="email""#,
        r#"renamed-from="email" rename="atomic""#,
    );
    let p = plan(&db, &kdl).await;
    let s = sqls(&p);
    assert_eq!(
        s,
        ["ALTER TABLE \"public\".\"t\" RENAME COLUMN \"email\" TO \"email_address\""],
        "{s:#?}"
    );
    assert!(
        p.plan.steps()[0]
            .hazards
            .iter()
            .any(|h| h.kind == HazardKind::BreaksCompatibility)
    );
    formwork::apply::execute_steps(&db.client().await, &p.plan)
        .await
        .unwrap();
    assert_converged(&db, &kdl, &p).await;

    let db = TestDb::new().await;
    db.execute(TABLE_SQL).await;
    let kdl = TABLE_KDL.replace(
        r#"renamed-from="clients""#,
        r#"renamed-from="clients" rename="atomic""#,
    );
    let p = plan(&db, &kdl).await;
    assert_eq!(
        sqls(&p)[0],
        "ALTER TABLE \"public\".\"clients\" RENAME TO \"customers\""
    );
    assert!(!sqls(&p).iter().any(|q| q.contains("VIEW")));
    formwork::apply::execute_steps(&db.client().await, &p.plan)
        .await
        .unwrap();
    assert_converged(&db, &kdl, &p).await;
}

#[tokio::test]
async fn a_key_column_rename_is_refused_unless_declared_atomic() {
    let db = column_db().await;
    let kdl = COLUMN_KDL
        .replace(
            r#"column "id" "bigint""#,
            r#"column "key" "bigint" renamed-from="id""#,
        )
        .replace(r#"primary-key "id""#, r#"primary-key "key""#);
    let err = try_plan(&db, &kdl).await.unwrap_err().to_string();
    assert!(err.contains("column public.t.id"), "{err}");
    assert!(err.contains("key columns are renamed in place"), "{err}");
    assert!(err.contains("rename=\"atomic\""), "{err}");

    let atomic = kdl.replace(
        r#"renamed-from="id""#,
        r#"renamed-from="id" rename="atomic""#,
    );
    let p = plan(&db, &atomic).await;
    let s = sqls(&p);
    let rename = p
        .plan
        .steps()
        .iter()
        .find(|st| st.sql.contains("RENAME COLUMN \"id\" TO \"key\""))
        .unwrap_or_else(|| panic!("{s:#?}"));
    assert!(
        rename
            .description
            .contains("key columns are renamed in place"),
        "{}",
        rename.description
    );
    formwork::apply::execute_steps(&db.client().await, &p.plan)
        .await
        .unwrap();
    assert_converged(&db, &atomic, &p).await;
}

#[test]
fn rename_mode_values_are_checked_with_diagnostics() {
    let load = |kdl: &str| {
        load_sources(&[SourceFile {
            name: "schema.kdl".into(),
            text: kdl.into(),
        }])
    };
    let bad = load(&COLUMN_KDL.replace(
        r#"renamed-from="email""#,
        r#"renamed-from="email" rename="atomik""#,
    ))
    .unwrap_err();
    let text = format!("{bad:?}");
    assert!(text.contains("atomik"), "{text}");
    assert!(
        text.contains("atomic"),
        "a suggestion or the choices: {text}"
    );

    let orphan = load(&COLUMN_KDL.replace(
        r#"column "n" "integer" nullable=#true"#,
        r#"column "n" "integer" nullable=#true rename="atomic""#,
    ))
    .unwrap_err();
    let text = format!("{orphan:?}");
    assert!(text.contains("renamed-from"), "{text}");

    let ok = load(&COLUMN_KDL.replace(
        r#"renamed-from="email""#,
        r#"renamed-from="email" rename="expand-contract""#,
    ))
    .unwrap();
    assert!(ok.atomic_renames.is_empty());
}
