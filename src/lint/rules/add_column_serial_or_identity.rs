//! Rule `add-column-serial-or-identity`: ADD COLUMN of a serial type or an IDENTITY column rewrites the table under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "add-column-serial-or-identity",
    level: ERROR,
    summary: r#"ADD COLUMN of a serial type or an IDENTITY column rewrites the table under ACCESS EXCLUSIVE."#,
    help: r#"Add a nullable bigint, create a sequence, SET DEFAULT nextval(), backfill in batches, then apply the NOT NULL recipe."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ADD COLUMN` whose type is `serial`, `bigserial` or `smallserial`, or that is `GENERATED ... AS IDENTITY`. (`ALTER COLUMN ... ADD GENERATED ... AS IDENTITY` on an existing column is metadata only and is not flagged.)

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table while every row gets its value from the new sequence (a rewrite of the heap and all indexes): all reads and writes wait.

### Instead

```sql
ALTER TABLE t ADD COLUMN n bigint;
CREATE SEQUENCE t_n_seq OWNED BY t.n;
ALTER TABLE t ALTER COLUMN n SET DEFAULT nextval('t_n_seq');
-- backfill in batches, then the NOT NULL recipe (see set-not-null-scan)
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, _) in actions {
        if let AlterAction::AddColumn(col) = a {
            if col.ty.is_serial() || col.identity {
                let what = if col.identity { "an IDENTITY column".to_string() } else { format!("a {} column", col.ty.base) };
                out.push(Hit::at(col.toks, format!(
                    "adding {what} `{}` fills every existing row from a new sequence: `{table}`{} is rewritten under ACCESS EXCLUSIVE, blocking all reads and writes",
                    col.name, cx.size_note(table))));
            }
        }
    }
}
