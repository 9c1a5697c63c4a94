//! Rule `change-column-type-rewrite`: ALTER COLUMN ... TYPE that is not binary-coercible rewrites the table and its indexes under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "change-column-type-rewrite",
    level: ERROR,
    summary: r#"ALTER COLUMN ... TYPE that is not binary-coercible rewrites the table and its indexes under ACCESS EXCLUSIVE."#,
    help: r#"Expand and contract: add a new column, keep it in sync with a trigger, backfill in batches, switch readers, drop the old column."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ALTER COLUMN ... TYPE` when the change needs a rewrite: anything with `USING`, and any change that is not binary-coercible. Not flagged (checked on PostgreSQL 15): `varchar(n)` to `varchar(m >= n)`, `varchar` to `text`, `text` to unconstrained `varchar`, `numeric(p,s)` to `numeric(p2 >= p, s)` or plain `numeric`, `cidr` to `inet`, widening `timestamp(p)`, `time(p)`, `interval(p)`, `varbit(n)`, and the same type. The old type comes from earlier statements in the file or from `--db`; when neither knows it, the finding says so. `timestamp` to `timestamptz` is left to timestamptz-needs-utc-session.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table while the heap and every index are rewritten: all reads and writes wait for the whole copy.

### Instead

Add a column of the new type, a trigger that writes both, a batched backfill, switch the application, drop the old column in a later (contract) migration.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, r) in actions {
        let AlterAction::AlterType { column, ty, using } = a else { continue };
        let old = cx.old_type(table, column);
        if *using {
            out.push(Hit::at(*r, format!(
                "changing `{column}` to {ty} with USING rewrites `{table}`{} and all its indexes under ACCESS EXCLUSIVE, blocking all reads and writes",
                cx.size_note(table))));
            continue;
        }
        match old {
            Some(old) => {
                if binary_coercible(&old, ty) || is_timestamp_pair(&old, ty) {
                    continue;
                }
                out.push(Hit::at(*r, format!(
                    "{old} to {ty} is not binary-coercible: `{table}`{} and all its indexes are rewritten under ACCESS EXCLUSIVE, blocking all reads and writes",
                    cx.size_note(table))));
            }
            None => {
                if ty.base.starts_with("timestamp") {
                    continue;
                }
                out.push(Hit::at(*r, format!(
                    "the current type of `{column}` is not known here (declare it earlier in the file or pass --db); unless the change to {ty} is binary-coercible, `{table}` is rewritten under ACCESS EXCLUSIVE, blocking all reads and writes")));
            }
        }
    }
}
