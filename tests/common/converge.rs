//! The convergence contract as one call: plan a test database toward a declaration, apply the
//! proven steps, and check that the database has the declared fingerprint and that planning
//! again finds nothing to do.

#![allow(dead_code)]

use formwork::catalog::fingerprint::fingerprint;
use formwork::plan::planner::{PlanOptions, Planned, make_plan};

use super::{TestDb, catalog, declared, scratch};

/// Plan `db` toward `kdl` (destructive changes allowed), apply, check convergence; returns
/// the SQL of the plan's steps.
pub async fn converge(db: &TestDb, kdl: &str) -> Vec<String> {
    let options = PlanOptions {
        allow_destructive: true,
        allow_blocking: true,
        ..PlanOptions::default()
    };
    let planned = plan_with(db, kdl, &options)
        .await
        .unwrap_or_else(|e| panic!("planning failed: {e}"));
    apply_and_check(db, kdl, &planned, &options).await
}

/// Only plan.
pub async fn plan_with(
    db: &TestDb,
    kdl: &str,
    options: &PlanOptions,
) -> Result<Planned, formwork::plan::planner::PlannerError> {
    make_plan(&catalog(db).await, &declared(kdl), &scratch(), options).await
}

async fn apply_and_check(
    db: &TestDb,
    kdl: &str,
    planned: &Planned,
    options: &PlanOptions,
) -> Vec<String> {
    let sql: Vec<String> = planned.plan.steps().iter().map(|s| s.sql.clone()).collect();
    formwork::apply::execute_steps(&db.client().await, &planned.plan)
        .await
        .unwrap_or_else(|e| panic!("applying failed: {e}\n{}", sql.join(";\n")));
    let after = catalog(db).await;
    assert_eq!(
        fingerprint(&after.model),
        planned.plan.desired_fingerprint(),
        "the database does not have the declared fingerprint after the plan:\n{}",
        sql.join(";\n")
    );
    let again = make_plan(&after, &declared(kdl), &scratch(), options)
        .await
        .unwrap_or_else(|e| panic!("planning again failed: {e}"));
    let again_sql: Vec<&String> = again.plan.steps().iter().map(|s| &s.sql).collect();
    assert!(
        again_sql.is_empty(),
        "a second plan is not empty: {again_sql:?}\nafter the first:\n{}",
        sql.join(";\n")
    );
    sql
}
