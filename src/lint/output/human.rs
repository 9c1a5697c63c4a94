//! Human output: miette's graphical report, with the source line and a caret under the span.
//!
//! Only the lines around a finding are handed to miette (with their real line numbers), so
//! rendering a finding costs the same in a 10-line file and in a 100 MB one.

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};

use crate::lint::{Finding, Severity};

/// Render one finding of file `name` (whose full text is `text`).
pub fn render(name: &str, text: &str, f: &Finding, color: bool) -> String {
    let snippet = Snippet::around(name, text, f);
    let diag = Diag { f, snippet };
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    if handler.render_report(&mut out, &diag).is_err() {
        out = format!(
            "{}:{}:{}: {} [{}] {}\n  help: {}\n",
            name,
            f.start.line,
            f.start.column,
            f.severity.as_str(),
            f.rule,
            f.message,
            f.help
        );
    }
    out
}

/// A few lines of the source, with the line number of their first line.
struct Snippet {
    name: String,
    text: String,
    first_line: usize,
    /// The finding's span relative to `text`.
    span: SourceSpan,
}

impl Snippet {
    fn around(name: &str, text: &str, f: &Finding) -> Snippet {
        const MAX: usize = 8 * 1024;
        let start = f.start.offset.min(text.len());
        let end = f.end.offset.clamp(start, text.len());
        // Back to the start of the line before, forward to the end of the line after.
        let mut from = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let mut first_line = f.start.line as usize;
        if from > 0 {
            if let Some(prev) = text[..from - 1].rfind('\n') {
                from = prev + 1;
            } else {
                from = 0;
            }
            first_line = first_line.saturating_sub(1).max(1);
        }
        let mut to = text[end..].find('\n').map_or(text.len(), |i| end + i);
        if let Some(next) = text.get(to + 1..).and_then(|r| r.find('\n')) {
            to = to + 1 + next;
        } else {
            to = text.len();
        }
        if to - from > MAX {
            to = (start + MAX).min(text.len());
            while !text.is_char_boundary(to) {
                to -= 1;
            }
        }
        let span_end = end.min(to);
        Snippet {
            name: name.to_string(),
            text: text[from..to].to_string(),
            first_line,
            span: SourceSpan::new((start - from).into(), span_end.saturating_sub(start)),
        }
    }
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line - 1,
            inner.column(),
            inner.line_count(),
        )))
    }
}

struct Diag<'f> {
    f: &'f Finding,
    snippet: Snippet,
}

impl fmt::Debug for Diag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.f.message)
    }
}

impl fmt::Display for Diag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.f.message)
    }
}

impl std::error::Error for Diag<'_> {}

impl Diagnostic for Diag<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.f.rule))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.f.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Notice => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.f.help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.snippet)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.f.rule.to_string()),
            self.snippet.span,
        ))))
    }
}
