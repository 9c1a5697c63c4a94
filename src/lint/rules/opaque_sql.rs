//! Rule `opaque-sql`: A statement formwork cannot judge (DO blocks, function calls, unknown commands).

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "opaque-sql",
    level: NOTICE,
    summary: r#"A statement formwork cannot judge (DO blocks, function calls, unknown commands)."#,
    help: r#"Review it by hand; if it is fine, suppress with `-- formwork-ignore: opaque-sql`."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`DO` blocks, `CALL`, `EXECUTE`, `SELECT` of functions with no table, and statements whose leading keywords formwork does not recognise. Nothing is skipped silently: whatever cannot be classified is reported here.

### Lock taken and what it blocks

Unknown: the body may take any lock.

### Instead

Prefer plain DDL statements the linter can see; keep procedural code out of schema migrations.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    match &cx.c.stmt {
        Stmt::Opaque { what } => out.push(Hit::stmt(format!("{what} runs code formwork cannot inspect: any lock it takes is unchecked"))),
        Stmt::Other { keywords } if !known_command(keywords) => out.push(Hit::stmt(format!("`{keywords}` is not a statement formwork recognises; it was not checked"))),
        _ => {}
    }
}
