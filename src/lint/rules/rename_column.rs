//! Rule `rename-column`: RENAME COLUMN breaks clients that use the old name.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "rename-column",
    level: WARNING,
    summary: r#"RENAME COLUMN breaks clients that use the old name."#,
    help: r#"Expand/contract: add the new column (or a view exposing both names), sync, switch clients, drop the old name later."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... RENAME COLUMN` on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table (metadata only, brief). The hazard is compatibility: application code still running the previous release breaks.

### Instead

Add the new column and keep both in sync with a trigger until every client uses it; or expose the table through a view with both names.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        if let AlterAction::RenameColumn { from, to } = a {
            out.push(Hit::at(*r, format!("renaming `{table}.{from}` to `{to}` takes ACCESS EXCLUSIVE on `{table}` (blocking all reads and writes briefly) and breaks running code that uses the old name")));
        }
    }
}
