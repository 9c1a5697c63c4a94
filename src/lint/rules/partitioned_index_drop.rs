//! Rule `partitioned-index-drop`: DROP INDEX of a partitioned index locks every partition; CONCURRENTLY is rejected for it.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "partitioned-index-drop",
    level: WARNING,
    summary: r#"DROP INDEX of a partitioned index locks every partition; CONCURRENTLY is rejected for it."#,
    help: r#"Drop off-peak with a short lock_timeout, or detach and drop partition indexes one by one."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`DROP INDEX` of an index known to be on a partitioned table.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the parent, every partition and every child index: all reads and writes wait. `DROP INDEX CONCURRENTLY` fails on partitioned indexes.

### Instead

Use a short `lock_timeout` with retries, off-peak.

### PostgreSQL versions

11+.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::DropIndex { names, .. } = &cx.c.stmt {
        for n in names {
            if cx.existing(n) && is_partitioned_index(cx, n) {
                out.push(Hit::stmt(format!("`{n}` is a partitioned index: dropping it takes ACCESS EXCLUSIVE on the parent and every partition, blocking all reads and writes, and CONCURRENTLY is not allowed")));
            }
        }
    }
}
