//! Rule `add-column-volatile-default`: ADD COLUMN with a volatile default rewrites the whole table under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "add-column-volatile-default",
    level: ERROR,
    summary: r#"ADD COLUMN with a volatile default rewrites the whole table under ACCESS EXCLUSIVE."#,
    help: r#"Add the column without a default, then `ALTER COLUMN ... SET DEFAULT` (metadata only), then backfill in batches."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ADD COLUMN ... DEFAULT <expr>` where the expression calls a volatile function (`random()`, `clock_timestamp()`, `gen_random_uuid()`, `uuid_generate_v4()`, `nextval()`, `timeofday()`...). With `--db`, volatility comes from `pg_proc.provolatile`, so user functions are judged too; without it, a call to a function formwork does not know is reported with that caveat. Constants, casts and stable functions such as `now()` are not flagged on PostgreSQL 11 and later. On PostgreSQL 10 and earlier every non-NULL default is flagged.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table for the whole rewrite of the heap and every index: all reads and writes wait.

### Instead

```sql
ALTER TABLE t ADD COLUMN token uuid;
ALTER TABLE t ALTER COLUMN token SET DEFAULT gen_random_uuid();
-- backfill existing rows in batches, outside the DDL transaction
```

### PostgreSQL versions

11+: non-volatile defaults are stored as a "missing value" and cost no rewrite. 10 and earlier: any default rewrites.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, _) in actions {
        let AlterAction::AddColumn(col) = a else { continue };
        let Some(d) = &col.default else { continue };
        if d.is_null {
            continue;
        }
        let text = expr_text(cx, d.toks);
        if cx.pg.major < 11 {
            out.push(Hit::at(d.toks, format!(
                "on PostgreSQL {} adding column `{}` with default `{text}` rewrites `{table}`{} under ACCESS EXCLUSIVE, blocking all reads and writes",
                cx.pg.major, col.name, cx.size_note(table))));
            continue;
        }
        match volatility(cx, d) {
            Volatility::Volatile => out.push(Hit::at(d.toks, format!(
                "default `{text}` is volatile: adding column `{}` rewrites `{table}`{} under ACCESS EXCLUSIVE, blocking all reads and writes until every row is copied",
                col.name, cx.size_note(table)))),
            Volatility::Unknown => out.push(Hit::at(d.toks, format!(
                "default `{text}` calls a function whose volatility is not known here (pass --db to read it from pg_proc); if it is VOLATILE, adding column `{}` rewrites `{table}` under ACCESS EXCLUSIVE, blocking all reads and writes",
                col.name))),
            Volatility::NotVolatile => {}
        }
    }
}
