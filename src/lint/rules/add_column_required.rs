//! Rule `add-column-required`: ADD COLUMN ... NOT NULL without a default fails on any table that has rows.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "add-column-required",
    level: ERROR,
    summary: r#"ADD COLUMN ... NOT NULL without a default fails on any table that has rows."#,
    help: r#"Give the column a non-volatile default (no rewrite on PostgreSQL 11+), or add it nullable, backfill, then apply the NOT NULL recipe."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ADD COLUMN ... NOT NULL` with no `DEFAULT` (and not an identity, serial or generated column) on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table, and then the statement fails with "column contains null values" as soon as the table has a row, so the migration breaks in production while it passed on an empty development database.

### Instead

```sql
ALTER TABLE t ADD COLUMN status text NOT NULL DEFAULT 'new';  -- PostgreSQL 11+: no rewrite
```
or add it nullable, backfill, then follow set-not-null-scan.

### PostgreSQL versions

All versions. On 11+ a constant default makes this safe and cheap.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, _) in actions {
        if let AlterAction::AddColumn(col) = a {
            if col.not_null && col.default.is_none() && !col.identity && !col.ty.is_serial() && !col.generated_stored && col.primary_key.is_none() {
                out.push(Hit::at(col.toks, format!(
                    "column `{}` is NOT NULL without a default: the statement fails with \"contains null values\" if `{table}` has any row (and holds ACCESS EXCLUSIVE, blocking all reads and writes, while it tries)",
                    col.name)));
            }
        }
    }
}
