//! Rule `drop-not-null`: DROP NOT NULL lets NULLs into a column that old clients assume is never NULL.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "drop-not-null",
    level: OFF,
    summary: r#"DROP NOT NULL lets NULLs into a column that old clients assume is never NULL."#,
    help: r#"Make sure every reader handles NULL before relaxing the constraint."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER COLUMN ... DROP NOT NULL` on a table that existed before the migration. Off by default.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table (metadata only, brief). The hazard is compatibility: application code still running the previous release breaks.

### Instead

Ship readers that handle NULL first.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        if let AlterAction::DropNotNull { column } = a {
            out.push(Hit::at(*r, format!("`{table}.{column}` may become NULL (the change takes ACCESS EXCLUSIVE, blocking all reads and writes briefly); code that assumes it never is will break")));
        }
    }
}
