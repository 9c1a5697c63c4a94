//! Rule `set-schema`: SET SCHEMA moves a table out from under clients that name it.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "set-schema",
    level: WARNING,
    summary: r#"SET SCHEMA moves a table out from under clients that name it."#,
    help: r#"Leave a view under the old name until no client uses it."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... SET SCHEMA` on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table (metadata only, brief). The hazard is compatibility: application code still running the previous release breaks.

### Instead

Create a view in the old schema for the old release.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        if matches!(a, AlterAction::SetSchema) {
            out.push(Hit::at(*r, format!("moving `{table}` to another schema takes ACCESS EXCLUSIVE (blocking all reads and writes briefly) and breaks code that names it with the old schema")));
        }
    }
}
