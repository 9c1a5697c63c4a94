//! Rule `identifier-too-long`: An identifier longer than 63 bytes is silently truncated by PostgreSQL.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "identifier-too-long",
    level: ERROR,
    summary: r#"An identifier longer than 63 bytes is silently truncated by PostgreSQL."#,
    help: r#"Use a name of at most 63 bytes."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

Any unquoted or quoted identifier in a statement longer than 63 bytes (NAMEDATALEN - 1).

### Lock taken and what it blocks

No lock hazard: PostgreSQL truncates the name, so two long names can collide and later migrations referring to the full name fail.

### Instead

Shorter names.

### PostgreSQL versions

All versions (default NAMEDATALEN).
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    for (n, t) in cx.tokens.iter().enumerate() {
        if let Token::Word(w) = &t.token {
            // The tokenizer keeps a quoted identifier's doubled quotes; the name has one.
            let len = match w.quote_style {
                Some('"') => w.value.replace("\"\"", "\"").len(),
                _ => w.value.len(),
            };
            if len > 63 {
                out.push(Hit::at((n, n + 1), format!("`{}...` is {len} bytes; PostgreSQL truncates identifiers to 63 bytes (no lock involved, but names can collide)", w.value.chars().take(20).collect::<String>())));
            }
        }
    }
}
