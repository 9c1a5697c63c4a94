//! Rule `lock-upgrade-deadlock`: The transaction first takes a weak lock on a table and later a strong one: a classic deadlock.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "lock-upgrade-deadlock",
    level: WARNING,
    summary: r#"The transaction first takes a weak lock on a table and later a strong one: a classic deadlock."#,
    help: r#"Take the strongest lock first (`LOCK TABLE t IN ACCESS EXCLUSIVE MODE`) or split the transaction."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

A statement that needs SHARE ROW EXCLUSIVE or stronger on a table the same transaction already holds a weaker lock on (a SELECT, an UPDATE, a SHARE UPDATE EXCLUSIVE DDL), when the table existed before the migration.

### Lock taken and what it blocks

Upgrading the lock waits for other sessions holding weak locks; if one of them waits for this transaction, one side is killed with a deadlock error after holding its locks.

### Instead

```sql
BEGIN;
LOCK TABLE t IN ACCESS EXCLUSIVE MODE;
-- reads and DDL on t
COMMIT;
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if !cx.state.in_tx {
        return;
    }
    for (mode, target) in &cx.c.effect.locks {
        if *mode < LockMode::ShareRowExclusive || !cx.existing(&target.name) {
            continue;
        }
        let key = target.name.key();
        if let Some(h) = cx.state.held.get(&key) {
            if h.mode < *mode && h.mode < LockMode::Share {
                out.push(Hit::stmt(format!("this upgrades the lock on `{}` from {} (line {}) to {mode}: the upgrade waits for every other holder, a deadlock if one of them waits for this transaction", target.name, h.mode, h.line)));
            }
        }
    }
}
