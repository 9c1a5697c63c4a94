//! Rule `drop-column`: DROP COLUMN breaks every client that still reads or writes the column.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "drop-column",
    level: WARNING,
    summary: r#"DROP COLUMN breaks every client that still reads or writes the column."#,
    help: r#"Contract phase only: stop using the column in the application (and ORM caches) first, drop it in a later deploy."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... DROP COLUMN` on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table (metadata only); with an FK on the column, also ACCESS EXCLUSIVE on the referenced table; with CASCADE, dependent views are dropped too. The old application version fails on the missing column.

### Instead

Expand/contract: ship code that no longer uses the column, then drop it.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        if let AlterAction::DropColumn { name } = a {
            out.push(Hit::at(*r, format!("dropping `{table}.{name}` takes ACCESS EXCLUSIVE on `{table}` (blocking all reads and writes briefly) and breaks any running code that still uses the column")));
        }
    }
}
