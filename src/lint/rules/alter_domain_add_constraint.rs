//! Rule `alter-domain-add-constraint`: ALTER DOMAIN ... ADD CONSTRAINT / SET NOT NULL scans every table that uses the domain.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "alter-domain-add-constraint",
    level: ERROR,
    summary: r#"ALTER DOMAIN ... ADD CONSTRAINT / SET NOT NULL scans every table that uses the domain."#,
    help: r#"Add the domain constraint NOT VALID and VALIDATE it later, or use table CHECKs (NOT VALID + VALIDATE) instead of domain constraints."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER DOMAIN ... ADD CONSTRAINT` without `NOT VALID`, and `ALTER DOMAIN ... SET NOT NULL`.

### Lock taken and what it blocks

SHARE on every table with a column of the domain while each is scanned: writes to all of them wait.

### Instead

```sql
ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID;
ALTER DOMAIN positive_int VALIDATE CONSTRAINT positive;
```

The `NOT VALID` add takes no lock on the tables and checks new values at once. Unlike a
table's `VALIDATE CONSTRAINT`, a domain's still takes SHARE on every table using the domain
while it scans them (observed on 14 to 18), so run it in its own transaction at a quiet time,
with a `lock_timeout`. `SET NOT NULL` has no `NOT VALID` form: a `CHECK (VALUE IS NOT NULL)`
added this way says the same.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if let Stmt::AlterDomain { name, validating_constraint: true, .. } = &cx.c.stmt {
        out.push(Hit::stmt(format!("changing domain `{name}` this way takes SHARE on every table that uses it and scans each, blocking writes (INSERT, UPDATE, DELETE) to all of them")));
    }
}
