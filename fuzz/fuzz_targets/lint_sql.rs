//! Fuzz the statement splitter, the lock classifier and the whole linter on arbitrary input.
//!
//! Besides "no panic", it checks the splitter's invariants: items come in source order, spans
//! lie inside the input on character boundaries, and every statement's text is exactly its span.
#![no_main]

use formwork::lint::{LintOptions, PgVersion, classify, lint_source_with};
use formwork::sqlfile::{Item, split};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut last_end = 0usize;
    for item in split(&text) {
        match item {
            Item::Statement(s) => {
                let span = s.span();
                assert!(span.start >= last_end, "statements overlap or go backwards");
                assert!(span.end <= text.len() && span.start <= span.end);
                assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
                assert_eq!(&text[span.clone()], s.text);
                last_end = span.end;
                for pg in [10, 12, 15, 18] {
                    let _ = classify::classify(&s.tokens, pg);
                }
            }
            Item::MetaCommand(m) => {
                assert!(m.start.offset >= last_end && m.end.offset <= text.len());
                last_end = m.end.offset;
            }
            Item::TrailingComments(_) => {}
            Item::Error(e) => assert!(e.unsplit.start <= text.len()),
        }
    }
    for assume in [false, true] {
        let opts = LintOptions {
            pg_version: PgVersion { major: 14, minor: 2 },
            assume_in_transaction: assume,
            ..LintOptions::default()
        };
        lint_source_with(&text, &opts, &mut |f| {
            assert!(f.start.offset <= f.end.offset && f.end.offset <= text.len() + 1);
        });
    }
});
