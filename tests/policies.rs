//! Row-level security through the whole pipeline on real PostgreSQL: the KDL declaration,
//! introspection, dump and import, and plans for every kind of change to the `ENABLE` /
//! `FORCE` flags and to policies (create, each attribute altered, rename, drop). Each plan is
//! applied and must converge (declared fingerprint, empty re-plan), keep the rows, and leave
//! row-level security enforced as declared for a role the policies restrict.

mod common;

use common::{TestDb, catalog, declared, scratch};
use formwork::catalog::fingerprint::fingerprint;
use formwork::plan::planner::{PlanOptions, Planned, make_plan};

/// Roles are cluster-wide: created once per test, tolerating the other tests of the binary.
const ROLES_SQL: &str = "
DO $$ BEGIN CREATE ROLE fw_pol_app NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE fw_pol_admin NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
";

const BASE_SQL: &str = "
CREATE TABLE docs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant text NOT NULL,
    body text NOT NULL
);
INSERT INTO docs (tenant, body) VALUES ('a', 'one'), ('a', 'two'), ('b', 'three');
GRANT SELECT, INSERT, UPDATE, DELETE ON docs TO fw_pol_app, fw_pol_admin;
";

const TABLE: &str = r#"
        column "id" "bigint" identity="always"
        column "tenant" "text"
        column "body" "text"
        primary-key "id"
        grant "SELECT" "INSERT" "UPDATE" "DELETE" to="fw_pol_app"
        grant "SELECT" "INSERT" "UPDATE" "DELETE" to="fw_pol_admin"
"#;

fn kdl(rls: &str) -> String {
    format!("schema \"public\" {{\n    table \"docs\" {{{TABLE}{rls}\n    }}\n}}\n")
}

async fn base() -> TestDb {
    let db = TestDb::new().await;
    db.execute(ROLES_SQL).await;
    db.execute(BASE_SQL).await;
    db
}

/// Plan `db` toward `kdl`, apply, check convergence, that no row was lost and that policies
/// are managed rather than listed.
async fn converge(db: &TestDb, kdl: &str) -> Planned {
    let rows = rows(db).await;
    let planned = common::converge(db, &common::declared(kdl), &PlanOptions::default()).await;
    assert_eq!(self::rows(db).await, rows, "rows were lost");
    let after = catalog(db).await;
    assert!(
        !after
            .unmanaged
            .iter()
            .any(|u| u.kind == formwork::model::ObjectKind::Policy),
        "policies of plain tables are managed, not listed: {:?}",
        after.unmanaged
    );
    planned
}

fn sqls(p: &Planned) -> Vec<String> {
    p.plan.steps().iter().map(|s| s.sql.clone()).collect()
}

/// The rows of `docs` as its owner sees them, 0 while there is no such table.
async fn rows(db: &TestDb) -> i64 {
    let client = db.client().await;
    let exists: bool = client
        .query_one("SELECT to_regclass('public.docs') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    if !exists {
        return 0;
    }
    count_as(db, None).await
}

/// How many rows of `docs` a session sees, as `role` when given (`SET ROLE`: row-level
/// security applies to it as to a login of that role).
async fn count_as(db: &TestDb, role: Option<&str>) -> i64 {
    let client = db.client().await;
    if let Some(r) = role {
        client
            .batch_execute(&format!("SET ROLE {r}"))
            .await
            .unwrap();
    }
    client
        .query_one("SELECT count(*) FROM public.docs", &[])
        .await
        .unwrap()
        .get(0)
}

/// Whether `role` may insert a row of `tenant`.
async fn insert_as(db: &TestDb, role: &str, tenant: &str) -> bool {
    let client = db.client().await;
    client
        .batch_execute(&format!("SET ROLE {role}"))
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO public.docs (tenant, body) VALUES ($1, 'new')",
            &[&tenant],
        )
        .await
        .is_ok()
}

#[tokio::test]
async fn a_new_table_gets_its_row_level_security_and_policies_and_they_are_enforced() {
    let db = TestDb::new().await;
    db.execute(ROLES_SQL).await;
    let planned = converge(
        &db,
        &kdl(r#"
        row-level-security
        policy "tenant_a" for="select" to="fw_pol_app" using="tenant = 'a'""#),
    )
    .await;
    let s = sqls(&planned);
    let pos = |needle: &str| s.iter().position(|x| x.contains(needle)).unwrap();
    assert!(pos("CREATE TABLE") < pos("ENABLE ROW LEVEL SECURITY"));
    assert!(pos("CREATE TABLE") < pos("CREATE POLICY"));
    db.execute(
        "INSERT INTO docs (tenant, body) VALUES ('a', 'x'), ('b', 'y');
         GRANT SELECT ON docs TO fw_pol_app",
    )
    .await;
    assert_eq!(count_as(&db, Some("fw_pol_app")).await, 1);
    assert_eq!(count_as(&db, None).await, 2);
}

#[tokio::test]
async fn enabling_and_forcing_row_level_security_converge_and_restrict_other_roles() {
    let db = base().await;
    assert_eq!(count_as(&db, Some("fw_pol_app")).await, 3);
    // Policy and flag in one plan: the policy exists before the flag is switched on.
    let planned = converge(
        &db,
        &kdl(r#"
        row-level-security
        policy "tenant_a" to="fw_pol_app" using="tenant = 'a'""#),
    )
    .await;
    let s = sqls(&planned);
    let create = s.iter().position(|x| x.contains("CREATE POLICY")).unwrap();
    let enable = s
        .iter()
        .position(|x| x.contains("ENABLE ROW LEVEL SECURITY"))
        .unwrap();
    assert!(create < enable, "{s:?}");
    assert_eq!(count_as(&db, Some("fw_pol_app")).await, 2);
    // No policy serves fw_pol_admin: it sees nothing.
    assert_eq!(count_as(&db, Some("fw_pol_admin")).await, 0);

    let planned = converge(
        &db,
        &kdl(r#"
        row-level-security forced=#true
        policy "tenant_a" to="fw_pol_app" using="tenant = 'a'""#),
    )
    .await;
    assert_eq!(
        sqls(&planned),
        vec![r#"ALTER TABLE "public"."docs" FORCE ROW LEVEL SECURITY"#]
    );
    // Forced applies to the owner; superusers still bypass it.
    let forced: bool = db
        .client()
        .await
        .query_one(
            "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'public.docs'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(forced);

    // Forced but not enabled is a state PostgreSQL keeps; the flags are independent.
    converge(
        &db,
        &kdl(r#"
        row-level-security enabled=#false forced=#true
        policy "tenant_a" to="fw_pol_app" using="tenant = 'a'""#),
    )
    .await;
    assert_eq!(count_as(&db, Some("fw_pol_admin")).await, 3);

    let planned = converge(
        &db,
        &kdl(r#"
        policy "tenant_a" to="fw_pol_app" using="tenant = 'a'""#),
    )
    .await;
    assert_eq!(
        sqls(&planned),
        vec![r#"ALTER TABLE "public"."docs" NO FORCE ROW LEVEL SECURITY"#]
    );

    converge(
        &db,
        &kdl(r#"
        row-level-security
        policy "tenant_a" to="fw_pol_app" using="tenant = 'a'""#),
    )
    .await;
    let planned = converge(&db, &kdl("")).await;
    let s = sqls(&planned);
    // Switched off before the policy goes, so nobody is briefly served by no policy.
    let disable = s.iter().position(|x| x.contains("DISABLE ROW")).unwrap();
    let drop = s.iter().position(|x| x.contains("DROP POLICY")).unwrap();
    assert!(disable < drop, "{s:?}");
    assert_eq!(count_as(&db, Some("fw_pol_app")).await, 3);
}

#[tokio::test]
async fn every_policy_attribute_changes_and_the_new_policy_is_enforced() {
    let db = base().await;
    let with = |policy: &str| kdl(&format!("\n        row-level-security\n        {policy}"));
    converge(
        &db,
        &with(r#"policy "p" to="fw_pol_app" using="tenant = 'a'""#),
    )
    .await;
    assert_eq!(count_as(&db, Some("fw_pol_app")).await, 2);

    // USING changes in place.
    let planned = converge(
        &db,
        &with(r#"policy "p" to="fw_pol_app" using="tenant = 'b'""#),
    )
    .await;
    assert_eq!(sqls(&planned).len(), 1);
    assert!(
        sqls(&planned)[0].starts_with("ALTER POLICY"),
        "{:?}",
        sqls(&planned)
    );
    assert_eq!(count_as(&db, Some("fw_pol_app")).await, 1);

    // Roles change in place: several roles, in a `to` child.
    let planned = converge(
        &db,
        &with(
            r#"policy "p" using="tenant = 'b'" {
            to "fw_pol_app" "fw_pol_admin"
        }"#,
        ),
    )
    .await;
    assert!(sqls(&planned)[0].starts_with("ALTER POLICY"));
    assert_eq!(count_as(&db, Some("fw_pol_admin")).await, 1);

    // WITH CHECK added in place, and enforced on writes.
    let planned = converge(
        &db,
        &with(r#"policy "p" to="fw_pol_app" using="tenant = 'b'" with-check="tenant = 'b'""#),
    )
    .await;
    assert!(sqls(&planned).iter().all(|s| s.starts_with("ALTER POLICY")));
    assert!(insert_as(&db, "fw_pol_app", "b").await);
    assert!(!insert_as(&db, "fw_pol_app", "a").await);

    // WITH CHECK removed: ALTER POLICY cannot, so the policy is replaced in one step.
    let planned = converge(
        &db,
        &with(r#"policy "p" to="fw_pol_app" using="tenant = 'b'""#),
    )
    .await;
    assert_eq!(sqls(&planned).len(), 1, "{:?}", sqls(&planned));
    assert!(sqls(&planned)[0].starts_with("DROP POLICY"));
    assert!(sqls(&planned)[0].contains("CREATE POLICY"));

    // The command changes: replaced.
    let planned = converge(
        &db,
        &with(r#"policy "p" for="select" to="fw_pol_app" using="tenant = 'b'""#),
    )
    .await;
    assert_eq!(sqls(&planned).len(), 1);
    assert!(sqls(&planned)[0].contains("FOR SELECT"));
    assert!(!insert_as(&db, "fw_pol_app", "b").await);

    // Restrictive alongside a permissive one: both must pass.
    let planned = converge(
        &db,
        &with(
            r#"policy "p" for="select" to="fw_pol_app" using="tenant = 'b'"
        policy "not_three" as="restrictive" to="fw_pol_app" using="body <> 'three'""#,
        ),
    )
    .await;
    assert_eq!(sqls(&planned).len(), 1);
    assert!(sqls(&planned)[0].contains("AS RESTRICTIVE"));
    // Rows of tenant b other than 'three': the one inserted above.
    assert_eq!(count_as(&db, Some("fw_pol_app")).await, 1);

    // Restrictive to permissive (replaced): either policy now lets a row through.
    let planned = converge(
        &db,
        &with(
            r#"policy "p" for="select" to="fw_pol_app" using="tenant = 'b'"
        policy "not_three" to="fw_pol_app" using="body <> 'three'""#,
        ),
    )
    .await;
    assert_eq!(sqls(&planned).len(), 1);
    assert!(sqls(&planned)[0].contains("AS PERMISSIVE"));
    assert_eq!(count_as(&db, Some("fw_pol_app")).await, 4);
    converge(
        &db,
        &with(
            r#"policy "p" for="select" to="fw_pol_app" using="tenant = 'b'"
        policy "not_three" as="restrictive" to="fw_pol_app" using="body <> 'three'""#,
        ),
    )
    .await;
    assert_eq!(count_as(&db, Some("fw_pol_app")).await, 1);

    // Rename and comment.
    let planned = converge(
        &db,
        &with(
            r#"policy "tenant_b" renamed-from="p" for="select" to="fw_pol_app" using="tenant = 'b'" comment="tenant b only"
        policy "not_three" as="restrictive" to="fw_pol_app" using="body <> 'three'""#,
        ),
    )
    .await;
    let s = sqls(&planned);
    assert!(
        s.iter().any(|x| x.contains("RENAME TO \"tenant_b\"")),
        "{s:?}"
    );
    assert!(!s.iter().any(|x| x.contains("DROP POLICY")), "{s:?}");
    assert!(
        s.iter().any(|x| x.starts_with("COMMENT ON POLICY")),
        "{s:?}"
    );

    // Drop: the restrictive policy no longer hides 'three'.
    let planned = converge(
        &db,
        &with(
            r#"policy "tenant_b" for="select" to="fw_pol_app" using="tenant = 'b'" comment="tenant b only""#,
        ),
    )
    .await;
    assert!(sqls(&planned)[0].starts_with("DROP POLICY"));
    assert_eq!(count_as(&db, Some("fw_pol_app")).await, 2);
}

#[tokio::test]
async fn policies_and_flags_are_read_dumped_and_loaded_back_unchanged() {
    let db = base().await;
    db.execute(
        "ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
         ALTER TABLE docs FORCE ROW LEVEL SECURITY;
         CREATE POLICY everyone ON docs USING (true);
         CREATE POLICY writers ON docs AS RESTRICTIVE FOR UPDATE TO fw_pol_admin, fw_pol_app
             USING (tenant = current_user) WITH CHECK (length(body) < 100);
         CREATE POLICY \"Odd name\" ON docs FOR INSERT TO fw_pol_app WITH CHECK (tenant <> '');
         COMMENT ON POLICY everyone ON docs IS 'all rows';",
    )
    .await;
    let read = catalog(&db).await;
    let t = read
        .model
        .table(&formwork::model::QualifiedName::new("public", "docs"))
        .unwrap();
    assert!(t.row_security.enabled && t.row_security.forced);
    assert_eq!(t.policies.len(), 3);
    let w = &t.policies["writers"];
    assert!(!w.permissive);
    assert_eq!(w.command, formwork::model::PolicyCommand::Update);
    assert_eq!(w.roles, vec!["fw_pol_admin", "fw_pol_app"]);
    assert!(w.using.is_some() && w.with_check.is_some());
    assert_eq!(t.policies["everyone"].roles, vec!["public"]);
    assert_eq!(t.policies["everyone"].comment.as_deref(), Some("all rows"));
    assert_eq!(t.policies["Odd name"].using, None);

    // Dump to KDL, load it back: the same model, and planning it changes nothing.
    let files = formwork::kdl::write::model_to_files(&read.model);
    let text = formwork::ops::dump::concatenate(&files);
    assert!(
        text.contains(r#"row-level-security forced=#true"#),
        "{text}"
    );
    assert!(text.contains(r#"as="restrictive" for="update""#), "{text}");
    let loaded = declared(&text);
    assert_eq!(loaded, read.model);
    let planned = make_plan(&read, &loaded, &scratch(), &PlanOptions::default())
        .await
        .unwrap();
    assert!(planned.plan.steps().is_empty(), "{:?}", sqls(&planned));
    assert_eq!(fingerprint(&loaded), fingerprint(&read.model));

    // The same SQL imported through a scratch database gives the same files.
    let imported = common::import_sql(format!(
        "{BASE_SQL}
             ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
             ALTER TABLE docs FORCE ROW LEVEL SECURITY;
             CREATE POLICY everyone ON docs USING (true);
             CREATE POLICY writers ON docs AS RESTRICTIVE FOR UPDATE TO fw_pol_admin, fw_pol_app
                 USING (tenant = current_user) WITH CHECK (length(body) < 100);
             CREATE POLICY \"Odd name\" ON docs FOR INSERT TO fw_pol_app WITH CHECK (tenant <> '');
             COMMENT ON POLICY everyone ON docs IS 'all rows';"
    ))
    .await;
    assert_eq!(imported.model, read.model);
    assert_eq!(imported.files, files);
}

#[tokio::test]
async fn policy_declarations_with_mistakes_are_refused_with_their_place() {
    let load = |text: &str| {
        formwork::kdl::load::load_sources(&[formwork::kdl::diag::SourceFile {
            name: "schema.kdl".into(),
            text: text.into(),
        }])
    };
    let twice = kdl(r#"
        policy "p" using="true"
        policy "p" using="false""#);
    let err = format!("{:?}", load(&twice).unwrap_err());
    assert!(
        err.contains("policy `p` on table `public.docs` is declared twice"),
        "{err}"
    );

    let both = kdl(r#"
        policy "p" to="a" {
            to "b" "c"
        }"#);
    let err = format!("{:?}", load(&both).unwrap_err());
    assert!(err.contains("lists its roles twice"), "{err}");

    let bad = kdl(r#"
        policy "p" for="selects""#);
    let err = format!("{:?}", load(&bad).unwrap_err());
    assert!(err.contains("did you mean `select`?"), "{err}");

    let flags = kdl(r#"
        row-level-security
        row-level-security forced=#true"#);
    assert!(load(&flags).is_err());
}

#[tokio::test]
async fn import_creates_the_roles_policies_name_on_its_scratch_server() {
    // A dump never creates roles; formwork's scratch server gets them as NOLOGIN roles.
    let role = format!("fw_pol_only_in_import_{}", std::process::id());
    let imported = common::import_sql(format!(
        "CREATE TABLE docs (id int PRIMARY KEY, tenant text NOT NULL);
             ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
             CREATE POLICY mine ON docs TO {role} USING (tenant = current_user);"
    ))
    .await;
    let t = imported
        .model
        .table(&formwork::model::QualifiedName::new("public", "docs"))
        .unwrap();
    assert_eq!(t.policies["mine"].roles, vec![role.clone()]);
    let text = formwork::ops::dump::concatenate(&imported.files);
    assert!(text.contains(&format!("to=\"{role}\"")), "{text}");
}

#[tokio::test]
async fn a_policy_reading_another_table_is_planned_when_only_its_table_changes() {
    let db = base().await;
    db.execute(
        "CREATE TABLE members (role_name text PRIMARY KEY, tenant text NOT NULL);
         INSERT INTO members VALUES ('fw_pol_app', 'b');
         GRANT SELECT ON members TO fw_pol_app;",
    )
    .await;
    let members = r#"
    table "members" {
        column "role_name" "text"
        column "tenant" "text"
        primary-key "role_name"
        grant "SELECT" to="fw_pol_app"
    }"#;
    let text = kdl(r#"
        row-level-security
        policy "by_membership" to="fw_pol_app" using="tenant IN (SELECT m.tenant FROM public.members m WHERE m.role_name = current_user)""#)
    .replace("schema \"public\" {\n", &format!("schema \"public\" {{{members}\n"));
    converge(&db, &text).await;
    assert_eq!(count_as(&db, Some("fw_pol_app")).await, 1);
}
