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

/// What `dump` writes for schema `app` of `model`, and the model all its files load back to.
fn dumped(model: &Model) -> (String, Model) {
    let files = model_to_files(model);
    let app = files
        .iter()
        .find(|(p, _)| p.ends_with("app.kdl"))
        .map(|(_, text)| text.clone())
        .unwrap_or_default();
    let sources: Vec<SourceFile> = files
        .into_iter()
        .map(|(p, text)| SourceFile {
            name: p.display().to_string(),
            text,
        })
        .collect();
    (app, load_sources(&sources).unwrap())
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
    let (app, loaded) = dumped(&model);
    assert!(
        app.contains(&format!(
            "grant \"SELECT\" \"TRIGGER\" to=\"{}\" grant-option=#true",
            r[0]
        )),
        "{app}"
    );
    assert!(app.contains("grant \"REFERENCES\" to=\"public\""), "{app}");
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

/// `formwork import` of `sql` to standard output: (the KDL, standard error).
fn imported(dir: &str, sql: &str) -> (String, String) {
    let dir = TempDir::new(dir);
    let file = dir.write("schema.sql", sql);
    let o = common::formwork_command()
        .args(["import", file.to_str().unwrap(), "--out", "-"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn import_keeps_grants_and_creates_the_roles_they_name_on_its_scratch_server() {
    let (stdout, _) = imported(
        "grants-import",
        "CREATE TABLE public.t (id int PRIMARY KEY, note text);\n\
         GRANT SELECT ON public.t TO \"importer reader\";\n\
         GRANT UPDATE (note) ON public.t TO importer_writer WITH GRANT OPTION;\n\
         ALTER DEFAULT PRIVILEGES FOR ROLE importer_writer IN SCHEMA public \
             GRANT SELECT ON TABLES TO \"importer reader\";\n",
    );
    for expected in [
        "grant \"SELECT\" to=\"importer reader\"",
        "grant \"UPDATE\" to=\"importer_writer\" grant-option=#true",
        "default-grant \"SELECT\" on=\"tables\" to=\"importer reader\" for-role=\"importer_writer\"",
    ] {
        assert!(stdout.contains(expected), "missing {expected}:\n{stdout}");
    }
}

// Functions and procedures. PostgreSQL lets PUBLIC execute a new routine; a declaration keeps
// that unless it says `public-execute=#false`.

/// A schema both test roles may use, a SECURITY DEFINER function reading a table they may not
/// read, and a procedure; `extra` (naming `R0`, `R1`) is appended.
fn routines(extra: &str, r: &[String]) -> String {
    let mut sql = format!(
        "CREATE SCHEMA app;
         CREATE TABLE app.secrets (id int PRIMARY KEY, value text);
         INSERT INTO app.secrets VALUES (1, 'hidden');
         CREATE FUNCTION app.peek(which int) RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
             SET search_path = pg_catalog, app
             AS $$SELECT value FROM app.secrets WHERE id = which$$;
         CREATE PROCEDURE app.forget(which int) LANGUAGE sql
             AS $$DELETE FROM app.secrets WHERE id = which$$;
         GRANT USAGE ON SCHEMA app TO R0, R1;
         {extra}"
    );
    for (i, role) in r.iter().enumerate() {
        sql = sql.replace(&format!("R{i}"), &format!("\"{role}\""));
    }
    sql
}

/// Calls `app.peek(1)` as `role`: the value, or the error text.
async fn peek_as(db: &TestDb, role: &str) -> Result<String, String> {
    let client = db.client().await;
    client
        .batch_execute(&format!("SET ROLE \"{role}\""))
        .await
        .unwrap();
    let result = client
        .query_one("SELECT app.peek(1)", &[])
        .await
        .map(|row| row.get::<_, String>(0))
        .map_err(|e| format!("{e:?}"));
    client.batch_execute("RESET ROLE").await.unwrap();
    result
}

const WITHHELD: &str = "REVOKE ALL ON FUNCTION app.peek(int) FROM PUBLIC;
     GRANT EXECUTE ON FUNCTION app.peek(int) TO R0;";

#[tokio::test]
async fn a_new_function_withheld_from_public_is_revoked_in_the_step_that_creates_it() {
    let db = TestDb::new().await;
    let r = roles(&db, &["caller", "other"]).await;
    let desired = declaration_of(&routines(WITHHELD, &r)).await;
    let peek = &desired.schemas["app"].functions["peek(integer)"];
    assert!(!peek.public_execute());
    let steps = converge(&db, &desired).await;
    let create = steps
        .iter()
        .find(|(_, s)| s.starts_with("CREATE FUNCTION \"app\".\"peek\""))
        .map(|(_, s)| s.as_str())
        .unwrap_or_else(|| panic!("no creation of app.peek in {steps:#?}"));
    // No moment where PUBLIC may call it: the revocation is in the creating transaction.
    assert!(
        create.contains(
            "REVOKE EXECUTE ON FUNCTION \"app\".\"peek\"(integer) FROM PUBLIC;\nGRANT EXECUTE ON FUNCTION \"app\".\"peek\"(integer) TO"
        ),
        "{create}"
    );
    assert!(
        steps
            .iter()
            .all(|(_, s)| !s.contains("ON PROCEDURE \"app\".\"forget\"")),
        "the procedure keeps PostgreSQL's default: {steps:#?}"
    );

    // PostgreSQL enforces it: the granted role reads through the function, the other cannot.
    db.execute("INSERT INTO app.secrets VALUES (1, 'hidden')")
        .await;
    assert_eq!(peek_as(&db, &r[0]).await.as_deref(), Ok("hidden"));
    let denied = peek_as(&db, &r[1]).await.unwrap_err();
    assert!(
        denied.contains("permission denied for function peek"),
        "{denied}"
    );
}

#[tokio::test]
async fn execute_taken_away_from_a_role_is_revoked_in_the_contract_phase() {
    let db = TestDb::new().await;
    let r = roles(&db, &["caller", "other"]).await;
    db.execute(&routines(WITHHELD, &r)).await;
    // Nobody but the owner may call it any more.
    let desired = declaration_of(&routines(
        "REVOKE ALL ON FUNCTION app.peek(int) FROM PUBLIC;",
        &r,
    ))
    .await;
    let steps = converge(&db, &desired).await;
    assert_eq!(
        steps,
        vec![(
            "Contract".to_string(),
            format!(
                "REVOKE EXECUTE ON FUNCTION \"app\".\"peek\"(integer) FROM \"{}\"",
                r[0]
            )
        )]
    );
    assert!(
        peek_as(&db, &r[0])
            .await
            .unwrap_err()
            .contains("permission denied")
    );
}

#[tokio::test]
async fn public_execute_back_to_true_grants_public_again_in_the_expand_phase() {
    let db = TestDb::new().await;
    let r = roles(&db, &["caller", "other"]).await;
    db.execute(&routines(
        &format!("{WITHHELD} REVOKE EXECUTE ON PROCEDURE app.forget(int) FROM PUBLIC;"),
        &r,
    ))
    .await;
    let desired = declaration_of(&routines("", &r)).await;
    let mut steps = converge(&db, &desired).await;
    steps.sort();
    let mut want = vec![
        (
            "Expand".to_string(),
            "GRANT EXECUTE ON FUNCTION \"app\".\"peek\"(integer) TO PUBLIC".to_string(),
        ),
        (
            "Expand".to_string(),
            "GRANT EXECUTE ON PROCEDURE \"app\".\"forget\"(integer) TO PUBLIC".to_string(),
        ),
        (
            "Contract".to_string(),
            format!(
                "REVOKE EXECUTE ON FUNCTION \"app\".\"peek\"(integer) FROM \"{}\"",
                r[0]
            ),
        ),
    ];
    want.sort();
    assert_eq!(steps, want);
    assert_eq!(peek_as(&db, &r[1]).await.as_deref(), Ok("hidden"));
}

#[tokio::test]
async fn a_function_dropped_and_created_again_gets_its_privileges_back_with_it() {
    let db = TestDb::new().await;
    let r = roles(&db, &["caller", "other"]).await;
    db.execute(&routines(WITHHELD, &r)).await;
    // A new result type: PostgreSQL cannot replace it in place.
    let changed = routines(WITHHELD, &r).replace(
        "RETURNS text LANGUAGE sql STABLE",
        "RETURNS varchar LANGUAGE sql STABLE",
    );
    let desired = declaration_of(&changed).await;
    let steps = converge(&db, &desired).await;
    let sql: Vec<&str> = steps.iter().map(|(_, s)| s.as_str()).collect();
    assert!(
        sql.iter()
            .any(|s| s.starts_with("DROP FUNCTION \"app\".\"peek\"(integer)")),
        "{sql:#?}"
    );
    let create = sql
        .iter()
        .find(|s| s.starts_with("CREATE FUNCTION \"app\".\"peek\""))
        .unwrap_or_else(|| panic!("{sql:#?}"));
    assert!(create.contains("FROM PUBLIC"), "{create}");
    assert!(create.contains(&format!("TO \"{}\"", r[0])), "{create}");
    assert!(
        !sql.iter()
            .any(|s| s.starts_with("GRANT") || s.starts_with("REVOKE")),
        "the privileges come with the creation only: {sql:#?}"
    );
    assert_eq!(peek_as(&db, &r[0]).await.as_deref(), Ok("hidden"));
    assert!(peek_as(&db, &r[1]).await.is_err());
}

#[tokio::test]
async fn a_function_becoming_security_definer_loses_public_execute_in_the_step_that_replaces_it() {
    let db = TestDb::new().await;
    let r = roles(&db, &["caller", "other"]).await;
    let invoker = routines("", &r).replace("STABLE SECURITY DEFINER", "STABLE");
    db.execute(&invoker).await;
    let desired = declaration_of(&routines(WITHHELD, &r)).await;
    let steps = converge(&db, &desired).await;
    let replace = steps
        .iter()
        .find(|(_, s)| s.starts_with("CREATE OR REPLACE FUNCTION \"app\".\"peek\""))
        .unwrap_or_else(|| panic!("{steps:#?}"));
    assert_eq!(replace.0, "Expand");
    assert!(
        replace
            .1
            .ends_with("REVOKE EXECUTE ON FUNCTION \"app\".\"peek\"(integer) FROM PUBLIC"),
        "{}",
        replace.1
    );
    assert!(
        steps.iter().all(|(phase, _)| phase == "Expand"),
        "nothing is left for the contract phase: {steps:#?}"
    );
    assert!(peek_as(&db, &r[1]).await.is_err());
}

#[tokio::test]
async fn dump_writes_function_privileges_that_load_back_to_the_same_fingerprint() {
    let db = TestDb::new().await;
    let r = roles(&db, &["caller", "other"]).await;
    db.execute(&routines(
        &format!(
            "{WITHHELD} GRANT EXECUTE ON FUNCTION app.peek(int) TO R1 WITH GRANT OPTION;
             GRANT EXECUTE ON PROCEDURE app.forget(int) TO R1;"
        ),
        &r,
    ))
    .await;
    let model = common::catalog(&db).await.model;
    let (app, loaded) = dumped(&model);
    for expected in [
        "public-execute=#false".to_string(),
        format!("grant \"EXECUTE\" to=\"{}\"\n", r[0]),
        format!("grant \"EXECUTE\" to=\"{}\" grant-option=#true", r[1]),
    ] {
        assert!(app.contains(&expected), "missing {expected} in\n{app}");
    }
    // Only the function withholds PUBLIC's EXECUTE.
    assert_eq!(app.matches("public-execute=").count(), 1, "{app}");
    assert_eq!(fingerprint(&loaded), fingerprint(&model));

    // The access list is part of the fingerprint.
    let mut public = model.clone();
    let f = public
        .schemas
        .get_mut("app")
        .and_then(|s| s.functions.get_mut("peek(integer)"))
        .unwrap();
    f.grants.extend(formwork::model::Function::default_grants());
    assert_ne!(fingerprint(&public), fingerprint(&model));
}

#[tokio::test]
async fn execute_granted_to_a_role_the_database_lacks_is_refused() {
    let db = TestDb::new().await;
    let r = roles(&db, &["caller", "other"]).await;
    db.execute(&routines("", &r)).await;
    let mut desired = declaration_of(&routines("", &r)).await;
    let missing = format!("{}_nobody", db.name());
    desired
        .schemas
        .get_mut("app")
        .and_then(|s| s.functions.get_mut("peek(integer)"))
        .unwrap()
        .grants
        .push(Grant {
            grantee: Grantee::Role(missing.clone()),
            privileges: vec!["EXECUTE".into()],
            with_grant_option: false,
        });
    match common::refusal(&db, &desired, &PlanOptions::default()).await {
        PlannerError::MissingRoles { roles } => assert_eq!(roles, vec![missing]),
        other => panic!("expected MissingRoles, got {other}"),
    }
}

#[test]
fn import_reads_revoke_from_public_and_grant_execute_on_a_function() {
    let (stdout, stderr) = imported(
        "fn-grants-import",
        "CREATE FUNCTION public.f(int) RETURNS int LANGUAGE sql AS 'SELECT $1';\n\
         REVOKE ALL ON FUNCTION f(int) FROM PUBLIC;\n\
         GRANT EXECUTE ON FUNCTION f(int) TO fn_import_app;\n",
    );
    let function = stdout
        .split("function \"f\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no function f in\n{stdout}"));
    let node_line = function.lines().next().unwrap_or_default();
    assert!(node_line.contains("public-execute=#false"), "{stdout}");
    assert!(
        function.contains("grant \"EXECUTE\" to=\"fn_import_app\""),
        "{stdout}"
    );
    assert!(!stderr.contains("privileges on function"), "{stderr}");
}

#[test]
fn a_grant_to_public_beside_public_execute_false_is_a_conflict() {
    let err = load_sources(&[SourceFile {
        name: "app.kdl".into(),
        text: "schema \"app\" {\n    function \"f\" returns=\"int\" language=\"sql\" public-execute=#false {\n        body \"SELECT 1\"\n        grant \"EXECUTE\" to=\"public\"\n    }\n}\n"
            .into(),
    }])
    .unwrap_err();
    let text = format!("{err:?}");
    assert!(text.contains("grants to public and withholds it"), "{text}");
}
