//! Rule `multiple-alter-same-table`: Several ALTER TABLE statements on one table in one transaction each take (and queue for) the lock.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "multiple-alter-same-table",
    level: NOTICE,
    summary: r#"Several ALTER TABLE statements on one table in one transaction each take (and queue for) the lock."#,
    help: r#"Combine the subcommands into one ALTER TABLE (the strictest lock of them is taken once)."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

A second `ALTER TABLE` on the same pre-existing table in the same transaction (a `VALIDATE CONSTRAINT` alone is not counted).

### Lock taken and what it blocks

Each statement may scan or rewrite separately while the strongest lock taken so far stays held.

### Instead

`ALTER TABLE t ADD COLUMN a int, ADD COLUMN b int;`

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    if !cx.state.in_tx || actions.iter().all(|(a, _)| matches!(a, AlterAction::ValidateConstraint { .. })) {
        return;
    }
    if let Some(line) = cx.state.altered_in_tx.get(&table.key()) {
        out.push(Hit::stmt(format!("`{table}` was already altered on line {line} in this transaction; one combined ALTER TABLE takes the lock once")));
    }
}
