//! Rule `change-column-type-revalidates-constraints`: A type change on a column covered by a CHECK or a foreign key re-checks it with a full scan, even without a rewrite.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "change-column-type-revalidates-constraints",
    level: WARNING,
    summary: r#"A type change on a column covered by a CHECK or a foreign key re-checks it with a full scan, even without a rewrite."#,
    help: r#"Drop the CHECK, change the type, re-add the CHECK NOT VALID and VALIDATE it in a separate transaction."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER COLUMN ... TYPE` on a column that a CHECK constraint mentions or that a foreign key uses, as known from earlier statements in the file.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table while every row is re-checked (a full scan; observed on PostgreSQL 15 for int to int and varchar(10) to varchar(20)): all reads and writes wait. A referenced primary key's type change also re-validates every referencing foreign key with a scan of the child table.

### Instead

```sql
ALTER TABLE t DROP CONSTRAINT t_c_check;
ALTER TABLE t ALTER COLUMN c TYPE varchar(20);
ALTER TABLE t ADD CONSTRAINT t_c_check CHECK (...) NOT VALID;
-- next transaction:
ALTER TABLE t VALIDATE CONSTRAINT t_c_check;
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    let key = table.key();
    for (a, r) in actions {
        let AlterAction::AlterType { column, .. } = a else { continue };
        if cx.state.constrained_columns.contains(&(key.clone(), column.clone())) {
            out.push(Hit::at(*r, format!(
                "`{column}` is covered by a CHECK or foreign key: the type change re-checks every row of `{table}` under ACCESS EXCLUSIVE, blocking all reads and writes, even when no rewrite is needed")));
        }
    }
}
