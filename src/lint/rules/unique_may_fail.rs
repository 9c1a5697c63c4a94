//! Rule `unique-may-fail`: A new unique index or constraint on existing data fails if duplicates exist.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "unique-may-fail",
    level: OFF,
    summary: r#"A new unique index or constraint on existing data fails if duplicates exist."#,
    help: r#"Check for duplicates first (and fix them) before the build; for CONCURRENTLY, a failure leaves an INVALID index."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`CREATE UNIQUE INDEX` on a table that existed before the migration. Off by default.

### Lock taken and what it blocks

The build runs (SHARE, or SHARE UPDATE EXCLUSIVE when concurrent) and then fails on the first duplicate, wasting the scan and, when concurrent, leaving an INVALID index behind.

### Instead

Query for duplicates before adding the index.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::CreateIndex { table, unique: true, .. } = &cx.c.stmt {
        if cx.existing(table) {
            out.push(Hit::stmt(format!("if `{table}` has duplicates the unique build fails after scanning it under {}", if matches!(cx.c.stmt, Stmt::CreateIndex { concurrently: true, .. }) { "SHARE UPDATE EXCLUSIVE, which blocks other schema changes (and leaves an INVALID index)" } else { "SHARE, which blocks writes" })));
        }
    }
}
