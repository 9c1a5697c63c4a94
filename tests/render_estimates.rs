//! Table size estimates for plans, read from a real catalog: what ANALYZE recorded, -1 for a
//! table never analyzed, and nothing for names that are not tables.

mod common;

use formwork::catalog::estimates::estimates;
use formwork::model::QualifiedName;

#[tokio::test]
async fn analyzed_tables_report_their_rows_and_pages_and_unknown_names_are_absent() {
    let db = common::TestDb::new().await;
    db.execute(
        "CREATE SCHEMA \"odd|schema\";
         CREATE TABLE \"odd|schema\".\"big <table>\" (id int PRIMARY KEY, payload text);
         INSERT INTO \"odd|schema\".\"big <table>\"
             SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
         ANALYZE \"odd|schema\".\"big <table>\";
         CREATE TABLE public.fresh (id int);
         INSERT INTO public.fresh VALUES (1), (2);
         CREATE VIEW public.a_view AS SELECT 1 AS one;",
    )
    .await;
    let client = db.client().await;
    let big = QualifiedName::new("odd|schema", "big <table>");
    let fresh = QualifiedName::new("public", "fresh");
    let wanted = vec![
        fresh.clone(),
        QualifiedName::new("public", "missing"),
        QualifiedName::new("public", "a_view"),
        big.clone(),
        big.clone(),
    ];
    let found = estimates(&client, &wanted)
        .await
        .expect("estimates query runs");

    let tables: Vec<&QualifiedName> = found.iter().map(|e| &e.table).collect();
    assert_eq!(
        tables,
        vec![&big, &fresh],
        "sorted, each table once, nothing else"
    );

    let big_estimate = &found[0];
    // ANALYZE of a 20,000-row table samples it whole: the estimate is exact or very near.
    assert!(
        (19_000..=21_000).contains(&big_estimate.rows),
        "{big_estimate:?}"
    );
    // 20,000 rows of ~230 bytes need well over 300 pages of 8 kB.
    assert!(big_estimate.pages > 300, "{big_estimate:?}");

    assert_eq!(found[1].rows, -1, "never analyzed: unknown, not zero");
}

#[tokio::test]
async fn no_tables_asked_means_no_estimates() {
    let db = common::TestDb::new().await;
    let client = db.client().await;
    assert_eq!(estimates(&client, &[]).await.expect("query runs"), vec![]);
}
