//! Rule `rule-policy-rls-ddl-lock`: CREATE RULE, CREATE/ALTER/DROP POLICY and row-level-security switches take ACCESS EXCLUSIVE.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "rule-policy-rls-ddl-lock",
    level: WARNING,
    summary: r#"CREATE RULE, CREATE/ALTER/DROP POLICY and row-level-security switches take ACCESS EXCLUSIVE."#,
    help: r#"Set a short lock_timeout and retry; keep the transaction short."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`CREATE RULE`, `CREATE POLICY`, `ALTER POLICY`, `DROP POLICY`, `ALTER TABLE ... ENABLE|DISABLE|FORCE|NO FORCE ROW LEVEL SECURITY` on a table that existed before the migration.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table: all reads and writes wait (and queue behind the request while it waits).

### Instead

```sql
SET lock_timeout = '2s';
CREATE POLICY p ON t USING (owner = current_user);
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let (what, table) = match &cx.c.stmt {
        Stmt::CreateRule { table } => ("CREATE RULE", table),
        Stmt::CreatePolicy { table } => ("CREATE POLICY", table),
        Stmt::AlterPolicy { table } => ("ALTER POLICY", table),
        Stmt::DropPolicy { table } => ("DROP POLICY", table),
        _ => {
            if let Some((table, actions)) = cx.alter() {
                for (a, r) in actions {
                    if matches!(a, AlterAction::RowSecurity) {
                        out.push(Hit::at(*r, format!("changing row-level security takes ACCESS EXCLUSIVE on `{table}`, blocking all reads and writes")));
                    }
                }
            }
            return;
        }
    };
    if cx.existing(table) {
        out.push(Hit::stmt(format!("{what} takes ACCESS EXCLUSIVE on `{table}`, blocking all reads and writes")));
    }
}
