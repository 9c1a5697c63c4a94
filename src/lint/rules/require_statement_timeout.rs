//! Rule `require-statement-timeout`: A statement that scans or rewrites a table runs with no statement_timeout set.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "require-statement-timeout",
    level: NOTICE,
    summary: r#"A statement that scans or rewrites a table runs with no statement_timeout set."#,
    help: r#"`SET statement_timeout = '...'` sized for the migration, so a runaway scan is cancelled instead of holding its lock indefinitely."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

The first statement of a file that scans or rewrites an existing table while holding a lock that blocks traffic (SHARE or stronger; concurrent builds are left alone, since a timeout there leaves an INVALID index) when no `SET statement_timeout` came before it. Reported once per file.

### Lock taken and what it blocks

The statement's own lock, held for as long as the scan or rewrite runs.

### Instead

```sql
SET statement_timeout = '15min';
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if cx.state.statement_timeout_set || cx.state.statement_timeout_reported {
        return;
    }
    let e = &cx.c.effect;
    if !(e.scans || e.rewrites) {
        return;
    }
    if let Some((mode, target)) = blocking_lock(cx) {
        out.push(Hit::stmt(format!("this statement {} `{}` holding {mode} with no statement_timeout: nothing bounds how long {} stay blocked", if e.rewrites { "rewrites" } else { "scans" }, target.name, mode.blocks())));
    }
}
