//! Rule `enum-value-used-same-tx`: An enum value added with ALTER TYPE ... ADD VALUE is used in the same transaction.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "enum-value-used-same-tx",
    level: ERROR,
    summary: r#"An enum value added with ALTER TYPE ... ADD VALUE is used in the same transaction."#,
    help: r#"Commit the ADD VALUE on its own (a separate migration) before anything uses the new value."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

A statement that uses (as a string literal) a value added by `ALTER TYPE ... ADD VALUE` earlier in the same transaction.

### Lock taken and what it blocks

EXCLUSIVE on the type during ADD VALUE; then the later statement fails with "unsafe use of new value" (observed on PostgreSQL 15), aborting the migration.

### Instead

Put `ALTER TYPE ... ADD VALUE` in its own migration (or after a COMMIT) and use the value in the next one.

### PostgreSQL versions

12+: ADD VALUE may run in a transaction but the value is unusable until commit. 11 and earlier reject ADD VALUE in a transaction (see concurrently-in-transaction).
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if cx.state.enum_values_added.is_empty() || matches!(cx.c.stmt, Stmt::AlterTypeAddValue { .. }) {
        return;
    }
    for (n, t) in cx.tokens.iter().enumerate() {
        if let Token::SingleQuotedString(s) = &t.token {
            if let Some((ty, _)) = cx.state.enum_values_added.iter().find(|(_, v)| v == s) {
                out.push(Hit::at((n, n + 1), format!("'{s}' was added to `{}` in this transaction: using it before COMMIT fails with \"unsafe use of new value\"", display_key(ty))));
                return;
            }
        }
    }
}
