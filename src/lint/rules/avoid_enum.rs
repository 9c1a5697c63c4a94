//! Rule `avoid-enum`: CREATE TYPE ... AS ENUM: values cannot be removed or reordered online.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "avoid-enum",
    level: OFF,
    summary: r#"CREATE TYPE ... AS ENUM: values cannot be removed or reordered online."#,
    help: r#"A lookup table with a foreign key, or text with a CHECK (NOT VALID + VALIDATE to change it)."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`CREATE TYPE ... AS ENUM`. Off by default.

### Lock taken and what it blocks

Later changes need ALTER TYPE (EXCLUSIVE on the type; new values unusable until commit) or a new type and a column conversion (ACCESS EXCLUSIVE rewrite).

### Instead

A reference table, or text plus a CHECK.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::CreateEnum { name } = &cx.c.stmt {
        out.push(Hit::stmt(format!("enum `{name}` cannot lose or reorder values without converting every column that uses it (a rewrite under ACCESS EXCLUSIVE, blocking all reads and writes)")));
    }
}
