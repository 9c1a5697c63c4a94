//! The problems a load or a format run reports, and the one error that carries them all.
//!
//! Every problem is a miette diagnostic with its own named source and span, so one run can
//! point into several files at once. Problems are plain data (a kind, a message, a span, a
//! help line) so tests can assert on them without rendering. Rendering is miette's job.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};

/// One input file: its display name (usually a path) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// What went wrong, for callers and tests that branch on it. The message says the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The file could not be read (I/O, not UTF-8, too large).
    Io,
    /// The text is not valid KDL 2.0.
    Syntax,
    /// Braces or block comments nested deeper than any declaration needs.
    TooDeep,
    /// A node name that does not exist where it was written.
    UnknownNode,
    /// A property name the node does not have.
    UnknownProperty,
    /// Too few or too many arguments.
    WrongArity,
    /// A property the node cannot do without.
    MissingProperty,
    /// A value of the wrong KDL type, or a string outside the allowed choices.
    BadValue,
    /// A children block on a node that takes none, or a type annotation.
    UnexpectedSyntax,
    /// The same property twice on one node.
    DuplicateProperty,
    /// Two declarations of the same name in one file.
    DuplicateName,
    /// Two files declare the same object.
    DeclaredInTwoFiles,
    /// A name PostgreSQL would reject or silently change (empty, over 63 bytes, NUL).
    InvalidName,
    /// A reference to a table, column or type that is not declared.
    DanglingReference,
    /// Declarations that contradict each other (a default on an identity column, ...).
    Conflict,
    /// `fmt` could not keep every comment where it was (never happens silently).
    Format,
}

impl ProblemKind {
    fn code(self) -> &'static str {
        match self {
            ProblemKind::Io => "formwork::kdl::io",
            ProblemKind::Syntax => "formwork::kdl::syntax",
            ProblemKind::TooDeep => "formwork::kdl::too_deep",
            ProblemKind::UnknownNode => "formwork::kdl::unknown_node",
            ProblemKind::UnknownProperty => "formwork::kdl::unknown_property",
            ProblemKind::WrongArity => "formwork::kdl::arity",
            ProblemKind::MissingProperty => "formwork::kdl::missing_property",
            ProblemKind::BadValue => "formwork::kdl::bad_value",
            ProblemKind::UnexpectedSyntax => "formwork::kdl::unexpected",
            ProblemKind::DuplicateProperty => "formwork::kdl::duplicate_property",
            ProblemKind::DuplicateName => "formwork::kdl::duplicate_name",
            ProblemKind::DeclaredInTwoFiles => "formwork::kdl::declared_twice",
            ProblemKind::InvalidName => "formwork::kdl::invalid_name",
            ProblemKind::DanglingReference => "formwork::kdl::dangling_reference",
            ProblemKind::Conflict => "formwork::kdl::conflict",
            ProblemKind::Format => "formwork::kdl::format",
        }
    }
}

/// One problem, located in one file.
#[derive(Clone)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
    /// Name of the file the problem is in (as given in [`SourceFile::name`]).
    pub file: String,
    /// Byte range in that file; `None` for problems about a whole file that has no text.
    pub span: Option<SourceSpan>,
    pub label: String,
    pub help: Option<String>,
    source: Option<NamedSource<Arc<str>>>,
}

impl Problem {
    pub(crate) fn new(
        kind: ProblemKind,
        file: &FileCtx,
        span: SourceSpan,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            file: file.name.to_string(),
            span: Some(clamp(span, &file.text)),
            label: "here".into(),
            help: None,
            source: Some(NamedSource::new(&*file.name, file.text.clone())),
        }
    }

    /// A problem about a file as a whole (it cannot be read).
    pub(crate) fn whole_file(kind: ProblemKind, file: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            file: file.to_string(),
            span: None,
            label: String::new(),
            help: None,
            source: None,
        }
    }

    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// `(offset, length)` of the span, for tests and machine output.
    pub fn range(&self) -> Option<(usize, usize)> {
        self.span.map(|s| (s.offset(), s.len()))
    }

    /// The source text the span points at.
    pub fn snippet(&self) -> Option<&str> {
        let (offset, len) = self.range()?;
        let text: &str = self.source.as_ref()?.inner();
        text.get(offset..offset + len)
    }
}

/// Keep every span inside its file and on character boundaries, whatever produced it, so
/// rendering can never slice text in the middle of a character.
fn clamp(span: SourceSpan, text: &str) -> SourceSpan {
    let mut start = span.offset().min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = span
        .offset()
        .saturating_add(span.len())
        .clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    SourceSpan::new(start.into(), end - start)
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Problem")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("file", &self.file)
            .field("span", &self.range())
            .field("help", &self.help)
            .finish()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        self.source.as_ref()?;
        let label = (!self.label.is_empty()).then(|| self.label.clone());
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            label, span,
        ))))
    }
}

/// Everything wrong with one run, reported at once.
#[derive(Debug, Clone)]
pub struct LoadError {
    pub problems: Vec<Problem>,
}

impl LoadError {
    /// Problems of one kind, for tests and callers that branch.
    pub fn of_kind(&self, kind: ProblemKind) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(move |p| p.kind == kind)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files: std::collections::BTreeSet<&str> =
            self.problems.iter().map(|p| p.file.as_str()).collect();
        let n = self.problems.len();
        write!(
            f,
            "{n} problem{} in the schema declaration ({} file{})",
            if n == 1 { "" } else { "s" },
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for LoadError {}

impl Diagnostic for LoadError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("formwork::kdl"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.problems.iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// The file a walk is in, shared by all the problems found in it.
#[derive(Debug, Clone)]
pub(crate) struct FileCtx {
    pub index: usize,
    pub name: Arc<str>,
    pub text: Arc<str>,
}

/// Collects problems during a run.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub list: Vec<Problem>,
}

impl Problems {
    pub fn push(&mut self, p: Problem) {
        self.list.push(p);
    }

    pub fn into_result<T>(self, value: T) -> Result<T, LoadError> {
        if self.list.is_empty() {
            Ok(value)
        } else {
            Err(LoadError {
                problems: self.list,
            })
        }
    }
}

/// "did you mean `x`?" for the closest candidate, if any is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
