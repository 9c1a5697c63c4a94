//! Privileges on schemas, tables, columns, views and sequences, planned and applied on real
//! PostgreSQL: each change is planned from one state toward the dump of another, applied,
//! and must converge (declared fingerprint reached, second plan empty, rows intact), with
//! the plan saying exactly which privileges change for whom. Roles are server-wide, so each
//! test names its own after its database.

mod common;

use common::{TempDir, TestDb};
use formwork::catalog::fingerprint::fingerprint;
use formwork::kdl::diag::SourceFile;
use formwork::kdl::load::load_sources;
use formwork::kdl::write::model_to_files;
use formwork::model::{Grant, Grantee, Model};
use formwork::plan::planner::{PlanOptions, PlannerError};

/// Roles `<db>_<suffix>` for one test, created on the cluster if missing.
async fn roles(db: &TestDb, suffixes: &[&str]) -> Vec<String> {
    let client = db.client().await;
    let mut out = Vec::new();
    for s in suffixes {
        let role = format!("{}_{s}", db.name());
        client
            .batch_execute(&format!("CREATE ROLE \"{role}\""))
            .await
            .unwrap();
        out.push(role);
    }
    out
}

use common::declaration_of;

/// Plan `db` toward `desired`, apply, and check convergence; the plan's (phase, SQL) pairs.
async fn converge(db: &TestDb, desired: &Model) -> Vec<(String, String)> {
    let planned = common::converge(db, desired, &PlanOptions::default()).await;
    planned
        .plan
        .steps()
        .iter()
        .map(|s| (format!("{:?}", s.phase), s.sql.clone()))
        .collect()
}

const TABLES: &str = "
    CREATE SCHEMA app;
    CREATE TABLE app.users (id bigint PRIMARY KEY, email text, secret text);
    CREATE SEQUENCE app.counter;
    CREATE VIEW app.emails AS SELECT id, email FROM app.users;
    INSERT INTO app.users SELECT g, 'u' || g, 's' FROM generate_series(1, 20) g;";

/// `TABLES` with `grants` (which name `R0`, `R1` for the test's roles) appended.
fn with(grants: &str, r: &[String]) -> String {
    let mut sql = format!("{TABLES}\n{grants}");
    for (i, role) in r.iter().enumerate() {
        sql = sql.replace(&format!("R{i}"), &format!("\"{role}\""));
    }
    sql
}

/// The catalog of `db` lists `name` as not managed.
async fn assert_unmanaged(db: &TestDb, name: &str) {
    let c = common::catalog(db).await;
    assert!(
        c.unmanaged.iter().any(|u| u.name == name),
        "{name} not in {:?}",
        c.unmanaged
    );
}

async fn count(db: &TestDb) -> i64 {
    db.client()
        .await
        .query_one("SELECT count(*) FROM app.users", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn grants_on_every_kind_of_object_are_planned_after_the_objects_and_enforced() {
    let db = TestDb::new().await;
    let r = roles(&db, &["reader", "writer"]).await;
    let desired = declaration_of(&with(
        "GRANT USAGE ON SCHEMA app TO R0, R1;
         GRANT SELECT ON app.users TO R0 WITH GRANT OPTION;
         GRANT INSERT, UPDATE ON app.users TO R1;
         GRANT SELECT (id, email) ON app.users TO R1;
         GRANT SELECT ON app.emails TO PUBLIC;
         GRANT USAGE, SELECT ON SEQUENCE app.counter TO R1;",
        &r,
    ))
    .await;
    let steps = converge(&db, &desired).await;
    let sql: Vec<&str> = steps.iter().map(|(_, s)| s.as_str()).collect();
    let created = sql
        .iter()
        .rposition(|s| s.starts_with("CREATE"))
        .expect("objects are created");
    let first_grant = sql
        .iter()
        .position(|s| s.starts_with("GRANT"))
        .expect("grants are planned");
    assert!(
        first_grant > created,
        "grants come after creation: {sql:#?}"
    );
    for expected in [
        format!("GRANT USAGE ON SCHEMA \"app\" TO \"{}\"", r[0]),
        format!(
            "GRANT SELECT ON TABLE \"app\".\"users\" TO \"{}\" WITH GRANT OPTION",
            r[0]
        ),
        format!(
            "GRANT INSERT, UPDATE ON TABLE \"app\".\"users\" TO \"{}\"",
            r[1]
        ),
        format!(
            "GRANT SELECT (\"email\") ON TABLE \"app\".\"users\" TO \"{}\"",
            r[1]
        ),
        format!(
            "GRANT SELECT (\"id\") ON TABLE \"app\".\"users\" TO \"{}\"",
            r[1]
        ),
        "GRANT SELECT ON TABLE \"app\".\"emails\" TO PUBLIC".to_string(),
        format!(
            "GRANT SELECT, USAGE ON SEQUENCE \"app\".\"counter\" TO \"{}\"",
            r[1]
        ),
    ] {
        assert!(
            sql.contains(&expected.as_str()),
            "missing `{expected}` in {sql:#?}"
        );
    }

    // PostgreSQL enforces what was declared.
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "SET ROLE \"{}\"; SELECT id, email FROM app.users; INSERT INTO app.users (id) VALUES (100); RESET ROLE",
            r[1]
        ))
        .await
        .unwrap();
    let denied = client
        .batch_execute(&format!(
            "SET ROLE \"{}\"; SELECT secret FROM app.users",
            r[1]
        ))
        .await
        .unwrap_err();
    assert!(
        format!("{denied:?}").contains("permission denied"),
        "{denied:?}"
    );
}

#[tokio::test]
async fn changed_grants_grant_and_revoke_only_the_difference_and_revokes_wait_for_the_contract() {
    let db = TestDb::new().await;
    let r = roles(&db, &["a", "b", "c"]).await;
    db.execute(&with(
        "GRANT SELECT, INSERT, DELETE ON app.users TO R0;
         GRANT SELECT ON app.users TO R1 WITH GRANT OPTION;
         GRANT UPDATE (email) ON app.users TO R2;
         GRANT USAGE ON SCHEMA app TO R2;",
        &r,
    ))
    .await;
    let rows = count(&db).await;
    let desired = declaration_of(&with(
        "GRANT SELECT, INSERT, UPDATE ON app.users TO R0;
         GRANT SELECT ON app.users TO R1;
         GRANT UPDATE (email, secret) ON app.users TO R2;
         GRANT USAGE, CREATE ON SCHEMA app TO R2;",
        &r,
    ))
    .await;
    let steps = converge(&db, &desired).await;
    let expected = [
        (
            "Expand",
            format!("GRANT UPDATE ON TABLE \"app\".\"users\" TO \"{}\"", r[0]),
        ),
        (
            "Expand",
            format!(
                "GRANT UPDATE (\"secret\") ON TABLE \"app\".\"users\" TO \"{}\"",
                r[2]
            ),
        ),
        (
            "Expand",
            format!("GRANT CREATE ON SCHEMA \"app\" TO \"{}\"", r[2]),
        ),
        (
            "Contract",
            format!("REVOKE DELETE ON TABLE \"app\".\"users\" FROM \"{}\"", r[0]),
        ),
        (
            "Contract",
            format!(
                "REVOKE GRANT OPTION FOR SELECT ON TABLE \"app\".\"users\" FROM \"{}\"",
                r[1]
            ),
        ),
    ];
    let mut got: Vec<(String, String)> = steps.clone();
    got.sort();
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(p, s)| (p.to_string(), s.clone()))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(count(&db).await, rows);
}

#[tokio::test]
async fn grants_that_go_away_are_revoked_and_public_is_a_grantee_like_any_other() {
    let db = TestDb::new().await;
    let r = roles(&db, &["gone"]).await;
    db.execute(&with(
        "GRANT ALL ON app.users TO R0;
         GRANT SELECT ON app.emails TO PUBLIC;
         GRANT USAGE ON SEQUENCE app.counter TO PUBLIC;",
        &r,
    ))
    .await;
    let desired = declaration_of(TABLES).await;
    let steps = converge(&db, &desired).await;
    assert!(
        steps
            .iter()
            .all(|(phase, s)| phase == "Contract" && s.starts_with("REVOKE"))
    );
    assert_eq!(steps.len(), 3, "{steps:#?}");
    let left: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'app'::regnamespace \
             AND EXISTS (SELECT 1 FROM aclexplode(relacl) e WHERE e.grantee <> relowner)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_grant_to_a_role_the_database_lacks_is_refused_before_anything_runs() {
    let db = TestDb::new().await;
    db.execute(TABLES).await;
    let mut desired = declaration_of(TABLES).await;
    let missing = format!("{}_nobody", db.name());
    let users = desired
        .schemas
        .get_mut("app")
        .and_then(|s| s.tables.get_mut("users"))
        .unwrap();
    users.grants.push(Grant {
        grantee: Grantee::Role(missing.clone()),
        privileges: vec!["SELECT".into()],
        with_grant_option: false,
    });
    let err = common::refusal(&db, &desired, &PlanOptions::default()).await;
    match err {
        PlannerError::MissingRoles { roles } => assert_eq!(roles, vec![missing]),
        other => panic!("expected MissingRoles, got {other}"),
    }
}

#[tokio::test]
async fn dump_writes_grant_nodes_that_load_back_to_the_same_model() {
    let db = TestDb::new().await;
    let r = roles(&db, &["x"]).await;
    db.execute(&with(
        "GRANT SELECT, TRIGGER ON app.users TO R0 WITH GRANT OPTION;
         GRANT REFERENCES (id) ON app.users TO PUBLIC;
         GRANT UPDATE ON SEQUENCE app.counter TO R0;",
        &r,
    ))
    .await;
    let model = common::catalog(&db).await.model;
    let files = model_to_files(&model);
    let app = &files
        .iter()
        .find(|(p, _)| p.ends_with("app.kdl"))
        .unwrap()
        .1;
    assert!(
        app.contains(&format!(
            "grant \"SELECT\" \"TRIGGER\" to=\"{}\" grant-option=#true",
            r[0]
        )),
        "{app}"
    );
    assert!(app.contains("grant \"REFERENCES\" to=\"public\""), "{app}");
    let loaded = load_sources(
        &files
            .into_iter()
            .map(|(p, text)| SourceFile {
                name: p.display().to_string(),
                text,
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert_eq!(fingerprint(&loaded), fingerprint(&model));
}

#[tokio::test]
async fn privileges_on_an_identity_sequence_are_listed_as_unmanaged_not_dropped() {
    let db = TestDb::new().await;
    let r = roles(&db, &["seq"]).await;
    db.execute(&format!(
        "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
         GRANT USAGE ON SEQUENCE t_id_seq TO \"{}\";",
        r[0]
    ))
    .await;
    assert_unmanaged(&db, "privileges on sequence public.t_id_seq").await;
    // Managed privileges are not listed.
    db.execute(&format!("GRANT SELECT ON t TO \"{}\"", r[0]))
        .await;
    let c = common::catalog(&db).await;
    assert!(
        !c.unmanaged
            .iter()
            .any(|u| u.name.contains("public.t ") || u.name == "privileges on public.t"),
        "{:?}",
        c.unmanaged
    );
}

#[test]
fn an_unknown_privilege_is_reported_at_its_span_with_what_the_object_takes() {
    let err = load_sources(&[SourceFile {
        name: "app.kdl".into(),
        text: "schema \"app\" {\n    sequence \"s\" {\n        grant \"USAGE\" \"DELETE\" to=\"x\"\n    }\n}\n"
            .into(),
    }])
    .unwrap_err();
    let text = format!("{err:?}");
    assert!(
        text.contains("`DELETE` is not a privilege on a sequence"),
        "{text}"
    );
    assert!(text.contains("USAGE, SELECT, UPDATE"), "{text}");
}

#[test]
fn plan_from_the_command_line_creates_missing_roles_only_in_its_scratch_cluster() {
    // Without --dev-url the declaration is normalised on a throwaway cluster of formwork's
    // own, which lacks the target's roles; the plan must still be made and be right.
    let db = common::test_db();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let role = rt.block_on(async {
        db.execute(TABLES).await;
        roles(&db, &["cli"]).await.remove(0)
    });
    let dir = TempDir::new("grants-cli");
    let path = dir.write(
        "schemas/app.kdl",
        &format!(
            "schema \"public\"\nschema \"app\" {{\n    table \"users\" {{\n        column \"id\" \"bigint\"\n        column \"email\" \"text\" nullable=#true\n        column \"secret\" \"text\" nullable=#true\n        primary-key \"id\"\n        grant \"SELECT\" to=\"{role}\"\n    }}\n    sequence \"counter\"\n    view \"emails\" \"SELECT users.id, users.email FROM app.users\"\n}}\n"
        ),
    );
    let out = dir.0.join("plan.bin");
    let o = common::formwork_command()
        .args([
            "plan",
            "--db",
            &db.url(),
            "--dir",
            path.parent().unwrap().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "GRANT SELECT ON TABLE \"app\".\"users\" TO \"{role}\""
        )),
        "{stdout}"
    );
}

#[tokio::test]
async fn default_privileges_in_a_schema_converge_and_reach_objects_created_later() {
    let db = TestDb::new().await;
    let r = roles(&db, &["owner", "reader", "caller"]).await;
    db.execute(&with(
        "GRANT USAGE, CREATE ON SCHEMA app TO R0;
         ALTER DEFAULT PRIVILEGES FOR ROLE R0 IN SCHEMA app GRANT SELECT ON TABLES TO R1;
         ALTER DEFAULT PRIVILEGES FOR ROLE R0 IN SCHEMA app GRANT USAGE ON SEQUENCES TO R2;",
        &r,
    ))
    .await;
    let desired = declaration_of(&with(
        "GRANT USAGE, CREATE ON SCHEMA app TO R0;
         ALTER DEFAULT PRIVILEGES FOR ROLE R0 IN SCHEMA app
             GRANT SELECT, INSERT ON TABLES TO R1 WITH GRANT OPTION;
         ALTER DEFAULT PRIVILEGES FOR ROLE R0 IN SCHEMA app GRANT EXECUTE ON FUNCTIONS TO R2;",
        &r,
    ))
    .await;
    let steps = converge(&db, &desired).await;
    let prefix = format!(
        "ALTER DEFAULT PRIVILEGES FOR ROLE \"{}\" IN SCHEMA \"app\" ",
        r[0]
    );
    let mut got: Vec<(String, String)> = steps;
    got.sort();
    let mut want = vec![
        (
            "Expand".to_string(),
            format!(
                "{prefix}GRANT INSERT, SELECT ON TABLES TO \"{}\" WITH GRANT OPTION",
                r[1]
            )
            .replace("INSERT, SELECT", "SELECT, INSERT"),
        ),
        (
            "Expand".to_string(),
            format!("{prefix}GRANT EXECUTE ON FUNCTIONS TO \"{}\"", r[2]),
        ),
        (
            "Contract".to_string(),
            format!("{prefix}REVOKE USAGE ON SEQUENCES FROM \"{}\"", r[2]),
        ),
    ];
    want.sort();
    assert_eq!(got, want);

    // A table the owner creates now gets the declared privileges.
    db.execute(&format!(
        "SET ROLE \"{}\"; CREATE TABLE app.later (id int); RESET ROLE",
        r[0]
    ))
    .await;
    let acl: String = db
        .client()
        .await
        .query_one(
            "SELECT relacl::text FROM pg_class WHERE oid = 'app.later'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(acl.contains(&format!("{}=a*r*/", r[1])), "{acl}");
}

#[tokio::test]
async fn server_wide_default_privileges_are_listed_as_unmanaged() {
    let db = TestDb::new().await;
    let r = roles(&db, &["wide"]).await;
    db.execute(&format!(
        "ALTER DEFAULT PRIVILEGES FOR ROLE \"{0}\" GRANT SELECT ON TABLES TO PUBLIC",
        r[0]
    ))
    .await;
    assert_unmanaged(&db, &format!("default privileges for role {}", r[0])).await;
    // Cluster-wide state: leave nothing behind for the other tests.
    db.execute(&format!(
        "ALTER DEFAULT PRIVILEGES FOR ROLE \"{0}\" REVOKE SELECT ON TABLES FROM PUBLIC",
        r[0]
    ))
    .await;
}

#[test]
fn import_keeps_grants_and_creates_the_roles_they_name_on_its_scratch_server() {
    let dir = TempDir::new("grants-import");
    let file = dir.write(
        "schema.sql",
        "CREATE TABLE public.t (id int PRIMARY KEY, note text);\n\
         GRANT SELECT ON public.t TO \"importer reader\";\n\
         GRANT UPDATE (note) ON public.t TO importer_writer WITH GRANT OPTION;\n\
         ALTER DEFAULT PRIVILEGES FOR ROLE importer_writer IN SCHEMA public \
             GRANT SELECT ON TABLES TO \"importer reader\";\n",
    );
    let o = common::formwork_command()
        .args(["import", file.to_str().unwrap(), "--out", "-"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for expected in [
        "grant \"SELECT\" to=\"importer reader\"",
        "grant \"UPDATE\" to=\"importer_writer\" grant-option=#true",
        "default-grant \"SELECT\" on=\"tables\" to=\"importer reader\" for-role=\"importer_writer\"",
    ] {
        assert!(stdout.contains(expected), "missing {expected}:\n{stdout}");
    }
}
