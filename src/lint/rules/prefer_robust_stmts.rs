//! Rule `prefer-robust-stmts`: CREATE/DROP without IF [NOT] EXISTS cannot be re-run after a partial failure.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "prefer-robust-stmts",
    level: OFF,
    summary: r#"CREATE/DROP without IF [NOT] EXISTS cannot be re-run after a partial failure."#,
    help: r#"Use IF NOT EXISTS / IF EXISTS so a retried migration does not fail on objects the first attempt made."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`CREATE TABLE`, `CREATE INDEX`, `DROP TABLE`, `DROP INDEX` without `IF [NOT] EXISTS`, outside a transaction (inside one, a failure rolls everything back). Off by default; note concurrent-index-invalid-leftover before adding IF NOT EXISTS to CREATE INDEX CONCURRENTLY.

### Lock taken and what it blocks

No lock hazard: re-runnability.

### Instead

`CREATE TABLE IF NOT EXISTS ...`, `DROP INDEX CONCURRENTLY IF EXISTS ...`.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    if cx.state.in_tx {
        return;
    }
    let words: Vec<String> = cx.tokens.iter().take(6).filter_map(|t| match &t.token { Token::Word(w) => Some(w.value.to_lowercase()), _ => None }).collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let robust = w.windows(2).any(|p| p == ["if", "not"] || p == ["if", "exists"]);
    let relevant = matches!(w.as_slice(), ["create", "table", ..] | ["create", "index", ..] | ["create", "unique", "index", ..] | ["drop", "table", ..] | ["drop", "index", ..]);
    if relevant && !robust {
        out.push(Hit::stmt("without IF [NOT] EXISTS this statement fails when the migration is retried after a partial run"));
    }
}
