//! Rule `syntax-error`: The file cannot be split into statements (an unterminated string, identifier, dollar quote or comment).

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "syntax-error",
    level: ERROR,
    summary: r#"The file cannot be split into statements (an unterminated string, identifier, dollar quote or comment)."#,
    help: r#"Close the quote or comment that starts at the reported position."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

Input the tokenizer rejects. Everything from the start of the broken statement to the end of the file is unchecked, and this finding says from which line.

### Lock taken and what it blocks

Not applicable: PostgreSQL would reject the statement too.

### Instead

Fix the quoting.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let _ = cx;
    let _ = out;
}
