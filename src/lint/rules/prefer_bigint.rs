//! Rule `prefer-bigint`: int/smallint keys and counters overflow; widening later rewrites the table.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "prefer-bigint",
    level: OFF,
    summary: r#"int/smallint keys and counters overflow; widening later rewrites the table."#,
    help: r#"bigint."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

Columns of type `integer`, `smallint`, `serial`, `smallserial`. Off by default.

### Lock taken and what it blocks

Widening to bigint later rewrites the table and its indexes under ACCESS EXCLUSIVE.

### Instead

`bigint` (and bigint identity).

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    for (col, ty, toks) in column_types(cx) {
        if matches!(ty.base.as_str(), "integer" | "smallint" | "serial" | "serial4" | "smallserial" | "serial2") {
            out.push(Hit::at(toks, format!("`{col}` is {}; widening it to bigint later rewrites the table under ACCESS EXCLUSIVE, blocking all reads and writes", ty.base)));
        }
    }
}
