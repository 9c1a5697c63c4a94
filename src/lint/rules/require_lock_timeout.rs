//! Rule `require-lock-timeout`: A statement that takes a traffic-blocking lock runs with no lock_timeout set.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "require-lock-timeout",
    level: WARNING,
    summary: r#"A statement that takes a traffic-blocking lock runs with no lock_timeout set."#,
    help: r#"`SET lock_timeout = '2s'` at the top of the migration (and retry on timeout)."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

The first statement of a file that takes SHARE or a stronger lock on an existing object when no `SET [LOCAL] lock_timeout` (non-zero) came before it. Reported once per file.

### Lock taken and what it blocks

Whatever the statement takes; the hazard is the wait: a queued ACCESS EXCLUSIVE request blocks every later query on the table, even plain SELECTs, until the long transaction ahead of it ends (observed on PostgreSQL 15).

### Instead

```sql
SET lock_timeout = '2s';
ALTER TABLE t ADD COLUMN c int;
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if cx.state.lock_timeout_set || cx.state.lock_timeout_reported {
        return;
    }
    if let Some((mode, target)) = blocking_lock(cx) {
        out.push(Hit::stmt(format!("{mode} on `{}` is requested with no lock_timeout: while it waits behind any running transaction, every later query on `{}` queues behind it ({} are blocked)", target.name, target.name, mode.blocks())));
    }
}
