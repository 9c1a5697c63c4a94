//! GitHub Actions workflow commands: each finding becomes an annotation on the changed line.

use crate::lint::{Finding, Severity};

/// `::error file=m.sql,line=3,col=1,endLine=3,endColumn=20,title=rule-id::message`
pub fn line(file: &str, f: &Finding) -> String {
    let kind = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "notice",
    };
    let end_column = if f.end.line == f.start.line {
        format!(",endColumn={}", f.end.column)
    } else {
        String::new()
    };
    format!(
        "::{kind} file={},line={},col={},endLine={}{end_column},title={}::{}",
        escape_property(file),
        f.start.line,
        f.start.column,
        f.end.line.max(f.start.line),
        escape_property(f.rule),
        escape_data(&format!("{}\n\nHelp: {}", f.message, f.help)),
    )
}

/// Escaping as in @actions/core's `escapeData`.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping as in @actions/core's `escapeProperty`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlfile::Pos;

    #[test]
    fn properties_and_data_are_escaped() {
        let f = Finding {
            rule: "truncate",
            severity: Severity::Warning,
            message: "50% done\nnext".into(),
            help: "h".into(),
            start: Pos {
                offset: 0,
                line: 2,
                column: 3,
            },
            end: Pos {
                offset: 5,
                line: 2,
                column: 8,
            },
        };
        assert_eq!(
            line("a,b:c.sql", &f),
            "::warning file=a%2Cb%3Ac.sql,line=2,col=3,endLine=2,endColumn=8,title=truncate::50%25 done%0Anext%0A%0AHelp: h"
        );
    }
}
