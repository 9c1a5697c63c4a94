//! Rule `set-not-null-scan`: SET NOT NULL scans the whole table under ACCESS EXCLUSIVE unless a validated CHECK proves it.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "set-not-null-scan",
    level: ERROR,
    summary: r#"SET NOT NULL scans the whole table under ACCESS EXCLUSIVE unless a validated CHECK proves it."#,
    help: r#"Add `CHECK (c IS NOT NULL) NOT VALID`, VALIDATE it in a separate transaction, then SET NOT NULL (no scan) and drop the CHECK."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER COLUMN ... SET NOT NULL` when nothing proves the column non-null: a validated `CHECK (c IS NOT NULL)` added or validated earlier in the file, a `VALIDATE CONSTRAINT` on that table whose constraint was added by an earlier migration (assumed to be that CHECK, as in the recipe), or (with `--db`) such a CHECK in the catalog. A `NOT VALID` CHECK does not help.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table (and every partition of a partitioned table) during a full scan: all reads and writes wait.

### Instead

```sql
ALTER TABLE t ADD CONSTRAINT t_c_not_null CHECK (c IS NOT NULL) NOT VALID;
COMMIT;
ALTER TABLE t VALIDATE CONSTRAINT t_c_not_null;  -- SHARE UPDATE EXCLUSIVE, reads and writes continue
ALTER TABLE t ALTER COLUMN c SET NOT NULL;        -- no scan
ALTER TABLE t DROP CONSTRAINT t_c_not_null;
```
PostgreSQL 18: `ADD CONSTRAINT c_nn NOT NULL c NOT VALID`, then `VALIDATE CONSTRAINT c_nn`.

### PostgreSQL versions

12+: a validated CHECK lets SET NOT NULL skip the scan. 11 and earlier always scan. 18+: NOT NULL constraints can be added NOT VALID.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        let AlterAction::SetNotNull { column } = a else { continue };
        if cx.pg.major >= 12 && cx.proven_not_null(table, column) {
            continue;
        }
        out.push(Hit::at(*r, format!(
            "SET NOT NULL on `{column}` scans all of `{table}`{} under ACCESS EXCLUSIVE, blocking all reads and writes, because no validated CHECK ({column} IS NOT NULL) proves it",
            cx.size_note(table))));
    }
}
