//! Rule `ban-char`: char(n) pads with spaces and is never the right type.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "ban-char",
    level: OFF,
    summary: r#"char(n) pads with spaces and is never the right type."#,
    help: r#"text (or varchar)."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

Columns of type `char(n)` / `character(n)`. Off by default.

### Lock taken and what it blocks

No lock hazard; changing it later (to text) rewrites the table under ACCESS EXCLUSIVE.

### Instead

`text`.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    for (col, ty, toks) in column_types(cx) {
        if ty.base == "character" {
            out.push(Hit::at(toks, format!("`{col}` is char(n): it pads with spaces, and converting it later rewrites the table under ACCESS EXCLUSIVE, blocking all reads and writes")));
        }
    }
}
