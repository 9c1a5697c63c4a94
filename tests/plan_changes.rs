//! Every kind of change to every object kind the model has, planned and applied on real
//! PostgreSQL. Each case is a pair of schemas in SQL: the "before" one is loaded into the
//! target with some rows, the "after" one into another database whose `dump` (KDL files, loaded
//! back as a user's declaration would be) is the declaration. The plan must take the target to
//! the declared fingerprint, a second plan must be empty, and the rows must still be there.
//!
//! The rich fixture (every construct at once) is also planned from nothing, back to nothing,
//! and against its own dump, which must plan nothing at all.

mod common;

use common::TestDb;
use formwork::catalog::fingerprint::fingerprint;
use formwork::catalog::introspect;
use formwork::model::Model;
use formwork::pg::scratch::{LazyScratch, Scratch};
use formwork::plan::planner::{PlanOptions, make_plan};

const RICH: &str = include_str!("fixtures/rich.sql");

fn scratch() -> LazyScratch {
    LazyScratch::ready(Scratch::Dev(common::cluster().conn_info("postgres")))
}

/// The declaration a user would have after `formwork dump` of a database holding `sql`.
async fn declaration_of(sql: &str) -> Model {
    common::declaration_of(sql).await
}

/// Tables of `sql`'s database with their row counts.
async fn counts(db: &TestDb) -> Vec<(String, i64)> {
    let client = db.client().await;
    let tables: Vec<String> = client
        .query(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {t}"), &[])
            .await
            .unwrap()
            .get(0);
        out.push((t, n));
    }
    out
}

/// Plan the database holding `before` (and `rows`) toward the dump of `after`, apply, check.
async fn case(before: &str, rows: &str, after: &str, options: PlanOptions) -> Vec<String> {
    let desired = declaration_of(after).await;
    let db = TestDb::new().await;
    db.execute(before).await;
    if !rows.is_empty() {
        db.execute(rows).await;
    }
    let rows_before = counts(&db).await;
    let planned = common::converge(&db, &desired, &options).await;
    let sqls: Vec<String> = planned.plan.steps().iter().map(|s| s.sql.clone()).collect();
    // Rows survive in every table that still exists.
    let rows_after = counts(&db).await;
    for (table, n) in rows_before {
        if let Some((_, m)) = rows_after.iter().find(|(t, _)| *t == table) {
            assert_eq!(*m, n, "rows of {table} changed");
        }
    }
    sqls
}

fn online() -> PlanOptions {
    PlanOptions::default()
}

fn anything() -> PlanOptions {
    PlanOptions {
        allow_destructive: true,
        allow_blocking: true,
        ..PlanOptions::default()
    }
}

const T: &str = "CREATE TABLE t (id bigint PRIMARY KEY, a integer, b text, c varchar(10));";
const ROWS: &str = "INSERT INTO t SELECT g, g, 'x' || g, 'c' FROM generate_series(1, 50) g;";

#[tokio::test]
async fn the_dump_of_the_rich_fixture_plans_nothing() {
    let db = TestDb::new().await;
    db.execute(RICH).await;
    let current = introspect(&db.client().await).await.unwrap();
    let desired = declaration_of(RICH).await;
    let planned = make_plan(&current, &desired, &scratch(), &online())
        .await
        .unwrap();
    assert!(
        planned.plan.steps().is_empty(),
        "{:?}",
        planned
            .plan
            .steps()
            .iter()
            .map(|s| &s.sql)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_rich_fixture_is_built_from_nothing() {
    case("", "", RICH, online()).await;
}

#[tokio::test]
async fn the_rich_fixture_is_taken_back_to_nothing() {
    case(RICH, "", "", anything()).await;
}

#[tokio::test]
async fn columns_added_with_and_without_defaults() {
    let s = case(
        T,
        ROWS,
        "CREATE TABLE t (id bigint PRIMARY KEY, a integer, b text, c varchar(10),
           d integer NOT NULL DEFAULT 7, e timestamptz DEFAULT now(), f text);",
        online(),
    )
    .await;
    assert_eq!(s.len(), 3, "{s:?}");
}

#[tokio::test]
async fn column_types_widened_in_place_and_changed_by_expand_and_contract() {
    // Without permission to block: the integer to bigint change goes through a shadow column.
    let s = case(
        T,
        ROWS,
        "CREATE TABLE t (id bigint PRIMARY KEY, a bigint, b text, c varchar(20));",
        online(),
    )
    .await;
    assert!(
        s.iter()
            .any(|x| x.contains("TYPE character varying(20)") && !x.contains("USING"))
    );
    assert!(!s.iter().any(|x| x.contains("TYPE bigint")), "{s:?}");
    assert!(s.iter().any(|x| x.contains("REPLACE TRIGGER")), "{s:?}");
    assert!(
        s.iter().any(|x| x.contains("RENAME COLUMN \"a\" TO")),
        "{s:?}"
    );
}

#[tokio::test]
async fn an_indexed_column_is_retyped_with_its_indexes_rebuilt_concurrently() {
    let s = case(
        "CREATE TABLE t (id bigint PRIMARY KEY, a integer NOT NULL DEFAULT 3, b text); \
         CREATE INDEX t_a ON t (a); CREATE INDEX t_b_a ON t (b) INCLUDE (a); \
         COMMENT ON INDEX t_a IS 'by a';",
        "INSERT INTO t SELECT g, g, 'b' || g FROM generate_series(1, 50) g;",
        "CREATE TABLE t (id bigint PRIMARY KEY, a bigint NOT NULL DEFAULT 3, b text); \
         CREATE INDEX t_a ON t (a); CREATE INDEX t_b_a ON t (b) INCLUDE (a); \
         COMMENT ON INDEX t_a IS 'by a';",
        online(),
    )
    .await;
    assert!(!s.iter().any(|x| x.contains("TYPE bigint")), "{s:?}");
    let builds = s
        .iter()
        .filter(|x| x.contains("CREATE INDEX CONCURRENTLY"))
        .count();
    assert_eq!(builds, 2, "{s:?}");
    assert!(
        s.iter()
            .any(|x| x.contains("ALTER INDEX") && x.contains("RENAME COLUMN")),
        "the indexes are swapped with the column: {s:?}"
    );
}

#[tokio::test]
async fn a_column_under_a_check_that_changes_too_is_still_retyped_with_a_rewrite() {
    let s = case(
        "CREATE TABLE t (id bigint PRIMARY KEY, a integer CHECK (a > 0)); \
         CREATE INDEX t_a ON t (a);",
        "INSERT INTO t SELECT g, g FROM generate_series(1, 50) g;",
        "CREATE TABLE t (id bigint PRIMARY KEY, a bigint CHECK (a > -1)); \
         CREATE INDEX t_a ON t (a);",
        anything(),
    )
    .await;
    assert!(s.iter().any(|x| x.contains("TYPE bigint USING")), "{s:?}");
}

#[tokio::test]
async fn defaults_set_changed_and_dropped() {
    case(
        "CREATE TABLE t (id bigint PRIMARY KEY, a integer DEFAULT 1, b text DEFAULT 'x', c text);",
        "INSERT INTO t (id) VALUES (1), (2);",
        "CREATE TABLE t (id bigint PRIMARY KEY, a integer DEFAULT 2, b text, c text DEFAULT 'y');",
        online(),
    )
    .await;
}

#[tokio::test]
async fn not_null_set_and_dropped() {
    case(
        "CREATE TABLE t (id bigint PRIMARY KEY, a integer NOT NULL, b text);",
        "INSERT INTO t VALUES (1, 1, 'x'), (2, 2, 'y');",
        "CREATE TABLE t (id bigint PRIMARY KEY, a integer, b text NOT NULL);",
        online(),
    )
    .await;
}

#[tokio::test]
async fn identity_added_changed_and_removed() {
    case(
        "CREATE TABLE a (id bigint NOT NULL, n int);
         CREATE TABLE b (id bigint GENERATED ALWAYS AS IDENTITY, n int);
         CREATE TABLE c (id bigint GENERATED BY DEFAULT AS IDENTITY, n int);",
        "INSERT INTO a VALUES (1, 1); INSERT INTO b (n) VALUES (1); INSERT INTO c (n) VALUES (1);",
        "CREATE TABLE a (id bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 10), n int);
         CREATE TABLE b (id bigint GENERATED BY DEFAULT AS IDENTITY (INCREMENT BY 5 CACHE 10), n int);
         CREATE TABLE c (id bigint NOT NULL, n int);",
        online(),
    )
    .await;
}

#[tokio::test]
async fn generated_column_expression_changed_and_generation_dropped() {
    case(
        "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED, c int GENERATED ALWAYS AS (a + 1) STORED);",
        "INSERT INTO t (a) VALUES (1), (2);",
        "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 3) STORED, c int);",
        anything(),
    )
    .await;
}

#[tokio::test]
async fn columns_and_tables_dropped_with_permission() {
    case(
        "CREATE TABLE t (id bigint PRIMARY KEY, a int, b text); CREATE TABLE gone (id int);",
        "INSERT INTO t VALUES (1, 1, 'x');",
        "CREATE TABLE t (id bigint PRIMARY KEY, a int);",
        PlanOptions {
            allow_destructive: true,
            ..PlanOptions::default()
        },
    )
    .await;
}

#[tokio::test]
async fn primary_keys_added_changed_and_dropped() {
    case(
        "CREATE TABLE a (id bigint NOT NULL, n int);
         CREATE TABLE b (id bigint PRIMARY KEY, n int NOT NULL);
         CREATE TABLE c (id bigint PRIMARY KEY);",
        "INSERT INTO a VALUES (1, 1); INSERT INTO b VALUES (1, 1); INSERT INTO c VALUES (1);",
        "CREATE TABLE a (id bigint PRIMARY KEY, n int);
         CREATE TABLE b (id bigint NOT NULL, n int NOT NULL, PRIMARY KEY (id, n));
         CREATE TABLE c (id bigint NOT NULL);",
        online(),
    )
    .await;
}

#[tokio::test]
async fn unique_constraints_added_changed_renamed_and_dropped() {
    case(
        "CREATE TABLE t (a int, b int, c int,
            CONSTRAINT t_a_key UNIQUE (a), CONSTRAINT t_b_key UNIQUE (b), CONSTRAINT t_c_key UNIQUE (c));",
        "INSERT INTO t VALUES (1, 1, 1), (2, 2, 2);",
        "CREATE TABLE t (a int, b int, c int,
            CONSTRAINT t_a_key UNIQUE (a, b), CONSTRAINT t_ab_key UNIQUE NULLS NOT DISTINCT (b) INCLUDE (c));",
        online(),
    )
    .await;
}

#[tokio::test]
async fn check_constraints_added_changed_and_dropped() {
    case(
        "CREATE TABLE t (a int CONSTRAINT t_a_check CHECK (a > 0), b int CONSTRAINT t_b_check CHECK (b > 0));",
        "INSERT INTO t VALUES (1, 1);",
        "CREATE TABLE t (a int CONSTRAINT t_a_check CHECK (a > -1), b int,
            CONSTRAINT t_sum CHECK (a + b > 0));",
        online(),
    )
    .await;
}

#[tokio::test]
async fn foreign_keys_added_changed_and_dropped() {
    case(
        "CREATE TABLE p (id int PRIMARY KEY);
         CREATE TABLE q (id int PRIMARY KEY);
         CREATE TABLE c (p int REFERENCES p, q int CONSTRAINT c_q_fkey REFERENCES q, r int);",
        "INSERT INTO p VALUES (1); INSERT INTO q VALUES (1); INSERT INTO c VALUES (1, 1, 1);",
        "CREATE TABLE p (id int PRIMARY KEY);
         CREATE TABLE q (id int PRIMARY KEY);
         CREATE TABLE c (p int, q int CONSTRAINT c_q_fkey REFERENCES q ON DELETE CASCADE,
            r int CONSTRAINT c_r_fkey REFERENCES p DEFERRABLE INITIALLY DEFERRED);",
        online(),
    )
    .await;
}

#[tokio::test]
async fn foreign_key_cycles_are_created_and_dropped() {
    case(
        "",
        "",
        "CREATE TABLE a (id int PRIMARY KEY, b_id int);
         CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);
         ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;",
        online(),
    )
    .await;
    case(
        "CREATE TABLE a (id int PRIMARY KEY, b_id int);
         CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);
         ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;",
        "",
        "",
        anything(),
    )
    .await;
}

#[tokio::test]
async fn exclusion_constraints_need_blocking_permission() {
    case(
        "CREATE EXTENSION btree_gist; CREATE TABLE r (room int, during tstzrange);",
        "",
        "CREATE EXTENSION btree_gist; CREATE TABLE r (room int, during tstzrange,
            CONSTRAINT r_no_overlap EXCLUDE USING gist (room WITH =, during WITH &&));",
        anything(),
    )
    .await;
}

#[tokio::test]
async fn indexes_added_changed_renamed_invalid_and_dropped() {
    let s = case(
        "CREATE TABLE t (a int, b text, c int);
         CREATE INDEX t_a_idx ON t (a);
         CREATE INDEX t_b_idx ON t (b);
         CREATE INDEX t_c_idx ON t (c);",
        "INSERT INTO t SELECT g, 'x', g FROM generate_series(1, 100) g;",
        "CREATE TABLE t (a int, b text, c int);
         CREATE INDEX t_a_idx ON t (a DESC NULLS LAST) WHERE a > 10;
         CREATE UNIQUE INDEX t_c_key ON t (c) INCLUDE (b);
         CREATE INDEX t_lower_b ON t (lower(b));",
        online(),
    )
    .await;
    assert!(
        s.iter().all(|x| !x.contains("INDEX")
            || x.contains("CONCURRENTLY")
            || x.starts_with("ALTER INDEX")),
        "{s:?}"
    );
}

#[tokio::test]
async fn views_created_changed_and_dropped_in_dependency_order() {
    case(
        "CREATE TABLE t (a int, b int);
         CREATE VIEW v1 AS SELECT a FROM t;
         CREATE VIEW v2 AS SELECT a FROM v1;
         CREATE VIEW gone AS SELECT b FROM t;",
        "INSERT INTO t VALUES (1, 2);",
        "CREATE TABLE t (a int, b int);
         CREATE VIEW v1 AS SELECT a, b FROM t;
         CREATE VIEW v2 AS SELECT a FROM v1;
         CREATE VIEW v3 WITH (security_barrier = true) AS SELECT b FROM v1;",
        online(),
    )
    .await;
}

#[tokio::test]
async fn enums_created_extended_and_dropped() {
    case(
        "CREATE TYPE a AS ENUM ('x', 'y'); CREATE TYPE gone AS ENUM ('z');
         CREATE TABLE t (v a);",
        "INSERT INTO t VALUES ('x'), ('y');",
        "CREATE TYPE a AS ENUM ('w', 'x', 'xy', 'y', 'z'); CREATE TYPE b AS ENUM ('q');
         CREATE TABLE t (v a, w b);",
        PlanOptions {
            allow_destructive: true,
            ..PlanOptions::default()
        },
    )
    .await;
}

#[tokio::test]
async fn sequences_created_changed_owned_and_dropped() {
    case(
        "CREATE SEQUENCE s1; CREATE SEQUENCE s2 INCREMENT BY 2; CREATE SEQUENCE gone;
         CREATE TABLE t (id int DEFAULT nextval('s1'));",
        "INSERT INTO t DEFAULT VALUES;",
        "CREATE SEQUENCE s1 AS integer MAXVALUE 1000 CYCLE; CREATE SEQUENCE s2;
         CREATE SEQUENCE s3 START 5 CACHE 20;
         CREATE TABLE t (id int DEFAULT nextval('s1'));
         ALTER SEQUENCE s3 OWNED BY t.id;",
        anything(),
    )
    .await;
}

/// A higher MINVALUE than a sequence's position is refused by PostgreSQL unless the sequence
/// moves. The plan moves it forward to the new minimum when it lies behind, never back: a
/// used sequence past the new minimum keeps its place, and no identity value comes twice.
#[tokio::test]
async fn a_raised_minimum_moves_a_sequence_forward_and_never_back() {
    let before = "CREATE SEQUENCE behind; CREATE SEQUENCE ahead;
         CREATE SEQUENCE fresh START -200 MINVALUE -200;
         CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY (START -200 MINVALUE -200), n int);";
    let after = "CREATE SEQUENCE behind MINVALUE 10; CREATE SEQUENCE ahead MINVALUE 10;
         CREATE SEQUENCE fresh START -100 MINVALUE -100;
         CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY (START -100 MINVALUE -100), n int);";
    let desired = declaration_of(after).await;
    let db = TestDb::new().await;
    db.execute(before).await;
    db.execute(
        "SELECT nextval('behind') FROM generate_series(1, 3);
         SELECT nextval('ahead') FROM generate_series(1, 50);
         INSERT INTO t (n) VALUES (1), (2);",
    )
    .await;
    let planned = common::converge(&db, &desired, &online()).await;
    assert!(
        planned
            .plan
            .steps()
            .iter()
            .any(|s| s.sql.contains("setval")),
        "{:#?}",
        planned.plan.steps()
    );
    let client = db.client().await;
    let next = |seq: &'static str| {
        let client = &client;
        async move {
            let v: i64 = client
                .query_one(&format!("SELECT nextval('{seq}')"), &[])
                .await
                .unwrap()
                .get(0);
            v
        }
    };
    assert_eq!(next("behind").await, 10, "moved up to the new minimum");
    assert_eq!(next("ahead").await, 51, "left where it was");
    assert_eq!(next("fresh").await, -100);
    client
        .execute("INSERT INTO t (n) VALUES (3)", &[])
        .await
        .unwrap();
    let ids: Vec<i32> = client
        .query("SELECT id FROM t ORDER BY n", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, [-200, -199, -100]);
}

#[tokio::test]
async fn serial_columns_and_their_sequences() {
    case(
        "CREATE TABLE t (n int);",
        "INSERT INTO t VALUES (1);",
        "CREATE TABLE t (n int, id serial, big bigserial);",
        anything(),
    )
    .await;
}

#[tokio::test]
async fn schemas_and_extensions_created_and_dropped() {
    case(
        "CREATE SCHEMA old; CREATE TABLE old.t (a int); CREATE EXTENSION citext;",
        "",
        "CREATE SCHEMA app; COMMENT ON SCHEMA app IS 'the app';
         CREATE EXTENSION hstore; CREATE TABLE app.t (a int, h hstore);",
        anything(),
    )
    .await;
}

#[tokio::test]
async fn comments_on_everything_set_changed_and_removed() {
    case(
        "CREATE TABLE t (a int CONSTRAINT t_a CHECK (a > 0)); CREATE INDEX t_i ON t (a);
         CREATE VIEW v AS SELECT a FROM t; CREATE TYPE e AS ENUM ('x'); CREATE SEQUENCE s;
         COMMENT ON TABLE t IS 'table'; COMMENT ON COLUMN t.a IS 'column';",
        "",
        "CREATE TABLE t (a int CONSTRAINT t_a CHECK (a > 0)); CREATE INDEX t_i ON t (a);
         CREATE VIEW v AS SELECT a FROM t; CREATE TYPE e AS ENUM ('x'); CREATE SEQUENCE s;
         COMMENT ON TABLE t IS 'the table'; COMMENT ON CONSTRAINT t_a ON t IS 'positive';
         COMMENT ON INDEX t_i IS 'by a'; COMMENT ON VIEW v IS 'view';
         COMMENT ON TYPE e IS 'enum'; COMMENT ON SEQUENCE s IS 'seq';
         COMMENT ON SCHEMA public IS 'mine';",
        online(),
    )
    .await;
}

#[tokio::test]
async fn unlogged_tables_and_collations() {
    case(
        "CREATE TABLE t (a text, b text COLLATE \"C\");",
        "INSERT INTO t VALUES ('x', 'y');",
        "CREATE UNLOGGED TABLE t (a text COLLATE \"C\", b text);",
        anything(),
    )
    .await;
}

#[tokio::test]
async fn a_view_reading_a_dropped_column_is_recreated_first() {
    case(
        "CREATE TABLE t (a int, b int); CREATE VIEW v AS SELECT a, b FROM t;",
        "INSERT INTO t VALUES (1, 2);",
        "CREATE TABLE t (a int); CREATE VIEW v AS SELECT a FROM t;",
        anything(),
    )
    .await;
}

#[tokio::test]
async fn a_column_moves_from_one_enum_to_another_through_text() {
    case(
        "CREATE TYPE e1 AS ENUM ('a', 'b'); CREATE TYPE e2 AS ENUM ('a', 'b', 'c');
         CREATE TABLE t (c e1 DEFAULT 'a');",
        "INSERT INTO t VALUES ('a'), ('b');",
        "CREATE TYPE e1 AS ENUM ('a', 'b'); CREATE TYPE e2 AS ENUM ('a', 'b', 'c');
         CREATE TABLE t (c e2 DEFAULT 'c');",
        anything(),
    )
    .await;
}

#[tokio::test]
async fn a_primary_key_goes_before_its_columns_lose_not_null() {
    case(
        "CREATE TABLE t (a int PRIMARY KEY, b int);",
        "INSERT INTO t VALUES (1, 1);",
        "CREATE TABLE t (a int, b int);",
        anything(),
    )
    .await;
}

#[tokio::test]
async fn a_key_changes_while_a_table_referencing_it_goes_away() {
    case(
        "CREATE TABLE users (id int PRIMARY KEY, user_id int NOT NULL);
         CREATE TABLE taggings (user_id int REFERENCES users (id));",
        "INSERT INTO users VALUES (1, 1); INSERT INTO taggings VALUES (1);",
        "CREATE TABLE users (id int NOT NULL, user_id int PRIMARY KEY);",
        anything(),
    )
    .await;
}

#[tokio::test]
async fn a_table_replaced_by_a_view_of_the_same_name_and_back() {
    case(
        "CREATE TABLE data (id int); CREATE VIEW q AS SELECT id FROM data;",
        "",
        "CREATE TABLE t_data (id int); CREATE VIEW data AS SELECT id FROM t_data;
         CREATE VIEW q AS SELECT id FROM data;",
        anything(),
    )
    .await;
    case(
        "CREATE TABLE t_data (id int); CREATE VIEW data AS SELECT id FROM t_data;",
        "",
        "CREATE TABLE data (id int);",
        anything(),
    )
    .await;
}

#[tokio::test]
async fn an_existing_column_becomes_generated_with_permission() {
    case(
        "CREATE TABLE t (a int, b int);",
        "INSERT INTO t VALUES (1, 5);",
        "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED);",
        anything(),
    )
    .await;
}

/// The target holding `before` and `rows`, and a plan (not applied) toward the dump of `after`.
async fn planned(
    before: &str,
    rows: &str,
    after: &str,
    options: &PlanOptions,
) -> (TestDb, formwork::plan::planner::Planned) {
    let desired = declaration_of(after).await;
    let db = TestDb::new().await;
    db.execute(before).await;
    if !rows.is_empty() {
        db.execute(rows).await;
    }
    let current = introspect(&db.client().await).await.unwrap();
    let planned = make_plan(&current, &desired, &scratch(), options)
        .await
        .unwrap_or_else(|e| panic!("planning failed: {e}"));
    (db, planned)
}

/// The valid indexes of table `t`, each as its definition without its name
/// (`INDEX ON public.t USING btree (a)`).
async fn index_definitions(client: &tokio_postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i \
             WHERE i.indrelid = 'public.t'::regclass AND i.indisvalid AND i.indisready",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let def: String = r.get(0);
            let unique = def.starts_with("CREATE UNIQUE");
            let on = def.split_once(" ON ").map_or(def.as_str(), |(_, on)| on);
            format!("{}INDEX ON {on}", if unique { "UNIQUE " } else { "" })
        })
        .collect()
}

#[tokio::test]
async fn a_changed_index_is_replaced_without_a_moment_with_neither_definition() {
    let before = "CREATE TABLE t (a int, b int, c int);
         CREATE INDEX t_a_idx ON t (a);
         COMMENT ON INDEX t_a_idx IS 'by a';";
    let rows = "INSERT INTO t SELECT g, g % 7, g FROM generate_series(1, 2000) g;";
    let after = "CREATE TABLE t (a int, b int, c int);
         CREATE INDEX t_a_idx ON t (a, b) WHERE c > 0;
         COMMENT ON INDEX t_a_idx IS 'by a, then b';";
    let (db, planned) = planned(before, rows, after, &online()).await;
    let plan = &planned.plan;
    let client = db.client().await;
    let old = "INDEX ON public.t USING btree (a)".to_string();
    let new = "INDEX ON public.t USING btree (a, b) WHERE (c > 0)".to_string();
    assert_eq!(index_definitions(&client).await, vec![old.clone()]);

    let sqls: Vec<&str> = plan.steps().iter().map(|s| s.sql.as_str()).collect();
    let temp = sqls[0]
        .split_whitespace()
        .nth(3)
        .unwrap()
        .split('.')
        .next_back()
        .unwrap()
        .trim_matches('"')
        .to_string();
    assert!(
        temp.starts_with("formwork_idx_") && temp.len() <= 63,
        "{sqls:?}"
    );
    assert!(
        sqls[0].starts_with("CREATE INDEX CONCURRENTLY")
            && sqls[1].starts_with("DROP INDEX CONCURRENTLY")
            && sqls[1].contains("\"t_a_idx\"")
            && sqls[2].starts_with("ALTER INDEX")
            && sqls[2].contains(&temp)
            && sqls[2].ends_with("RENAME TO \"t_a_idx\"")
            && sqls[3].starts_with("COMMENT ON INDEX"),
        "{sqls:?}"
    );
    // The rename is proven to take no lock on the table: reads and writes pass it.
    assert!(plan.steps()[2].locks.iter().all(|l| l.object.name != "t"));

    for (n, step) in plan.steps().iter().enumerate() {
        formwork::apply::run_step(&client, step, None)
            .await
            .unwrap_or_else(|e| panic!("step {} failed: {e}", n + 1));
        let defs = index_definitions(&client).await;
        assert!(
            defs.contains(&old) || defs.contains(&new),
            "after step {} ({}) neither definition exists: {defs:?}",
            n + 1,
            step.sql
        );
    }
    assert_eq!(index_definitions(&client).await, vec![new]);
    let now = introspect(&client).await.unwrap();
    assert_eq!(fingerprint(&now.model), plan.desired_fingerprint());
    let count: i64 = client
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 2000);
}

#[tokio::test]
async fn an_invalid_index_is_rebuilt_under_a_temporary_name_and_takes_its_place() {
    // A failed concurrent unique build leaves t_b_idx INVALID.
    let db = TestDb::new().await;
    db.execute("CREATE TABLE t (a int, b int); INSERT INTO t VALUES (1, 1), (2, 1);")
        .await;
    let client = db.client().await;
    assert!(
        client
            .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY t_b_idx ON t (b)")
            .await
            .is_err()
    );
    let desired =
        declaration_of("CREATE TABLE t (a int, b int); CREATE INDEX t_b_idx ON t (b);").await;
    let current = introspect(&client).await.unwrap();
    let planned = make_plan(&current, &desired, &scratch(), &online())
        .await
        .unwrap();
    let sqls: Vec<&str> = planned
        .plan
        .steps()
        .iter()
        .map(|s| s.sql.as_str())
        .collect();
    assert_eq!(sqls.len(), 3, "{sqls:?}");
    assert!(sqls[0].contains("formwork_idx_"), "{sqls:?}");
    formwork::apply::execute_steps(&client, &planned.plan)
        .await
        .unwrap();
    assert_eq!(
        index_definitions(&client).await,
        vec!["INDEX ON public.t USING btree (b)".to_string()]
    );
    let now = introspect(&client).await.unwrap();
    assert_eq!(fingerprint(&now.model), planned.plan.desired_fingerprint());
}

#[tokio::test]
async fn the_temporary_index_name_steps_around_an_index_of_that_name() {
    let before = "CREATE TABLE t (a int, b int); CREATE INDEX t_a_idx ON t (a);";
    let after = "CREATE TABLE t (a int, b int); CREATE INDEX t_a_idx ON t (a, b);";
    // A user index that happens to bear the temporary name, on both sides.
    let (temp, s) = with_temp_name_taken(before, after, "formwork_idx_", |temp| {
        format!("CREATE INDEX \"{temp}\" ON t (b);")
    })
    .await;
    assert!(
        s[0].contains("formwork_idx_") && !s[0].contains(&temp),
        "{s:?}"
    );
}

#[tokio::test]
async fn the_temporary_not_null_check_steps_around_a_constraint_of_that_name() {
    let before = "CREATE TABLE t (a int, b int);";
    let after = "CREATE TABLE t (a int NOT NULL, b int);";
    let (temp, s) = with_temp_name_taken(before, after, "formwork_notnull_", |temp| {
        format!("ALTER TABLE t ADD CONSTRAINT \"{temp}\" CHECK (b > 0);")
    })
    .await;
    assert!(
        s[0].contains("formwork_notnull_") && !s[0].contains(&temp),
        "{s:?}"
    );
    assert!(s.iter().any(|x| x.ends_with("SET NOT NULL")), "{s:?}");
}

/// The temporary name (starting with `prefix`) the plan from `before` to `after` uses, and the
/// SQL of the plan once a user object of that name (`taken(name)`) exists on both sides.
async fn with_temp_name_taken(
    before: &str,
    after: &str,
    prefix: &str,
    taken: impl Fn(&str) -> String,
) -> (String, Vec<String>) {
    let (_, first) = planned(before, "", after, &online()).await;
    let temp = first.plan.steps()[0]
        .sql
        .split('"')
        .find(|p| p.starts_with(prefix))
        .unwrap()
        .to_string();
    let taken = taken(&temp);
    let s = case(
        &format!("{before} {taken}"),
        "INSERT INTO t VALUES (1, 2);",
        &format!("{after} {taken}"),
        online(),
    )
    .await;
    (temp, s)
}

#[tokio::test]
async fn steps_that_block_traffic_wait_briefly_for_locks_and_online_ones_wait_long() {
    let before = "CREATE TABLE t (a int, b int); CREATE TABLE p (id int PRIMARY KEY);
         CREATE TABLE c (p int CONSTRAINT c_p_fkey REFERENCES p);";
    let after = "CREATE TABLE t (a int, b int, n text); CREATE INDEX t_a ON t (a);
         CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int);";
    let (_, default) = planned(before, "", after, &online()).await;
    let timeout_of = |plan: &formwork::plan::Plan, prefix: &str| {
        plan.steps()
            .iter()
            .find(|s| s.sql.starts_with(prefix))
            .unwrap_or_else(|| panic!("no step {prefix}"))
            .lock_timeout_ms
    };
    let short = formwork::plan::SHORT_LOCK_TIMEOUT_MS;
    let long = formwork::plan::NON_BLOCKING_LOCK_TIMEOUT_MS;
    assert_eq!(short, 100);
    assert_eq!(
        timeout_of(&default.plan, "ALTER TABLE \"public\".\"t\" ADD"),
        short
    );
    assert_eq!(
        timeout_of(&default.plan, "ALTER TABLE \"public\".\"c\" DROP"),
        short
    );
    assert_eq!(timeout_of(&default.plan, "CREATE INDEX CONCURRENTLY"), long);

    let (_, custom) = planned(
        before,
        "",
        after,
        &PlanOptions {
            lock_timeout_ms: Some(250),
            ..PlanOptions::default()
        },
    )
    .await;
    assert_eq!(
        timeout_of(&custom.plan, "ALTER TABLE \"public\".\"t\" ADD"),
        250
    );
    assert_eq!(timeout_of(&custom.plan, "CREATE INDEX CONCURRENTLY"), long);
    assert!(
        make_plan(
            &introspect(&TestDb::new().await.client().await)
                .await
                .unwrap(),
            &declaration_of(after).await,
            &scratch(),
            &PlanOptions {
                lock_timeout_ms: Some(0),
                ..PlanOptions::default()
            },
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn dropping_a_foreign_key_declares_and_takes_access_exclusive_on_the_referenced_table() {
    let (_, planned) = planned(
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int CONSTRAINT c_p_fkey REFERENCES p);",
        "",
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int);",
        &online(),
    )
    .await;
    let steps = planned.plan.steps();
    assert_eq!(steps.len(), 1);
    let step = &steps[0];
    let mode_on = |table: &str| {
        step.locks
            .iter()
            .find(|l| l.object.name == table)
            .map(|l| l.mode)
    };
    // The proof read these from pg_locks; the declared ones had to match them.
    assert_eq!(
        mode_on("p"),
        Some(formwork::plan::LockMode::AccessExclusive)
    );
    assert_eq!(
        mode_on("c"),
        Some(formwork::plan::LockMode::AccessExclusive)
    );
    assert!(
        step.description.contains("referenced table public.p"),
        "{}",
        step.description
    );
    assert_eq!(step.lock_timeout_ms, formwork::plan::SHORT_LOCK_TIMEOUT_MS);
}

#[tokio::test]
async fn a_primary_key_on_nullable_columns_proves_not_null_first_then_attaches_its_index() {
    let s = case(
        "CREATE TABLE t (a int, b int, n text);",
        "INSERT INTO t SELECT g, g, 'x' FROM generate_series(1, 500) g;",
        "CREATE TABLE t (a int, b int, n text, CONSTRAINT t_pkey PRIMARY KEY (a, b));",
        online(),
    )
    .await;
    let pos = |f: &dyn Fn(&str) -> bool| {
        s.iter()
            .position(|x| f(x))
            .unwrap_or_else(|| panic!("{s:?}"))
    };
    for col in ["\"a\"", "\"b\""] {
        let check = pos(&|x: &str| x.contains(&format!("CHECK ({col} IS NOT NULL) NOT VALID")));
        let validate = pos(&|x: &str| {
            x.contains("VALIDATE CONSTRAINT") && s[check].contains(x.split('"').nth(5).unwrap())
        });
        let set = pos(&|x: &str| x.ends_with(&format!("ALTER COLUMN {col} SET NOT NULL")));
        assert!(check < validate && validate < set, "{s:?}");
    }
    let build = pos(&|x: &str| x.starts_with("CREATE UNIQUE INDEX CONCURRENTLY"));
    let attach = pos(&|x: &str| x.contains("PRIMARY KEY USING INDEX"));
    let last_set = s.iter().rposition(|x| x.ends_with("SET NOT NULL")).unwrap();
    assert!(last_set < attach && build < attach, "{s:?}");
}

#[tokio::test]
async fn binary_coercible_type_changes_are_one_metadata_only_step() {
    let (_, planned) = planned(
        "CREATE TABLE t (a varchar(10), b varchar(10), c numeric(10, 2));",
        "INSERT INTO t VALUES ('x', 'y', 1.5);",
        "CREATE TABLE t (a varchar(20), b text, c numeric(12, 2));",
        &online(),
    )
    .await;
    let steps = planned.plan.steps();
    assert_eq!(
        steps.len(),
        3,
        "{:?}",
        steps.iter().map(|s| &s.sql).collect::<Vec<_>>()
    );
    for step in steps {
        assert!(
            step.sql.contains(" TYPE ") && !step.sql.contains("USING"),
            "{}",
            step.sql
        );
        assert!(
            step.rewrites.is_empty(),
            "{}: {:?}",
            step.sql,
            step.rewrites
        );
        assert!(
            step.description.contains("metadata only"),
            "{}",
            step.description
        );
    }
}

#[tokio::test]
async fn enum_values_are_added_in_declared_order_each_committed_before_use() {
    let s = case(
        "CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE TABLE t (m mood);",
        "INSERT INTO t VALUES ('sad'), ('happy');",
        "CREATE TYPE mood AS ENUM ('angry', 'sad', 'ok', 'happy', 'elated');
         CREATE TABLE t (m mood DEFAULT 'ok');",
        online(),
    )
    .await;
    let adds: Vec<&String> = s.iter().filter(|x| x.contains("ADD VALUE")).collect();
    assert_eq!(adds.len(), 3, "{s:?}");
    assert!(
        adds.iter()
            .all(|x| x.contains(" BEFORE ") || x.contains(" AFTER ")),
        "{s:?}"
    );
    let default = s.iter().position(|x| x.contains("SET DEFAULT")).unwrap();
    let last_add = s.iter().rposition(|x| x.contains("ADD VALUE")).unwrap();
    assert!(last_add < default, "{s:?}");
}

#[tokio::test]
async fn a_stored_generated_column_on_an_existing_table_is_a_rewrite_refused_without_permission() {
    let before = "CREATE TABLE t (a int, b int);";
    let rows = "INSERT INTO t SELECT g, g FROM generate_series(1, 100) g;";
    let after = "CREATE TABLE t (a int, b int, c int GENERATED ALWAYS AS (a * 2) STORED);";
    let desired = declaration_of(after).await;
    let db = TestDb::new().await;
    db.execute(before).await;
    db.execute(rows).await;
    let current = introspect(&db.client().await).await.unwrap();
    let refused = make_plan(&current, &desired, &scratch(), &online())
        .await
        .expect_err("a rewrite under ACCESS EXCLUSIVE is refused");
    let text = refused.to_string();
    assert!(
        text.contains("add-column-stored-generated")
            && text.contains("rewritten under ACCESS EXCLUSIVE")
            && text.contains("cannot make a column that was filled some other way generated")
            && text.contains("--allow-blocking"),
        "{text}"
    );

    let s = case(before, rows, after, anything()).await;
    assert_eq!(s.len(), 1, "{s:?}");
    let (_, planned) = planned(before, rows, after, &anything()).await;
    let step = &planned.plan.steps()[0];
    assert_eq!(
        step.rewrites,
        vec![formwork::model::QualifiedName::new("public", "t")]
    );
    assert!(
        step.locks
            .iter()
            .any(|l| l.object.name == "t" && l.mode == formwork::plan::LockMode::AccessExclusive)
    );
    assert!(
        step.hazards
            .iter()
            .any(|h| h.kind == formwork::plan::HazardKind::RewritesTable),
        "{:?}",
        step.hazards
    );
}

#[tokio::test]
async fn the_proof_reports_locks_and_rewrites_a_step_does_not_declare() {
    use formwork::catalog::fingerprint::{Fingerprint, UnitHashes};
    use formwork::model::QualifiedName;
    use formwork::plan::{LockMode, Phase, Step};

    let db = TestDb::new().await;
    db.execute("CREATE TABLE t (a int, b int); INSERT INTO t VALUES (1, 2);")
        .await;
    let current = introspect(&db.client().await).await.unwrap().model;
    let desired =
        declaration_of("CREATE TABLE t (a bigint, b int, c int); INSERT INTO t VALUES (1, 2, 3);")
            .await;
    let t = QualifiedName::new("public", "t");
    // Mislabelled on purpose: ADD COLUMN takes ACCESS EXCLUSIVE, not SHARE UPDATE EXCLUSIVE,
    // and the type change rewrites the table.
    let steps = vec![
        Step::new(
            "ALTER TABLE public.t ADD COLUMN c int",
            Phase::Expand,
            Fingerprint([0; 32]),
        )
        .lock(LockMode::ShareUpdateExclusive, t.clone()),
        Step::new(
            "ALTER TABLE public.t ALTER COLUMN a TYPE bigint",
            Phase::Expand,
            Fingerprint([0; 32]),
        )
        .lock(LockMode::AccessExclusive, t.clone()),
    ];
    let proof = formwork::plan::prove::prove(
        &current,
        &UnitHashes::of(&current),
        &desired,
        &UnitHashes::of(&desired),
        &steps,
        &scratch(),
        &formwork::plan::planner::Progress::default(),
    )
    .await
    .unwrap();
    let first = proof.steps[0].lock_mismatch.as_ref().expect("a mismatch");
    assert_eq!(first.declared[0].mode, LockMode::ShareUpdateExclusive);
    assert_eq!(first.observed[0].mode, LockMode::AccessExclusive);
    assert_eq!(first.observed[0].object, t);
    assert!(proof.steps[0].rewrites.is_empty());
    // The second step declares its lock right; its rewrite is observed (the planner refuses
    // it because the step does not declare it).
    assert!(proof.steps[1].lock_mismatch.is_none());
    assert_eq!(proof.steps[1].rewrites, vec![t]);
}
