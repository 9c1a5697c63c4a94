//! Rule `add-primary-key`: ADD PRIMARY KEY builds its index and checks NOT NULL under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "add-primary-key",
    level: ERROR,
    summary: r#"ADD PRIMARY KEY builds its index and checks NOT NULL under ACCESS EXCLUSIVE."#,
    help: r#"Make the columns NOT NULL with the CHECK recipe, CREATE UNIQUE INDEX CONCURRENTLY, then `ADD PRIMARY KEY USING INDEX`."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ADD [CONSTRAINT c] PRIMARY KEY (...)` without `USING INDEX`, and `ADD COLUMN ... PRIMARY KEY`, on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table during the index build and an implicit SET NOT NULL scan (two full scans): all reads and writes wait.

### Instead

```sql
-- columns already NOT NULL (see set-not-null-scan)
CREATE UNIQUE INDEX CONCURRENTLY t_pkey_idx ON t (id);
ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_pkey_idx;
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, _) in actions {
        match a {
            AlterAction::AddConstraint(c) if c.kind == ConstraintKind::PrimaryKey && c.using_index.is_none() => {
                out.push(Hit::at(c.toks, format!(
                    "PRIMARY KEY builds its index and checks NOT NULL on `{table}`{} under ACCESS EXCLUSIVE, blocking all reads and writes",
                    cx.size_note(table))));
            }
            AlterAction::AddColumn(col) => {
                if let Some(p) = col.primary_key {
                    out.push(Hit::at(p, format!(
                        "PRIMARY KEY on new column `{}` builds an index on `{table}` under ACCESS EXCLUSIVE, blocking all reads and writes",
                        col.name)));
                }
            }
            _ => {}
        }
    }
}
