//! The `formwork lint` and `formwork explain` binaries: formats, exit codes, stdin, globs,
//! suppression, configuration, Alembic offline output, and malformed input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_formwork"))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("formwork-lint-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = bin();
    cmd.current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run formwork");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait for formwork")
}

fn json_findings(out: &Output) -> Vec<serde_json::Value> {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(doc["schema"], "formwork-lint/1");
    doc["findings"].as_array().cloned().unwrap_or_default()
}

fn rules_of(findings: &[serde_json::Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn alembic_offline_sql_for_the_unsafe_recipes_is_flagged_and_the_safe_one_is_clean() {
    let dir = fixtures().join("alembic");
    let out = run_in(&dir, &["lint", "--format", "json", "unsafe.sql"], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings = json_findings(&out);
    let rules = rules_of(&findings);
    let text = std::fs::read_to_string(dir.join("unsafe.sql")).expect("fixture");
    for (rule, snippet) in [
        ("add-column-required", "nickname TEXT NOT NULL"),
        (
            "create-index-non-concurrent",
            "CREATE INDEX ix_users_email ON users (email)",
        ),
        (
            "add-foreign-key-validating",
            "CONSTRAINT orders_user_id_fkey FOREIGN KEY(user_id) REFERENCES users (id)",
        ),
        ("enum-value-used-same-tx", "'refunded'"),
    ] {
        let f = findings
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap_or_else(|| panic!("{rule} not found in {rules:?}"));
        let (s, e) = (
            f["start"]["offset"].as_u64().unwrap_or(0) as usize,
            f["end"]["offset"].as_u64().unwrap_or(0) as usize,
        );
        assert_eq!(&text[s..e], snippet, "{rule} span");
    }
    // The enum value is flagged where it is used, not where it is added.
    let enum_finding = findings
        .iter()
        .find(|f| f["rule"] == "enum-value-used-same-tx")
        .expect("found above");
    assert_eq!(enum_finding["start"]["line"], 30);

    let out = run_in(&dir, &["lint", "--format", "json", "safe.sql"], None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(rules_of(&json_findings(&out)), Vec::<String>::new());
}

#[test]
fn exit_codes_follow_the_severity_of_findings_and_bad_usage_is_2() {
    let dir = scratch("exit");
    std::fs::write(dir.join("bad.sql"), "CREATE INDEX i ON t (a);\n").expect("write");
    std::fs::write(
        dir.join("warn.sql"),
        "SET lock_timeout = '1s';\nTRUNCATE t;\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("good.sql"),
        "SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
    )
    .expect("write");
    assert_eq!(
        run_in(&dir, &["lint", "bad.sql"], None).status.code(),
        Some(1)
    );
    assert_eq!(
        run_in(&dir, &["lint", "warn.sql"], None).status.code(),
        Some(0),
        "warnings do not fail"
    );
    assert_eq!(
        run_in(&dir, &["lint", "good.sql"], None).status.code(),
        Some(0)
    );
    assert_eq!(
        run_in(&dir, &["lint", "--format", "xml", "good.sql"], None)
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run_in(&dir, &["lint", "--pg-version", "banana", "good.sql"], None)
            .status
            .code(),
        Some(2)
    );
    let missing = run_in(&dir, &["lint", "nope.sql"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.sql"));
    assert_eq!(
        run_in(&dir, &["lint", "*.nothing"], None).status.code(),
        Some(2)
    );
}

#[test]
fn stdin_globs_and_directories_are_linted_under_their_names() {
    let dir = scratch("inputs");
    std::fs::create_dir_all(dir.join("db/migrate")).expect("mkdir");
    std::fs::write(dir.join("db/migrate/001.sql"), "DROP INDEX i;\n").expect("write");
    std::fs::write(dir.join("db/migrate/002.sql"), "VACUUM FULL t;\n").expect("write");
    std::fs::write(dir.join("db/other.txt"), "DROP INDEX i;\n").expect("write");

    let out = run_in(
        &dir,
        &["lint", "--format", "json", "--stdin-name", "up.sql", "-"],
        Some(b"REINDEX TABLE t;"),
    );
    let f = json_findings(&out);
    assert_eq!(f[0]["file"], "up.sql");
    assert_eq!(f[0]["rule"], "reindex-non-concurrent");

    let out = run_in(
        &dir,
        &["lint", "--format", "json", "db/migrate/*.sql"],
        None,
    );
    let files: Vec<String> = json_findings(&out)
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["file"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(files, vec!["db/migrate/001.sql", "db/migrate/002.sql"]);

    let out = run_in(&dir, &["lint", "--format", "json", "db"], None);
    let files: Vec<String> = json_findings(&out)
        .iter()
        .map(|f| f["file"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(files.iter().all(|f| f.ends_with(".sql")), "{files:?}");
    assert!(files.contains(&"db/migrate/002.sql".to_string()));
}

#[test]
fn human_output_shows_the_line_a_caret_and_help() {
    let dir = scratch("human");
    std::fs::write(
        dir.join("m.sql"),
        "SET lock_timeout = '1s';\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n",
    )
    .expect("write");
    let out = run_in(&dir, &["lint", "m.sql"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("set-not-null-scan"), "{text}");
    assert!(text.contains("[m.sql:2:19]"), "{text}");
    assert!(
        text.contains(" 2 │ ALTER TABLE users ALTER COLUMN email SET NOT NULL;"),
        "{text}"
    );
    assert!(text.contains("──────┬──"), "caret line missing: {text}");
    assert!(
        text.contains("help: Add `CHECK (c IS NOT NULL) NOT VALID`"),
        "{text}"
    );
    assert!(text.contains("ACCESS EXCLUSIVE"), "{text}");
}

#[test]
fn github_output_is_one_workflow_command_per_finding() {
    let dir = scratch("github");
    std::fs::write(
        dir.join("m.sql"),
        "SET lock_timeout = '1s';\nDROP INDEX i;\n",
    )
    .expect("write");
    let out = run_in(&dir, &["lint", "--format", "github", "m.sql"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with("::error file=m.sql,line=2,col=1,endLine=2,endColumn=13,title=drop-index-non-concurrent::"), "{}", lines[0]);
}

#[test]
fn sarif_output_is_valid_against_the_2_1_0_schema() {
    let dir = scratch("sarif");
    std::fs::write(
        dir.join("a b.sql"),
        "CREATE INDEX i ON t (a);\n-- formwork-ignore: truncate\nSELECT 1;\nDO $$ begin end $$;\n",
    )
    .expect("write");
    let out = run_in(&dir, &["lint", "--format", "sarif", "a b.sql"], None);
    assert_eq!(out.status.code(), Some(1));
    let sarif_path = dir.join("out.sarif");
    std::fs::write(&sarif_path, &out.stdout).expect("write sarif");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sarif is JSON");
    let results = doc["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let levels: Vec<&str> = results.iter().filter_map(|r| r["level"].as_str()).collect();
    assert!(
        levels.contains(&"error") && levels.contains(&"warning") && levels.contains(&"note"),
        "{levels:?}"
    );
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "a%20b.sql"
    );

    let schema = fixtures().join("sarif/sarif-schema-2.1.0.json");
    let script = "import json,sys,jsonschema\n\
                  schema=json.load(open(sys.argv[1]))\n\
                  log=json.load(open(sys.argv[2]))\n\
                  jsonschema.Draft7Validator.check_schema(schema)\n\
                  errors=list(jsonschema.Draft7Validator(schema).iter_errors(log))\n\
                  [print(e.message, list(e.path)) for e in errors]\n\
                  sys.exit(1 if errors else 0)\n";
    let v = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .arg(&sarif_path)
        .output()
        .expect("python3 is needed to validate SARIF (apt-get install python3 python3-jsonschema)");
    assert!(
        v.status.success(),
        "SARIF does not validate against the 2.1.0 schema (python3-jsonschema required):\n{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
}

#[test]
fn ignore_comments_suppress_and_unused_ones_are_reported() {
    let dir = scratch("ignore");
    let sql = "SET lock_timeout = '1s';\nSET statement_timeout = '1h';\n\
               -- formwork-ignore: create-index-non-concurrent\n\
               CREATE INDEX i ON t (a);\n\
               -- formwork-ignore: drop-index-non-concurrent\n\
               CREATE INDEX j ON t (b);\n";
    std::fs::write(dir.join("m.sql"), sql).expect("write");
    let out = run_in(&dir, &["lint", "--format", "json", "m.sql"], None);
    let findings = json_findings(&out);
    let got: Vec<(String, u64)> = findings
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["start"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("create-index-non-concurrent".to_string(), 6),
            ("unused-ignore".to_string(), 5)
        ]
    );

    let file_level = "-- formwork-ignore-file: create-index-non-concurrent\nSET lock_timeout = '1s';\nSET statement_timeout = '1h';\nCREATE INDEX i ON t (a);\nCREATE INDEX j ON t (b);\n";
    std::fs::write(dir.join("f.sql"), file_level).expect("write");
    let out = run_in(&dir, &["lint", "--format", "json", "f.sql"], None);
    assert_eq!(rules_of(&json_findings(&out)), Vec::<String>::new());
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn config_file_sets_levels_version_and_excluded_paths() {
    let dir = scratch("config");
    std::fs::create_dir_all(dir.join("legacy")).expect("mkdir");
    std::fs::write(dir.join("legacy/old.sql"), "VACUUM FULL t;\n").expect("write");
    std::fs::write(
        dir.join("m.sql"),
        "CREATE INDEX i ON t (a);\nALTER TABLE t ADD COLUMN c int DEFAULT 0;\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("formwork.kdl"),
        "lint {\n  pg-version \"10\"\n  exclude \"legacy/**\"\n  rule \"create-index-non-concurrent\" level=\"warning\"\n  rule \"require-lock-timeout\" level=\"off\"\n}\n",
    )
    .expect("write");
    let out = run_in(&dir, &["lint", "--format", "json", "m.sql", "legacy"], None);
    let findings = json_findings(&out);
    let got: Vec<(String, String)> = findings
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["severity"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    // PostgreSQL 10 rewrites for a constant default; the index rule is demoted; legacy/ is skipped.
    assert!(
        got.contains(&("create-index-non-concurrent".into(), "warning".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("add-column-volatile-default".into(), "error".into())),
        "{got:?}"
    );
    assert!(
        !got.iter()
            .any(|(r, _)| r == "require-lock-timeout" || r == "vacuum-full-or-cluster"),
        "{got:?}"
    );
    // The command line wins over the config.
    let out = run_in(
        &dir,
        &["lint", "--format", "json", "--pg-version", "15", "m.sql"],
        None,
    );
    assert!(!rules_of(&json_findings(&out)).contains(&"add-column-volatile-default".to_string()));

    std::fs::write(
        dir.join("formwork.kdl"),
        "lint {\n  rule \"create-index-non-concurent\" level=\"off\"\n}\n",
    )
    .expect("write");
    let out = run_in(&dir, &["lint", "m.sql"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown lint rule") && err.contains("create-index-non-concurrent"),
        "{err}"
    );
}

#[test]
fn malformed_input_gives_diagnostics_not_panics() {
    let dir = scratch("malformed");
    std::fs::write(
        dir.join("dollar.sql"),
        "SELECT 1;\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1;\n",
    )
    .expect("write");
    let out = run_in(&dir, &["lint", "--format", "json", "dollar.sql"], None);
    assert_eq!(out.status.code(), Some(1));
    let f = json_findings(&out);
    assert_eq!(f[0]["rule"], "syntax-error");
    assert_eq!(f[0]["start"]["line"], 2);

    let mut garbage: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    garbage.extend_from_slice(b"\nDROP INDEX i;\n");
    std::fs::write(dir.join("garbage.sql"), &garbage).expect("write");
    let out = run_in(&dir, &["lint", "--format", "json", "garbage.sql"], None);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "crashed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = rules_of(&json_findings(&out));
    assert!(rules.contains(&"syntax-error".to_string()), "{rules:?}");
}

#[test]
fn a_100_mb_file_is_linted_without_running_out_of_memory_or_panicking() {
    let dir = scratch("big");
    let path = dir.join("big.sql");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        let stmt = "INSERT INTO events (id, payload) VALUES (1, 'some payload text that pads the statement out to about one hundred bytes');\n";
        let mut written = 0usize;
        f.write_all(b"SET lock_timeout = '1s';\n").expect("write");
        while written < 100 * 1024 * 1024 {
            f.write_all(stmt.as_bytes()).expect("write");
            written += stmt.len();
        }
        f.write_all(b"CREATE INDEX big_idx ON events (id);\n")
            .expect("write");
    }
    let out = run_in(&dir, &["lint", "--format", "github", "big.sql"], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("title=create-index-non-concurrent"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explain_prints_a_rules_documentation_and_rejects_unknown_ids() {
    let out = bin()
        .args(["explain", "set-not-null-scan"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for section in [
        "What it flags",
        "Lock taken and what it blocks",
        "Instead",
        "PostgreSQL versions",
    ] {
        assert!(text.contains(section), "{text}");
    }
    let out = bin()
        .args(["explain", "set-not-nul-scan"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Did you mean `set-not-null-scan`?"));
    let out = bin()
        .args(["explain", "--all", "--markdown"])
        .output()
        .expect("run");
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lint-rules.md"))
            .expect("docs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), docs);
}

/// A one-step plan on `public.users` (the fingerprints are arbitrary: linting does not look at
/// the database).
fn one_step_plan(step: formwork::plan::Step) -> formwork::plan::Plan {
    use formwork::catalog::fingerprint::Fingerprint;
    use formwork::plan::{PlanBuilder, TargetIdentity};
    PlanBuilder::new(
        TargetIdentity {
            system_identifier: "7301234567890123456".into(),
            database: "app".into(),
        },
        15,
        Fingerprint([1; 32]),
        Fingerprint([2; 32]),
    )
    .step(step)
    .build()
    .expect("a valid plan")
}

#[test]
fn lint_plan_flags_a_blocking_step_and_passes_its_online_form() {
    use formwork::catalog::fingerprint::Fingerprint;
    use formwork::model::QualifiedName;
    use formwork::plan::{LockMode, Phase, Step};
    let dir = scratch("plan");
    let users = QualifiedName::new("public", "users");

    let blocking = one_step_plan(
        Step::new(
            "CREATE INDEX users_email_idx ON public.users (email)",
            Phase::Expand,
            Fingerprint([2; 32]),
        )
        .lock(LockMode::Share, users.clone())
        .scans(users.clone())
        .statement_timeout_ms(60_000),
    );
    formwork::plan::file::write(&blocking, &dir.join("blocking.bin")).expect("write plan");
    let out = run_in(
        &dir,
        &["lint", "--format", "json", "--plan", "blocking.bin"],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings = json_findings(&out);
    let ids: Vec<&str> = findings.iter().filter_map(|f| f["rule"].as_str()).collect();
    assert!(ids.contains(&"create-index-non-concurrent"), "{ids:?}");
    assert!(
        !ids.contains(&"require-lock-timeout"),
        "the step's own lock_timeout counts: {ids:?}"
    );

    let online = one_step_plan(
        Step::new(
            "CREATE INDEX CONCURRENTLY users_email_idx ON public.users (email)",
            Phase::Expand,
            Fingerprint([2; 32]),
        )
        .non_transactional()
        .lock(LockMode::ShareUpdateExclusive, users.clone())
        .scans(users),
    );
    formwork::plan::file::write(&online, &dir.join("online.bin")).expect("write plan");
    let out = run_in(&dir, &["lint", "--plan", "online.bin"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A damaged plan is refused before anything is linted.
    let mut bytes = std::fs::read(dir.join("online.bin")).expect("read plan");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(dir.join("damaged.bin"), &bytes).expect("write damaged plan");
    let out = run_in(&dir, &["lint", "--plan", "damaged.bin"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("damaged.bin"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
