//! Rule `add-check-validating`: ADD CONSTRAINT ... CHECK without NOT VALID scans the table under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "add-check-validating",
    level: ERROR,
    summary: r#"ADD CONSTRAINT ... CHECK without NOT VALID scans the table under ACCESS EXCLUSIVE."#,
    help: r#"Add it `NOT VALID`, then `VALIDATE CONSTRAINT` in a separate transaction (SHARE UPDATE EXCLUSIVE: reads and writes continue)."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ADD [CONSTRAINT c] CHECK (...)` without `NOT VALID`, and an inline `CHECK` in `ADD COLUMN` (it scans too), on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table while every row is checked: all reads and writes wait.

### Instead

```sql
ALTER TABLE t ADD CONSTRAINT t_price_positive CHECK (price > 0) NOT VALID;
COMMIT;
ALTER TABLE t VALIDATE CONSTRAINT t_price_positive;
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, _) in actions {
        match a {
            AlterAction::AddConstraint(c) if c.kind == ConstraintKind::Check && !c.not_valid => {
                out.push(Hit::at(c.toks, format!(
                    "CHECK{} is validated against every row of `{table}`{} under ACCESS EXCLUSIVE, blocking all reads and writes",
                    c.name.as_ref().map(|n| format!(" `{n}`")).unwrap_or_default(), cx.size_note(table))));
            }
            AlterAction::AddColumn(col) => {
                if let Some(ck) = col.check {
                    out.push(Hit::at(ck, format!(
                        "the inline CHECK on new column `{}` is validated with a full scan of `{table}` under ACCESS EXCLUSIVE, blocking all reads and writes",
                        col.name)).help("Add the column without the CHECK, then add the CHECK NOT VALID and VALIDATE it in a separate transaction."));
                }
            }
            _ => {}
        }
    }
}
