//! Rule `add-column-constrained-domain`: adding a column whose type is a domain with a CHECK or NOT NULL rewrites the table under ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "add-column-constrained-domain",
    level: ERROR,
    summary: r#"ADD COLUMN of a domain with a CHECK or NOT NULL rewrites the whole table under ACCESS EXCLUSIVE."#,
    help: r#"Add the column as the domain's base type (metadata only) if the constraint can wait, or add it while the table is small; a table with many rows is blocked for the whole copy."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ADD COLUMN c some_domain` on an existing table, where `some_domain` carries a
`CHECK` or `NOT NULL` constraint. Since PostgreSQL 11 a new column with a constant default (or
none) costs no rewrite, except this case: PostgreSQL must check every existing row's value
(the default, or NULL) against the domain's constraints, and it does so by rewriting the table
and its indexes. Which domains carry constraints is known only from a database: the rule needs
`--db` (the planner always knows).

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table for the whole rewrite of the heap and every index: all reads and
writes wait.

### Instead

```sql
-- the domain: CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
ALTER TABLE t ADD COLUMN score integer;           -- metadata only
ALTER TABLE t ADD CONSTRAINT score_positive CHECK (score > 0) NOT VALID;
ALTER TABLE t VALIDATE CONSTRAINT score_positive; -- SHARE UPDATE EXCLUSIVE
```

Changing the column to the domain later (`ALTER COLUMN ... TYPE positive_int`) rewrites the
table too, for the same reason.

### PostgreSQL versions

All. (Before 11 every ADD COLUMN with a default rewrote; see `add-column-volatile-default`.)
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    let Some(db) = cx.db else { return };
    for (a, _) in actions {
        let AlterAction::AddColumn(col) = a else { continue };
        if col.ty.array || !db.constrained_domains.contains(&col.ty.base) {
            continue;
        }
        out.push(Hit::at(col.toks, format!(
            "`{}` is a domain with constraints: adding column `{}` rewrites `{table}`{} under ACCESS EXCLUSIVE, blocking all reads and writes until every row is checked and copied",
            col.ty.base, col.name, cx.size_note(table))));
    }
}
