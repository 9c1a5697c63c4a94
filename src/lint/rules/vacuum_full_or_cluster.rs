//! Rule `vacuum-full-or-cluster`: VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "vacuum-full-or-cluster",
    level: ERROR,
    summary: r#"VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE."#,
    help: r#"Use pg_repack or pg_squeeze; on PostgreSQL 19, `REPACK (CONCURRENTLY)`."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`VACUUM FULL` (also `VACUUM (FULL)`) and `CLUSTER`.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on each table for the whole rewrite of the heap and every index: all reads and writes wait.

### Instead

pg_repack or pg_squeeze rebuild online; plain `VACUUM` reclaims space for reuse without a lock that blocks traffic.

### PostgreSQL versions

All versions. 19 adds `REPACK ... CONCURRENTLY`.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    match &cx.c.stmt {
        Stmt::Vacuum { full: true, names } => {
            let what = if names.is_empty() { "every table in the database".to_string() } else { names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ") };
            out.push(Hit::stmt(format!("VACUUM FULL rewrites {what} under ACCESS EXCLUSIVE, blocking all reads and writes")));
        }
        Stmt::Cluster { name } => {
            let what = name.as_ref().map(|n| format!("`{n}`")).unwrap_or_else(|| "every previously clustered table".into());
            out.push(Hit::stmt(format!("CLUSTER rewrites {what} under ACCESS EXCLUSIVE, blocking all reads and writes")));
        }
        _ => {}
    }
}
