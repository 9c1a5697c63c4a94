//! Materialized views through the whole pipeline on real PostgreSQL: declaration, introspection,
//! dump and import, and plans for every kind of change (create, query change with a view
//! reading it, index added, changed and dropped, storage options, rename, populated or not,
//! drop) and for refreshing. Each plan is applied and must converge (declared fingerprint,
//! empty re-plan) with the rows of the tables intact; a query change must keep the old
//! materialized view readable until the swap.

mod common;

use common::{TestDb, catalog, declared, scratch};
use formwork::catalog::fingerprint::fingerprint;
use formwork::model::QualifiedName;
use formwork::plan::planner::{PlanOptions, Planned, PlannerError, make_plan};

const BASE_SQL: &str = "
CREATE TABLE sales (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day date NOT NULL,
    amount integer NOT NULL
);
INSERT INTO sales (day, amount) VALUES
    ('2024-01-01', 10), ('2024-01-01', 5), ('2024-01-02', 7), ('2024-01-03', 1);
CREATE MATERIALIZED VIEW daily_totals AS
    SELECT day, sum(amount) AS total FROM sales GROUP BY day;
CREATE UNIQUE INDEX daily_totals_day ON daily_totals (day);
CREATE VIEW big_days AS SELECT day FROM daily_totals WHERE total > 6;
";

const SALES: &str = r#"
    table "sales" {
        column "id" "bigint" identity="always"
        column "day" "date"
        column "amount" "integer"
        primary-key "id"
    }"#;

const QUERY: &str = "SELECT day, sum(amount) AS total FROM sales GROUP BY day";

fn kdl(matview: &str, rest: &str) -> String {
    format!("schema \"public\" {{{SALES}\n{matview}\n{rest}\n}}\n")
}

fn base_kdl() -> String {
    kdl(
        &format!(
            r#"    materialized-view "daily_totals" "{QUERY}" {{
        index "daily_totals_day" "day" unique=#true
    }}"#
        ),
        r#"    view "big_days" "SELECT day FROM daily_totals WHERE total > 6""#,
    )
}

async fn base() -> TestDb {
    let db = TestDb::new().await;
    db.execute(BASE_SQL).await;
    db
}

async fn scalar(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

/// Plan, apply, converge; the sales rows survive and materialized views are managed.
async fn converge_with(db: &TestDb, kdl: &str, options: PlanOptions) -> Planned {
    let rows = scalar(db, "SELECT count(*) FROM sales").await;
    let planned = common::converge(db, &common::declared(kdl), &options).await;
    assert_eq!(scalar(db, "SELECT count(*) FROM sales").await, rows);
    let after = catalog(db).await;
    assert!(
        !after
            .unmanaged
            .iter()
            .any(|u| u.kind == formwork::model::ObjectKind::MaterializedView),
        "{:?}",
        after.unmanaged
    );
    planned
}

async fn converge(db: &TestDb, kdl: &str) -> Planned {
    converge_with(db, kdl, PlanOptions::default()).await
}

/// Plan with a refresh and apply; a plan without the refresh is then empty (refreshing is
/// not a schema change), and the fingerprint did not move.
async fn refreshed(db: &TestDb, kdl: &str, options: PlanOptions) -> Planned {
    let before = catalog(db).await;
    let planned = make_plan(&before, &declared(kdl), &scratch(), &options)
        .await
        .unwrap_or_else(|e| panic!("planning failed: {e}"));
    formwork::apply::execute_steps(&db.client().await, &planned.plan)
        .await
        .unwrap_or_else(|e| panic!("applying failed: {e}"));
    assert_eq!(
        fingerprint(&catalog(db).await.model),
        fingerprint(&before.model)
    );
    let again = converge(db, kdl).await;
    assert!(again.plan.steps().is_empty(), "{:?}", sqls(&again));
    planned
}

fn sqls(p: &Planned) -> Vec<String> {
    p.plan.steps().iter().map(|s| s.sql.clone()).collect()
}

#[tokio::test]
async fn an_existing_materialized_view_with_its_index_and_a_view_reading_it_plans_nothing() {
    let db = base().await;
    let read = catalog(&db).await;
    let m = &read.model.schemas["public"].materialized_views["daily_totals"];
    assert!(m.populated);
    assert!(m.indexes["daily_totals_day"].unique);
    assert!(m.concurrent_refresh_index().is_some());
    let planned = make_plan(
        &read,
        &declared(&base_kdl()),
        &scratch(),
        &PlanOptions::default(),
    )
    .await
    .unwrap();
    assert!(planned.plan.steps().is_empty(), "{:?}", sqls(&planned));
}

/// PostgreSQL refuses to change the type of a column a materialized view reads (and the online
/// retype's contract could not drop the old column under it). The plan drops the view reading
/// it and the materialized view, changes the column, and creates both again (with the index),
/// in that order; the rows are computed again from the retyped column.
#[tokio::test]
async fn a_column_retyped_under_a_materialized_view_recreates_it_and_its_readers_around_the_change()
{
    let db = base().await;
    let retyped = base_kdl().replace(
        r#"column "amount" "integer""#,
        r#"column "amount" "bigint""#,
    );
    let planned = converge_with(
        &db,
        &retyped,
        PlanOptions {
            allow_blocking: true,
            ..PlanOptions::default()
        },
    )
    .await;
    let s = sqls(&planned);
    let pos = |needle: &str| {
        s.iter()
            .position(|x| x.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in {s:#?}"))
    };
    assert!(pos("DROP VIEW \"public\".\"big_days\"") < pos("DROP MATERIALIZED VIEW"));
    // The retype is the online one: a shadow column swapped in by renames.
    let swap = "RENAME COLUMN \"amount\" TO";
    assert!(pos("DROP MATERIALIZED VIEW") < pos(swap));
    assert!(pos(swap) < pos("CREATE MATERIALIZED VIEW"));
    assert!(pos("CREATE MATERIALIZED VIEW") < pos("CREATE UNIQUE INDEX"));
    assert!(pos("CREATE MATERIALIZED VIEW") < pos("CREATE VIEW \"public\".\"big_days\""));
    assert_eq!(scalar(&db, "SELECT count(*) FROM big_days").await, 2);
    assert_eq!(
        scalar(
            &db,
            "SELECT total::bigint FROM daily_totals WHERE day = '2024-01-01'"
        )
        .await,
        15
    );
}

#[tokio::test]
async fn a_new_materialized_view_is_created_with_data_indexes_and_the_views_reading_it() {
    let db = TestDb::new().await;
    db.execute(
        "CREATE TABLE sales (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, day date NOT NULL, amount integer NOT NULL);
         INSERT INTO sales (day, amount) VALUES ('2024-01-01', 10), ('2024-01-02', 7);",
    )
    .await;
    let planned = converge(&db, &base_kdl()).await;
    let s = sqls(&planned);
    let pos = |needle: &str| s.iter().position(|x| x.contains(needle)).unwrap();
    assert!(pos("CREATE MATERIALIZED VIEW") < pos("CREATE UNIQUE INDEX"));
    assert!(pos("CREATE MATERIALIZED VIEW") < pos("CREATE VIEW"));
    assert_eq!(scalar(&db, "SELECT count(*) FROM daily_totals").await, 2);
    assert_eq!(scalar(&db, "SELECT count(*) FROM big_days").await, 2);
}

#[tokio::test]
async fn a_changed_query_is_built_beside_the_old_one_and_swapped_with_its_readers() {
    let db = base().await;
    let new_query = "SELECT day, sum(amount) AS total, count(*) AS n FROM sales GROUP BY day";
    let desired = kdl(
        &format!(
            r#"    materialized-view "daily_totals" "{new_query}" comment="per day" {{
        index "daily_totals_day" "day" unique=#true
    }}"#
        ),
        r#"    view "big_days" "SELECT day FROM daily_totals WHERE total > 6" comment="busy""#,
    );
    let scratch = scratch();
    let planned = make_plan(
        &catalog(&db).await,
        &declared(&desired),
        &scratch,
        &PlanOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let steps = planned.plan.steps();
    assert!(
        steps[0]
            .sql
            .contains("CREATE MATERIALIZED VIEW \"public\".\"formwork_mv_")
    );
    let swap = steps
        .iter()
        .position(|s| s.sql.contains("DROP MATERIALIZED VIEW"))
        .expect("a swap step");
    assert!(
        steps[swap]
            .sql
            .contains("DROP VIEW \"public\".\"big_days\"")
    );
    assert!(
        steps[swap]
            .sql
            .contains("CREATE VIEW \"public\".\"big_days\"")
    );
    assert!(steps[swap].transactional);
    // The swap takes ACCESS EXCLUSIVE: it must give up quickly rather than queue readers.
    assert!(
        steps[swap].lock_timeout_ms <= 1000,
        "{}",
        steps[swap].lock_timeout_ms
    );
    // Step by step: until the swap, the old materialized view (and the view reading it)
    // serves the old rows, the new one exists beside it.
    let client = db.client().await;
    for (i, step) in steps.iter().enumerate() {
        if i == swap {
            assert_eq!(scalar(&db, "SELECT count(*) FROM daily_totals").await, 3);
            assert_eq!(scalar(&db, "SELECT count(*) FROM big_days").await, 2);
            let old_columns = scalar(
                &db,
                "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.daily_totals'::regclass AND attnum > 0",
            )
            .await;
            assert_eq!(old_columns, 2, "the old definition is still in place");
        }
        formwork::apply::run_step(&client, step, None)
            .await
            .unwrap_or_else(|e| panic!("step {} failed: {e}\n{}", i + 1, step.sql));
    }
    let after = catalog(&db).await;
    assert_eq!(
        fingerprint(&after.model),
        planned.plan.desired_fingerprint()
    );
    assert_eq!(
        scalar(&db, "SELECT sum(n)::bigint FROM daily_totals").await,
        4,
        "the new definition is in place and populated"
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM big_days").await, 2);
    assert!(
        !after.model.schemas["public"]
            .materialized_views
            .keys()
            .any(|k| k.starts_with("formwork_")),
        "no transitional object is left"
    );
    let again = make_plan(
        &after,
        &declared(&desired),
        &scratch,
        &PlanOptions::default(),
    )
    .await
    .unwrap();
    assert!(again.plan.steps().is_empty(), "{:?}", sqls(&again));
}

#[tokio::test]
async fn indexes_of_a_materialized_view_are_built_and_dropped_concurrently() {
    let db = base().await;
    let with_indexes = |indexes: &str| {
        kdl(
            &format!(
                r#"    materialized-view "daily_totals" "{QUERY}" {{
        {indexes}
    }}"#
            ),
            r#"    view "big_days" "SELECT day FROM daily_totals WHERE total > 6""#,
        )
    };
    let planned = converge(
        &db,
        &with_indexes(
            r#"index "daily_totals_day" "day" unique=#true
        index "daily_totals_total" "total" comment="by total""#,
        ),
    )
    .await;
    assert!(
        sqls(&planned)[0].starts_with("CREATE INDEX CONCURRENTLY"),
        "{:?}",
        sqls(&planned)
    );
    // Changed: rebuilt under a temporary name, swapped in.
    let planned = converge(
        &db,
        &with_indexes(
            r#"index "daily_totals_day" "day" unique=#true
        index "daily_totals_total" "total" where="total > 0" comment="by total""#,
        ),
    )
    .await;
    assert!(sqls(&planned).iter().any(|s| s.contains("formwork_idx_")));
    // Renamed.
    let planned = converge(
        &db,
        &with_indexes(
            r#"index "daily_totals_day" "day" unique=#true
        index "daily_totals_by_total" "total" where="total > 0" renamed-from="daily_totals_total" comment="by total""#,
        ),
    )
    .await;
    assert!(
        sqls(&planned)[0].starts_with("ALTER INDEX"),
        "{:?}",
        sqls(&planned)
    );
    // Dropped.
    let planned = converge(
        &db,
        &with_indexes(r#"index "daily_totals_day" "day" unique=#true"#),
    )
    .await;
    assert_eq!(
        sqls(&planned),
        vec![r#"DROP INDEX CONCURRENTLY "public"."daily_totals_by_total""#]
    );
}

#[tokio::test]
async fn storage_options_comment_rename_and_drop_converge() {
    let db = base().await;
    let mv = |head: &str| {
        kdl(
            &format!(
                r#"    materialized-view {head} {{
        index "daily_totals_day" "day" unique=#true
        option "fillfactor" "70"
        option "autovacuum_enabled" "false"
    }}"#
            ),
            "",
        )
    };
    // The view reading it goes (contract); options are set in place.
    let planned = converge_with(
        &db,
        &mv(&format!(r#""daily_totals" "{QUERY}" comment="per day""#)),
        PlanOptions {
            allow_destructive: true,
            ..PlanOptions::default()
        },
    )
    .await;
    assert!(
        sqls(&planned).iter().any(|s| s.contains("SET (")),
        "{:?}",
        sqls(&planned)
    );
    let planned = converge(
        &db,
        &kdl(
            &format!(
                r#"    materialized-view "daily_totals" "{QUERY}" comment="per day" {{
        index "daily_totals_day" "day" unique=#true
        option "fillfactor" "70"
    }}"#
            ),
            "",
        ),
    )
    .await;
    assert!(sqls(&planned)[0].contains("RESET (\"autovacuum_enabled\")"));
    let planned = converge(
        &db,
        &kdl(
            &format!(
                r#"    materialized-view "totals_by_day" "{QUERY}" renamed-from="daily_totals" {{
        index "daily_totals_day" "day" unique=#true
        option "fillfactor" "70"
    }}"#
            ),
            "",
        ),
    )
    .await;
    assert!(
        sqls(&planned)[0].starts_with("ALTER MATERIALIZED VIEW"),
        "{:?}",
        sqls(&planned)
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM totals_by_day").await, 3);
    let planned = converge(&db, &kdl("", "")).await;
    assert_eq!(
        sqls(&planned),
        vec![r#"DROP MATERIALIZED VIEW "public"."totals_by_day""#]
    );
}

#[tokio::test]
async fn refresh_is_concurrent_with_a_unique_index_and_refused_as_blocking_without_one() {
    let db = base().await;
    db.execute("INSERT INTO sales (day, amount) VALUES ('2024-01-04', 3)")
        .await;
    let refresh = PlanOptions {
        refresh: vec![QualifiedName::new("public", "daily_totals")],
        ..PlanOptions::default()
    };
    let planned = refreshed(&db, &base_kdl(), refresh.clone()).await;
    assert_eq!(
        sqls(&planned),
        vec![r#"REFRESH MATERIALIZED VIEW CONCURRENTLY "public"."daily_totals""#]
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM daily_totals").await, 4);

    // Without a usable unique index: the blocking form, which the gate refuses...
    let no_unique = kdl(
        &format!(
            r#"    materialized-view "daily_totals" "{QUERY}" {{
        index "daily_totals_day" "day" unique=#true where="total > 0"
    }}"#
        ),
        r#"    view "big_days" "SELECT day FROM daily_totals WHERE total > 6""#,
    );
    converge(&db, &no_unique).await;
    db.execute("INSERT INTO sales (day, amount) VALUES ('2024-01-05', 3)")
        .await;
    let Err(err) = make_plan(
        &catalog(&db).await,
        &declared(&no_unique),
        &scratch(),
        &refresh,
    )
    .await
    else {
        panic!("the blocking refresh is refused");
    };
    assert!(matches!(err, PlannerError::Gate { .. }), "{err}");
    assert!(
        format!("{err:?}").contains("refresh-matview-blocking"),
        "{err:?}"
    );
    // ...unless blocking steps are accepted.
    let planned = refreshed(
        &db,
        &no_unique,
        PlanOptions {
            allow_blocking: true,
            ..refresh
        },
    )
    .await;
    assert_eq!(
        sqls(&planned),
        vec![r#"REFRESH MATERIALIZED VIEW "public"."daily_totals""#]
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM daily_totals").await, 5);
}

#[tokio::test]
async fn with_no_data_is_declared_and_populating_it_is_a_refresh() {
    let db = TestDb::new().await;
    db.execute("CREATE TABLE sales (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, day date NOT NULL, amount integer NOT NULL);
                INSERT INTO sales (day, amount) VALUES ('2024-01-01', 1);")
        .await;
    let empty = kdl(
        &format!(r#"    materialized-view "daily_totals" "{QUERY}" with-data=#false"#),
        "",
    );
    let planned = converge(&db, &empty).await;
    assert!(sqls(&planned)[0].ends_with("WITH NO DATA"));
    let populated: bool = db
        .client()
        .await
        .query_one(
            "SELECT relispopulated FROM pg_class WHERE relname = 'daily_totals'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!populated);
    let planned = converge_with(
        &db,
        &kdl(
            &format!(r#"    materialized-view "daily_totals" "{QUERY}""#),
            "",
        ),
        PlanOptions {
            allow_blocking: true,
            ..PlanOptions::default()
        },
    )
    .await;
    assert_eq!(
        sqls(&planned),
        vec![r#"REFRESH MATERIALIZED VIEW "public"."daily_totals""#]
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM daily_totals").await, 1);
}

#[tokio::test]
async fn materialized_views_are_dumped_loaded_and_imported_unchanged() {
    let db = base().await;
    db.execute(
        "ALTER MATERIALIZED VIEW daily_totals SET (fillfactor = 80);
         COMMENT ON MATERIALIZED VIEW daily_totals IS 'per day';
         CREATE INDEX daily_totals_total ON daily_totals (total DESC) WHERE total > 1;
         CREATE MATERIALIZED VIEW later AS SELECT day FROM big_days WITH NO DATA;",
    )
    .await;
    let read = catalog(&db).await;
    let files = formwork::kdl::write::model_to_files(&read.model);
    let text = formwork::ops::dump::concatenate(&files);
    assert!(text.contains("materialized-view \"later\""), "{text}");
    assert!(text.contains("with-data=#false"), "{text}");
    let loaded = declared(&text);
    assert_eq!(loaded, read.model);
    assert_eq!(fingerprint(&loaded), fingerprint(&read.model));
    let planned = make_plan(&read, &loaded, &scratch(), &PlanOptions::default())
        .await
        .unwrap();
    assert!(planned.plan.steps().is_empty(), "{:?}", sqls(&planned));
    // From nothing, in dependency order: a materialized view reading a view reading one.
    let fresh = TestDb::new().await;
    fresh
        .execute("CREATE TABLE sales (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, day date NOT NULL, amount integer NOT NULL)")
        .await;
    common::converge(&fresh, &common::declared(&text), &PlanOptions::default()).await;

    let imported = common::import_sql(format!(
        "{BASE_SQL}
             ALTER MATERIALIZED VIEW daily_totals SET (fillfactor = 80);
             COMMENT ON MATERIALIZED VIEW daily_totals IS 'per day';
             CREATE INDEX daily_totals_total ON daily_totals (total DESC) WHERE total > 1;
             CREATE MATERIALIZED VIEW later AS SELECT day FROM big_days WITH NO DATA;"
    ))
    .await;
    assert_eq!(imported.model, read.model);
    assert_eq!(imported.files, files);
}

#[tokio::test]
async fn a_rebuild_interrupted_before_the_swap_is_cleaned_up_and_done_again() {
    let db = base().await;
    let new_query = "SELECT day, max(amount) AS total FROM sales GROUP BY day";
    let desired = kdl(
        &format!(
            r#"    materialized-view "daily_totals" "{new_query}" {{
        index "daily_totals_day" "day" unique=#true
    }}"#
        ),
        r#"    view "big_days" "SELECT day FROM daily_totals WHERE total > 6""#,
    );
    let planned = make_plan(
        &catalog(&db).await,
        &declared(&desired),
        &scratch(),
        &PlanOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // Interrupted after building the new definition and its index.
    let client = db.client().await;
    for step in planned.plan.steps().iter().take(2) {
        formwork::apply::run_step(&client, step, None)
            .await
            .unwrap();
    }
    let current = catalog(&db).await;
    let found = formwork::diff::transitional::find(&current.model, &declared(&desired));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].name.starts_with("formwork_mv_"));
    assert_eq!(found[0].table, QualifiedName::new("public", "daily_totals"));
    let planned = converge(&db, &desired).await;
    let s = sqls(&planned);
    assert!(
        s[0].starts_with("DROP MATERIALIZED VIEW \"public\".\"formwork_mv_"),
        "{s:?}"
    );
    assert_eq!(
        scalar(&db, "SELECT sum(total)::bigint FROM daily_totals").await,
        18
    );
}

#[tokio::test]
async fn a_view_and_a_materialized_view_can_take_each_others_name() {
    let db = base().await;
    // big_days becomes a materialized view (its old view is dropped before it is created)...
    let swapped = kdl(
        &format!(
            r#"    materialized-view "big_days" "SELECT day FROM daily_totals WHERE total > 6"
    materialized-view "daily_totals" "{QUERY}" {{
        index "daily_totals_day" "day" unique=#true
    }}"#
        ),
        "",
    );
    let planned = converge(&db, &swapped).await;
    assert!(
        sqls(&planned)[0].starts_with("DROP VIEW"),
        "{:?}",
        sqls(&planned)
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM big_days").await, 2);
    // ...and back.
    converge(&db, &base_kdl()).await;
    assert_eq!(scalar(&db, "SELECT count(*) FROM big_days").await, 2);
}
