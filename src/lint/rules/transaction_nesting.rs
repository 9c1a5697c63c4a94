//! Rule `transaction-nesting`: BEGIN inside a transaction, or COMMIT/ROLLBACK outside one.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "transaction-nesting",
    level: ERROR,
    summary: r#"BEGIN inside a transaction, or COMMIT/ROLLBACK outside one."#,
    help: r#"Let the migration tool own the transaction: remove the inner BEGIN/COMMIT, or run the file without `--assume-in-transaction`."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`BEGIN` while a transaction is already open (an explicit one, or the one `--assume-in-transaction` says the tool wraps the file in), and `COMMIT`/`ROLLBACK` with no open transaction.

### Lock taken and what it blocks

No lock of its own: PostgreSQL warns and ignores the nested BEGIN, so the inner COMMIT ends the outer transaction early and whatever follows runs outside it (or the tool's own COMMIT finds none).

### Instead

Remove the inner BEGIN/COMMIT.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    match &cx.c.stmt {
        Stmt::Begin if cx.state.in_tx => {
            let since = if cx.state.explicit_tx { format!("the transaction opened on line {}", cx.state.tx_line) } else { "the transaction the migration tool wraps the file in".into() };
            out.push(Hit::stmt(format!("BEGIN inside {since} is ignored by PostgreSQL, so the next COMMIT ends the outer transaction early")));
        }
        Stmt::Commit | Stmt::Rollback if !cx.state.in_tx && cx.state.statements > 0 => {
            out.push(Hit::stmt("COMMIT/ROLLBACK with no transaction open: the statements before it already ran in autocommit"));
        }
        _ => {}
    }
}
