//! Rule `partitioned-index-build`: CREATE INDEX on a partitioned table locks and scans every partition; CONCURRENTLY is rejected there.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "partitioned-index-build",
    level: ERROR,
    summary: r#"CREATE INDEX on a partitioned table locks and scans every partition; CONCURRENTLY is rejected there."#,
    help: r#"CREATE INDEX ... ON ONLY parent, CREATE INDEX CONCURRENTLY on each partition, then ALTER INDEX parent_idx ATTACH PARTITION each one."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`CREATE INDEX` (without `ON ONLY`) on a table known to be partitioned (created with `PARTITION BY` earlier in the file, or from `--db`).

### Lock taken and what it blocks

SHARE on the parent and on every partition while each partition is scanned: writes to the whole partitioned table wait. `CONCURRENTLY` fails on a partitioned table.

### Instead

```sql
CREATE INDEX m_a_idx ON ONLY m (a);                 -- parent only, no scan
CREATE INDEX CONCURRENTLY m_2024_a_idx ON m_2024 (a); -- per partition
ALTER INDEX m_a_idx ATTACH PARTITION m_2024_a_idx;
```

### PostgreSQL versions

11+ (partitioned indexes).
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::CreateIndex { table, only: false, .. } = &cx.c.stmt {
        if cx.existing(table) && cx.partitioned(table) {
            out.push(Hit::stmt(format!("`{table}` is partitioned: the index build takes SHARE on it and every partition (blocking writes to all of them) and CONCURRENTLY is not allowed")));
        }
    }
}
