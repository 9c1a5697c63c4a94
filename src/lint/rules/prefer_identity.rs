//! Rule `prefer-identity`: serial types: identity columns are the standard, better-behaved form.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "prefer-identity",
    level: OFF,
    summary: r#"serial types: identity columns are the standard, better-behaved form."#,
    help: r#"bigint GENERATED ALWAYS AS IDENTITY."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

Columns of a serial type in `CREATE TABLE` and `ADD COLUMN`. Off by default.

### Lock taken and what it blocks

No lock hazard of its own (see add-column-serial-or-identity for adding one to a live table).

### Instead

`GENERATED ALWAYS AS IDENTITY`.

### PostgreSQL versions

10+.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    for (col, ty, toks) in column_types(cx) {
        if ty.is_serial() {
            out.push(Hit::at(toks, format!("`{col}` is {}; an identity column owns its sequence and rejects accidental writes (no extra lock)", ty.base)));
        }
    }
}
