//! Rule `add-column-stored-generated`: ADD COLUMN ... GENERATED ALWAYS AS (...) STORED rewrites the table under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "add-column-stored-generated",
    level: ERROR,
    summary: r#"ADD COLUMN ... GENERATED ALWAYS AS (...) STORED rewrites the table under ACCESS EXCLUSIVE."#,
    help: r#"Add a plain nullable column, fill it with a trigger and a batched backfill; on PostgreSQL 18 a VIRTUAL generated column costs no rewrite."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ADD COLUMN ... GENERATED ALWAYS AS (...) STORED` on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table while every row is rewritten to compute the column: all reads and writes wait.

### Instead

Add a nullable column, keep it up to date with a trigger, backfill in batches. On PostgreSQL 18, `GENERATED ALWAYS AS (...) VIRTUAL` (the default kind there) is computed on read and needs no rewrite.

### PostgreSQL versions

All versions with stored generated columns (12+). 18 adds VIRTUAL columns, which are not flagged.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, _) in actions {
        if let AlterAction::AddColumn(col) = a {
            if col.generated_stored {
                out.push(Hit::at(col.toks, format!(
                    "stored generated column `{}` is computed for every row: `{table}`{} is rewritten under ACCESS EXCLUSIVE, blocking all reads and writes",
                    col.name, cx.size_note(table))));
            }
        }
    }
}
