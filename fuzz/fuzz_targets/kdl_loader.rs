//! Arbitrary bytes into the KDL loader and formatter: neither may panic, formatting is
//! idempotent, and whatever loads survives a write/load round trip unchanged.
#![no_main]

use formwork::kdl::format::format_source;
use formwork::kdl::load::load_sources;
use formwork::kdl::write::model_to_files;
use formwork::kdl::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    // Split at the first NUL so cross-file checks (declared in two files) are reached too.
    let sources: Vec<SourceFile> = match text.split_once('\0') {
        Some((a, b)) => vec![SourceFile::new("a.kdl", a), SourceFile::new("b.kdl", b)],
        None => vec![SourceFile::new("a.kdl", text.clone())],
    };
    if let Ok(model) = load_sources(&sources) {
        let files: Vec<SourceFile> = model_to_files(&model)
            .into_iter()
            .map(|(p, t)| SourceFile::new(p.display().to_string(), t))
            .collect();
        match load_sources(&files) {
            Ok(again) => assert_eq!(again, model, "write/load round trip changed the model"),
            Err(e) => panic!("written files do not load: {e:?}\n{files:#?}"),
        }
    }
    if let Ok(out) = format_source("a.kdl", &text) {
        match format_source("a.kdl", &out) {
            Ok(again) => assert_eq!(again, out, "fmt is not idempotent"),
            Err(e) => panic!("formatted output does not format: {e:?}\n{out}"),
        }
    }
});
