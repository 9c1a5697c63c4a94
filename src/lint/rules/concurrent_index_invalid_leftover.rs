//! Rule `concurrent-index-invalid-leftover`: A failed CREATE INDEX CONCURRENTLY leaves an INVALID index that IF NOT EXISTS then silently keeps.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "concurrent-index-invalid-leftover",
    level: WARNING,
    summary: r#"A failed CREATE INDEX CONCURRENTLY leaves an INVALID index that IF NOT EXISTS then silently keeps."#,
    help: r#"Drop a leftover first (`DROP INDEX CONCURRENTLY IF EXISTS`), then build without IF NOT EXISTS, or check pg_index.indisvalid."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`CREATE INDEX CONCURRENTLY IF NOT EXISTS`.

### Lock taken and what it blocks

No extra lock, but a retry after a failed build (deadlock, duplicate key, cancel) finds the INVALID index, skips the build, and the migration "succeeds" with an index that is never used yet slows every write.

### Instead

```sql
DROP INDEX CONCURRENTLY IF EXISTS t_a_idx;
CREATE INDEX CONCURRENTLY t_a_idx ON t (a);
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::CreateIndex { concurrently: true, if_not_exists: true, name, .. } = &cx.c.stmt {
        let n = name.as_ref().map(|n| format!(" `{n}`")).unwrap_or_default();
        out.push(Hit::stmt(format!("if an earlier CREATE INDEX CONCURRENTLY{n} failed, IF NOT EXISTS keeps its INVALID leftover instead of building a usable index")));
    }
}
