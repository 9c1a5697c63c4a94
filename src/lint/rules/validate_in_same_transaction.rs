//! Rule `validate-in-same-transaction`: VALIDATE CONSTRAINT in the transaction that added it NOT VALID (or that already holds a strong lock on the table) keeps that lock during the scan.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "validate-in-same-transaction",
    level: ERROR,
    summary: r#"VALIDATE CONSTRAINT in the transaction that added it NOT VALID (or that already holds a strong lock on the table) keeps that lock during the scan."#,
    help: r#"Commit after adding the constraint NOT VALID; run VALIDATE CONSTRAINT in its own transaction."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... VALIDATE CONSTRAINT c` inside a transaction that added `c` NOT VALID, or that took SHARE ROW EXCLUSIVE or stronger on the table earlier.

### Lock taken and what it blocks

The ACCESS EXCLUSIVE (CHECK) or SHARE ROW EXCLUSIVE (foreign key) taken by the earlier statement is held for the whole validation scan, so NOT VALID buys nothing: reads and/or writes wait for the scan.

### Instead

Put `VALIDATE CONSTRAINT` in a separate migration or after a `COMMIT`.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    if !cx.state.in_tx {
        return;
    }
    let key = table.key();
    for (a, r) in actions {
        let AlterAction::ValidateConstraint { name } = a else { continue };
        let same_tx = cx.state.constraints.get(&(key.clone(), name.clone())).is_some_and(|k| k.tx == cx.state.tx);
        let held = cx.state.held.get(&key).filter(|h| h.mode >= LockMode::ShareRowExclusive);
        if same_tx || held.is_some() {
            let (mode, line) = held.map(|h| (h.mode, h.line)).unwrap_or((LockMode::AccessExclusive, 0));
            out.push(Hit::at(*r, format!(
                "`{name}` is validated in the transaction that {} (line {line}): its {mode} lock on `{table}` stays held during the validation scan, blocking {}",
                if same_tx { "added it" } else { "already locked the table" }, mode.blocks())));
        }
    }
}
