//! Domains, composite types and range types through the whole pipeline on real PostgreSQL:
//! for each kind and each kind of change, plan a database with rows toward a declaration,
//! apply, and check that re-planning finds nothing, the fingerprints are equal and the rows
//! survived; dump and load round trips; import from SQL; the unmanaged listing.

mod common;

use common::{TestDb, catalog, declared, scratch};
use formwork::catalog::fingerprint::fingerprint;
use formwork::model::ObjectKind;
use formwork::plan::planner::{PlanOptions, Planned, make_plan};

fn blocking() -> PlanOptions {
    PlanOptions {
        allow_blocking: true,
        ..PlanOptions::default()
    }
}

fn sqls(p: &Planned) -> Vec<String> {
    p.plan.steps().iter().map(|s| s.sql.clone()).collect()
}

async fn rows(db: &TestDb, sql: &str) -> Vec<String> {
    db.client()
        .await
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

/// Plan `db` toward `kdl`, apply, and check convergence. Returns the plan.
async fn converge(db: &TestDb, kdl: &str, options: PlanOptions) -> Planned {
    let desired = declared(kdl);
    let scratch = scratch();
    let before = catalog(db).await;
    let planned = make_plan(&before, &desired, &scratch, &options)
        .await
        .unwrap_or_else(|e| panic!("planning failed: {e:?}"));
    formwork::apply::execute_steps(&db.client().await, &planned.plan)
        .await
        .unwrap_or_else(|e| panic!("applying failed: {e}"));
    let after = catalog(db).await;
    assert_eq!(
        fingerprint(&after.model),
        planned.plan.desired_fingerprint(),
        "the database does not have the declared fingerprint after:\n{}",
        sqls(&planned).join("\n")
    );
    let again = make_plan(&after, &desired, &scratch, &options)
        .await
        .unwrap_or_else(|e| panic!("planning again failed: {e:?}"));
    assert!(
        again.plan.steps().is_empty(),
        "a second plan is not empty: {:?}",
        sqls(&again)
    );
    planned
}

const TYPES_KDL: &str = r#"
schema "public" {
    enum "mood" "sad" "ok"
    domain "email" "text" not-null=#true default="'nobody@example.com'" comment="an address" {
        check "has_at" "VALUE ~ '@'"
    }
    domain "work_email" "email" {
        check "not_free" "VALUE !~ 'free'"
    }
    domain "code" "text" collation="C"
    composite "address" comment="postal" {
        attribute "street" "text"
        attribute "city" "text" collation="C"
        attribute "mail" "email"
    }
    range "floatrange" subtype="float8" subtype-diff="float8mi"
    range "moodrange" subtype="mood" multirange="moodranges"
    table "people" {
        column "id" "bigint" identity="always"
        column "email" "email"
        column "work" "work_email" nullable=#true
        column "home" "address" nullable=#true
        column "span" "floatrange" nullable=#true
        column "codes" "code[]" nullable=#true
        primary-key "id"
    }
}
"#;

#[tokio::test]
async fn domains_composites_and_ranges_converge_from_nothing_and_round_trip_through_dump() {
    let db = TestDb::new().await;
    let planned = converge(&db, TYPES_KDL, PlanOptions::default()).await;
    let s = sqls(&planned);
    let pos = |needle: &str| {
        s.iter()
            .position(|x| x.contains(needle))
            .unwrap_or_else(|| panic!("no step with {needle}: {s:#?}"))
    };
    // Types a type is built on come first, tables last.
    assert!(
        pos("CREATE DOMAIN \"public\".\"email\"") < pos("CREATE DOMAIN \"public\".\"work_email\"")
    );
    assert!(pos("CREATE DOMAIN \"public\".\"email\"") < pos("CREATE TYPE \"public\".\"address\""));
    assert!(pos("CREATE TYPE \"public\".\"address\"") < pos("CREATE TABLE"));
    db.execute(
        "INSERT INTO people (email, home, span) \
         VALUES (DEFAULT, ROW('Main St', 'Springfield', 'a@b'), '[1.5,2.5)')",
    )
    .await;

    // Dump: the files load back to the same fingerprint.
    let read = catalog(&db).await;
    assert!(
        read.unmanaged.iter().all(|u| !matches!(
            u.kind,
            ObjectKind::Domain | ObjectKind::CompositeType | ObjectKind::RangeType
        )),
        "{:?}",
        read.unmanaged
    );
    let files = formwork::kdl::write::model_to_files(&read.model);
    let text: String = files.iter().map(|(_, t)| t.clone()).collect();
    assert!(
        text.contains(r#"domain "email" "text" not-null=#true"#),
        "{text}"
    );
    assert!(text.contains(r#"composite "address""#), "{text}");
    assert!(text.contains(r#"multirange="moodranges""#), "{text}");
    let sources: Vec<formwork::kdl::diag::SourceFile> = files
        .iter()
        .map(|(p, t)| formwork::kdl::diag::SourceFile::new(p.display().to_string(), t.clone()))
        .collect();
    let loaded = formwork::kdl::load::load_sources(&sources).unwrap();
    let again = make_plan(&read, &loaded, &scratch(), &PlanOptions::default())
        .await
        .unwrap();
    assert!(again.plan.steps().is_empty(), "{:?}", sqls(&again));
    let n = rows(&db, "SELECT (home).city FROM people").await;
    assert_eq!(n, vec!["Springfield".to_string()]);
}

const DOMAIN_SQL: &str = "
CREATE DOMAIN amount AS integer DEFAULT 1 CONSTRAINT positive CHECK (VALUE > 0);
CREATE DOMAIN label AS text;
CREATE TABLE items (id int PRIMARY KEY, qty amount, tag label);
INSERT INTO items VALUES (1, 5, 'a'), (2, 7, 'b');
";

const DOMAIN_KDL: &str = r#"
schema "public" {
    domain "amount" "integer" default="1" {
        check "positive" "VALUE > 0"
    }
    domain "label" "text"
    table "items" {
        column "id" "integer"
        column "qty" "amount" nullable=#true
        column "tag" "label" nullable=#true
        primary-key "id"
    }
}
"#;

async fn domain_db() -> TestDb {
    let db = TestDb::new().await;
    db.execute(DOMAIN_SQL).await;
    db
}

async fn items(db: &TestDb) -> Vec<String> {
    rows(
        db,
        "SELECT id::text || ':' || qty::text || ':' || tag::text FROM items ORDER BY id",
    )
    .await
}

#[tokio::test]
async fn a_declaration_equal_to_a_database_with_domains_plans_nothing() {
    let db = domain_db().await;
    let planned = make_plan(
        &catalog(&db).await,
        &declared(DOMAIN_KDL),
        &scratch(),
        &PlanOptions::default(),
    )
    .await
    .unwrap();
    assert!(planned.plan.steps().is_empty(), "{:?}", sqls(&planned));
}

#[tokio::test]
async fn a_new_domain_check_is_added_not_valid_then_validated_in_its_own_step() {
    let db = domain_db().await;
    let kdl = DOMAIN_KDL.replace(
        r#"check "positive" "VALUE > 0""#,
        r#"check "positive" "VALUE > 0"
        check "small" "VALUE < 100""#,
    );
    let planned = converge(&db, &kdl, blocking()).await;
    let s = sqls(&planned);
    assert_eq!(
        s,
        vec![
            "ALTER DOMAIN \"public\".\"amount\" ADD CONSTRAINT \"small\" CHECK (VALUE < 100) NOT VALID",
            "ALTER DOMAIN \"public\".\"amount\" VALIDATE CONSTRAINT \"small\"",
        ]
    );
    // Validating scans the tables that use the domain under SHARE, and says so.
    let validate = &planned.plan.steps()[1];
    assert!(
        validate
            .locks
            .iter()
            .any(|l| l.object.name == "items" && l.mode == formwork::locks::LockMode::Share),
        "{:?}",
        validate.locks
    );
    assert!(
        planned.plan.steps()[0]
            .locks
            .iter()
            .all(|l| l.object.name != "items")
    );
    assert_eq!(items(&db).await, vec!["1:5:a", "2:7:b"]);
}

#[test]
fn a_handwritten_validating_domain_check_is_flagged_by_lint() {
    let findings = formwork::lint::lint_source(
        &formwork::lint::SourceText {
            name: "m.sql".into(),
            text: "ALTER DOMAIN amount ADD CONSTRAINT small CHECK (VALUE < 100);".into(),
        },
        &formwork::lint::LintOptions::default(),
    );
    assert!(
        findings
            .iter()
            .any(|f| f.rule == "alter-domain-add-constraint"),
        "{findings:?}"
    );
}

#[tokio::test]
async fn a_domain_check_rows_violate_fails_at_validate_and_the_next_plan_resumes() {
    let db = domain_db().await;
    let kdl = DOMAIN_KDL.replace(
        r#"check "positive" "VALUE > 0""#,
        r#"check "positive" "VALUE > 0"
        check "small" "VALUE < 6""#,
    );
    let desired = declared(&kdl);
    let planned = make_plan(&catalog(&db).await, &desired, &scratch(), &blocking())
        .await
        .unwrap();
    let err = formwork::apply::execute_steps(&db.client().await, &planned.plan)
        .await
        .unwrap_err();
    assert_eq!(err.step, 2, "{err}");
    assert!(err.to_string().contains("violate"), "{err}");
    // The NOT VALID check stays; once the row is fixed, the next plan only validates it.
    db.execute("UPDATE items SET qty = 3 WHERE id = 2").await;
    let planned = converge(&db, &kdl, blocking()).await;
    assert_eq!(
        sqls(&planned),
        vec!["ALTER DOMAIN \"public\".\"amount\" VALIDATE CONSTRAINT \"small\""]
    );
    assert_eq!(items(&db).await, vec!["1:5:a", "2:3:b"]);
}

#[tokio::test]
async fn domain_default_not_null_checks_and_names_change_in_place() {
    let db = domain_db().await;
    let kdl = r#"
schema "public" {
    domain "quantity" "integer" renamed-from="amount" default="2" not-null=#true {
        check "above_zero" "VALUE >= 1" renamed-from="positive"
    }
    domain "label" "text" comment="free text" {
        check "short" "length(VALUE) < 10" not-valid=#true
    }
    table "items" {
        column "id" "integer"
        column "qty" "quantity"
        column "tag" "label" nullable=#true
        primary-key "id"
    }
}
"#;
    let planned = converge(&db, kdl, blocking()).await;
    let s = sqls(&planned);
    assert!(
        s.iter().any(|x| x.contains("RENAME TO \"quantity\"")),
        "{s:#?}"
    );
    assert!(
        s.iter()
            .any(|x| x.contains("RENAME CONSTRAINT \"positive\" TO \"above_zero\"")),
        "{s:#?}"
    );
    assert!(s.iter().any(|x| x.contains("SET NOT NULL")), "{s:#?}");
    assert!(s.iter().any(|x| x.contains("SET DEFAULT 2")), "{s:#?}");
    assert!(!s.iter().any(|x| x.contains("DROP DOMAIN")), "{s:#?}");
    assert_eq!(items(&db).await, vec!["1:5:a", "2:7:b"]);
    // And back: defaults and NOT NULL dropped, the check dropped.
    let back = r#"
schema "public" {
    domain "quantity" "integer"
    domain "label" "text"
    table "items" {
        column "id" "integer"
        column "qty" "quantity" nullable=#true
        column "tag" "label" nullable=#true
        primary-key "id"
    }
}
"#;
    converge(&db, back, blocking()).await;
    assert_eq!(items(&db).await, vec!["1:5:a", "2:7:b"]);
}

#[tokio::test]
async fn a_changed_domain_check_is_dropped_and_added_again_not_valid_then_validated() {
    let db = domain_db().await;
    let kdl = DOMAIN_KDL.replace("VALUE > 0", "VALUE > -10");
    let planned = converge(&db, &kdl, blocking()).await;
    let s = sqls(&planned);
    assert_eq!(s.len(), 3, "{s:#?}");
    assert!(s[0].contains("DROP CONSTRAINT \"positive\""), "{s:#?}");
    assert!(s[1].ends_with("NOT VALID"), "{s:#?}");
    assert!(s[2].contains("VALIDATE CONSTRAINT \"positive\""), "{s:#?}");
}

#[tokio::test]
async fn changing_the_base_type_of_a_used_domain_is_refused_and_of_an_unused_one_recreates_it() {
    let db = domain_db().await;
    let used = DOMAIN_KDL.replace(
        r#"domain "label" "text""#,
        r#"domain "label" "character varying(20)""#,
    );
    let err = common::refusal(&db, &declared(&used), &blocking()).await;
    let msg = err.to_string();
    assert!(
        msg.contains("public.label") && msg.contains("items.tag"),
        "{msg}"
    );

    db.execute("CREATE DOMAIN spare AS text").await;
    let kdl = DOMAIN_KDL.replace(
        r#"domain "label" "text""#,
        r#"domain "label" "text"
    domain "spare" "bigint""#,
    );
    let planned = converge(&db, &kdl, blocking()).await;
    let s = sqls(&planned);
    assert!(
        s[0].starts_with("DROP DOMAIN \"public\".\"spare\""),
        "{s:#?}"
    );
    assert!(
        s[1].starts_with("CREATE DOMAIN \"public\".\"spare\" AS bigint"),
        "{s:#?}"
    );
}

#[tokio::test]
async fn dropping_types_needs_permission_and_comes_after_their_columns() {
    let db = domain_db().await;
    let kdl = r#"
schema "public" {
    domain "amount" "integer" default="1" {
        check "positive" "VALUE > 0"
    }
    table "items" {
        column "id" "integer"
        column "qty" "amount" nullable=#true
        primary-key "id"
    }
}
"#;
    let err = common::refusal(&db, &declared(kdl), &blocking()).await;
    assert!(err.to_string().contains("label"), "{err}");
    let allowed = kdl.replace(
        "    table \"items\"",
        "    allow-data-loss \"column\" \"items\" \"tag\"\n    allow-data-loss \"type\" \"label\"\n    table \"items\"",
    );
    let planned = converge(&db, &allowed, blocking()).await;
    let s = sqls(&planned);
    let col = s.iter().position(|x| x.contains("DROP COLUMN")).unwrap();
    let ty = s.iter().position(|x| x.contains("DROP DOMAIN")).unwrap();
    assert!(col < ty, "{s:#?}");
    assert_eq!(
        rows(
            &db,
            "SELECT id::text || ':' || qty::text FROM items ORDER BY id"
        )
        .await,
        vec!["1:5", "2:7"]
    );
}

const COMPOSITE_SQL: &str = "
CREATE TYPE address AS (street text, city text, zip integer);
CREATE TYPE spare AS (a integer, b text);
CREATE TABLE sites (id int PRIMARY KEY, addr address);
INSERT INTO sites VALUES (1, ROW('Main', 'Paris', 75001)), (2, ROW('High', 'Oslo', 150));
";

async fn composite_db() -> TestDb {
    let db = TestDb::new().await;
    db.execute(COMPOSITE_SQL).await;
    db
}

#[tokio::test]
async fn composite_attributes_are_added_renamed_dropped_and_retyped_in_place() {
    let db = composite_db().await;
    let kdl = r#"
schema "public" {
    composite "location" renamed-from="address" comment="where" {
        attribute "road" "text" renamed-from="street"
        attribute "city" "text"
        attribute "country" "text" collation="C"
    }
    allow-data-loss "attribute" "location" "zip"
    composite "spare" {
        attribute "a" "bigint"
        attribute "b" "text"
    }
    table "sites" {
        column "id" "integer"
        column "addr" "location" nullable=#true
        primary-key "id"
    }
}
"#;
    let planned = converge(&db, kdl, PlanOptions::default()).await;
    let s = sqls(&planned);
    assert!(
        s.iter()
            .any(|x| x.contains("RENAME ATTRIBUTE \"street\" TO \"road\"")),
        "{s:#?}"
    );
    assert!(
        s.iter()
            .any(|x| x.contains("ADD ATTRIBUTE \"country\" text COLLATE \"C\"")),
        "{s:#?}"
    );
    assert!(
        s.iter().any(|x| x.contains("DROP ATTRIBUTE \"zip\"")),
        "{s:#?}"
    );
    assert!(
        s.iter()
            .any(|x| x.contains("ALTER ATTRIBUTE \"a\" TYPE bigint")),
        "{s:#?}"
    );
    assert_eq!(
        rows(
            &db,
            "SELECT (addr).road || '/' || (addr).city FROM sites ORDER BY id"
        )
        .await,
        vec!["Main/Paris", "High/Oslo"]
    );
}

#[tokio::test]
async fn dropping_a_stored_composite_attribute_needs_permission() {
    let db = composite_db().await;
    let kdl = r#"
schema "public" {
    composite "address" {
        attribute "street" "text"
        attribute "city" "text"
    }
    composite "spare" {
        attribute "a" "integer"
        attribute "b" "text"
    }
    table "sites" {
        column "id" "integer"
        column "addr" "address" nullable=#true
        primary-key "id"
    }
}
"#;
    let err = common::refusal(&db, &declared(kdl), &PlanOptions::default()).await;
    assert!(err.to_string().contains("zip"), "{err}");
}

#[tokio::test]
async fn retyping_an_attribute_of_a_stored_composite_is_refused_with_the_reason() {
    let db = composite_db().await;
    let kdl = r#"
schema "public" {
    composite "address" {
        attribute "street" "text"
        attribute "city" "text"
        attribute "zip" "bigint"
    }
    composite "spare" {
        attribute "a" "integer"
        attribute "b" "text"
    }
    table "sites" {
        column "id" "integer"
        column "addr" "address" nullable=#true
        primary-key "id"
    }
}
"#;
    let err = common::refusal(&db, &declared(kdl), &PlanOptions::default()).await;
    let msg = err.to_string();
    assert!(msg.contains("zip") && msg.contains("sites.addr"), "{msg}");
}

const RANGE_SQL: &str = "
CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE TYPE spare_range AS RANGE (subtype = integer);
CREATE TABLE slots (id int PRIMARY KEY, span floatrange);
INSERT INTO slots VALUES (1, '[1,2)'), (2, '[3,4]');
";

#[tokio::test]
async fn ranges_are_renamed_with_their_multirange_and_recreated_while_unused() {
    let db = TestDb::new().await;
    db.execute(RANGE_SQL).await;
    let kdl = r#"
schema "public" {
    range "float_range" renamed-from="floatrange" subtype="double precision" subtype-diff="float8mi" comment="spans"
    range "spare_range" subtype="bigint"
    table "slots" {
        column "id" "integer"
        column "span" "float_range" nullable=#true
        primary-key "id"
    }
}
"#;
    let planned = converge(&db, kdl, PlanOptions::default()).await;
    let s = sqls(&planned);
    assert!(
        s.iter().any(|x| x.contains("RENAME TO \"float_range\"")),
        "{s:#?}"
    );
    assert!(
        s.iter()
            .any(|x| x.contains("RENAME TO \"float_multirange\"")),
        "{s:#?}"
    );
    assert!(
        s.iter()
            .any(|x| x.starts_with("DROP TYPE \"public\".\"spare_range\"")),
        "{s:#?}"
    );
    assert_eq!(
        rows(&db, "SELECT span::text FROM slots ORDER BY id").await,
        vec!["[1,2)", "[3,4]"]
    );
    // A used range cannot change its subtype.
    let changed = kdl.replace(
        r#"subtype="double precision" subtype-diff="float8mi""#,
        r#"subtype="numeric""#,
    );
    let err = common::refusal(&db, &declared(&changed), &PlanOptions::default()).await;
    assert!(err.to_string().contains("slots.span"), "{err}");
}

#[tokio::test]
async fn import_reads_domains_composites_and_ranges_from_sql() {
    let sql = "CREATE DOMAIN email AS text CHECK (VALUE ~ '@');\n\
               CREATE TYPE pair AS (a int, b email);\n\
               CREATE TYPE floatrange AS RANGE (subtype = float8);\n\
               CREATE TABLE t (id int PRIMARY KEY, e email, p pair, r floatrange);\n";
    let scratch = formwork::pg::scratch::Scratch::dev(
        &common::cluster().conn_info("postgres").to_url_string(),
    )
    .expect("scratch");
    let source = formwork::ops::import::SqlSource {
        name: "schema.sql".into(),
        text: sql.into(),
    };
    let imported = formwork::ops::import::import(&scratch, &source)
        .await
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    let text = formwork::ops::dump::concatenate(&imported.files);
    assert!(text.contains(r#"domain "email" "text""#), "{text}");
    assert!(
        text.contains(r#"check "email_check" "VALUE ~ '@'::text""#),
        "{text}"
    );
    assert!(text.contains(r#"attribute "b" "public.email""#), "{text}");
    assert!(
        text.contains(r#"range "floatrange" subtype="double precision""#),
        "{text}"
    );
    assert!(imported.unmanaged.is_empty(), "{:?}", imported.unmanaged);
}
