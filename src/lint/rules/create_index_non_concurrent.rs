//! Rule `create-index-non-concurrent`: CREATE INDEX without CONCURRENTLY blocks writes for the whole build.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "create-index-non-concurrent",
    level: ERROR,
    summary: r#"CREATE INDEX without CONCURRENTLY blocks writes for the whole build."#,
    help: r#"CREATE INDEX CONCURRENTLY, outside a transaction block."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`CREATE [UNIQUE] INDEX` without `CONCURRENTLY` on a table that existed before the migration (tables created earlier in the file are exempt; partitioned tables are left to partitioned-index-build).

### Lock taken and what it blocks

SHARE on the table for the whole build (a full scan and sort): INSERT, UPDATE and DELETE wait.

### Instead

```sql
CREATE INDEX CONCURRENTLY t_a_idx ON t (a);  -- SHARE UPDATE EXCLUSIVE, outside BEGIN/COMMIT
```
If it fails it leaves an INVALID index: drop it concurrently and retry.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::CreateIndex { table, concurrently: false, only: false, .. } = &cx.c.stmt {
        if cx.existing(table) && !cx.partitioned(table) {
            out.push(Hit::stmt(format!("building the index takes SHARE on `{table}`{}, blocking writes (INSERT, UPDATE, DELETE) for the whole build", cx.size_note(table))));
        }
    }
}
