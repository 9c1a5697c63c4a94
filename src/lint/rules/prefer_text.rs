//! Rule `prefer-text`: varchar(n): changing the limit later can need a rewrite; text with a CHECK is easier to evolve.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "prefer-text",
    level: OFF,
    summary: r#"varchar(n): changing the limit later can need a rewrite; text with a CHECK is easier to evolve."#,
    help: r#"text, with a CHECK (length(c) <= n) added NOT VALID when a limit matters."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

Columns of type `varchar(n)` in `CREATE TABLE`, `ADD COLUMN` and `ALTER COLUMN ... TYPE`. Off by default.

### Lock taken and what it blocks

Narrowing varchar later rewrites the table under ACCESS EXCLUSIVE.

### Instead

`text` plus a CHECK.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    for (col, ty, toks) in column_types(cx) {
        if ty.base == "character varying" && !ty.mods.is_empty() {
            out.push(Hit::at(toks, format!("`{col}` is varchar({}); narrowing it later rewrites the table under ACCESS EXCLUSIVE, blocking all reads and writes", ty.mods[0])));
        }
    }
}
