//! Rule `drop-table`: DROP TABLE deletes data and breaks clients still using the table.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "drop-table",
    level: WARNING,
    summary: r#"DROP TABLE deletes data and breaks clients still using the table."#,
    help: r#"Contract phase only, after no deployed code uses the table; consider renaming it away first and dropping later."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`DROP TABLE` of a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table and on every table its foreign keys reference: all their reads and writes wait. The data is gone.

### Instead

Stop using the table, keep it for a release, then drop it.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::DropTable { names } = &cx.c.stmt {
        let live: Vec<String> = names.iter().filter(|n| cx.existing(n)).map(|n| format!("`{n}`")).collect();
        if !live.is_empty() {
            out.push(Hit::stmt(format!("DROP TABLE deletes {} under ACCESS EXCLUSIVE, blocking all reads and writes, and breaks code still using it", live.join(", "))));
        }
    }
}
