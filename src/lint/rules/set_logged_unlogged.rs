//! Rule `set-logged-unlogged`: SET LOGGED / SET UNLOGGED rewrites the table under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "set-logged-unlogged",
    level: ERROR,
    summary: r#"SET LOGGED / SET UNLOGGED rewrites the table under ACCESS EXCLUSIVE."#,
    help: r#"Avoid on live tables: create a new table with the wanted persistence, copy, swap."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... SET LOGGED` and `SET UNLOGGED` on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table while it is rewritten (both directions, observed on PostgreSQL 15): all reads and writes wait.

### Instead

Create the new table, copy in batches, swap names under a short lock.

### PostgreSQL versions

All versions (9.5+).
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        if matches!(a, AlterAction::SetLogged | AlterAction::SetUnlogged) {
            out.push(Hit::at(*r, format!("changing persistence rewrites `{table}`{} under ACCESS EXCLUSIVE, blocking all reads and writes", cx.size_note(table))));
        }
    }
}
