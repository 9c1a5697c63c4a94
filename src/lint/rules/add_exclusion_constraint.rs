//! Rule `add-exclusion-constraint`: ADD CONSTRAINT ... EXCLUDE builds its index under ACCESS EXCLUSIVE and has no online form.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "add-exclusion-constraint",
    level: ERROR,
    summary: r#"ADD CONSTRAINT ... EXCLUDE builds its index under ACCESS EXCLUSIVE and has no online form."#,
    help: r#"There is no NOT VALID or USING INDEX form: create a new table with the constraint and copy, or run it in a maintenance window with a short lock_timeout."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ADD [CONSTRAINT c] EXCLUDE ...` on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table during the index build and check (two scans): all reads and writes wait.

### Instead

Create a new table that has the constraint, copy the rows in batches, swap names under a short lock; or accept a maintenance window.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, _) in actions {
        if let AlterAction::AddConstraint(c) = a {
            if c.kind == ConstraintKind::Exclude {
                out.push(Hit::at(c.toks, format!(
                    "EXCLUDE builds its index on `{table}`{} under ACCESS EXCLUSIVE, blocking all reads and writes, and cannot be added NOT VALID",
                    cx.size_note(table))));
            }
        }
    }
}
