//! Rule `drop-object`: DROP of a view, function, type, sequence, domain, extension, trigger or policy breaks what depends on it.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "drop-object",
    level: WARNING,
    summary: r#"DROP of a view, function, type, sequence, domain, extension, trigger or policy breaks what depends on it."#,
    help: r#"Drop in the contract phase, by name, without CASCADE, after nothing uses it."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`DROP VIEW`, `DROP MATERIALIZED VIEW`, `DROP FUNCTION`, `DROP PROCEDURE`, `DROP TYPE`, `DROP SEQUENCE`, `DROP DOMAIN`, `DROP EXTENSION`, `DROP POLICY` of objects not created earlier in the file.

### Lock taken and what it blocks

ACCESS EXCLUSIVE on the object (a view or matview: its readers wait); the hazard is what still depends on it.

### Instead

Contract phase, explicit names, no CASCADE.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    match &cx.c.stmt {
        Stmt::DropView { names, .. } => {
            let live: Vec<String> = names.iter().filter(|n| cx.existing(n)).map(|n| format!("`{n}`")).collect();
            if !live.is_empty() {
                out.push(Hit::stmt(format!("dropping {} takes ACCESS EXCLUSIVE on it (blocking its readers) and breaks queries that still use it", live.join(", "))));
            }
        }
        Stmt::DropPolicy { table } => out.push(Hit::stmt(format!("DROP POLICY takes ACCESS EXCLUSIVE on `{table}` (blocking all reads and writes) and changes who sees which rows"))),
        Stmt::Other { keywords } => {
            for kind in ["drop function", "drop procedure", "drop type", "drop sequence", "drop domain", "drop extension"] {
                if keywords.starts_with(kind) {
                    out.push(Hit::stmt(format!("`{}` breaks everything that still depends on it (with CASCADE, drops those too, each under ACCESS EXCLUSIVE, blocking their readers and writers)", kind.to_uppercase())));
                }
            }
        }
        _ => {}
    }
}
