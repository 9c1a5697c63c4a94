//! Rule `pk-using-index-implicit-not-null`: ADD PRIMARY KEY USING INDEX runs an implicit SET NOT NULL scan when a key column is nullable.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "pk-using-index-implicit-not-null",
    level: WARNING,
    summary: r#"ADD PRIMARY KEY USING INDEX runs an implicit SET NOT NULL scan when a key column is nullable."#,
    help: r#"Make every key column NOT NULL first (validated CHECK, then SET NOT NULL), then ADD PRIMARY KEY USING INDEX."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`ALTER TABLE ... ADD [CONSTRAINT c] PRIMARY KEY USING INDEX i` when the index columns are not known to be NOT NULL (from earlier statements in the file).

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the table; if a key column is nullable PostgreSQL sets it NOT NULL with a full scan while holding it: all reads and writes wait.

### Instead

Run the set-not-null-scan recipe on each key column before attaching the primary key.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let Some((table, actions)) = cx.alter() else { return };
    for (a, _) in actions {
        let AlterAction::AddConstraint(c) = a else { continue };
        if c.kind != ConstraintKind::PrimaryKey {
            continue;
        }
        let Some(index) = &c.using_index else { continue };
        let key = table.key();
        let cols: Vec<&String> = cx.state.columns.get(&key).map(|m| m.keys().collect()).unwrap_or_default();
        let all_not_null = !cols.is_empty() && cols.iter().all(|col| cx.proven_not_null(table, col));
        if !all_not_null {
            out.push(Hit::at(c.toks, format!(
                "PRIMARY KEY USING INDEX `{index}` sets its columns NOT NULL, scanning `{table}` under ACCESS EXCLUSIVE (blocking all reads and writes) unless they already are")));
        }
    }
}
