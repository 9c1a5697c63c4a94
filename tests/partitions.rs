//! Partitioned tables and partitions through the whole pipeline on real PostgreSQL: range,
//! list, hash and default partitions created from nothing; a partition attached to a parent
//! holding rows; a partition detached and dropped; an index built on a partitioned table the
//! online way; dump and load; import; and the unmanaged listing no longer naming them.

mod common;

use common::{TestDb, catalog, converge, declaration_of, declared};
use formwork::catalog::fingerprint::fingerprint;
use formwork::model::ObjectKind;
use formwork::plan::planner::{PlanOptions, Planned};

fn destructive() -> PlanOptions {
    PlanOptions {
        allow_destructive: true,
        ..PlanOptions::default()
    }
}

fn sqls(p: &Planned) -> Vec<String> {
    p.plan.steps().iter().map(|s| s.sql.clone()).collect()
}

async fn strings(db: &TestDb, sql: &str) -> Vec<String> {
    db.client()
        .await
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

/// Which partition each row of `events` lives in, as `partition:id`, in id order.
async fn placement(db: &TestDb) -> Vec<String> {
    strings(
        db,
        "SELECT tableoid::regclass::text || ':' || id::text FROM events ORDER BY id",
    )
    .await
}

const EVENTS: &str = r#"
schema "public" {
    table "events" partition-by="RANGE (created_at)" {
        column "id" "bigint"
        column "created_at" "date"
        column "payload" "text" default="''::text" nullable=#true
        primary-key "id" "created_at"
        check "payload_short" "length(payload) < 1000"
    }
    table "events_2025" partition-of="events" bound="FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"
    table "events_2026" partition-of="events" bound="FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')" {
        index "events_2026_payload" "payload"
    }
}
"#;

#[tokio::test]
async fn range_partitions_are_created_from_nothing_and_converge() {
    let db = TestDb::new().await;
    let planned = converge(&db, &declared(EVENTS), &PlanOptions::default()).await;
    let sql = sqls(&planned).join("\n");
    assert!(sql.contains("PARTITION BY RANGE (created_at)"), "{sql}");
    assert!(sql.contains("PARTITION OF \"public\".\"events\""), "{sql}");
    db.execute("INSERT INTO events VALUES (1, '2025-05-01', 'a'), (2, '2026-05-01', 'b')")
        .await;
    assert_eq!(
        placement(&db).await,
        vec!["events_2025:1".to_string(), "events_2026:2".to_string()]
    );
    // The partition keeps its own index and none of what it inherits.
    let model = catalog(&db).await.model;
    let p = model
        .table(&formwork::model::QualifiedName::new(
            "public",
            "events_2026",
        ))
        .unwrap();
    assert!(p.columns.is_empty() && p.primary_key.is_none() && p.checks.is_empty());
    assert_eq!(
        p.indexes.keys().collect::<Vec<_>>(),
        vec!["events_2026_payload"]
    );
}

#[tokio::test]
async fn list_hash_and_default_partitions_are_created_from_nothing_and_converge() {
    let db = TestDb::new().await;
    let kdl = r#"
schema "public" {
    table "orders" partition-by="LIST (region)" {
        column "id" "bigint"
        column "region" "text"
    }
    table "orders_eu" partition-of="orders" bound="FOR VALUES IN ('de', 'fr')"
    table "orders_rest" partition-of="orders" bound="DEFAULT"
    table "accounts" partition-by="HASH (id)" {
        column "id" "bigint"
    }
    table "accounts_0" partition-of="accounts" bound="FOR VALUES WITH (modulus 2, remainder 0)"
    table "accounts_1" partition-of="accounts" bound="FOR VALUES WITH (modulus 2, remainder 1)"
}
"#;
    converge(&db, &declared(kdl), &PlanOptions::default()).await;
    db.execute("INSERT INTO orders VALUES (1, 'de'), (2, 'us'); INSERT INTO accounts SELECT g FROM generate_series(1, 20) g")
        .await;
    assert_eq!(
        strings(
            &db,
            "SELECT tableoid::regclass::text FROM orders ORDER BY id"
        )
        .await,
        vec!["orders_eu".to_string(), "orders_rest".to_string()]
    );
    let spread = strings(
        &db,
        "SELECT DISTINCT tableoid::regclass::text FROM accounts ORDER BY 1",
    )
    .await;
    assert_eq!(
        spread,
        vec!["accounts_0".to_string(), "accounts_1".to_string()]
    );
}

const PARENT_WITH_ROWS: &str = "
CREATE TABLE events (id bigint, created_at date NOT NULL, payload text DEFAULT '',
                     PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO events SELECT g, DATE '2025-01-01' + g, 'x' FROM generate_series(1, 200) g;
";

#[tokio::test]
async fn a_new_partition_of_a_parent_with_rows_is_attached_without_locking_the_parent_exclusively()
{
    let db = TestDb::new().await;
    db.execute(PARENT_WITH_ROWS).await;
    let mut desired = declaration_of(PARENT_WITH_ROWS).await;
    let mut with_2026 = declaration_of(&format!(
        "{PARENT_WITH_ROWS}\nCREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
    ))
    .await;
    std::mem::swap(&mut desired, &mut with_2026);
    let planned = converge(&db, &desired, &PlanOptions::default()).await;
    let sql = sqls(&planned).join("\n");
    assert!(sql.contains("ATTACH PARTITION"), "{sql}");
    assert!(!sql.contains("PARTITION OF"), "{sql}");
    // The parent is never locked ACCESS EXCLUSIVE.
    for step in planned.plan.steps() {
        for l in &step.locks {
            assert!(
                !(l.object.name == "events"
                    && l.mode == formwork::locks::LockMode::AccessExclusive),
                "step {} locks the parent exclusively",
                step.sql
            );
        }
    }
    db.execute("INSERT INTO events VALUES (1000, '2026-03-01', 'new')")
        .await;
    let rows = placement(&db).await;
    assert_eq!(rows.len(), 201);
    assert!(rows[..200].iter().all(|r| r.starts_with("events_2025:")));
    assert_eq!(rows[200], "events_2026:1000");
    // The attached partition got the parent's primary key index.
    let inherited = strings(
        &db,
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events_pkey'
         ORDER BY 1",
    )
    .await;
    assert_eq!(inherited.len(), 2, "{inherited:?}");
}

#[tokio::test]
async fn a_dropped_partition_is_detached_then_dropped_and_the_other_rows_stay() {
    let db = TestDb::new().await;
    let two = format!(
        "{PARENT_WITH_ROWS}\nCREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         INSERT INTO events VALUES (500, '2026-02-01', 'gone');"
    );
    db.execute(&two).await;
    let desired = declaration_of(PARENT_WITH_ROWS).await;
    let planned = converge(&db, &desired, &destructive()).await;
    let sql = sqls(&planned);
    let detach = sql
        .iter()
        .position(|s| s.contains("DETACH PARTITION"))
        .unwrap();
    let drop = sql
        .iter()
        .position(|s| s.starts_with("DROP TABLE"))
        .unwrap();
    assert!(detach < drop, "{sql:?}");
    if common::server_major() >= 14 {
        assert!(sql[detach].ends_with("CONCURRENTLY"), "{sql:?}");
    }
    let rows = placement(&db).await;
    assert_eq!(rows.len(), 200);
    assert!(rows.iter().all(|r| r.starts_with("events_2025:")));
}

#[tokio::test]
async fn dropping_a_partition_needs_permission_to_lose_its_rows() {
    let db = TestDb::new().await;
    let two = format!(
        "{PARENT_WITH_ROWS}\nCREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
    );
    db.execute(&two).await;
    let desired = declaration_of(PARENT_WITH_ROWS).await;
    let before = catalog(&db).await;
    let refused = formwork::plan::planner::make_plan(
        &before,
        &desired,
        &common::scratch(),
        &PlanOptions::default(),
    )
    .await;
    assert!(
        refused.is_err(),
        "dropping a partition was planned without permission"
    );
}

#[tokio::test]
async fn an_index_on_a_partitioned_table_with_rows_is_built_partition_by_partition() {
    let db = TestDb::new().await;
    let two = format!(
        "{PARENT_WITH_ROWS}\nCREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
    );
    db.execute(&two).await;
    let desired = declaration_of(&format!(
        "{two}\nCREATE INDEX events_payload ON events (payload);"
    ))
    .await;
    let planned = converge(&db, &desired, &PlanOptions::default()).await;
    let sql = sqls(&planned);
    assert!(sql[0].contains("ON ONLY"), "{sql:?}");
    assert_eq!(
        sql.iter().filter(|s| s.contains("CONCURRENTLY")).count(),
        2,
        "{sql:?}"
    );
    assert_eq!(
        sql.iter()
            .filter(|s| s.contains("ATTACH PARTITION"))
            .count(),
        2,
        "{sql:?}"
    );
    let valid = strings(
        &db,
        "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'events_payload'::regclass",
    )
    .await;
    assert_eq!(valid, vec!["true".to_string()]);
    assert_eq!(placement(&db).await.len(), 200);
}

#[tokio::test]
async fn turning_a_table_into_a_partitioned_one_is_refused_with_a_reason() {
    let db = TestDb::new().await;
    db.execute("CREATE TABLE events (id bigint, created_at date NOT NULL)")
        .await;
    let desired = declared(
        r#"schema "public" {
    table "events" partition-by="RANGE (created_at)" {
        column "id" "bigint"
        column "created_at" "date"
    }
}"#,
    );
    let before = catalog(&db).await;
    let err = formwork::plan::planner::make_plan(
        &before,
        &desired,
        &common::scratch(),
        &PlanOptions::default(),
    )
    .await;
    let Err(err) = err else {
        panic!("turning a table into a partitioned one was planned");
    };
    assert!(err.to_string().contains("partitioned table"), "{err}");
}

#[tokio::test]
async fn dump_then_load_keeps_partitioning_and_lists_nothing_unmanaged() {
    let sql = "
CREATE TABLE m (id int NOT NULL, k text NOT NULL, CHECK (id > 0)) PARTITION BY LIST (k);
CREATE TABLE m_a PARTITION OF m (CONSTRAINT m_a_small CHECK (id < 100)) FOR VALUES IN ('a');
CREATE TABLE m_b PARTITION OF m FOR VALUES IN ('b') PARTITION BY RANGE (id);
CREATE TABLE m_b_low PARTITION OF m_b FOR VALUES FROM (MINVALUE) TO (10);
CREATE TABLE m_rest PARTITION OF m DEFAULT;
CREATE INDEX m_k ON m (k);";
    let db = TestDb::new().await;
    db.execute(sql).await;
    let read = catalog(&db).await;
    let live = read.model;
    assert!(
        !read
            .unmanaged
            .iter()
            .any(|u| matches!(u.kind, ObjectKind::PartitionedTable | ObjectKind::Partition)),
        "{:?}",
        read.unmanaged
    );
    let loaded = declaration_of(sql).await;
    assert_eq!(fingerprint(&loaded), fingerprint(&live));
    let m_a = loaded
        .table(&formwork::model::QualifiedName::new("public", "m_a"))
        .unwrap();
    assert_eq!(m_a.checks.keys().collect::<Vec<_>>(), vec!["m_a_small"]);
    let m_b = loaded
        .table(&formwork::model::QualifiedName::new("public", "m_b"))
        .unwrap();
    assert_eq!(m_b.partition_by.as_deref(), Some("RANGE (id)"));
    // The declaration recreates the same database from nothing.
    let fresh = TestDb::new().await;
    converge(&fresh, &loaded, &PlanOptions::default()).await;
}

#[tokio::test]
async fn a_new_partition_beside_a_default_partition_takes_its_rows_over_and_declares_the_lock() {
    let db = TestDb::new().await;
    let base = "
CREATE TABLE orders (id bigint NOT NULL, region text NOT NULL) PARTITION BY LIST (region);
CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('de');
CREATE TABLE orders_rest PARTITION OF orders DEFAULT;
INSERT INTO orders VALUES (1, 'de'), (2, 'us');";
    db.execute(base).await;
    let desired = declaration_of(&format!(
        "{base}\nCREATE TABLE orders_fr PARTITION OF orders FOR VALUES IN ('fr');"
    ))
    .await;
    let planned = converge(&db, &desired, &PlanOptions::default()).await;
    let attach = planned
        .plan
        .steps()
        .iter()
        .find(|s| s.sql.contains("ATTACH PARTITION"))
        .expect("an ATTACH step");
    assert!(
        attach.locks.iter().any(|l| l.object.name == "orders_rest"
            && l.mode == formwork::locks::LockMode::AccessExclusive),
        "{:?}",
        attach.locks
    );
    db.execute("INSERT INTO orders VALUES (3, 'fr')").await;
    assert_eq!(
        strings(
            &db,
            "SELECT tableoid::regclass::text FROM orders ORDER BY id"
        )
        .await,
        vec![
            "orders_eu".to_string(),
            "orders_rest".to_string(),
            "orders_fr".to_string()
        ]
    );
}

#[test]
fn a_partition_without_a_bound_or_with_an_undeclared_parent_is_a_load_error() {
    let load = |kdl: &str| {
        formwork::kdl::load::load_sources(&[formwork::kdl::diag::SourceFile {
            name: "schema.kdl".into(),
            text: kdl.into(),
        }])
    };
    let no_bound = load(r#"schema "public" { table "p" partition-of="t" }"#)
        .err()
        .map(|e| format!("{e:?}"))
        .unwrap_or_default();
    assert!(no_bound.contains("has no bound"), "{no_bound}");
    let dangling = load(r#"schema "public" { table "p" partition-of="nowhere" bound="DEFAULT" }"#)
        .err()
        .map(|e| format!("{e:?}"))
        .unwrap_or_default();
    assert!(dangling.contains("which is not declared"), "{dangling}");
    let not_partitioned = load(
        r#"schema "public" {
    table "t" { column "id" "int" }
    table "p" partition-of="t" bound="DEFAULT"
}"#,
    )
    .err()
    .map(|e| format!("{e:?}"))
    .unwrap_or_default();
    assert!(
        not_partitioned.contains("has no partition-by"),
        "{not_partitioned}"
    );
    let with_columns = load(
        r#"schema "public" {
    table "t" partition-by="LIST (id)" { column "id" "int" }
    table "p" partition-of="t" bound="DEFAULT" { column "id" "int" }
}"#,
    )
    .err()
    .map(|e| format!("{e:?}"))
    .unwrap_or_default();
    assert!(with_columns.contains("declares columns"), "{with_columns}");
}

const TWO_PARTITIONS: &str = "
CREATE TABLE events (id bigint, created_at date NOT NULL, payload text DEFAULT '',
                     PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO events SELECT g, DATE '2025-01-01' + g, 'x' FROM generate_series(1, 200) g;
";

#[tokio::test]
async fn a_column_and_a_check_added_to_a_partitioned_table_with_rows_reach_every_partition() {
    let db = TestDb::new().await;
    db.execute(TWO_PARTITIONS).await;
    let desired = declaration_of(&format!(
        "{TWO_PARTITIONS}
ALTER TABLE events ADD COLUMN source text;
ALTER TABLE events ADD CONSTRAINT payload_short CHECK (length(payload) < 100);
COMMENT ON TABLE events_2025 IS 'last year';"
    ))
    .await;
    converge(&db, &desired, &PlanOptions::default()).await;
    assert_eq!(placement(&db).await.len(), 200);
    let columns = strings(
        &db,
        "SELECT count(*)::text FROM pg_attribute WHERE attname = 'source'
         AND attrelid IN ('events'::regclass, 'events_2025'::regclass, 'events_2026'::regclass)",
    )
    .await;
    assert_eq!(columns, vec!["3".to_string()]);
}

#[tokio::test]
async fn a_partitioned_table_dropped_with_its_partitions_converges() {
    let db = TestDb::new().await;
    db.execute(&format!("{TWO_PARTITIONS}\nCREATE TABLE other (id int);"))
        .await;
    let desired = declaration_of("CREATE TABLE other (id int);").await;
    let planned = converge(&db, &desired, &destructive()).await;
    let sql = sqls(&planned);
    assert_eq!(sql, vec!["DROP TABLE \"public\".\"events\"".to_string()]);
}

#[tokio::test]
async fn an_index_of_a_partitioned_table_is_dropped_with_its_partitions_indexes() {
    let db = TestDb::new().await;
    let with_index = format!("{TWO_PARTITIONS}\nCREATE INDEX events_payload ON events (payload);");
    db.execute(&with_index).await;
    let desired = declaration_of(TWO_PARTITIONS).await;
    converge(&db, &desired, &PlanOptions::default()).await;
    let left = strings(
        &db,
        "SELECT count(*)::text FROM pg_indexes WHERE indexdef LIKE '%(payload)%'",
    )
    .await;
    assert_eq!(left, vec!["0".to_string()]);
}

#[tokio::test]
async fn a_unique_constraint_and_a_foreign_key_added_to_a_partitioned_table_converge() {
    let db = TestDb::new().await;
    let base = format!("CREATE TABLE sources (name text PRIMARY KEY);\n{TWO_PARTITIONS}");
    db.execute(&base).await;
    let desired = declaration_of(&format!(
        "{base}
ALTER TABLE events ADD COLUMN source text REFERENCES sources;
ALTER TABLE events ADD CONSTRAINT events_payload_key UNIQUE (payload, created_at);"
    ))
    .await;
    converge(
        &db,
        &desired,
        &PlanOptions {
            allow_blocking: true,
            ..PlanOptions::default()
        },
    )
    .await;
    assert_eq!(placement(&db).await.len(), 200);
}

#[tokio::test]
async fn a_partition_beside_a_default_partition_is_detached_without_concurrently() {
    let db = TestDb::new().await;
    let base = "
CREATE TABLE orders (id bigint NOT NULL, region text NOT NULL) PARTITION BY LIST (region);
CREATE TABLE orders_rest PARTITION OF orders DEFAULT;
INSERT INTO orders VALUES (2, 'us');";
    db.execute(&format!(
        "{base}\nCREATE TABLE orders_fr PARTITION OF orders FOR VALUES IN ('fr');
         INSERT INTO orders VALUES (3, 'fr');"
    ))
    .await;
    let desired = declaration_of(base).await;
    // The plain DETACH blocks the whole table: the plan gate wants it accepted.
    let before = catalog(&db).await;
    let gated =
        formwork::plan::planner::make_plan(&before, &desired, &common::scratch(), &destructive())
            .await;
    assert!(gated.is_err(), "a blocking DETACH passed the plan gate");
    let options = PlanOptions {
        allow_blocking: true,
        ..destructive()
    };
    let planned = converge(&db, &desired, &options).await;
    let sql = sqls(&planned);
    let detach = sql
        .iter()
        .find(|s| s.contains("DETACH PARTITION"))
        .expect("a DETACH step");
    assert!(!detach.contains("CONCURRENTLY"), "{sql:?}");
    assert_eq!(
        strings(
            &db,
            "SELECT tableoid::regclass::text FROM orders ORDER BY id"
        )
        .await,
        vec!["orders_rest".to_string()]
    );
}
