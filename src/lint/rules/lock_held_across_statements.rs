//! Rule `lock-held-across-statements`: A strong lock taken earlier in the transaction is still held while more statements run.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "lock-held-across-statements",
    level: WARNING,
    summary: r#"A strong lock taken earlier in the transaction is still held while more statements run."#,
    help: r#"Commit right after the statement that takes the lock; run the rest in its own transaction."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

Any statement that runs in a transaction after an earlier statement of the same transaction took SHARE or a stronger lock on a table that existed before the migration (migration bookkeeping such as `alembic_version` and COMMIT/SET are not counted). Reported once per table and transaction.

### Lock taken and what it blocks

The earlier lock (ACCESS EXCLUSIVE: all reads and writes; SHARE / SHARE ROW EXCLUSIVE: writes) stays held until COMMIT, so its blocking lasts as long as everything after it.

### Instead

Keep each lock-taking statement in a short transaction of its own (or last before COMMIT).

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if !cx.state.in_tx || is_boundary_or_bookkeeping(cx) {
        return;
    }
    let mut held: Vec<(&String, &Held)> = cx.state.held.iter()
        .filter(|(k, h)| h.mode >= LockMode::Share && cx.state.preexisting(k) && !is_bookkeeping(k) && !cx.state.held_reported.contains(*k))
        .collect();
    held.sort_by(|a, b| a.0.cmp(b.0));
    for (key, h) in held {
        out.push(Hit::stmt(format!("{} on `{}` (taken on line {}) is still held while this statement runs, blocking {} on it until COMMIT", h.mode, display_key(key), h.line, h.mode.blocks())));
    }
}
