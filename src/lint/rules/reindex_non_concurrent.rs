//! Rule `reindex-non-concurrent`: REINDEX without CONCURRENTLY blocks writes, and queries that use the index.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "reindex-non-concurrent",
    level: ERROR,
    summary: r#"REINDEX without CONCURRENTLY blocks writes, and queries that use the index."#,
    help: r#"REINDEX ... CONCURRENTLY (PostgreSQL 12+), outside a transaction block."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`REINDEX INDEX|TABLE|SCHEMA|DATABASE` without `CONCURRENTLY`.

### Lock taken and what it blocks

SHARE on the table (writes wait) and ACCESS EXCLUSIVE on each index being rebuilt (queries that would use it wait), for the whole rebuild.

### Instead

`REINDEX INDEX CONCURRENTLY i` (SHARE UPDATE EXCLUSIVE). Before PostgreSQL 12: build a new index concurrently, drop the old one concurrently, rename.

### PostgreSQL versions

12+: `CONCURRENTLY` exists. Earlier versions: see Instead.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::Reindex { concurrently: false, kind, name } = &cx.c.stmt {
        if (kind == "index" || kind == "table") && !cx.existing(name) {
            return;
        }
        let mut hit = Hit::stmt(format!("REINDEX {} `{name}` takes SHARE on the table (blocking writes) and ACCESS EXCLUSIVE on each index it rebuilds (blocking queries that use it)", kind.to_uppercase()));
        if cx.pg.major < 12 {
            hit = hit.help("PostgreSQL before 12 has no REINDEX CONCURRENTLY: build a replacement index concurrently, drop the old one concurrently, rename.");
        }
        out.push(hit);
    }
}
