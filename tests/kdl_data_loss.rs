//! `allow-data-loss` in KDL: every form loads into the `DataLoss` the planner reads, mistakes
//! are reported at their place with a suggestion, `fmt` keeps the nodes and their comments, and
//! the declaration stays out of equality, the fingerprint and what `dump` writes. The last test
//! runs `formwork plan` against a real database to show the planner lets through exactly the
//! declared losses.

mod common;

use formwork::catalog::fingerprint::fingerprint;
use formwork::kdl::format::format_source;
use formwork::kdl::load::load_sources;
use formwork::kdl::{Problem, ProblemKind, SourceFile};
use formwork::model::{DataLoss, DataLossKind, Model};

const ALL_FORMS: &str = r#"extension "hstore"

schema "public" {
    table "users" {
        column "id" "bigint"
        column "nickname" "varchar(20)"
    }
    enum "mood" "happy" "sad"

    allow-data-loss "table" "legacy_orders" // drop the table and its rows
    allow-data-loss "column" "users" "nickname" // drop the column, or narrow its type
    allow-data-loss "enum" "old_mood"
    allow-data-loss "enum-value" "mood" "meh"
    allow-data-loss "sequence" "old_seq"
}

allow-data-loss "extension" "postgis" // top level
"#;

fn load(files: &[(&str, &str)]) -> Model {
    let sources: Vec<SourceFile> = files.iter().map(|(n, t)| SourceFile::new(*n, *t)).collect();
    match load_sources(&sources) {
        Ok(m) => m,
        Err(e) => panic!("{:#?}", e.problems),
    }
}

fn problems(src: &str) -> Vec<Problem> {
    match load_sources(&[SourceFile::new("t.kdl", src)]) {
        Ok(m) => panic!("expected problems, the file loaded: {m:#?}"),
        Err(e) => e.problems,
    }
}

fn only(src: &str) -> Problem {
    let mut ps = problems(src);
    assert_eq!(ps.len(), 1, "expected one problem, got {ps:#?}");
    ps.remove(0)
}

/// Byte range of the `n`th (0-based) occurrence of `needle` in `src`.
fn at(src: &str, needle: &str, n: usize) -> Option<(usize, usize)> {
    let offset = src.match_indices(needle).nth(n).map(|(i, _)| i)?;
    Some((offset, needle.len()))
}

fn in_schema(body: &str) -> String {
    format!("schema \"public\" {{\n{body}\n}}\n")
}

fn loss(kind: DataLossKind, schema: Option<&str>, name: &str, member: Option<&str>) -> DataLoss {
    DataLoss {
        kind,
        schema: schema.map(str::to_string),
        name: name.into(),
        member: member.map(str::to_string),
    }
}

#[test]
fn every_form_loads_into_the_data_loss_it_names() {
    let model = load(&[("a.kdl", ALL_FORMS)]);
    let p = Some("public");
    assert_eq!(
        model.allow_data_loss,
        vec![
            loss(DataLossKind::Table, p, "legacy_orders", None),
            loss(DataLossKind::Column, p, "users", Some("nickname")),
            loss(DataLossKind::Enum, p, "old_mood", None),
            loss(DataLossKind::EnumValue, p, "mood", Some("meh")),
            loss(DataLossKind::Sequence, p, "old_seq", None),
            loss(DataLossKind::Extension, None, "postgis", None),
        ]
    );
}

#[test]
fn declarations_in_several_files_and_schemas_are_collected_in_file_order() {
    let a = "schema \"billing\" {\n    allow-data-loss \"table\" \"invoices_old\"\n}\n";
    let b = "schema \"Audit Log\" {\n    allow-data-loss \"column\" \"Events\" \"Old Col\"\n}\n";
    let model = load(&[("a.kdl", a), ("b.kdl", b)]);
    assert_eq!(
        model.allow_data_loss,
        vec![
            loss(DataLossKind::Table, Some("billing"), "invoices_old", None),
            loss(
                DataLossKind::Column,
                Some("Audit Log"),
                "Events",
                Some("Old Col")
            ),
        ]
    );
    // A schema block that only allows a loss still declares the schema.
    assert!(model.schemas.contains_key("billing"));
}

#[test]
fn the_declaration_changes_neither_equality_nor_the_fingerprint() {
    let with = load(&[("a.kdl", ALL_FORMS)]);
    let without_text: String = ALL_FORMS
        .lines()
        .filter(|l| !l.contains("allow-data-loss"))
        .map(|l| format!("{l}\n"))
        .collect();
    let without = load(&[("a.kdl", &without_text)]);
    assert!(without.allow_data_loss.is_empty());
    assert!(!with.allow_data_loss.is_empty());
    assert_eq!(with, without);
    assert_eq!(fingerprint(&with), fingerprint(&without));
}

#[test]
fn dump_never_writes_allow_data_loss() {
    let model = load(&[("a.kdl", ALL_FORMS)]);
    let files = formwork::kdl::write::model_to_files(&model);
    assert!(!files.is_empty());
    for (path, text) in &files {
        assert!(
            !text.contains("allow-data-loss"),
            "{} has it:\n{text}",
            path.display()
        );
    }
}

#[test]
fn a_misspelt_kind_is_refused_with_a_suggestion() {
    let src = in_schema("    allow-data-loss \"tabel\" \"legacy\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::BadValue);
    assert_eq!(
        p.message,
        "the kind of `allow-data-loss` must be one of \"table\", \"column\", \"enum\", \"enum-value\", \"sequence\", \"extension\", \"type\", \"attribute\", found \"tabel\""
    );
    assert_eq!(p.help.as_deref(), Some("did you mean `table`?"));
    assert_eq!(p.range(), at(&src, "\"tabel\"", 0));

    let src = in_schema("    allow-data-loss \"enum_value\" \"mood\" \"meh\"");
    let p = only(&src);
    assert_eq!(p.help.as_deref(), Some("did you mean `enum-value`?"));
}

#[test]
fn a_misspelt_node_name_gets_a_suggestion() {
    let src = in_schema("    allow-dataloss \"table\" \"legacy\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::UnknownNode);
    assert_eq!(p.help.as_deref(), Some("did you mean `allow-data-loss`?"));
    assert_eq!(p.range(), at(&src, "allow-dataloss", 0));
}

#[test]
fn a_column_without_its_table_or_column_is_refused() {
    let src = in_schema("    allow-data-loss \"column\" \"users\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::WrongArity);
    assert_eq!(
        p.message,
        "allowing the loss of a column takes 2 names, found 1"
    );
    assert_eq!(
        p.help.as_deref(),
        Some("write it as: allow-data-loss \"column\" <table> <column>")
    );
    assert_eq!(p.range(), at(&src, "\"users\"", 0));

    let src = in_schema("    allow-data-loss \"enum-value\" \"mood\"");
    let p = only(&src);
    assert_eq!(
        p.message,
        "allowing the loss of an enum-value takes 2 names, found 1"
    );
    assert_eq!(
        p.help.as_deref(),
        Some("write it as: allow-data-loss \"enum-value\" <enum> <value>")
    );
}

#[test]
fn an_extra_name_is_refused_where_it_is() {
    let src = in_schema("    allow-data-loss \"table\" \"orders\" \"id\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::WrongArity);
    assert_eq!(
        p.message,
        "allowing the loss of a table takes 1 name, found 2"
    );
    assert_eq!(p.range(), at(&src, "\"id\"", 0));
    assert_eq!(
        p.help.as_deref(),
        Some("write it as: allow-data-loss \"table\" <name>")
    );
}

#[test]
fn too_few_or_too_many_arguments_are_one_problem() {
    let src = in_schema("    allow-data-loss \"table\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::WrongArity);
    assert_eq!(
        p.message,
        "`allow-data-loss` takes 2 to 3 arguments, found 1"
    );
    assert_eq!(
        p.help.as_deref(),
        Some("write it as: allow-data-loss <kind> <name> [<member>]")
    );
    assert_eq!(p.range(), at(&src, "allow-data-loss", 0));

    let src = in_schema("    allow-data-loss \"column\" \"a\" \"b\" \"c\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::WrongArity);
    assert_eq!(p.range(), at(&src, "\"c\"", 0));

    let src = in_schema("    allow-data-loss");
    assert_eq!(only(&src).kind, ProblemKind::WrongArity);
}

#[test]
fn an_extension_inside_a_schema_block_is_refused() {
    let src = in_schema("    allow-data-loss \"extension\" \"hstore\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::BadValue);
    assert!(
        p.message.starts_with("extensions are database-wide"),
        "{}",
        p.message
    );
    assert_eq!(
        p.help.as_deref(),
        Some("move it out of the schema block: allow-data-loss \"extension\" <name>")
    );
    assert_eq!(p.range(), at(&src, "\"extension\"", 0));
}

#[test]
fn a_schema_object_at_the_top_level_is_refused() {
    let src = "allow-data-loss \"column\" \"users\" \"nickname\"\n";
    let p = only(src);
    assert_eq!(p.kind, ProblemKind::BadValue);
    assert_eq!(
        p.message,
        "a column belongs to a schema: allow losing it in a schema block"
    );
    assert_eq!(
        p.help.as_deref(),
        Some(
            "write it inside `schema \"<name>\" { }`: allow-data-loss \"column\" <table> <column>"
        )
    );
    assert_eq!(p.range(), at(src, "\"column\"", 0));
}

#[test]
fn the_same_loss_twice_is_reported_with_the_first_place() {
    let src = in_schema(
        "    allow-data-loss \"column\" \"users\" \"nickname\"\n    allow-data-loss \"column\" \"users\" \"nickname\"",
    );
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::DuplicateName);
    assert_eq!(
        p.message,
        "the loss of column `public.users.nickname` is declared twice"
    );
    assert_eq!(p.help.as_deref(), Some("first declared on line 2"));
    assert_eq!(p.range(), at(&src, "\"users\"", 1));
}

#[test]
fn names_postgresql_would_refuse_are_refused() {
    let long = "x".repeat(64);
    let src = in_schema(&format!("    allow-data-loss \"table\" \"{long}\""));
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::InvalidName);
    let src = in_schema("    allow-data-loss \"enum-value\" \"mood\" \"\"");
    assert_eq!(only(&src).kind, ProblemKind::InvalidName);
    let src = in_schema("    allow-data-loss \"table\" 42");
    assert_eq!(only(&src).kind, ProblemKind::BadValue);
}

#[test]
fn fmt_keeps_the_nodes_their_order_and_comments_and_is_idempotent() {
    let messy = "extension \"hstore\"\nschema   public {\n  // what may go\n  allow-data-loss table legacy_orders   // rows too\n  allow-data-loss \"column\" users nickname\n  /-allow-data-loss \"enum\" \"mood\"\n  table \"users\" { column \"id\" \"bigint\" ; }\n}\nallow-data-loss extension hstore // last\n";
    let out = match format_source("t.kdl", messy) {
        Ok(o) => o,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(
        out,
        "extension \"hstore\"\nschema \"public\" {\n    // what may go\n    allow-data-loss \"table\" \"legacy_orders\" // rows too\n    allow-data-loss \"column\" \"users\" \"nickname\"\n    /-allow-data-loss \"enum\" \"mood\"\n    table \"users\" {\n        column \"id\" \"bigint\"\n    }\n}\nallow-data-loss \"extension\" \"hstore\" // last\n"
    );
    assert_eq!(format_source("t.kdl", &out).ok().as_deref(), Some(&*out));
    // Formatting does not change what loads.
    assert_eq!(
        load(&[("t.kdl", messy)]).allow_data_loss,
        load(&[("t.kdl", &out)]).allow_data_loss
    );
    // The documented example is already in canonical form.
    assert_eq!(
        format_source("a.kdl", ALL_FORMS).ok().as_deref(),
        Some(ALL_FORMS)
    );
}

#[test]
fn plan_lets_through_exactly_the_declared_losses() {
    let db = common::test_db();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(db.execute(
        "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, legacy text); \
         CREATE TABLE old_stuff (id int);",
    ));
    let dir = common::TempDir::new("data-loss");
    let items = "    table \"items\" {\n        column \"id\" \"bigint\"\n        column \"name\" \"text\"\n        primary-key \"id\"\n    }\n";
    let plan = |allow: &str| {
        let schemas = dir.0.join("schemas");
        std::fs::create_dir_all(&schemas).expect("schemas dir");
        let text = format!("schema \"public\" {{\n{items}{allow}}}\n");
        std::fs::write(schemas.join("public.kdl"), text).expect("write declaration");
        let out = dir.0.join("plan.bin");
        let _ = std::fs::remove_file(&out);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_formwork"))
            .args(["plan", "--db", &db.url(), "--dir"])
            .arg(&schemas)
            .arg("--out")
            .arg(&out)
            .env_remove("DATABASE_URL")
            .env(
                "FORMWORK_DEV_URL",
                common::cluster().conn_info("postgres").to_url_string(),
            )
            .env("NO_COLOR", "1")
            .output()
            .expect("run formwork plan");
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        let sql: Vec<String> = match formwork::plan::file::read(&out) {
            Ok(p) => p.steps().iter().map(|s| s.sql.clone()).collect(),
            Err(_) => Vec::new(),
        };
        (o.status.code(), stderr, sql)
    };

    // Both losses declared: the plan is made and drops both.
    let (code, stderr, sql) = plan(
        "    allow-data-loss \"column\" \"items\" \"legacy\"\n    allow-data-loss \"table\" \"old_stuff\"\n",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(sql.iter().any(|s| s.contains("DROP TABLE")), "{sql:#?}");
    assert!(sql.iter().any(|s| s.contains("DROP COLUMN")), "{sql:#?}");

    // Only the column declared: the table's loss is refused, and only it is named.
    let (code, stderr, sql) = plan("    allow-data-loss \"column\" \"items\" \"legacy\"\n");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("public.old_stuff"), "{stderr}");
    assert!(!stderr.contains("legacy"), "{stderr}");
    assert!(sql.is_empty(), "no plan file is written");

    // A declaration for another schema's table of that name allows nothing here.
    let (code, stderr, _) = plan(
        "    allow-data-loss \"column\" \"items\" \"legacy\"\n}\nschema \"other\" {\n    allow-data-loss \"table\" \"old_stuff\"\n",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("public.old_stuff"), "{stderr}");
}
