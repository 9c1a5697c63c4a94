//! Rule `create-table-fk-locks-referenced`: CREATE TABLE with a foreign key takes SHARE ROW EXCLUSIVE on the referenced table.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "create-table-fk-locks-referenced",
    level: WARNING,
    summary: r#"CREATE TABLE with a foreign key takes SHARE ROW EXCLUSIVE on the referenced table."#,
    help: r#"Set a short lock_timeout; or create the table without the foreign key and add it NOT VALID later."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`CREATE TABLE ... REFERENCES t` where `t` existed before the migration.

### Lock taken and what it blocks

SHARE ROW EXCLUSIVE on the referenced table (its FK triggers are created): writes to it wait, and while the request waits behind a long transaction every later writer queues too.

### Instead

```sql
SET lock_timeout = '2s';
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Stmt::CreateTable { name, columns, constraints, .. } = &cx.c.stmt else { return };
    for col in columns {
        if let Some((r, toks)) = &col.references {
            if cx.existing(r) {
                out.push(Hit::at(*toks, format!("creating `{name}` with a foreign key takes SHARE ROW EXCLUSIVE on `{r}`, blocking writes (INSERT, UPDATE, DELETE) to it")));
            }
        }
    }
    for c in constraints {
        if let Some(r) = &c.references {
            if cx.existing(r) {
                out.push(Hit::at(c.toks, format!("creating `{name}` with a foreign key takes SHARE ROW EXCLUSIVE on `{r}`, blocking writes (INSERT, UPDATE, DELETE) to it")));
            }
        }
    }
}
