//! Rule `add-foreign-key-validating`: ADD FOREIGN KEY without NOT VALID scans both tables while blocking writes to both.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "add-foreign-key-validating",
    level: ERROR,
    summary: r#"ADD FOREIGN KEY without NOT VALID scans both tables while blocking writes to both."#,
    help: r#"Add it `NOT VALID` (instant), then `VALIDATE CONSTRAINT` in a separate transaction."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ADD [CONSTRAINT c] FOREIGN KEY ... REFERENCES ...` without `NOT VALID`, and `ADD COLUMN ... REFERENCES ...`, on a table that existed before the migration.

### Lock taken and what it blocks

SHARE ROW EXCLUSIVE on the table **and** on the referenced table while both are scanned: writes (INSERT, UPDATE, DELETE) to both wait. `ADD COLUMN ... REFERENCES` takes ACCESS EXCLUSIVE on the table and SHARE ROW EXCLUSIVE on the referenced one (no scan: the new column is empty).

### Instead

```sql
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
COMMIT;
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;  -- SHARE UPDATE EXCLUSIVE + ROW SHARE
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, _) in actions {
        match a {
            AlterAction::AddConstraint(c) if c.kind == ConstraintKind::ForeignKey && !c.not_valid => {
                let r = c.references.as_ref().map(|r| r.to_string()).unwrap_or_default();
                out.push(Hit::at(c.toks, format!(
                    "validating foreign key scans `{table}`{} and `{r}` while holding SHARE ROW EXCLUSIVE on both, blocking writes (INSERT, UPDATE, DELETE) to both",
                    cx.size_note(table))));
            }
            AlterAction::AddColumn(col) => {
                if let Some((r, toks)) = &col.references {
                    out.push(Hit::at(*toks, format!(
                        "REFERENCES on new column `{}` takes SHARE ROW EXCLUSIVE on `{r}` (blocking its writes) in addition to ACCESS EXCLUSIVE on `{table}` (blocking all reads and writes)",
                        col.name)).help("Add the column without REFERENCES, then add the foreign key NOT VALID and VALIDATE it in a separate transaction."));
                }
            }
            _ => {}
        }
    }
}
