//! Rule `unused-ignore`: An ignore comment that suppresses nothing, or names an unknown rule.

use super::prelude::*;

pub const RULE: Rule = Rule {
    id: "unused-ignore",
    level: WARNING,
    summary: r#"An ignore comment that suppresses nothing, or names an unknown rule."#,
    help: r#"Remove the comment, or fix the rule id."#,
    doc: DOC,
    check,
};

const DOC: &str = r#"### What it flags

`-- formwork-ignore: id` whose next statement has no finding of that rule, `-- formwork-ignore-file: id` that suppressed nothing in the file (or appears after the first statement), and ignore comments naming rules that do not exist.

### Lock taken and what it blocks

Not applicable.

### Instead

Delete stale ignore comments so that they cannot hide a future finding.

### PostgreSQL versions

All versions.
"#;

fn check(cx: &Cx<'_>, out: &mut Vec<Hit>) {
    let _ = cx;
    let _ = out;
}
