//! Rule `set-tablespace`: SET TABLESPACE copies the table (or index) file under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "set-tablespace",
    level: ERROR,
    summary: r#"SET TABLESPACE copies the table (or index) file under ACCESS EXCLUSIVE."#,
    help: r#"pg_repack `--tablespace`, or a maintenance window."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... SET TABLESPACE` and `ALTER INDEX ... SET TABLESPACE`.

### Lock taken and what it blocks

ACCESS EXCLUSIVE while the files are copied block by block: all reads and writes on the table wait.

### Instead

pg_repack can move a table to another tablespace online.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::AlterIndex { name, tablespace: true, .. } = &cx.c.stmt {
        out.push(Hit::stmt(format!("SET TABLESPACE copies index `{name}` under ACCESS EXCLUSIVE, blocking every query that uses it and writes to its table")));
        return;
    }
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        if matches!(a, AlterAction::SetTablespace) {
            out.push(Hit::at(*r, format!("SET TABLESPACE copies `{table}`{} under ACCESS EXCLUSIVE, blocking all reads and writes", cx.size_note(table))));
        }
    }
}
