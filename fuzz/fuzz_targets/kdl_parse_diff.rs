//! Arbitrary text into the fast KDL parser and the `kdl` crate: the fast parser must build
//! the crate's tree (names, values, spans) or refuse, and must refuse whatever the crate
//! rejects.
#![no_main]

use formwork::kdl::parse::compare_with_kdl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The crate parses recursively; the loader refuses deep nesting before parsing.
    if text.matches('{').count() > 48 || text.matches("/*").count() > 48 {
        return;
    }
    if let Err(e) = compare_with_kdl(text) {
        panic!("{e}");
    }
});
