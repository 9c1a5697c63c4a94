//! Rule `rename-table`: RENAME TO breaks clients that use the old table name.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "rename-table",
    level: WARNING,
    summary: r#"RENAME TO breaks clients that use the old table name."#,
    help: r#"Rename, then create a view with the old name for the old release (drop it in the contract phase)."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... RENAME TO` on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table (metadata only, brief). The hazard is compatibility: application code still running the previous release breaks.

### Instead

```sql
ALTER TABLE old RENAME TO new;
CREATE VIEW old AS SELECT * FROM new;  -- until no client uses it
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        if let AlterAction::RenameTo { to } = a {
            out.push(Hit::at(*r, format!("renaming `{table}` to `{to}` takes ACCESS EXCLUSIVE (blocking all reads and writes briefly) and breaks running code that uses the old name")));
        }
    }
}
