//! Rule `trigger-ddl-lock`: CREATE TRIGGER and ENABLE/DISABLE TRIGGER block writes; DROP TRIGGER blocks everything.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "trigger-ddl-lock",
    level: WARNING,
    summary: r#"CREATE TRIGGER and ENABLE/DISABLE TRIGGER block writes; DROP TRIGGER blocks everything."#,
    help: r#"Set a short lock_timeout and retry; keep the transaction short."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`CREATE TRIGGER`, `DROP TRIGGER` and `ALTER TABLE ... ENABLE|DISABLE TRIGGER` on a table that existed before the migration.

### Lock taken and what it blocks

CREATE TRIGGER and ENABLE/DISABLE TRIGGER: SHARE ROW EXCLUSIVE (writes wait). DROP TRIGGER: ACCESS EXCLUSIVE (all reads and writes wait).

### Instead

```sql
SET lock_timeout = '2s';
CREATE TRIGGER t_sync BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION t_sync();
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    match &cx.c.stmt {
        Stmt::CreateTrigger { table } if cx.existing(table) => out.push(Hit::stmt(format!("CREATE TRIGGER takes SHARE ROW EXCLUSIVE on `{table}`, blocking writes (INSERT, UPDATE, DELETE)")) ),
        Stmt::DropTrigger { table } if cx.existing(table) => out.push(Hit::stmt(format!("DROP TRIGGER takes ACCESS EXCLUSIVE on `{table}`, blocking all reads and writes"))),
        _ => {
            if let Some((table, actions)) = cx.alter() {
                for (a, r) in actions {
                    if matches!(a, AlterAction::TriggerToggle) {
                        out.push(Hit::at(*r, format!("ENABLE/DISABLE TRIGGER takes SHARE ROW EXCLUSIVE on `{table}`, blocking writes (INSERT, UPDATE, DELETE)")));
                    }
                }
            }
        }
    }
}
