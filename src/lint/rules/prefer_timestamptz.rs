//! Rule `prefer-timestamptz`: timestamp without time zone loses the offset; converting later needs care.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "prefer-timestamptz",
    level: OFF,
    summary: r#"timestamp without time zone loses the offset; converting later needs care."#,
    help: r#"timestamptz."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

Columns of type `timestamp` (without time zone). Off by default.

### Lock taken and what it blocks

Converting to timestamptz later rewrites the table under ACCESS EXCLUSIVE unless the session time zone is UTC.

### Instead

`timestamptz`.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    for (col, ty, toks) in column_types(cx) {
        if ty.base == "timestamp without time zone" {
            out.push(Hit::at(toks, format!("`{col}` is timestamp without time zone; converting it later rewrites the table under ACCESS EXCLUSIVE (blocking all reads and writes) unless TimeZone is UTC")));
        }
    }
}
