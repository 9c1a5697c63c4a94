//! Rule `timestamptz-needs-utc-session`: timestamp <-> timestamptz rewrites the table unless the session time zone is UTC.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "timestamptz-needs-utc-session",
    level: ERROR,
    summary: r#"timestamp <-> timestamptz rewrites the table unless the session time zone is UTC."#,
    help: r#"Run `SET LOCAL TimeZone = 'UTC'` in the same transaction before the type change."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER COLUMN ... TYPE timestamptz` on a `timestamp` column (or the reverse) with no earlier `SET TimeZone = 'UTC'` in the file. When the old type is not known, a change to either type is treated as this pair.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table; with a non-UTC session time zone the heap is rewritten (all reads and writes wait for the copy). Under UTC only the indexes on the column are rebuilt.

### Instead

```sql
SET LOCAL TimeZone = 'UTC';
ALTER TABLE t ALTER COLUMN created_at TYPE timestamptz;
```

### PostgreSQL versions

12+: the rewrite is skipped under UTC. 11 and earlier always rewrite.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        let AlterAction::AlterType { column, ty, using } = a else { continue };
        if *using || !ty.base.starts_with("timestamp") {
            continue;
        }
        let pair = match cx.old_type(table, column) {
            Some(old) => is_timestamp_pair(&old, ty),
            None => true,
        };
        if !pair {
            continue;
        }
        if cx.pg.major >= 12 && cx.state.utc {
            continue;
        }
        out.push(Hit::at(*r, format!(
            "changing `{column}` between timestamp and timestamptz rewrites `{table}`{} under ACCESS EXCLUSIVE (blocking all reads and writes) unless the session TimeZone is UTC",
            cx.size_note(table))));
    }
}
