//! Rule `index-too-many-columns`: A non-unique index on more than three columns is rarely worth its write cost.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "index-too-many-columns",
    level: NOTICE,
    summary: r#"A non-unique index on more than three columns is rarely worth its write cost."#,
    help: r#"Index the leading, most selective columns; consider INCLUDE for covering reads."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`CREATE INDEX` (non-unique) with more than three key columns.

### Lock taken and what it blocks

No lock hazard: a best-practice notice (every write maintains the index).

### Instead

Fewer key columns; `INCLUDE (...)` for columns only needed in index-only scans.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::CreateIndex { unique: false, columns, .. } = &cx.c.stmt {
        if *columns > 3 {
            out.push(Hit::stmt(format!("the index has {columns} key columns; every write to the table maintains all of them")));
        }
    }
}
