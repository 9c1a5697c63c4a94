//! Rule `detach-partition-non-concurrent`: DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on the parent.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "detach-partition-non-concurrent",
    level: ERROR,
    summary: r#"DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on the parent."#,
    help: r#"DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+), outside a transaction block; finish an interrupted one with FINALIZE."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... DETACH PARTITION` without `CONCURRENTLY` on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the parent and the partition: all reads and writes on the whole partitioned table wait.

### Instead

`ALTER TABLE m DETACH PARTITION m_2020 CONCURRENTLY;` (SHARE UPDATE EXCLUSIVE; not allowed inside BEGIN or when a default partition exists). Before 14: a short lock_timeout, off-peak.

### PostgreSQL versions

14+: CONCURRENTLY exists.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        if let AlterAction::DetachPartition { partition, concurrently: false, .. } = a {
            let mut hit = Hit::at(*r, format!("DETACH PARTITION `{partition}` takes ACCESS EXCLUSIVE on `{table}`, blocking all reads and writes on every partition"));
            if cx.pg.major < 14 {
                hit = hit.help("PostgreSQL before 14 has no DETACH ... CONCURRENTLY: use a short lock_timeout and run it off-peak.");
            }
            out.push(hit);
        }
    }
}
