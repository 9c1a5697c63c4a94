//! Rule `attach-partition-scan`: ATTACH PARTITION scans the partition under ACCESS EXCLUSIVE unless a validated CHECK proves the bound.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "attach-partition-scan",
    level: WARNING,
    summary: r#"ATTACH PARTITION scans the partition under ACCESS EXCLUSIVE unless a validated CHECK proves the bound."#,
    help: r#"Add a CHECK matching the partition bound NOT VALID, VALIDATE it, ATTACH (no scan), then drop the CHECK."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ATTACH PARTITION p` when `p` existed before the migration and no validated CHECK on it is known (from the file).

### Lock taken and what it blocks

SHARE UPDATE EXCLUSIVE on the parent (PostgreSQL 12+; ACCESS EXCLUSIVE before) and ACCESS EXCLUSIVE on the partition while it is scanned to check the bound; a default partition is also locked and scanned.

### Instead

```sql
ALTER TABLE m_2025 ADD CONSTRAINT m_2025_bound CHECK (d >= '2025-01-01' AND d < '2026-01-01') NOT VALID;
ALTER TABLE m_2025 VALIDATE CONSTRAINT m_2025_bound;
ALTER TABLE m ATTACH PARTITION m_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
ALTER TABLE m_2025 DROP CONSTRAINT m_2025_bound;
```

### PostgreSQL versions

12+: the parent only gets SHARE UPDATE EXCLUSIVE.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        let AlterAction::AttachPartition { partition, .. } = a else { continue };
        if !cx.existing(partition) {
            continue;
        }
        let pkey = partition.key();
        let proven = cx.state.constraints.iter().any(|((t, _), k)| t == &pkey && k.kind == ConstraintKind::Check && k.validated);
        if !proven {
            out.push(Hit::at(*r, format!("ATTACH scans `{partition}` under ACCESS EXCLUSIVE (blocking all its reads and writes) to check the bound, since no validated CHECK on it proves it; `{table}` gets {}",
                if cx.pg.major >= 12 { "SHARE UPDATE EXCLUSIVE" } else { "ACCESS EXCLUSIVE" })));
        }
    }
}
