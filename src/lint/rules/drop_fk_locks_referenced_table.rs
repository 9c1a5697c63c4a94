//! Rule `drop-fk-locks-referenced-table`: Dropping a foreign key also takes ACCESS EXCLUSIVE on the referenced table.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "drop-fk-locks-referenced-table",
    level: WARNING,
    summary: r#"Dropping a foreign key also takes ACCESS EXCLUSIVE on the referenced table."#,
    help: r#"Set a short lock_timeout and drop the foreign key alone, in its own short transaction, off-peak."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`DROP CONSTRAINT` of a foreign key (known from the file, or named like `*_fkey`/`*_fk`), and `DROP TABLE` of a table with known foreign keys.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table **and on the referenced (parent) table**, whose triggers are removed (observed on PostgreSQL 15): all reads and writes on the parent wait too.

### Instead

```sql
SET lock_timeout = '1s';
ALTER TABLE orders DROP CONSTRAINT orders_user_fk;
```

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    match &cx.c.stmt {
        Stmt::AlterTable { table, actions, .. } => {
            let key = table.key();
            for (a, r) in actions {
                let AlterAction::DropConstraint { name } = a else { continue };
                let known = cx.state.constraints.get(&(key.clone(), name.clone()));
                let referenced = match known {
                    Some(k) if k.kind == ConstraintKind::ForeignKey => k.references.clone().map(|r| display_key(&r)),
                    Some(_) => continue,
                    None if name.ends_with("_fkey") || name.ends_with("_fk") => None,
                    None => continue,
                };
                if referenced.as_ref().is_some_and(|r| !cx.state.preexisting(&Name { schema: None, name: r.clone() }.key()) && !cx.state.preexisting(r)) {
                    continue;
                }
                let parent = referenced.map(|r| format!("`{r}`")).unwrap_or_else(|| "the referenced table".into());
                out.push(Hit::at(*r, format!("dropping foreign key `{name}` takes ACCESS EXCLUSIVE on {parent} as well as `{table}`, blocking all reads and writes on both")));
            }
        }
        Stmt::DropTable { names } => {
            for n in names {
                let key = n.key();
                let parents: Vec<String> = cx.state.constraints.iter()
                    .filter(|((t, _), k)| t == &key && k.kind == ConstraintKind::ForeignKey)
                    .filter_map(|(_, k)| k.references.clone())
                    .filter(|r| cx.state.preexisting(r))
                    .map(|r| format!("`{}`", display_key(&r)))
                    .collect();
                if !parents.is_empty() {
                    out.push(Hit::stmt(format!("dropping `{n}` removes its foreign keys, taking ACCESS EXCLUSIVE on {} too, blocking all reads and writes there", parents.join(", "))));
                }
            }
        }
        _ => {}
    }
}
