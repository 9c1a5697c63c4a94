//! Rule `backfill-in-ddl-transaction`: A data backfill runs in the transaction that changed the table, holding the DDL lock for the whole backfill.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "backfill-in-ddl-transaction",
    level: ERROR,
    summary: r#"A data backfill runs in the transaction that changed the table, holding the DDL lock for the whole backfill."#,
    help: r#"Commit the DDL first; backfill in batches in separate transactions."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`UPDATE`, `DELETE`, `INSERT`, `MERGE` or `COPY FROM` on a table that an earlier statement of the same transaction locked with SHARE ROW EXCLUSIVE or stronger (an ALTER TABLE, typically).

### Lock taken and what it blocks

The DDL's lock (usually ACCESS EXCLUSIVE: all reads and writes) is held until COMMIT, i.e. for the whole time the backfill touches every row.

### Instead

Commit the ALTER, then update in batches (`UPDATE ... WHERE id BETWEEN ...`), each its own transaction.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Stmt::Dml { table, verb } = &cx.c.stmt else { return };
    if !cx.state.in_tx || is_bookkeeping(&table.key()) || !cx.existing(table) {
        return;
    }
    if let Some(h) = cx.state.held.get(&table.key()).filter(|h| h.mode >= LockMode::ShareRowExclusive) {
        out.push(Hit::stmt(format!("{verb} on `{table}` runs while this transaction holds {} on it (line {}): {} stays blocked for the whole backfill", h.mode, h.line, h.mode.blocks())));
    }
}
