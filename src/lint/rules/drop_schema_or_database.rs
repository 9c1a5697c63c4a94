//! Rule `drop-schema-or-database`: DROP SCHEMA / DROP DATABASE removes everything in it.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "drop-schema-or-database",
    level: ERROR,
    summary: r#"DROP SCHEMA / DROP DATABASE removes everything in it."#,
    help: r#"Do it by hand, deliberately, outside migrations."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`DROP SCHEMA` and `DROP DATABASE`.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on every object dropped (with CASCADE, on everything in the schema).

### Instead

Drop the objects you mean to drop, by name, in the contract phase.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::Other { keywords } = &cx.c.stmt {
        if keywords.starts_with("drop schema") || keywords.starts_with("drop database") {
            out.push(Hit::stmt(format!("`{}` deletes every object in it, each under ACCESS EXCLUSIVE (blocking all reads and writes)", keywords.to_uppercase())));
        }
    }
}
