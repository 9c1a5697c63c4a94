//! Rule `concurrently-in-transaction`: CONCURRENTLY operations (and VACUUM) fail inside a transaction block.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "concurrently-in-transaction",
    level: ERROR,
    summary: r#"CONCURRENTLY operations (and VACUUM) fail inside a transaction block."#,
    help: r#"Run the statement on its own, outside BEGIN/COMMIT (Alembic `autocommit_block`, Rails `disable_ddl_transaction!`)."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

Statements PostgreSQL refuses inside a transaction block, when the file runs them in one (explicit BEGIN, Alembic's wrapping transaction, or `--assume-in-transaction`): `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY`, `DETACH PARTITION ... CONCURRENTLY`, `VACUUM`, `CREATE/DROP DATABASE`, `ALTER SYSTEM`, and on PostgreSQL 11 and earlier `ALTER TYPE ... ADD VALUE`.

### Lock taken and what it blocks

None: the statement fails with "cannot run inside a transaction block" and the migration stops (after taking whatever locks came before it).

### Instead

Commit before the statement and run it alone, e.g. with Alembic:
```python
with op.get_context().autocommit_block():
    op.create_index("t_a_idx", "t", ["a"], postgresql_concurrently=True)
```

### PostgreSQL versions

All versions; ADD VALUE became transactional in 12.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if cx.state.in_tx && !cx.c.effect.transactional {
        let what = match &cx.c.stmt {
            Stmt::CreateIndex { .. } => "CREATE INDEX CONCURRENTLY",
            Stmt::DropIndex { .. } => "DROP INDEX CONCURRENTLY",
            Stmt::Reindex { .. } => "REINDEX CONCURRENTLY",
            Stmt::Vacuum { .. } => "VACUUM",
            Stmt::AlterTypeAddValue { .. } => "ALTER TYPE ... ADD VALUE (before PostgreSQL 12)",
            Stmt::AlterTable { .. } => "DETACH PARTITION CONCURRENTLY",
            _ => "this statement",
        };
        let since = if cx.state.explicit_tx { format!("the transaction opened on line {}", cx.state.tx_line) } else { "the transaction the migration runs in".to_string() };
        out.push(Hit::stmt(format!("{what} cannot run inside a transaction block: it fails inside {since}")));
    }
}
