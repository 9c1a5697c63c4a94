//! `formwork show`: renders a written plan file in each format, and refuses any file that is
//! not exactly what formwork wrote (exit 1, the plan file module's message).

mod render_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use formwork::plan::file;
use render_support::sample_plan;

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("formwork-show-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn show(path: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_formwork"))
        .arg("show")
        .arg(path)
        .args(extra)
        .env_remove("NO_COLOR")
        .output()
        .expect("run formwork")
}

fn written_plan(name: &str) -> (PathBuf, formwork::plan::Plan) {
    let dir = scratch(name);
    let path = dir.join("plan.bin");
    let plan = sample_plan();
    file::write(&plan, &path).expect("write the plan file");
    (path, plan)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error with the diagnostic's frame and line wrapping undone, so a message can be
/// matched as one sentence.
fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .replace(['×', '│'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn show_renders_a_written_plan_in_each_format() {
    let (path, plan) = written_plan("formats");
    for (args, format) in [
        (&[][..], formwork::render::Format::Text),
        (&["--format", "text"][..], formwork::render::Format::Text),
        (
            &["--format", "markdown"][..],
            formwork::render::Format::Markdown,
        ),
        (&["--format", "json"][..], formwork::render::Format::Json),
    ] {
        let out = show(&path, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        // Exactly the library's rendering, uncoloured because stdout is not a terminal.
        assert_eq!(
            stdout(&out),
            formwork::render::render(&plan, format, false),
            "{args:?}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&show(&path, &["--format", "json"]).stdout).expect("JSON");
    assert_eq!(json["id"], plan.id().to_hex());
}

#[test]
fn show_refuses_a_file_with_one_flipped_byte() {
    let (path, _) = written_plan("flipped");
    let mut bytes = std::fs::read(&path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).expect("write");
    let out = show(&path, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("altered or damaged (its content does not match its hash)"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).is_empty(),
        "nothing of a refused plan is shown"
    );
}

#[test]
fn show_refuses_a_truncated_file() {
    let (path, _) = written_plan("truncated");
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() - 10]).expect("write");
    let out = show(&path, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("truncated or damaged"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn show_refuses_a_file_with_bytes_appended() {
    let (path, _) = written_plan("appended");
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.extend_from_slice(b"\n-- DROP TABLE users;\n");
    std::fs::write(&path, &bytes).expect("write");
    let out = show(&path, &["--format", "markdown"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has 22 unexpected bytes after its end"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn show_names_a_missing_file_and_rejects_an_unknown_format() {
    let dir = scratch("missing");
    let out = show(&dir.join("nope.bin"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nope.bin"), "{}", stderr(&out));

    let (path, _) = written_plan("bad-format");
    let out = show(&path, &["--format", "html"]);
    assert_eq!(out.status.code(), Some(2), "bad usage is exit 2");
}

#[test]
fn show_help_has_an_example() {
    let out = Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(["show", "--help"])
        .output()
        .expect("run formwork");
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    assert!(
        help.contains("formwork show plans/plan.bin --format markdown"),
        "{help}"
    );
    assert!(help.contains("- json:"), "{help}");
}
