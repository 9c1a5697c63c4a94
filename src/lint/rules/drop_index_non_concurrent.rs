//! Rule `drop-index-non-concurrent`: DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "drop-index-non-concurrent",
    level: ERROR,
    summary: r#"DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table."#,
    help: r#"DROP INDEX CONCURRENTLY, outside a transaction block."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`DROP INDEX` without `CONCURRENTLY` of an index not created earlier in the file.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the index's table and the index: all reads and writes on the table wait (and the request queues behind any long query).

### Instead

```sql
DROP INDEX CONCURRENTLY IF EXISTS t_a_idx;  -- SHARE UPDATE EXCLUSIVE, outside BEGIN/COMMIT
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::DropIndex { names, concurrently: false } = &cx.c.stmt {
        for n in names {
            if !cx.existing(n) || is_partitioned_index(cx, n) {
                continue;
            }
            out.push(Hit::stmt(format!("DROP INDEX `{n}` takes ACCESS EXCLUSIVE on its table, blocking all reads and writes")));
        }
    }
}
