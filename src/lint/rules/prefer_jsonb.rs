//! Rule `prefer-jsonb`: A new json column: jsonb is almost always the better type.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "prefer-jsonb",
    level: NOTICE,
    summary: r#"A new json column: jsonb is almost always the better type."#,
    help: r#"Use jsonb (indexable, compact, equality works)."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

Columns of type `json` in `CREATE TABLE`, `ADD COLUMN` and `ALTER COLUMN ... TYPE`.

### Lock taken and what it blocks

No lock hazard: schema design. (Changing json to jsonb later rewrites the table under ACCESS EXCLUSIVE.)

### Instead

`jsonb`.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    for (col, ty, toks) in column_types(cx) {
        if ty.base == "json" {
            out.push(Hit::at(toks, format!("`{col}` is json: jsonb supports indexes and equality, and changing it later rewrites the table under ACCESS EXCLUSIVE (blocking all reads and writes)")));
        }
    }
}
