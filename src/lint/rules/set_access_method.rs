//! Rule `set-access-method`: SET ACCESS METHOD rewrites the table under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "set-access-method",
    level: ERROR,
    summary: r#"SET ACCESS METHOD rewrites the table under ACCESS EXCLUSIVE."#,
    help: r#"Create a new table with the access method, copy, swap."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... SET ACCESS METHOD` on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table; when the method changes the table is rewritten: all reads and writes wait.

### Instead

Create the new table, copy in batches, swap names under a short lock.

### PostgreSQL versions

15+ (the command does not exist before).
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        if matches!(a, AlterAction::SetAccessMethod) {
            out.push(Hit::at(*r, format!("SET ACCESS METHOD rewrites `{table}`{} under ACCESS EXCLUSIVE, blocking all reads and writes", cx.size_note(table))));
        }
    }
}
