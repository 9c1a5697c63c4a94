//! Functions and procedures through the whole pipeline on real PostgreSQL: declared in KDL,
//! planned, applied, read back equal (fingerprint), planned again to nothing, rows intact.
//! Each kind of change is one test: create, each attribute replaced in place, changes that
//! need a drop and create (with the views and triggers that use the function recreated
//! around it), overloads, rename, drop, procedures; dump and import round trips; and a
//! dependency-heavy declaration where a change at the bottom recreates exactly what depends
//! on it, in order.

mod common;

use common::converge::{converge, plan_with};
use common::{TestDb, catalog, declared};
use formwork::plan::planner::PlanOptions;

async fn one_i64(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

async fn one_text(db: &TestDb, sql: &str) -> String {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

/// A table with rows, declared as KDL; `rest` is added inside the schema block.
fn with_items(rest: &str) -> String {
    format!(
        r#"
schema "public" {{
    table "items" {{
        column "id" "bigint"
        column "name" "text"
        column "qty" "integer" default="0"
        column "updated_at" "timestamp with time zone" nullable=#true
        primary-key "id"
    }}
{rest}
}}
"#
    )
}

const ITEMS_SQL: &str = "
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty integer NOT NULL DEFAULT 0,
                    updated_at timestamptz);
INSERT INTO items (id, name, qty) VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3);
";

async fn items_db() -> TestDb {
    let db = TestDb::new().await;
    db.execute(ITEMS_SQL).await;
    db
}

const DOUBLE: &str = r#"
    function "double" returns="integer" language="sql" volatility="immutable" strict=#true {
        argument "x" "integer"
        body "SELECT x * 2"
    }
"#;

#[tokio::test]
async fn functions_of_each_language_and_a_procedure_are_created_and_callable() {
    let db = items_db().await;
    let kdl = with_items(
        r##"
    function "double" returns="integer" language="sql" volatility="immutable" strict=#true {
        argument "x" "integer"
        body "SELECT x * 2"
    }
    function "total_qty" returns="bigint" language="plpgsql" volatility="stable" {
        body #"""
            BEGIN
                RETURN (SELECT sum(qty) FROM public.items);
            END
            """#
    }
    function "names" returns="TABLE(id bigint, name text)" language="sql" volatility="stable" {
        argument "min_qty" "integer" default="0"
        body "SELECT id, name FROM public.items WHERE qty >= min_qty ORDER BY id"
    }
    function "add" returns="integer" language="sql" volatility="immutable" {
        argument "a" "integer"
        argument "b" "integer"
        body "RETURN a + b"
    }
    procedure "restock" language="plpgsql" {
        argument "amount" "integer"
        body #"""
            BEGIN
                UPDATE public.items SET qty = qty + amount;
            END
            """#
    }
"##,
    );
    let steps = converge(&db, &kdl).await;
    assert_eq!(
        steps.iter().filter(|s| s.starts_with("CREATE ")).count(),
        5,
        "{steps:?}"
    );
    assert_eq!(one_i64(&db, "SELECT public.double(21)::int8").await, 42);
    assert_eq!(one_i64(&db, "SELECT public.total_qty()").await, 6);
    assert_eq!(
        one_i64(&db, "SELECT count(*) FROM public.names(2)").await,
        2
    );
    assert_eq!(one_i64(&db, "SELECT public.add(2, 3)::int8").await, 5);
    db.execute("CALL public.restock(10)").await;
    assert_eq!(one_i64(&db, "SELECT public.total_qty()").await, 36);
    // Not listed as unmanaged any more.
    let unmanaged = catalog(&db).await.unmanaged;
    assert!(unmanaged.is_empty(), "{unmanaged:?}");
}

/// Each declaration is applied to the state the previous one left; every change is made by
/// `CREATE OR REPLACE` (the function keeps its identity, so nothing that uses it moves).
#[tokio::test]
async fn each_attribute_change_replaces_the_function_in_place() {
    let db = items_db().await;
    converge(&db, &with_items(DOUBLE)).await;
    let oid = one_i64(
        &db,
        "SELECT 'public.double(integer)'::regprocedure::oid::int8",
    )
    .await;
    let variants = [
        // body
        r#"function "double" returns="integer" language="sql" volatility="immutable" strict=#true {
            argument "x" "integer"
            body "SELECT x + x"
        }"#,
        // volatility and strictness
        r#"function "double" returns="integer" language="sql" volatility="stable" {
            argument "x" "integer"
            body "SELECT x + x"
        }"#,
        // security definer, leakproof-free, parallel, cost
        r#"function "double" returns="integer" language="sql" volatility="stable" security-definer=#true parallel="safe" cost=5 {
            argument "x" "integer"
            body "SELECT x + x"
        }"#,
        // settings
        r#"function "double" returns="integer" language="sql" volatility="stable" security-definer=#true parallel="safe" cost=5 {
            argument "x" "integer"
            set "search_path" "pg_catalog, public"
            set "work_mem" "8MB"
            body "SELECT x + x"
        }"#,
        // language
        r##"function "double" returns="integer" language="plpgsql" volatility="stable" {
            argument "x" "integer"
            set "search_path" "pg_catalog"
            body #"BEGIN RETURN x * 2; END"#
        }"##,
        // a default added, and a comment
        r##"function "double" returns="integer" language="plpgsql" volatility="stable" comment="twice x" {
            argument "x" "integer" default="1"
            body #"BEGIN RETURN x * 2; END"#
        }"##,
    ];
    for v in variants {
        let steps = converge(&db, &with_items(v)).await;
        assert!(!steps.is_empty(), "{v} planned nothing");
        assert!(
            steps
                .iter()
                .all(|s| s.starts_with("CREATE OR REPLACE FUNCTION") || s.starts_with("COMMENT ON")),
            "{v}: {steps:?}"
        );
        assert_eq!(
            one_i64(
                &db,
                "SELECT 'public.double(integer)'::regprocedure::oid::int8"
            )
            .await,
            oid,
            "the function kept its identity"
        );
    }
    assert_eq!(one_i64(&db, "SELECT public.double()::int8").await, 2);
    assert_eq!(one_i64(&db, "SELECT count(*) FROM items").await, 3);
}

#[tokio::test]
async fn a_new_result_type_drops_and_recreates_the_function_with_its_view_and_trigger() {
    let db = items_db().await;
    let before = with_items(
        r##"
    function "score" returns="integer" language="sql" volatility="immutable" {
        argument "q" "integer"
        body "SELECT q * 10"
    }
    function "touch" returns="trigger" language="plpgsql" {
        body #"BEGIN NEW.updated_at := now(); RETURN NEW; END"#
    }
    view "scores" "SELECT id, public.score(qty) AS score FROM public.items"
    view "top_scores" "SELECT id FROM public.scores WHERE score > 10"
    view "plain" "SELECT id FROM public.items"
"##,
    );
    let before = before.replacen(
        "primary-key \"id\"",
        "primary-key \"id\"\n        trigger \"items_touch\" before=\"update\" for-each=\"row\" function=\"touch\"",
        1,
    );
    converge(&db, &before).await;
    let after = before
        .replace(
            r#"function "score" returns="integer""#,
            r#"function "score" returns="bigint""#,
        )
        .replace("SELECT q * 10", "SELECT q::bigint * 100")
        .replace(
            r#"function "touch" returns="trigger" language="plpgsql" {"#,
            r#"function "touch" returns="trigger" language="plpgsql" comment="stamps rows" {"#,
        );
    let steps = converge(&db, &after).await;
    let pos = |prefix: &str| {
        steps
            .iter()
            .position(|s| s.starts_with(prefix))
            .unwrap_or_else(|| panic!("no step starting {prefix}: {steps:#?}"))
    };
    // Dependants go first (top view before the view it reads), come back after, in order.
    assert!(pos("DROP VIEW \"public\".\"top_scores\"") < pos("DROP VIEW \"public\".\"scores\""));
    assert!(pos("DROP VIEW \"public\".\"scores\"") < pos("DROP FUNCTION"));
    assert!(pos("DROP FUNCTION") < pos("CREATE FUNCTION \"public\".\"score\""));
    assert!(pos("CREATE FUNCTION") < pos("CREATE VIEW \"public\".\"scores\""));
    assert!(
        pos("CREATE VIEW \"public\".\"scores\"") < pos("CREATE VIEW \"public\".\"top_scores\"")
    );
    // Nothing else: the unrelated view and the trigger (its function is only commented) stay.
    assert!(!steps.iter().any(|s| s.contains("\"plain\"")), "{steps:#?}");
    assert!(!steps.iter().any(|s| s.contains("TRIGGER")), "{steps:#?}");
    assert_eq!(
        one_i64(
            &db,
            "SELECT max(score)::int8 FROM public.top_scores JOIN public.scores USING (id)"
        )
        .await,
        300
    );
    assert_eq!(one_i64(&db, "SELECT count(*) FROM items").await, 3);
}

#[tokio::test]
async fn a_trigger_function_replaced_in_place_keeps_its_trigger_firing_with_the_new_body() {
    let db = items_db().await;
    let table_with_trigger = |rest: &str| {
        with_items(rest).replacen(
            "primary-key \"id\"",
            "primary-key \"id\"\n        trigger \"items_touch\" before=\"update\" for-each=\"row\" function=\"touch\"",
            1,
        )
    };
    converge(
        &db,
        &table_with_trigger(
            r##"
    function "touch" returns="trigger" language="plpgsql" {
        body #"BEGIN NEW.updated_at := now(); RETURN NEW; END"#
    }"##,
        ),
    )
    .await;
    let steps = converge(
        &db,
        &table_with_trigger(
            r##"
    procedure "unrelated" language="sql" {
        body "SELECT 1"
    }
    function "touch" returns="trigger" language="plpgsql" volatility="volatile" {
        body #"BEGIN NEW.updated_at := now(); NEW.qty := NEW.qty + 1000; RETURN NEW; END"#
    }"##,
        ),
    )
    .await;
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("CREATE OR REPLACE FUNCTION")),
        "{steps:#?}"
    );
    db.execute("UPDATE items SET name = 'z' WHERE id = 1").await;
    assert_eq!(
        one_i64(&db, "SELECT qty::int8 FROM items WHERE id = 1").await,
        1001
    );
    assert_eq!(
        one_i64(
            &db,
            "SELECT count(*) FROM items WHERE updated_at IS NOT NULL"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_function_a_check_uses_is_not_dropped_but_the_plan_says_why() {
    let db = items_db().await;
    let before = with_items(DOUBLE).replacen(
        "primary-key \"id\"",
        "primary-key \"id\"\n        check \"qty_small\" \"public.double(qty) < 1000\"",
        1,
    );
    converge(&db, &before).await;
    let after = before.replace(
        r#"function "double" returns="integer""#,
        r#"function "double" returns="bigint""#,
    );
    let err = plan_with(&db, &after, &PlanOptions::default())
        .await
        .expect_err("the plan is refused");
    let text = err.to_string();
    assert!(text.contains("check qty_small on public.items"), "{text}");
}

#[tokio::test]
async fn overloads_are_separate_objects_and_one_can_go_alone() {
    let db = items_db().await;
    let both = with_items(
        r#"
    function "fmt" returns="text" language="sql" {
        argument "v" "integer"
        body "SELECT 'int ' || v"
    }
    function "fmt" returns="text" language="sql" {
        argument "v" "text"
        body "SELECT 'text ' || v"
    }
"#,
    );
    converge(&db, &both).await;
    assert_eq!(one_text(&db, "SELECT public.fmt(1)").await, "int 1");
    assert_eq!(
        one_text(&db, "SELECT public.fmt('x'::text)").await,
        "text x"
    );
    let one = with_items(
        r#"
    function "fmt" returns="text" language="sql" {
        argument "v" "int4"
        body "SELECT 'int ' || v"
    }
"#,
    );
    let steps = converge(&db, &one).await;
    assert_eq!(
        steps,
        vec!["DROP FUNCTION \"public\".\"fmt\"(text)".to_string()]
    );
}

#[tokio::test]
async fn a_renamed_function_is_renamed_not_recreated() {
    let db = items_db().await;
    converge(&db, &with_items(DOUBLE)).await;
    let oid = one_i64(
        &db,
        "SELECT 'public.double(integer)'::regprocedure::oid::int8",
    )
    .await;
    let renamed = with_items(
        r#"
    function "twice" renamed-from="double" returns="integer" language="sql" volatility="immutable" strict=#true {
        argument "x" "integer"
        body "SELECT x * 2"
    }
"#,
    );
    let steps = converge(&db, &renamed).await;
    assert_eq!(
        steps,
        vec!["ALTER FUNCTION \"public\".\"double\"(integer) RENAME TO \"twice\"".to_string()]
    );
    assert_eq!(
        one_i64(
            &db,
            "SELECT 'public.twice(integer)'::regprocedure::oid::int8"
        )
        .await,
        oid
    );
}

#[tokio::test]
async fn dropped_functions_and_procedures_go_in_the_contract_phase() {
    let db = items_db().await;
    converge(
        &db,
        &with_items(
            r#"
    function "double" returns="integer" language="sql" {
        argument "x" "integer"
        body "SELECT x * 2"
    }
    procedure "noop" language="sql" {
        body "SELECT 1"
    }
"#,
        ),
    )
    .await;
    let planned = plan_with(
        &db,
        &with_items(""),
        &PlanOptions {
            allow_destructive: true,
            ..PlanOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(
        planned
            .plan
            .steps()
            .iter()
            .all(|s| s.phase == formwork::plan::Phase::Contract)
    );
    let steps = converge(&db, &with_items("")).await;
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert_eq!(
        one_i64(
            &db,
            "SELECT count(*) FROM pg_proc WHERE proname IN ('double', 'noop')"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn procedures_change_in_place_and_become_functions_by_drop_and_create() {
    let db = items_db().await;
    let proc_ = |body: &str| {
        with_items(&format!(
            r#"
    procedure "bump" language="sql" security-definer=#true {{
        argument "by" "integer"
        body "{body}"
    }}
"#
        ))
    };
    converge(&db, &proc_("UPDATE public.items SET qty = qty + by")).await;
    let steps = converge(&db, &proc_("UPDATE public.items SET qty = qty + by * 2")).await;
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert!(steps[0].starts_with("CREATE OR REPLACE PROCEDURE"));
    db.execute("CALL public.bump(1)").await;
    assert_eq!(one_i64(&db, "SELECT sum(qty)::int8 FROM items").await, 12);
    let steps = converge(
        &db,
        &with_items(
            r#"
    function "bump" returns="void" language="sql" {
        argument "by" "integer"
        body "UPDATE public.items SET qty = qty + by"
    }
"#,
        ),
    )
    .await;
    assert!(steps[0].starts_with("DROP PROCEDURE"), "{steps:?}");
}

/// Views on views on functions on a type: the function at the bottom takes the enum and its
/// result type changes. Exactly the views above it are dropped (top first) and created again
/// (bottom first); the unrelated view, the table and the enum are not touched. (A domain at
/// the bottom is the next test.)
#[tokio::test]
async fn a_change_at_the_bottom_recreates_what_depends_on_it_in_order_and_nothing_else() {
    const BOTTOM: &str = r#"
    enum "mood" "sad" "ok" "glad"
"#;
    let layers = |result: &str| {
        format!(
            r#"{BOTTOM}
    table "people" {{
        column "id" "bigint"
        column "mood" "public.mood"
        primary-key "id"
    }}
    function "mood_score" returns="{result}" language="sql" volatility="immutable" {{
        argument "m" "public.mood"
        body "SELECT array_position(enum_range(NULL::public.mood), m)"
    }}
    function "mood_label" returns="text" language="sql" volatility="immutable" {{
        argument "m" "public.mood"
        body "SELECT upper(m::text)"
    }}
    view "scored" "SELECT id, public.mood_score(mood) AS score FROM public.people"
    view "happy" "SELECT id, score FROM public.scored WHERE score > 1"
    view "happy_count" "SELECT count(*) AS n FROM public.happy"
    view "labels" "SELECT id, public.mood_label(mood) AS label FROM public.people"
"#
        )
    };
    let db = TestDb::new().await;
    converge(
        &db,
        &format!("schema \"public\" {{\n{}\n}}", layers("integer")),
    )
    .await;
    db.execute("INSERT INTO people VALUES (1, 'sad'), (2, 'glad'), (3, 'ok')")
        .await;
    let steps = converge(
        &db,
        &format!("schema \"public\" {{\n{}\n}}", layers("bigint")),
    )
    .await;
    let expected = [
        "DROP VIEW \"public\".\"happy_count\"",
        "DROP VIEW \"public\".\"happy\"",
        "DROP VIEW \"public\".\"scored\"",
        "DROP FUNCTION \"public\".\"mood_score\"(public.mood)",
    ];
    assert_eq!(&steps[..4], &expected, "{steps:#?}");
    assert!(steps[4].starts_with("CREATE FUNCTION \"public\".\"mood_score\""));
    assert!(steps[5].starts_with("CREATE VIEW \"public\".\"scored\""));
    assert!(steps[6].starts_with("CREATE VIEW \"public\".\"happy\""));
    assert!(steps[7].starts_with("CREATE VIEW \"public\".\"happy_count\""));
    assert_eq!(steps.len(), 8, "{steps:#?}");
    assert_eq!(one_i64(&db, "SELECT n FROM happy_count").await, 2);
    assert_eq!(
        one_text(&db, "SELECT label FROM labels WHERE id = 2").await,
        "GLAD"
    );
}

/// The same layering with a domain at the bottom: a column and two functions of the domain,
/// views on views on the functions. A new CHECK on the domain is planned on the domain alone
/// (added NOT VALID, then validated) and recreates nothing above it; a function whose result
/// becomes the domain is dropped and created with exactly the views above it, in order.
#[tokio::test]
async fn a_domain_at_the_bottom_changes_alone_and_a_function_above_it_takes_only_its_views() {
    let layers = |check: &str, result: &str| {
        format!(
            r#"schema "public" {{
    domain "points" "integer" not-null=#true {{
        check "points_nonnegative" "{check}"
    }}
    table "players" {{
        column "id" "bigint"
        column "points" "public.points"
        primary-key "id"
    }}
    function "bonus" returns="{result}" language="sql" volatility="immutable" {{
        argument "p" "public.points"
        body "SELECT (p + 10)::integer"
    }}
    function "rank" returns="text" language="sql" volatility="immutable" {{
        argument "p" "public.points"
        body "SELECT CASE WHEN p >= 100 THEN 'gold' ELSE 'plain' END"
    }}
    view "boosted" "SELECT id, public.bonus(points) AS total FROM public.players"
    view "leaders" "SELECT id, total FROM public.boosted WHERE total >= 100"
    view "leader_count" "SELECT count(*) AS n FROM public.leaders"
    view "ranks" "SELECT id, public.rank(points) AS rank FROM public.players"
}}
"#
        )
    };
    let db = TestDb::new().await;
    converge(&db, &layers("VALUE >= 0", "integer")).await;
    db.execute("INSERT INTO players VALUES (1, 95), (2, 150), (3, 5)")
        .await;

    let steps = converge(&db, &layers("VALUE >= 0 AND VALUE < 1000", "integer")).await;
    assert!(
        steps
            .iter()
            .all(|s| s.contains("DOMAIN \"public\".\"points\"")),
        "only the domain changes: {steps:#?}"
    );
    assert!(
        steps.iter().any(|s| s.contains("NOT VALID"))
            && steps.iter().any(|s| s.contains("VALIDATE")),
        "{steps:#?}"
    );

    let steps = converge(&db, &layers("VALUE >= 0 AND VALUE < 1000", "public.points")).await;
    let expected = [
        "DROP VIEW \"public\".\"leader_count\"",
        "DROP VIEW \"public\".\"leaders\"",
        "DROP VIEW \"public\".\"boosted\"",
        "DROP FUNCTION \"public\".\"bonus\"(public.points)",
    ];
    assert_eq!(&steps[..4], &expected, "{steps:#?}");
    assert!(steps[4].starts_with("CREATE FUNCTION \"public\".\"bonus\""));
    assert!(steps[5].starts_with("CREATE VIEW \"public\".\"boosted\""));
    assert!(steps[6].starts_with("CREATE VIEW \"public\".\"leaders\""));
    assert!(steps[7].starts_with("CREATE VIEW \"public\".\"leader_count\""));
    assert_eq!(steps.len(), 8, "{steps:#?}");
    assert_eq!(one_i64(&db, "SELECT n FROM leader_count").await, 2);
    assert_eq!(
        one_text(&db, "SELECT rank FROM ranks WHERE id = 2").await,
        "gold"
    );
    let bad = db
        .client()
        .await
        .execute("INSERT INTO players VALUES (4, 5000)", &[])
        .await;
    assert!(bad.is_err(), "the new domain check holds");
}

#[tokio::test]
async fn dump_writes_functions_that_load_back_to_the_same_fingerprint() {
    let db = items_db().await;
    db.execute(
        r#"
CREATE FUNCTION public.f(a integer, INOUT b text DEFAULT 'x', OUT c bigint)
  LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER COST 7
  SET search_path = pg_catalog, public
  AS $$ BEGIN c := a; b := b || '!'; END $$;
CREATE FUNCTION public.g(VARIADIC xs integer[]) RETURNS SETOF integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS 10 AS 'SELECT unnest(xs)';
CREATE FUNCTION public.h(integer) RETURNS integer LANGUAGE sql
  BEGIN ATOMIC SELECT $1 + 1; SELECT $1 + 2; END;
CREATE PROCEDURE public.p(x integer) LANGUAGE sql AS $$ SELECT x $$;
COMMENT ON FUNCTION public.g(integer[]) IS 'many';
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t1 BEFORE INSERT OR UPDATE OF name, qty ON items FOR EACH ROW
  WHEN (NEW.qty > 0) EXECUTE FUNCTION public.touch('a', 'b c');
CREATE TRIGGER t2 AFTER DELETE ON items REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION public.touch();
ALTER TABLE items DISABLE TRIGGER t2;
CREATE CONSTRAINT TRIGGER t3 AFTER INSERT ON items DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION public.touch();
"#,
    )
    .await;
    let cat = catalog(&db).await;
    let files = formwork::kdl::write::model_to_files(&cat.model);
    let text: String = files.iter().map(|(_, t)| t.as_str()).collect();
    let loaded = declared(&text);
    assert_eq!(
        formwork::catalog::fingerprint::fingerprint(&loaded),
        formwork::catalog::fingerprint::fingerprint(&cat.model),
        "{text}"
    );
    // And the plan from the database to its own dump is empty.
    let steps = converge(&db, &text).await;
    assert!(steps.is_empty(), "{steps:?}");
}

#[tokio::test]
async fn aggregates_and_window_functions_stay_unmanaged_and_are_never_dropped() {
    let db = items_db().await;
    db.execute(
        "CREATE AGGREGATE public.my_sum(integer) (SFUNC = int4pl, STYPE = integer);
         CREATE FUNCTION public.kept() RETURNS integer LANGUAGE sql AS 'SELECT 1';",
    )
    .await;
    let cat = catalog(&db).await;
    let names: Vec<String> = cat.unmanaged.iter().map(|u| u.name.clone()).collect();
    assert_eq!(names, vec!["public.my_sum(integer)".to_string()]);
    let steps = converge(&db, &with_items("")).await;
    assert_eq!(
        steps,
        vec!["DROP FUNCTION \"public\".\"kept\"()".to_string()]
    );
    assert_eq!(
        one_i64(&db, "SELECT public.my_sum(qty)::int8 FROM items").await,
        6
    );
}

#[test]
fn bad_function_declarations_are_reported_with_their_place() {
    let src = r#"
schema "public" {
    function "f" returns="integer" language="sql" volatility="sometimes" {
        argument "x" "integer" mode="sideways"
    }
}
"#;
    let err = formwork::kdl::load::load_sources(&[formwork::kdl::diag::SourceFile {
        name: "schema.kdl".into(),
        text: src.into(),
    }])
    .expect_err("refused");
    let text = format!("{err:?}");
    assert!(text.contains("sometimes"), "{text}");
    assert!(text.contains("sideways"), "{text}");
}

/// `import` runs a SQL file in a scratch database and writes the KDL: functions, procedures
/// and triggers come through, and the declaration it writes converges on a database the same
/// file built.
#[tokio::test]
async fn import_turns_sql_functions_and_triggers_into_a_declaration_that_converges() {
    let sql = "
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, updated_at timestamptz);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE FUNCTION item_name(bigint) RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT name FROM items WHERE id = $1 $$;
CREATE PROCEDURE rename_item(i bigint, n text) LANGUAGE sql
    AS $$ UPDATE items SET name = n WHERE id = i $$;
CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
";
    let dir = common::TempDir::new("import-functions");
    let file = dir.write("schema.sql", sql);
    let out_dir = dir.0.join("out");
    let admin = common::cluster().conn_info("postgres").to_url_string();
    let out = common::formwork_command()
        .args(["import"])
        .arg(&file)
        .args(["--dev-url", &admin, "--out"])
        .arg(&out_dir)
        .output()
        .expect("run formwork import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kdl = std::fs::read_to_string(out_dir.join("public.kdl")).expect("public.kdl");
    for needle in [
        "function \"touch\" returns=\"trigger\" language=\"plpgsql\"",
        "function \"item_name\"",
        "procedure \"rename_item\"",
        "trigger \"items_touch\" before=\"update\" for-each=\"row\" function=\"touch\"",
    ] {
        assert!(kdl.contains(needle), "{needle} not in\n{kdl}");
    }
    let db = TestDb::new().await;
    db.execute(sql).await;
    db.execute("INSERT INTO items VALUES (1, 'a', NULL)").await;
    let steps = converge(&db, &kdl).await;
    assert!(steps.is_empty(), "{steps:?}");
    db.execute("CALL public.rename_item(1, 'b')").await;
    assert_eq!(one_text(&db, "SELECT public.item_name(1)").await, "b");
    assert_eq!(
        one_i64(
            &db,
            "SELECT count(*) FROM items WHERE updated_at IS NOT NULL"
        )
        .await,
        1
    );
}

/// A SQL-standard body is parsed when the function is created, so the tables it names must
/// exist first: in the plan, and in every scratch database a later plan builds.
#[tokio::test]
async fn a_sql_standard_body_naming_a_table_is_created_after_it_and_later_plans_still_work() {
    let db = TestDb::new().await;
    let kdl = |extra: &str| {
        format!(
            r#"
schema "public" {{
    function "item_count" returns="bigint" language="sql" volatility="stable" {{
        body "BEGIN ATOMIC SELECT count(*) FROM public.items; END"
    }}
    table "items" {{
        column "id" "bigint"
        primary-key "id"
    }}
    table "other" {{
        column "id" "bigint"
{extra}
    }}
}}
"#
        )
    };
    converge(&db, &kdl("")).await;
    db.execute("INSERT INTO items VALUES (1), (2)").await;
    assert_eq!(one_i64(&db, "SELECT public.item_count()").await, 2);
    let steps = converge(&db, &kdl(r#"        column "note" "text" nullable=#true"#)).await;
    assert_eq!(steps.len(), 1, "{steps:?}");
}

/// The sync trigger and function a type change leaves behind (`formwork_sync_<hash>`) are
/// formwork's own: not in the model, not drift, never dropped as undeclared.
#[tokio::test]
async fn transitional_functions_and_triggers_are_not_user_objects() {
    let db = items_db().await;
    db.execute(
        "CREATE FUNCTION public.formwork_sync_0123456789abcdef() RETURNS trigger
             LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
         CREATE TRIGGER formwork_sync_0123456789abcdef BEFORE UPDATE ON items
             FOR EACH ROW EXECUTE FUNCTION public.formwork_sync_0123456789abcdef();",
    )
    .await;
    let cat = catalog(&db).await;
    assert!(cat.model.schemas["public"].functions.is_empty());
    assert!(
        cat.model.schemas["public"].tables["items"]
            .triggers
            .is_empty()
    );
    assert!(cat.unmanaged.is_empty(), "{:?}", cat.unmanaged);
    let planned = plan_with(&db, &with_items(""), &PlanOptions::default())
        .await
        .unwrap();
    assert!(planned.plan.steps().is_empty());
}
