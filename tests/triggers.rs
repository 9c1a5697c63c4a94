//! Triggers through the whole pipeline on real PostgreSQL: created after their function and
//! table, each attribute changed in place (`CREATE OR REPLACE TRIGGER`), enabled state,
//! rename, drop, constraint triggers and transition tables; after each plan the database has
//! the declared fingerprint, a second plan is empty, rows survive, and the trigger really
//! fires the way it is declared.

mod common;

use common::TestDb;
use common::converge::{converge, plan_with};
use formwork::plan::planner::PlanOptions;

async fn one_i64(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

const SETUP: &str = "
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty integer NOT NULL DEFAULT 0,
                    hits integer NOT NULL DEFAULT 0);
INSERT INTO items (id, name, qty) VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3);
";

/// `items` with the function `bump` (adds its first argument, default 1, to `hits`) and the
/// trigger nodes `triggers`.
fn declaration(triggers: &str) -> String {
    format!(
        r##"
schema "public" {{
    table "items" {{
        column "id" "bigint"
        column "name" "text"
        column "qty" "integer" default="0"
        column "hits" "integer" default="0"
        primary-key "id"
{triggers}
    }}
    function "bump" returns="trigger" language="plpgsql" {{
        body #"""
            BEGIN
                NEW.hits := NEW.hits + coalesce(TG_ARGV[0]::int, 1);
                RETURN NEW;
            END
            """#
    }}
    function "count_statements" returns="trigger" language="plpgsql" {{
        body #"""
            BEGIN
                UPDATE public.items SET hits = hits + 100 WHERE id = 3;
                RETURN NULL;
            END
            """#
    }}
}}
"##
    )
}

async fn setup() -> TestDb {
    let db = TestDb::new().await;
    db.execute(SETUP).await;
    db
}

async fn hits(db: &TestDb, id: i64) -> i64 {
    one_i64(db, &format!("SELECT hits::int8 FROM items WHERE id = {id}")).await
}

#[tokio::test]
async fn a_trigger_is_created_after_its_function_and_fires() {
    let db = setup().await;
    let steps = converge(
        &db,
        &declaration(
            r#"        trigger "items_bump" before="update" for-each="row" function="bump""#,
        ),
    )
    .await;
    let function = steps
        .iter()
        .position(|s| s.starts_with("CREATE FUNCTION \"public\".\"bump\""))
        .expect("function created");
    let trigger = steps
        .iter()
        .position(|s| s.starts_with("CREATE TRIGGER \"items_bump\""))
        .expect("trigger created");
    assert!(function < trigger, "{steps:#?}");
    db.execute("UPDATE items SET name = 'x' WHERE id = 1").await;
    assert_eq!(hits(&db, 1).await, 1);
    assert_eq!(hits(&db, 2).await, 0);
    assert_eq!(one_i64(&db, "SELECT count(*) FROM items").await, 3);
}

/// Each declaration applies to the state the previous one left, and each is one
/// `CREATE OR REPLACE TRIGGER`: the trigger is never missing.
#[tokio::test]
async fn each_attribute_change_replaces_the_trigger_in_place() {
    let db = setup().await;
    converge(
        &db,
        &declaration(r#"        trigger "t" before="update" for-each="row" function="bump""#),
    )
    .await;
    let variants = [
        // events
        r#"        trigger "t" before="insert or update" for-each="row" function="bump""#,
        // update-of columns
        r#"        trigger "t" before="update" for-each="row" function="bump" {
            update-of "qty"
        }"#,
        // WHEN condition
        r#"        trigger "t" before="update" for-each="row" function="bump" when="NEW.qty > 1""#,
        // arguments
        r#"        trigger "t" before="update" for-each="row" function="bump" when="NEW.qty > 1" {
            arguments "10"
        }"#,
    ];
    for v in variants {
        let steps = converge(&db, &declaration(v)).await;
        assert_eq!(steps.len(), 1, "{v}: {steps:?}");
        assert!(
            steps[0].starts_with("CREATE OR REPLACE TRIGGER \"t\""),
            "{v}: {steps:?}"
        );
    }
    // The last one fires only for qty > 1, adding 10.
    db.execute("UPDATE items SET name = name || '!'").await;
    assert_eq!(hits(&db, 1).await, 0);
    assert_eq!(hits(&db, 2).await, 10);
    // Timing, level and function: AFTER INSERT ... FOR EACH STATEMENT, fired once for a
    // statement inserting two rows.
    let steps = converge(
        &db,
        &declaration(r#"        trigger "t" after="insert" function="count_statements""#),
    )
    .await;
    assert_eq!(steps.len(), 1, "{steps:?}");
    db.execute("INSERT INTO items (id, name) VALUES (10, 'x'), (11, 'y')")
        .await;
    assert_eq!(
        hits(&db, 3).await,
        110,
        "10 from the row trigger before, 100 now"
    );
    assert_eq!(one_i64(&db, "SELECT count(*) FROM items").await, 5);
}

#[tokio::test]
async fn enabled_state_changes_by_alter_table_and_is_obeyed() {
    let db = setup().await;
    let with_state = |state: &str| {
        declaration(&format!(
            r#"        trigger "t" before="update" for-each="row" function="bump"{state}"#
        ))
    };
    converge(&db, &with_state("")).await;
    for (state, sql) in [
        (" state=\"disabled\"", "DISABLE TRIGGER"),
        (" state=\"replica\"", "ENABLE REPLICA TRIGGER"),
        (" state=\"always\"", "ENABLE ALWAYS TRIGGER"),
    ] {
        let steps = converge(&db, &with_state(state)).await;
        assert_eq!(steps.len(), 1, "{steps:?}");
        assert!(steps[0].contains(sql), "{steps:?}");
    }
    let steps = converge(&db, &with_state(" state=\"disabled\"")).await;
    assert!(steps[0].contains("DISABLE TRIGGER"));
    db.execute("UPDATE items SET name = 'x' WHERE id = 1").await;
    assert_eq!(hits(&db, 1).await, 0, "a disabled trigger does not fire");
    let steps = converge(&db, &with_state("")).await;
    assert!(steps[0].contains("ENABLE TRIGGER"), "{steps:?}");
    db.execute("UPDATE items SET name = 'y' WHERE id = 1").await;
    assert_eq!(hits(&db, 1).await, 1);
}

#[tokio::test]
async fn a_renamed_trigger_is_renamed_and_a_removed_one_dropped_in_the_contract() {
    let db = setup().await;
    converge(
        &db,
        &declaration(
            r#"        trigger "old_name" before="update" for-each="row" function="bump""#,
        ),
    )
    .await;
    let steps = converge(
        &db,
        &declaration(
            r#"        trigger "new_name" renamed-from="old_name" before="update" for-each="row" function="bump""#,
        ),
    )
    .await;
    assert_eq!(
        steps,
        vec![
            "ALTER TRIGGER \"old_name\" ON \"public\".\"items\" RENAME TO \"new_name\"".to_string()
        ]
    );
    let planned = plan_with(
        &db,
        &declaration(""),
        &PlanOptions {
            allow_destructive: true,
            ..PlanOptions::default()
        },
    )
    .await
    .unwrap();
    let phases: Vec<_> = planned.plan.steps().iter().map(|s| s.phase).collect();
    assert_eq!(phases, vec![formwork::plan::Phase::Contract]);
    let steps = converge(&db, &declaration("")).await;
    assert_eq!(
        steps,
        vec!["DROP TRIGGER \"new_name\" ON \"public\".\"items\"".to_string()]
    );
    db.execute("UPDATE items SET name = 'x'").await;
    assert_eq!(hits(&db, 1).await, 0);
}

#[tokio::test]
async fn constraint_triggers_and_transition_tables_converge() {
    let db = setup().await;
    db.execute(
        "CREATE TABLE audit (n bigint);
         CREATE FUNCTION public.note() RETURNS trigger LANGUAGE plpgsql AS
           $$BEGIN INSERT INTO public.audit SELECT count(*) FROM gone; RETURN NULL; END$$;",
    )
    .await;
    let kdl = |deferrable: &str| {
        declaration(&format!(
            r#"        trigger "c" after="insert" function="bump" constraint=#true deferrable="{deferrable}"
        trigger "gone" after="delete" function="note" old-table="gone""#
        ))
        .replace(
            "    function \"bump\"",
            r#"    table "audit" {
        column "n" "bigint" nullable=#true
    }
    function "note" returns="trigger" language="plpgsql" {
        body "BEGIN INSERT INTO public.audit SELECT count(*) FROM gone; RETURN NULL; END"
    }
    function "bump""#,
        )
    };
    converge(&db, &kdl("deferred")).await;
    // A constraint trigger cannot be replaced in place: dropped and created again.
    let steps = converge(&db, &kdl("immediate")).await;
    assert!(steps[0].starts_with("DROP TRIGGER \"c\""), "{steps:?}");
    assert!(
        steps[1].starts_with("CREATE CONSTRAINT TRIGGER \"c\""),
        "{steps:?}"
    );
    db.execute("DELETE FROM items WHERE id > 1").await;
    assert_eq!(one_i64(&db, "SELECT n FROM audit").await, 2);
}

#[tokio::test]
async fn creating_a_trigger_is_proven_to_lock_the_table_in_share_row_exclusive_mode() {
    let db = setup().await;
    converge(&db, &declaration("")).await;
    let planned = plan_with(
        &db,
        &declaration(r#"        trigger "t" before="update" for-each="row" function="bump""#),
        &PlanOptions::default(),
    )
    .await
    .unwrap();
    let step = &planned.plan.steps()[0];
    let modes: Vec<String> = step.locks.iter().map(|l| format!("{:?}", l.mode)).collect();
    assert_eq!(modes, vec!["ShareRowExclusive".to_string()], "{step:?}");
}

#[tokio::test]
async fn a_trigger_comment_is_set_and_removed() {
    let db = setup().await;
    let with = |extra: &str| {
        declaration(&format!(
            r#"        trigger "t" before="update" for-each="row" function="bump"{extra}"#
        ))
    };
    converge(&db, &with(r#" comment="counts updates""#)).await;
    let steps = converge(&db, &with("")).await;
    assert_eq!(
        steps,
        vec!["COMMENT ON TRIGGER \"t\" ON \"public\".\"items\" IS NULL".to_string()]
    );
}

/// An `INSTEAD OF` trigger makes a view writable; when the view's query changes, the view is
/// recreated and its trigger with it.
#[tokio::test]
async fn a_view_trigger_comes_back_when_its_view_is_recreated() {
    let db = setup().await;
    let kdl = |query: &str| {
        declaration("").replace(
            "    function \"bump\"",
            &format!(
                r##"    view "item_names" "{query}" {{
        trigger "insert_item" instead-of="insert" for-each="row" function="insert_item"
    }}
    function "insert_item" returns="trigger" language="plpgsql" {{
        body "BEGIN INSERT INTO public.items (id, name) VALUES (NEW.id, NEW.name); RETURN NEW; END"
    }}
    function "bump""##
            ),
        )
    };
    converge(&db, &kdl("SELECT id, name FROM public.items")).await;
    db.execute("INSERT INTO item_names VALUES (7, 'seven')")
        .await;
    let steps = converge(&db, &kdl("SELECT id, name, qty FROM public.items")).await;
    let create_view = steps
        .iter()
        .position(|s| s.starts_with("CREATE VIEW"))
        .expect("view recreated");
    let create_trigger = steps
        .iter()
        .position(|s| s.starts_with("CREATE TRIGGER \"insert_item\""))
        .expect("trigger recreated");
    assert!(create_view < create_trigger, "{steps:#?}");
    db.execute("INSERT INTO item_names (id, name) VALUES (8, 'eight')")
        .await;
    assert_eq!(one_i64(&db, "SELECT count(*) FROM items").await, 5);
}
