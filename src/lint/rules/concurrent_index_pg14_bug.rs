//! Rule `concurrent-index-pg14-bug`: CREATE INDEX CONCURRENTLY / REINDEX CONCURRENTLY on PostgreSQL 14.0 to 14.3 can corrupt indexes.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "concurrent-index-pg14-bug",
    level: ERROR,
    summary: r#"CREATE INDEX CONCURRENTLY / REINDEX CONCURRENTLY on PostgreSQL 14.0 to 14.3 can corrupt indexes."#,
    help: r#"Upgrade to 14.4 or later first (then REINDEX indexes built concurrently on the affected versions)."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

Concurrent index builds when `--pg-version` (or the configured version) is 14.0 to 14.3.

### Lock taken and what it blocks

SHARE UPDATE EXCLUSIVE as usual, but a bug fixed in 14.4 can build an index that silently misses rows.

### Instead

Upgrade to 14.4+; rebuild indexes created concurrently on 14.0–14.3.

### PostgreSQL versions

14.0–14.3 only.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if cx.pg.major != 14 || cx.pg.minor >= 4 {
        return;
    }
    let concurrent = matches!(cx.c.stmt, Stmt::CreateIndex { concurrently: true, .. } | Stmt::Reindex { concurrently: true, .. });
    if concurrent {
        out.push(Hit::stmt(format!("PostgreSQL 14.{} has a bug (fixed in 14.4) that can silently corrupt indexes built concurrently", cx.pg.minor)));
    }
}
