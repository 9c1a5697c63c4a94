//! The files under `examples/` are documentation; these tests keep them true.
//!
//! Each recipe in `examples/<recipe>/` (start.sql, before/, after/, plan.md) is checked on a
//! fresh database: `before/` matches start.sql, `after/` plans to what plan.md shows (only the
//! plan id, the target's name and cluster identifier and the catalog fingerprints may differ),
//! and the plan applies and leaves nothing to do. When the planner's output changes on purpose,
//! regenerate `before/` and `plan.md` with
//!
//! ```sh
//! UPDATE_EXAMPLES=1 cargo test --test examples recipe_
//! ```
//!
//! and review the diff like any other change.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(path)
}

#[test]
fn importing_the_adoption_example_gives_the_checked_in_declaration() {
    let out_dir = std::env::temp_dir().join(format!("formwork-example-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let admin = common::cluster().conn_info("postgres").to_url_string();
    let out = Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(["import"])
        .arg(example("adopt-existing-database/schema.sql"))
        .args(["--dev-url", &admin, "--out"])
        .arg(&out_dir)
        .output()
        .expect("run formwork import");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "import failed:\n{stderr}");
    assert!(
        !stderr.contains("privileges"),
        "the grant is imported, not skipped:\n{stderr}"
    );

    let expected_dir = example("adopt-existing-database/schemas");
    let mut expected: Vec<_> = std::fs::read_dir(&expected_dir)
        .expect("example schemas")
        .map(|e| e.expect("entry").file_name())
        .collect();
    expected.sort();
    let mut written: Vec<_> = std::fs::read_dir(&out_dir)
        .expect("import output")
        .map(|e| e.expect("entry").file_name())
        .collect();
    written.sort();
    assert_eq!(written, expected, "same files");
    for name in expected {
        let want = std::fs::read_to_string(expected_dir.join(&name)).expect("read example");
        let got = std::fs::read_to_string(out_dir.join(&name)).expect("read output");
        assert_eq!(
            got,
            want,
            "{} differs from the example",
            name.to_string_lossy()
        );
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}

/// Runs the formwork binary with scratch databases on the test cluster.
fn formwork(args: &[&str]) -> Output {
    common::formwork_command()
        .args(args)
        .output()
        .expect("run formwork")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// `formwork plan` of the declaration in `dir` against `url`, the plan written to `out`.
fn plan(url: &str, dir: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["plan", "--db", url, "--dir", path(dir), "--out", path(out)];
    args.extend_from_slice(extra);
    formwork(&args)
}

fn describe(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Replaces the contents of the first `count` spans delimited by `open`/`close` in `line`.
fn mask_spans(line: &str, open: &str, close: &str, count: usize, placeholder: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    for _ in 0..count {
        let Some(start) = rest.find(open) else { break };
        let after_open = start + open.len();
        let Some(len) = rest[after_open..].find(close) else {
            break;
        };
        out.push_str(&rest[..after_open]);
        out.push_str(placeholder);
        out.push_str(close);
        rest = &rest[after_open + len + close.len()..];
    }
    out.push_str(rest);
    out
}

/// The markdown plan with what legitimately differs between two runs of the same recipe
/// replaced by placeholders: the plan id (it covers the target's identity), the target
/// database's name, cluster identifier and major version, and the catalog fingerprints.
/// Everything else (step titles, SQL, locks, timeouts, hazards, estimates) is compared as
/// written.
fn normalize_plan_markdown(md: &str) -> String {
    md.lines()
        .map(|line| {
            if line.starts_with("## formwork plan `") || line.starts_with("- **Plan id:** `") {
                mask_spans(line, "`", "`", 1, "<plan id>")
            } else if line.starts_with("- **Target:** database ") {
                // The server's major too: the recipes are checked on every supported major.
                let line = mask_spans(line, "<code>", "</code>", 2, "&lt;target&gt;");
                match line.rfind("PostgreSQL ") {
                    Some(at) => format!("{}PostgreSQL <major>", &line[..at]),
                    None => line,
                }
            } else if line.starts_with("- **Catalog:** from `") {
                mask_spans(line, "`", "`", 2, "<fingerprint>")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks one recipe end to end on a database of its own; with `UPDATE_EXAMPLES` set, rewrites
/// `before/` (from `formwork dump`) and `plan.md` (when its normalized form changed) instead of
/// comparing them.
fn check_recipe(name: &str) {
    let update = std::env::var_os("UPDATE_EXAMPLES").is_some();
    let recipe = example(name);
    let start = std::fs::read_to_string(recipe.join("start.sql")).expect("read start.sql");
    let db = common::test_db();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(db.execute(&start));
    let url = db.url();
    let tmp = common::TempDir::new(name);
    let (before, after) = (recipe.join("before"), recipe.join("after"));

    if update {
        let o = formwork(&["dump", "--db", &url, "--out", path(&before)]);
        assert!(o.status.success(), "{name}: dump failed: {}", describe(&o));
    }
    let o = plan(&url, &before, &tmp.0.join("unchanged.bin"), &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{name}: before/ should describe start.sql exactly: {}",
        describe(&o)
    );

    let plan_file = tmp.0.join("plan.bin");
    let o = plan(&url, &after, &plan_file, &["--format", "markdown"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{name}: after/ should plan changes: {}",
        describe(&o)
    );
    let rendered = String::from_utf8_lossy(&o.stdout).into_owned();
    let plan_md = recipe.join("plan.md");
    let checked_in = std::fs::read_to_string(&plan_md).unwrap_or_default();
    if normalize_plan_markdown(&rendered) != normalize_plan_markdown(&checked_in) {
        if update {
            std::fs::write(&plan_md, &rendered).expect("write plan.md");
        } else {
            assert_eq!(
                normalize_plan_markdown(&rendered),
                normalize_plan_markdown(&checked_in),
                "{name}: the plan differs from examples/{name}/plan.md (left: planned now); \
                 if the change is intended, regenerate with UPDATE_EXAMPLES=1 cargo test --test examples"
            );
        }
    }

    let o = formwork(&[
        "apply",
        path(&plan_file),
        "--db",
        &url,
        "--auto-approve",
        "--phase",
        "all",
    ]);
    assert!(o.status.success(), "{name}: apply failed: {}", describe(&o));

    let o = plan(&url, &after, &tmp.0.join("again.bin"), &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{name}: after apply the database should match after/: {}",
        describe(&o)
    );
}

#[test]
fn recipe_add_nullable_column_plans_as_documented_and_applies() {
    check_recipe("add-nullable-column");
}

#[test]
fn recipe_create_index_plans_as_documented_and_applies() {
    check_recipe("create-index");
}

#[test]
fn recipe_add_unique_constraint_plans_as_documented_and_applies() {
    check_recipe("add-unique-constraint");
}

#[test]
fn recipe_add_foreign_key_plans_as_documented_and_applies() {
    check_recipe("add-foreign-key");
}

#[test]
fn recipe_add_enum_value_plans_as_documented_and_applies() {
    check_recipe("add-enum-value");
}

#[test]
fn recipe_rename_enum_value_plans_as_documented_and_applies() {
    check_recipe("rename-enum-value");
}

#[test]
fn recipe_set_not_null_plans_as_documented_and_applies() {
    check_recipe("set-not-null");
}

#[test]
fn recipe_add_required_column_with_data_plans_as_documented_and_applies() {
    check_recipe("add-required-column-with-data");
}

#[test]
fn recipe_remove_an_enum_value_plans_as_documented_and_applies() {
    check_recipe("remove-an-enum-value");
}

#[test]
fn recipe_rename_a_column_plans_as_documented_and_applies() {
    check_recipe("rename-a-column");
}

#[test]
fn normalizing_a_plan_masks_only_ids_target_and_fingerprints() {
    let md = "## formwork plan `030f960dda7e`\n\n\
        - **Plan id:** `030f960dda7e713a`\n\
        - **Target:** database <code>r\\_x</code> on cluster <code>77123</code>, PostgreSQL 15\n\
        - **Catalog:** from `a9b98e62b619` to `233a86b23a22` (planned by formwork 0.1.0)\n\
        - **Runs:** in a transaction, `lock_timeout` 5s, `statement_timeout` none";
    assert_eq!(
        normalize_plan_markdown(md),
        "## formwork plan `<plan id>`\n\n\
        - **Plan id:** `<plan id>`\n\
        - **Target:** database <code>&lt;target&gt;</code> on cluster <code>&lt;target&gt;</code>, PostgreSQL <major>\n\
        - **Catalog:** from `<fingerprint>` to `<fingerprint>` (planned by formwork 0.1.0)\n\
        - **Runs:** in a transaction, `lock_timeout` 5s, `statement_timeout` none"
    );
}

#[test]
fn recipe_drop_a_column_plans_as_documented_and_applies() {
    check_recipe("drop-a-column");
}
