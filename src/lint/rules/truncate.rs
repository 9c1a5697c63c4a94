//! Rule `truncate`: TRUNCATE takes ACCESS EXCLUSIVE; with CASCADE, on every referencing table too.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "truncate",
    level: WARNING,
    summary: r#"TRUNCATE takes ACCESS EXCLUSIVE; with CASCADE, on every referencing table too."#,
    help: r#"Delete in batches; name every table explicitly instead of CASCADE."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`TRUNCATE` of a table that existed before the migration; the message names CASCADE when present.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on each table (and with CASCADE on every table referencing them): all reads and writes wait, and the data is gone.

### Instead

Delete in batches if the table is live; list the tables to empty explicitly rather than CASCADE.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::Truncate { names, cascade } = &cx.c.stmt {
        let live: Vec<String> = names.iter().filter(|n| cx.existing(n)).map(|n| format!("`{n}`")).collect();
        if live.is_empty() {
            return;
        }
        let extra = if *cascade { " and on every table that references them (CASCADE)" } else { "" };
        out.push(Hit::stmt(format!("TRUNCATE takes ACCESS EXCLUSIVE on {}{extra}, blocking all reads and writes", live.join(", "))));
    }
}
