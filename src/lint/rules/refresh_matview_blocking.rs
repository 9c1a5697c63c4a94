//! Rule `refresh-matview-blocking`: REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks readers of the view.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "refresh-matview-blocking",
    level: ERROR,
    summary: r#"REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks readers of the view."#,
    help: r#"REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view)."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` on a view that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the materialized view while it is recomputed and rewritten: every SELECT on it waits.

### Instead

`REFRESH MATERIALIZED VIEW CONCURRENTLY v` takes EXCLUSIVE, which lets readers continue; it needs a unique index on the view.

### PostgreSQL versions

All versions (CONCURRENTLY since 9.4).
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::RefreshMatview { name, concurrently: false } = &cx.c.stmt {
        if cx.existing(name) {
            out.push(Hit::stmt(format!("REFRESH takes ACCESS EXCLUSIVE on `{name}` while it is recomputed, blocking all reads of it")));
        }
    }
}
