//! The files under `examples/` are documentation; these tests keep them true.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

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
        stderr.contains("public.touch()"),
        "the unmanaged function is reported:\n{stderr}"
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
