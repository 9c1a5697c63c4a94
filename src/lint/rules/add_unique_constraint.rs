//! Rule `add-unique-constraint`: ADD CONSTRAINT ... UNIQUE builds its index under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "add-unique-constraint",
    level: ERROR,
    summary: r#"ADD CONSTRAINT ... UNIQUE builds its index under ACCESS EXCLUSIVE."#,
    help: r#"CREATE UNIQUE INDEX CONCURRENTLY, then `ADD CONSTRAINT ... UNIQUE USING INDEX` (instant)."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ADD [CONSTRAINT c] UNIQUE (...)` without `USING INDEX`, and `ADD COLUMN ... UNIQUE`, on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table for the whole index build (a full scan and sort): all reads and writes wait.

### Instead

```sql
CREATE UNIQUE INDEX CONCURRENTLY t_email_key ON t (email);
ALTER TABLE t ADD CONSTRAINT t_email_key UNIQUE USING INDEX t_email_key;
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, _) in actions {
        match a {
            AlterAction::AddConstraint(c) if c.kind == ConstraintKind::Unique && c.using_index.is_none() => {
                out.push(Hit::at(c.toks, format!(
                    "UNIQUE builds its index on `{table}`{} under ACCESS EXCLUSIVE, blocking all reads and writes for the whole build",
                    cx.size_note(table))));
            }
            AlterAction::AddColumn(col) => {
                if let Some(u) = col.unique {
                    out.push(Hit::at(u, format!(
                        "UNIQUE on new column `{}` builds an index on `{table}` under ACCESS EXCLUSIVE, blocking all reads and writes",
                        col.name)));
                }
            }
            _ => {}
        }
    }
}
