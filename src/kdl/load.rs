//! Declarations to [`Model`]: parse every file, walk each document by hand, resolve references
//! across files, and report every problem of the run at once.
//!
//! The walk happens in three passes so one mistake produces one message: syntax (at most a few
//! errors per file; a file that does not parse is not walked), shape (each node against
//! `spec`: names, arity, value types, duplicate properties), then meaning (duplicate objects,
//! conflicting options, references to tables, columns and types). References are only checked
//! when every file parsed, since a broken file would make many correct references look
//! dangling.
//!
//! Not done here: anything that needs a database. Expressions, defaults and queries are SQL
//! text that the scratch database judges later.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use kdl::KdlDocument;
use miette::SourceSpan;

use super::diag::{FileCtx, LoadError, Problem, ProblemKind, Problems, SourceFile, did_you_mean};
use super::names::{self, TableRef};
use super::parse::{self, Document, Entry, Node, Value};
use super::scan;
use super::spec::{self, Ctx, NodeSpec, Ty};

mod partition;
mod user_types;
use super::types::{self, TypeEnv};
use crate::model::*;

mod matviews;
mod policies;
#[path = "load_routines.rs"]
mod routines;

/// Files larger than this are refused rather than parsed (a schema of thousands of tables is
/// a few MiB).
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// Syntax errors shown per file; later ones are usually consequences of the first.
const MAX_SYNTAX_ERRORS: usize = 3;

/// Load every `*.kdl` file under `dir` (recursively, in path order).
pub fn load_dir(dir: &Path) -> Result<Model, LoadError> {
    let sources = read_dir_sources(dir)?;
    load_sources(&sources)
}

/// Read every `*.kdl` file under `dir`, recursively, sorted by path; hidden entries are
/// skipped. Unreadable or non-UTF-8 files are problems of the run, reported together.
pub fn read_dir_sources(dir: &Path) -> Result<Vec<SourceFile>, LoadError> {
    let mut paths = Vec::new();
    let mut problems = Problems::default();
    collect_paths(dir, &mut paths, &mut problems);
    paths.sort();
    let mut sources = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() > MAX_FILE_BYTES => problems.push(Problem::whole_file(
                ProblemKind::Io,
                &name,
                format!(
                    "{name} is {} bytes; files over {MAX_FILE_BYTES} bytes are refused",
                    bytes.len()
                ),
            )),
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => sources.push(SourceFile::new(name, text)),
                Err(e) => {
                    let offset = e.utf8_error().valid_up_to();
                    let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                    let file = file_ctx(0, &name, &text);
                    problems.push(
                        Problem::new(
                            ProblemKind::Io,
                            &file,
                            SourceSpan::new(offset.into(), 1),
                            format!("{name} is not valid UTF-8"),
                        )
                        .label("first invalid byte"),
                    );
                }
            },
            Err(e) => problems.push(Problem::whole_file(
                ProblemKind::Io,
                &name,
                format!("cannot read {name}: {e}"),
            )),
        }
    }
    problems.into_result(sources)
}

fn collect_paths(dir: &Path, out: &mut Vec<std::path::PathBuf>, problems: &mut Problems) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            let name = dir.display().to_string();
            problems.push(Problem::whole_file(
                ProblemKind::Io,
                &name,
                format!("cannot read directory {name}: {e}"),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect_paths(&path, out, problems);
        } else if path.extension().is_some_and(|e| e == "kdl") {
            out.push(path);
        }
    }
}

pub(crate) fn file_ctx(index: usize, name: &str, text: &str) -> FileCtx {
    FileCtx {
        index,
        name: Arc::from(name),
        text: Arc::from(text),
    }
}

/// Parse one file with the `kdl` crate (for `fmt`, which needs comments and layout), with the
/// nesting and size guards; problems go to `problems`.
pub(crate) fn parse_file(file: &FileCtx, problems: &mut Problems) -> Option<KdlDocument> {
    if !within_limits(file, problems) {
        return None;
    }
    match KdlDocument::parse(&file.text) {
        Ok(doc) => Some(doc),
        Err(e) => {
            report_syntax(file, &e, problems);
            None
        }
    }
}

/// Parse one file for loading: the fast parser first; whatever it refuses goes to the `kdl`
/// crate, whose tree is converted when it accepts the file and whose diagnostics are reported
/// when it does not, so results and messages are those of the `kdl` crate either way.
fn parse_for_load<'t>(file: &'t FileCtx, problems: &mut Problems) -> Option<Document<'t>> {
    if !within_limits(file, problems) {
        return None;
    }
    if let Ok(doc) = parse::parse(&file.text) {
        return Some(doc);
    }
    match KdlDocument::parse(&file.text) {
        Ok(doc) => Some(Document::from_kdl(&doc)),
        Err(e) => {
            report_syntax(file, &e, problems);
            None
        }
    }
}

/// The size and nesting guards every parse goes through.
fn within_limits(file: &FileCtx, problems: &mut Problems) -> bool {
    if file.text.len() > MAX_FILE_BYTES {
        problems.push(Problem::whole_file(
            ProblemKind::Io,
            &file.name,
            format!(
                "{} is {} bytes; files over {MAX_FILE_BYTES} bytes are refused",
                file.name,
                file.text.len()
            ),
        ));
        return false;
    }
    if let Some(offset) = scan::too_deep(&file.text) {
        problems.push(
            Problem::new(
                ProblemKind::TooDeep,
                file,
                SourceSpan::new(offset.into(), 1),
                format!(
                    "blocks or comments nested more than {} levels deep",
                    scan::MAX_DEPTH
                ),
            )
            .label("too deep")
            .help("declarations need five levels at most; is a `}` missing?"),
        );
        return false;
    }
    true
}

/// Report the `kdl` crate's syntax errors (the first few of them).
fn report_syntax(file: &FileCtx, e: &kdl::KdlError, problems: &mut Problems) {
    let total = e.diagnostics.len();
    for d in e.diagnostics.iter().take(MAX_SYNTAX_ERRORS) {
        let msg = d
            .message
            .clone()
            .unwrap_or_else(|| "invalid KDL".to_string());
        let mut p = Problem::new(
            ProblemKind::Syntax,
            file,
            d.span,
            format!("syntax error: {msg}"),
        )
        .label(d.label.clone().unwrap_or_else(|| "here".into()));
        p = p.maybe_help(d.help.clone());
        problems.push(p);
    }
    if total > MAX_SYNTAX_ERRORS {
        if let Some(last) = problems.list.last_mut() {
            let more = format!(
                "{} more syntax errors in this file are not shown",
                total - MAX_SYNTAX_ERRORS
            );
            last.help = Some(match last.help.take() {
                Some(h) => format!("{h}\n{more}"),
                None => more,
            });
        }
    }
    if total == 0 {
        problems.push(Problem::new(
            ProblemKind::Syntax,
            file,
            SourceSpan::new(0.into(), 0),
            "syntax error: invalid KDL",
        ));
    }
}

/// Load a set of files (the names are only for messages) into one model.
pub fn load_sources(sources: &[SourceFile]) -> Result<Model, LoadError> {
    let files: Vec<FileCtx> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| file_ctx(i, &s.name, &s.text))
        .collect();
    let mut loader = Loader {
        model: Model::default(),
        problems: Problems::default(),
        // About one declaration per 64 bytes of a dumped file; sizing the map up front saves
        // rehashing it a dozen times on large declarations.
        declared: HashMap::with_capacity(sources.iter().map(|s| s.text.len()).sum::<usize>() / 64),
        pending: Vec::new(),
        files: files.clone(),
    };
    let mut all_parsed = true;
    let mut docs = Vec::new();
    for f in &files {
        match parse_for_load(f, &mut loader.problems) {
            Some(doc) => docs.push((f, doc)),
            None => all_parsed = false,
        }
    }
    for (f, doc) in &docs {
        loader.root(f, doc);
    }
    if all_parsed {
        loader.resolve();
    }
    let Loader {
        model,
        mut problems,
        ..
    } = loader;
    problems
        .list
        .sort_by_key(|p| (files.iter().position(|f| *f.name == p.file), p.range()));
    problems.into_result(model)
}

/// Where something was declared, for "declared twice" messages.
#[derive(Debug, Clone)]
struct Decl {
    file: usize,
    span: SourceSpan,
    what: String,
}

/// The namespaces PostgreSQL keeps names unique in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Extension(String),
    SchemaComment(String),
    /// Tables, views, sequences, indexes (including those behind constraints) of a schema.
    Relation(String, String),
    /// Types of a schema: enums, and the row types of tables and views.
    Type(String, String),
    Column(String, String, String),
    /// Constraint names are unique per table.
    Constraint(String, String, String),
    EnumValue(String, String, String),
    ViewOption(String, String, String),
    DataLoss(DataLoss),
    /// Functions and procedures by schema and signature (`name(type, ...)`).
    Function(String, String),
    Trigger(String, String, String),
    /// Policy names are unique per table.
    Policy(String, String, String),
    RowSecurity(String, String),
}

/// A check that needs every file loaded first.
#[derive(Debug)]
enum Pending {
    /// A partition's parent, which must be a declared partitioned table.
    PartitionParent {
        file: usize,
        span: SourceSpan,
        table: QualifiedName,
    },
    ColumnType {
        file: usize,
        span: SourceSpan,
        table: QualifiedName,
        column: String,
    },
    LocalColumn {
        file: usize,
        span: SourceSpan,
        table: QualifiedName,
        column: String,
        role: &'static str,
    },
    ForeignKey {
        file: usize,
        span: SourceSpan,
        table: QualifiedName,
        name: String,
        target: TableRef,
    },
    OwnedBy {
        file: usize,
        span: SourceSpan,
        sequence: QualifiedName,
    },
    ExtensionSchema {
        file: usize,
        span: SourceSpan,
        extension: String,
        schema: String,
    },
    /// A type text of a domain, composite or range type (`user_types`).
    UserTypeText {
        file: usize,
        span: SourceSpan,
        slot: user_types::Slot,
    },
}

struct Loader {
    model: Model,
    problems: Problems,
    declared: HashMap<Key, Decl>,
    pending: Vec<Pending>,
    files: Vec<FileCtx>,
}

/// A node that passed the shape check.
struct Checked<'a> {
    node: &'a Node<'a>,
    spec: &'static NodeSpec,
    args: Vec<&'a Entry<'a>>,
    /// Each property once (duplicates are refused), in file order.
    props: Vec<(&'static str, &'a Entry<'a>)>,
}

/// The property names of one node seen so far: a short list searched in place, a map once a
/// node has many (nodes have a handful; a generated one could have thousands).
#[derive(Default)]
struct Seen<'a> {
    list: Vec<(&'a str, SourceSpan)>,
    map: HashMap<&'a str, SourceSpan>,
}

impl<'a> Seen<'a> {
    const LIST_MAX: usize = 16;

    fn get(&self, k: &str) -> Option<&SourceSpan> {
        if self.map.is_empty() {
            self.list.iter().find(|(n, _)| *n == k).map(|(_, s)| s)
        } else {
            self.map.get(k)
        }
    }

    fn insert(&mut self, k: &'a str, span: SourceSpan) {
        if self.map.is_empty() && self.list.len() < Self::LIST_MAX {
            self.list.push((k, span));
        } else {
            self.map.extend(self.list.drain(..));
            self.map.insert(k, span);
        }
    }
}

impl<'a> Checked<'a> {
    fn name_span(&self) -> SourceSpan {
        self.node.name().span()
    }

    fn arg_str(&self, i: usize) -> Option<(&'a str, SourceSpan)> {
        let e = self.args.get(i)?;
        e.value().as_string().map(|s| (s, e.span()))
    }

    fn rest_strs(&self, from: usize) -> Vec<(&'a str, SourceSpan)> {
        self.args
            .iter()
            .skip(from)
            .filter_map(|e| e.value().as_string().map(|s| (s, e.span())))
            .collect()
    }

    fn prop(&self, name: &str) -> Option<&'a Entry<'a>> {
        self.props.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
    }

    fn prop_str(&self, name: &str) -> Option<&'a str> {
        self.prop(name)?.value().as_string()
    }

    fn prop_string(&self, name: &str) -> Option<String> {
        self.prop_str(name).map(str::to_string)
    }

    fn prop_bool(&self, name: &str) -> Option<bool> {
        self.prop(name)?.value().as_bool()
    }

    fn flag(&self, name: &str) -> bool {
        self.prop_bool(name).unwrap_or(false)
    }

    fn prop_int(&self, name: &str) -> Option<i64> {
        self.prop(name)?
            .value()
            .as_integer()
            .and_then(|i| i64::try_from(i).ok())
    }

    fn prop_span(&self, name: &str) -> SourceSpan {
        self.prop(name)
            .map(|e| e.span())
            .unwrap_or_else(|| self.name_span())
    }
}

fn value_type_name(v: &Value<'_>) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number with a fraction",
        Value::Bool(_) => "a boolean",
        Value::Null => "#null",
    }
}

impl Loader {
    fn file(&self, index: usize) -> FileCtx {
        self.files[index].clone()
    }

    fn push(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// Check a value against its type; returns whether it fits.
    /// `what` names the value in the message; it is only built when there is one.
    fn check_value(
        &mut self,
        f: &FileCtx,
        e: &Entry<'_>,
        ty: Ty,
        what: impl FnOnce() -> String,
    ) -> bool {
        let v = e.value();
        let ok = match ty {
            Ty::Str => v.is_string(),
            Ty::Bool => v.is_bool(),
            Ty::Int => matches!(v, Value::Integer(i) if i64::try_from(*i).is_ok()),
            Ty::Choice(choices) => v.as_string().is_some_and(|s| choices.contains(&s)),
        };
        if ok {
            return true;
        }
        let found = match (ty, v) {
            (Ty::Int, Value::Integer(_)) => "an integer outside the 64-bit range".to_string(),
            (Ty::Choice(_), Value::String(s)) => format!("\"{s}\""),
            _ => value_type_name(v).to_string(),
        };
        let mut p = Problem::new(
            ProblemKind::BadValue,
            f,
            e.span(),
            format!("{} must be {}, found {found}", what(), ty.describe()),
        )
        .label(match ty {
            Ty::Choice(_) => "not one of the choices".to_string(),
            _ => format!("expected {}", ty.describe()),
        });
        if let (Ty::Choice(choices), Some(s)) = (ty, v.as_string()) {
            p = p.maybe_help(did_you_mean(s, choices.iter().copied()));
        } else if let (Ty::Bool, Some(s)) = (ty, v.as_string()) {
            if matches!(s, "true" | "false") {
                p = p.help(format!("booleans are written #{s} in KDL 2"));
            }
        } else if let (Ty::Str, Value::Integer(_) | Value::Float(_)) = (ty, v) {
            p = p.help("quote it: SQL text and names are strings");
        }
        self.push(p);
        false
    }

    /// The shape pass for one node: returns it with its entries sorted out, or `None` when it
    /// is not a node of this block (reported; its children are not looked at).
    fn check<'a>(&mut self, f: &FileCtx, node: &'a Node<'a>, parent: Ctx) -> Option<Checked<'a>> {
        let name = node.name().value();
        let Some(spec) = spec::find(parent, name) else {
            let mut p = Problem::new(
                ProblemKind::UnknownNode,
                f,
                node.name().span(),
                format!("unknown node `{name}` {}", parent.describe()),
            )
            .label("unknown node");
            let elsewhere = spec::parents_of(name);
            if let Some(hint) = did_you_mean(name, spec::names_in(parent)) {
                p = p.help(hint);
            } else if let Some(ctx) = elsewhere.first() {
                p = p.help(format!("`{name}` belongs {}", ctx.describe()));
            } else {
                let allowed: Vec<_> = spec::names_in(parent).collect();
                if !allowed.is_empty() {
                    p = p.help(format!("expected one of: {}", allowed.join(", ")));
                }
            }
            self.push(p);
            return None;
        };
        if let Some(ty) = node.ty() {
            self.push(
                Problem::new(
                    ProblemKind::UnexpectedSyntax,
                    f,
                    ty.span(),
                    format!("type annotation `({})` has no meaning here", ty.value()),
                )
                .label("remove this"),
            );
        }
        let mut args = Vec::new();
        let mut props: Vec<(&'static str, &Entry<'_>)> = Vec::new();
        let mut seen = Seen::default();
        for e in node.entries() {
            if let Some(ty) = e.ty() {
                self.push(
                    Problem::new(
                        ProblemKind::UnexpectedSyntax,
                        f,
                        ty.span(),
                        format!("type annotation `({})` has no meaning here", ty.value()),
                    )
                    .label("remove this"),
                );
            }
            match e.name() {
                None => args.push(e),
                Some(key) => {
                    let k = key.value();
                    if let Some(first) = seen.get(k) {
                        let line = line_col(&f.text, first.offset()).0;
                        self.push(
                            Problem::new(
                                ProblemKind::DuplicateProperty,
                                f,
                                e.span(),
                                format!("property `{k}` is given twice on `{name}`"),
                            )
                            .label("given again here")
                            .help(format!("first given on line {line}; keep one")),
                        );
                        continue;
                    }
                    seen.insert(k, e.span());
                    match spec.prop(k) {
                        Some(prop) => {
                            if self.check_value(f, e, prop.ty, || format!("`{k}`")) {
                                props.push((prop.name, e));
                            }
                        }
                        None => {
                            let mut p = Problem::new(
                                ProblemKind::UnknownProperty,
                                f,
                                key.span(),
                                format!("`{name}` has no property `{k}`"),
                            )
                            .label("unknown property");
                            let names = spec.props.iter().map(|p| p.name);
                            p = match did_you_mean(k, names) {
                                Some(h) => p.help(h),
                                None if spec.props.is_empty() => {
                                    p.help(format!("`{name}` takes no properties"))
                                }
                                None => p.help(format!(
                                    "`{name}` takes: {}",
                                    spec.props
                                        .iter()
                                        .map(|p| p.name)
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )),
                            };
                            self.push(p);
                        }
                    }
                }
            }
        }
        // Arity.
        let max = spec.max_args();
        if args.len() < spec.min_args || max.is_some_and(|m| args.len() > m) {
            let span = match max {
                Some(m) if args.len() > m => args[m].span(),
                _ => node.name().span(),
            };
            let expected = match max {
                Some(m) if m == spec.min_args => format!("{m}"),
                Some(m) => format!("{} to {m}", spec.min_args),
                None => format!("at least {}", spec.min_args),
            };
            self.push(
                Problem::new(
                    ProblemKind::WrongArity,
                    f,
                    span,
                    format!(
                        "`{name}` takes {expected} argument{}, found {}",
                        if expected == "1" { "" } else { "s" },
                        args.len()
                    ),
                )
                .label(if args.len() < spec.min_args {
                    "missing arguments"
                } else {
                    "unexpected argument"
                })
                .help(format!("write it as: {}", spec.signature())),
            );
        }
        // Arguments keep their positions even when their type is wrong (reported here): the
        // accessors read a mistyped argument as absent.
        for (i, e) in args.iter().enumerate() {
            if let Some(a) = spec.arg(i) {
                self.check_value(f, e, a.ty, || format!("the {} of `{name}`", a.name));
            }
        }
        for prop in spec.props.iter().filter(|p| p.required) {
            if seen.get(prop.name).is_none() {
                self.push(
                    Problem::new(
                        ProblemKind::MissingProperty,
                        f,
                        node.name().span(),
                        format!("`{name}` needs the property `{}`", prop.name),
                    )
                    .label(format!("no `{}=`", prop.name))
                    .help(format!("`{}=`: {}", prop.name, prop.doc)),
                );
            }
        }
        if spec.ctx == Ctx::Leaf {
            if let Some(children) = node.children() {
                if !children.nodes().is_empty() {
                    let span = children.nodes()[0].name().span();
                    self.push(
                        Problem::new(
                            ProblemKind::UnexpectedSyntax,
                            f,
                            span,
                            format!("`{name}` takes no children block"),
                        )
                        .label("not expected here"),
                    );
                }
            }
        }
        Some(Checked {
            node,
            spec,
            args,
            props,
        })
    }

    fn children<'a>(&mut self, f: &FileCtx, c: &Checked<'a>) -> Vec<Checked<'a>> {
        let mut out = Vec::new();
        if c.spec.ctx == Ctx::Leaf {
            return out;
        }
        if let Some(doc) = c.node.children() {
            for n in doc.nodes() {
                if let Some(ch) = self.check(f, n, c.spec.ctx) {
                    out.push(ch);
                }
            }
        }
        out
    }

    /// A name argument, checked against what PostgreSQL accepts.
    fn name_arg(&mut self, f: &FileCtx, c: &Checked<'_>, i: usize) -> Option<(String, SourceSpan)> {
        let (s, span) = c.arg_str(i)?;
        self.valid_name(f, s, span).then(|| (s.to_string(), span))
    }

    fn valid_name(&mut self, f: &FileCtx, s: &str, span: SourceSpan) -> bool {
        match names::name_problem(s) {
            None => true,
            Some(msg) => {
                self.push(
                    Problem::new(ProblemKind::InvalidName, f, span, msg)
                        .label("invalid name")
                        .help("PostgreSQL names are 1 to 63 bytes of UTF-8 without NUL"),
                );
                false
            }
        }
    }

    /// Record a declaration; false (and a problem) when the name is taken.
    fn declare(&mut self, key: Key, f: &FileCtx, span: SourceSpan, what: String) -> bool {
        if let Some(prev) = self.declared.get(&key) {
            let prev = prev.clone();
            let pf = self.file(prev.file);
            let (line, col) = line_col(&pf.text, prev.span.offset());
            let same_thing = prev.what == what;
            let p = if prev.file == f.index {
                Problem::new(
                    ProblemKind::DuplicateName,
                    f,
                    span,
                    if same_thing {
                        format!("{what} is declared twice")
                    } else {
                        format!("{what} has the name of {} declared earlier", prev.what)
                    },
                )
                .label("declared again here")
                .help(format!("first declared on line {line}"))
            } else {
                Problem::new(
                    ProblemKind::DeclaredInTwoFiles,
                    f,
                    span,
                    if same_thing {
                        format!("{what} is declared in two files")
                    } else {
                        format!(
                            "{what} has the name of {} declared in another file",
                            prev.what
                        )
                    },
                )
                .label("declared again here")
                .help(format!("also declared in {}:{line}:{col}", pf.name))
            };
            self.push(p);
            return false;
        }
        self.declared.insert(
            key,
            Decl {
                file: f.index,
                span,
                what,
            },
        );
        true
    }

    fn root(&mut self, f: &FileCtx, doc: &Document<'_>) {
        for node in doc.nodes() {
            let Some(c) = self.check(f, node, Ctx::Root) else {
                continue;
            };
            match c.spec.name {
                "extension" => self.extension(f, &c),
                "schema" => self.schema(f, &c),
                "allow-data-loss" => self.data_loss(f, None, &c),
                _ => {}
            }
        }
    }

    fn extension(&mut self, f: &FileCtx, c: &Checked<'_>) {
        let Some((name, span)) = self.name_arg(f, c, 0) else {
            return;
        };
        let schema = c.prop_string("schema").unwrap_or_else(|| "public".into());
        if c.prop("schema").is_some() && !self.valid_name(f, &schema, c.prop_span("schema")) {
            return;
        }
        if !matches!(schema.as_str(), "public" | "pg_catalog") {
            self.pending.push(Pending::ExtensionSchema {
                file: f.index,
                span: c.prop_span("schema"),
                extension: name.clone(),
                schema: schema.clone(),
            });
        }
        if self.declare(
            Key::Extension(name.clone()),
            f,
            span,
            format!("extension `{name}`"),
        ) {
            self.model.extensions.insert(
                name.clone(),
                Extension {
                    name,
                    schema,
                    version: c.prop_string("version"),
                    comment: c.prop_string("comment"),
                },
            );
        }
    }

    fn schema(&mut self, f: &FileCtx, c: &Checked<'_>) {
        let Some((name, _)) = self.name_arg(f, c, 0) else {
            return;
        };
        self.model
            .schemas
            .entry(name.clone())
            .or_insert_with(|| Schema {
                name: name.clone(),
                ..Schema::default()
            });
        if let Some(comment) = c.prop_string("comment") {
            if self.declare(
                Key::SchemaComment(name.clone()),
                f,
                c.prop_span("comment"),
                format!("the comment of schema `{name}`"),
            ) {
                if let Some(s) = self.model.schemas.get_mut(&name) {
                    s.comment = Some(comment);
                }
            }
        }
        for child in self.children(f, c) {
            match child.spec.name {
                "enum" => self.enum_(f, &name, &child),
                "sequence" => self.sequence(f, &name, &child),
                "table" => self.table(f, &name, &child),
                "view" => self.view(f, &name, &child),
                "function" | "procedure" => self.routine(f, &name, &child),
                "materialized-view" => self.materialized_view(f, &name, &child),
                "domain" => self.domain(f, &name, &child),
                "composite" => self.composite(f, &name, &child),
                "range" => self.range(f, &name, &child),
                "allow-data-loss" => self.data_loss(f, Some(&name), &child),
                "default-grant" => {
                    if let Some(d) = self.default_grant(f, &child) {
                        if let Some(s) = self.model.schemas.get_mut(&name) {
                            s.default_grants.push(d);
                        }
                    }
                }
                "grant" => {
                    if name == "public" {
                        self.conflict(
                            f,
                            child.name_span(),
                            "privileges on schema `public` are not managed".into(),
                            "each PostgreSQL major sets them up differently and formwork never \
                             creates that schema; grant on its tables, views and sequences instead",
                        );
                    } else if let Some(g) = self.grant(f, &child, GrantOn::Schema) {
                        if let Some(s) = self.model.schemas.get_mut(&name) {
                            s.grants.push(g);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// `allow-data-loss`: `schema` is the enclosing schema block, `None` at the top of a file.
    /// The objects it names are usually gone from the declaration (that is the point), so they
    /// are not looked up; only the kind's level and number of names are checked.
    fn data_loss(&mut self, f: &FileCtx, schema: Option<&str>, c: &Checked<'_>) {
        let Some((word, kind_span)) = c.arg_str(0) else {
            return;
        };
        // Not a kind at all: already reported with a did-you-mean by the shape check.
        let Some(kind) = data_loss_kind(word) else {
            return;
        };
        if !(2..=3).contains(&c.args.len()) {
            return; // reported by the shape check
        }
        let usage = data_loss_usage(kind, word);
        match (kind, schema) {
            (DataLossKind::Extension, Some(_)) => {
                self.push(
                    Problem::new(
                        ProblemKind::BadValue,
                        f,
                        kind_span,
                        "extensions are database-wide: allow losing one at the top of a file, \
                         not in a schema block",
                    )
                    .label("not in a schema")
                    .help(format!("move it out of the schema block: {usage}")),
                );
                return;
            }
            (DataLossKind::Extension, None) | (_, Some(_)) => {}
            (_, None) => {
                self.push(
                    Problem::new(
                        ProblemKind::BadValue,
                        f,
                        kind_span,
                        format!("a {word} belongs to a schema: allow losing it in a schema block"),
                    )
                    .label("needs a schema")
                    .help(format!(
                        "write it inside `schema \"<name>\" {{ }}`: {usage}"
                    )),
                );
                return;
            }
        }
        let wants_member = matches!(
            kind,
            DataLossKind::Column | DataLossKind::EnumValue | DataLossKind::Attribute
        );
        let names = c.args.len() - 1;
        if names != 1 + usize::from(wants_member) {
            // Two or three arguments here, so the last one is either the name a member
            // should follow or the member that should not be there.
            let span = c.args[names].span();
            let label = if wants_member {
                "a second name goes after this"
            } else {
                "unexpected argument"
            };
            self.push(
                Problem::new(
                    ProblemKind::WrongArity,
                    f,
                    span,
                    format!(
                        "allowing the loss of a{} {word} takes {} name{}, found {names}",
                        if word.starts_with('e') { "n" } else { "" },
                        1 + usize::from(wants_member),
                        if wants_member { "s" } else { "" },
                    ),
                )
                .label(label)
                .help(format!("write it as: {usage}")),
            );
            return;
        }
        let Some((name, span)) = self.name_arg(f, c, 1) else {
            return;
        };
        let member = if wants_member {
            let Some((m, _)) = self.name_arg(f, c, 2) else {
                return;
            };
            Some(m)
        } else {
            None
        };
        let loss = DataLoss {
            kind,
            schema: schema.map(str::to_string),
            name,
            member,
        };
        let what = format!("the loss of {}", describe_loss(&loss, word));
        if self.declare(Key::DataLoss(loss.clone()), f, span, what) {
            self.model.allow_data_loss.push(loss);
        }
    }

    fn schema_mut(&mut self, name: &str) -> Option<&mut Schema> {
        self.model.schemas.get_mut(name)
    }

    fn enum_(&mut self, f: &FileCtx, schema: &str, c: &Checked<'_>) {
        let Some((name, span)) = self.name_arg(f, c, 0) else {
            return;
        };
        let what = format!("enum `{schema}.{name}`");
        if !self.declare(Key::Type(schema.into(), name.clone()), f, span, what) {
            return;
        }
        let mut values = Vec::new();
        let mut spans = Vec::new();
        for (v, vspan) in c.rest_strs(1) {
            values.push(EnumValue {
                name: v.to_string(),
                renamed_from: None,
            });
            spans.push(vspan);
        }
        let (removed, children): (Vec<_>, Vec<_>) = self
            .children(f, c)
            .into_iter()
            .partition(|ch| ch.node.name().value() == "removed");
        if !values.is_empty() && !children.is_empty() {
            self.push(
                Problem::new(
                    ProblemKind::Conflict,
                    f,
                    children[0].name_span(),
                    format!("enum `{name}` lists values both as arguments and as `value` nodes"),
                )
                .label("second list")
                .help("use one form: arguments for plain values, `value` nodes when a value has renamed-from"),
            );
        }
        for ch in &children {
            if let Some((v, vspan)) = ch.arg_str(0) {
                values.push(EnumValue {
                    name: v.to_string(),
                    renamed_from: ch.prop_string("renamed-from"),
                });
                spans.push(vspan);
            }
        }
        let mut kept = Vec::new();
        for (v, vspan) in values.into_iter().zip(spans) {
            if v.name.is_empty() || v.name.len() > names::MAX_NAME_BYTES || v.name.contains('\0') {
                self.valid_name(f, &v.name, vspan);
                continue;
            }
            if self.declare(
                Key::EnumValue(schema.into(), name.clone(), v.name.clone()),
                f,
                vspan,
                format!("value \"{}\" of enum `{schema}.{name}`", v.name),
            ) {
                kept.push(v);
            }
        }
        self.enum_removals(f, &QualifiedName::new(schema, &name), &kept, &removed);
        let e = Enum {
            name: name.clone(),
            values: kept,
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        };
        if let Some(s) = self.schema_mut(schema) {
            s.enums.insert(name, e);
        }
    }

    /// `removed "old" replaced-by="new"` nodes of enum `type_name`, whose declared values are
    /// `values`: the replacement must be one of them, the removed value must not.
    fn enum_removals(
        &mut self,
        f: &FileCtx,
        type_name: &QualifiedName,
        values: &[EnumValue],
        removed: &[Checked<'_>],
    ) {
        let declared = |v: &str| values.iter().any(|d| d.name == v);
        for ch in removed {
            let (Some((value, vspan)), Some(by)) = (ch.arg_str(0), ch.prop_string("replaced-by"))
            else {
                continue;
            };
            if declared(value) {
                self.conflict(
                    f,
                    vspan,
                    format!("enum `{type_name}` declares \"{value}\" and also removes it"),
                    "remove the `removed` node, or the value",
                );
                continue;
            }
            if !declared(&by) {
                self.push(
                    Problem::new(
                        ProblemKind::DanglingReference,
                        f,
                        ch.prop_span("replaced-by"),
                        format!(
                            "\"{value}\" is replaced by \"{by}\", which enum `{type_name}` does \
                             not declare"
                        ),
                    )
                    .label("not a value of the enum")
                    .help(format!(
                        "replaced-by= names one of the declared values: {}",
                        values
                            .iter()
                            .map(|v| format!("\"{}\"", v.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
                continue;
            }
            if self.declare(
                Key::EnumValue(
                    type_name.schema.clone(),
                    type_name.name.clone(),
                    value.to_string(),
                ),
                f,
                vspan,
                format!("removed value \"{value}\" of enum `{type_name}`"),
            ) {
                self.model
                    .enum_replacements
                    .push(crate::model::EnumReplacement {
                        type_name: type_name.clone(),
                        value: value.to_string(),
                        replaced_by: by,
                    });
            }
        }
    }

    fn sequence_options(&mut self, c: &Checked<'_>) -> SequenceOptions {
        SequenceOptions {
            data_type: c.prop_string("as"),
            start: c.prop_int("start"),
            increment: c.prop_int("increment"),
            min_value: c.prop_int("min-value"),
            max_value: c.prop_int("max-value"),
            cache: c.prop_int("cache"),
            cycle: c.flag("cycle"),
        }
    }

    fn sequence(&mut self, f: &FileCtx, schema: &str, c: &Checked<'_>) {
        let Some((name, span)) = self.name_arg(f, c, 0) else {
            return;
        };
        if !self.declare(
            Key::Relation(schema.into(), name.clone()),
            f,
            span,
            format!("sequence `{schema}.{name}`"),
        ) {
            return;
        }
        let options = self.sequence_options(c);
        let mut owned_by = None;
        if let Some(text) = c.prop_str("owned-by") {
            match names::parse_column_ref(text) {
                Ok((sch, table, column)) => {
                    owned_by = Some(ColumnRef {
                        table: QualifiedName::new(sch.unwrap_or_else(|| schema.into()), table),
                        column,
                    });
                    self.pending.push(Pending::OwnedBy {
                        file: f.index,
                        span: c.prop_span("owned-by"),
                        sequence: QualifiedName::new(schema, &name),
                    });
                }
                Err(e) => self.push(
                    Problem::new(
                        ProblemKind::BadValue,
                        f,
                        c.prop_span("owned-by"),
                        format!("`owned-by` is not a column reference: {}", e.message),
                    )
                    .label("expected `table.column` or `schema.table.column`")
                    .help("names with dots, quotes or spaces are double-quoted: owned-by=#\"\"my table\".id\"#"),
                ),
            }
        }
        let grants = self.grants(f, c, GrantOn::Sequence);
        let seq = Sequence {
            grants,
            name: name.clone(),
            options,
            owned_by,
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        };
        if let Some(s) = self.schema_mut(schema) {
            s.sequences.insert(name, seq);
        }
    }

    fn view(&mut self, f: &FileCtx, schema: &str, c: &Checked<'_>) {
        let Some((name, span)) = self.name_arg(f, c, 0) else {
            return;
        };
        if !self.declare_relation_with_type(f, schema, &name, span, "view") {
            return;
        }
        let query = c.arg_str(1).map(|(q, _)| q.to_string()).unwrap_or_default();
        let mut options = indexmap::IndexMap::new();
        let mut triggers = indexmap::IndexMap::new();
        let mut grants = Vec::new();
        let vq = QualifiedName::new(schema, &name);
        for ch in self.children(f, c) {
            if ch.spec.name == "trigger" {
                if let Some(tr) = self.trigger(f, &vq, &ch) {
                    triggers.insert(tr.name.clone(), tr);
                }
                continue;
            }
            if ch.spec.name == "grant" {
                grants.extend(self.grant(f, &ch, GrantOn::Relation));
                continue;
            }
            if let (Some((k, kspan)), Some((v, _))) = (ch.arg_str(0), ch.arg_str(1)) {
                if self.declare(
                    Key::ViewOption(schema.into(), name.clone(), k.to_string()),
                    f,
                    kspan,
                    format!("option `{k}` of view `{schema}.{name}`"),
                ) {
                    options.insert(k.to_string(), v.to_string());
                }
            }
        }
        let view = View {
            grants,
            name: name.clone(),
            query,
            options,
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
            triggers,
        };
        if let Some(s) = self.schema_mut(schema) {
            s.views.insert(name, view);
        }
    }

    /// Tables and views take a name among relations and, for their row type, among types.
    fn declare_relation_with_type(
        &mut self,
        f: &FileCtx,
        schema: &str,
        name: &str,
        span: SourceSpan,
        kind: &str,
    ) -> bool {
        let what = format!("{kind} `{schema}.{name}`");
        self.declare(
            Key::Relation(schema.into(), name.into()),
            f,
            span,
            what.clone(),
        ) && self.declare(Key::Type(schema.into(), name.into()), f, span, what)
    }

    fn table(&mut self, f: &FileCtx, schema: &str, c: &Checked<'_>) {
        let Some((name, span)) = self.name_arg(f, c, 0) else {
            return;
        };
        if !self.declare_relation_with_type(f, schema, &name, span, "table") {
            return;
        }
        let qn = QualifiedName::new(schema, &name);
        let mut t = Table {
            name: name.clone(),
            persistence: if c.flag("unlogged") {
                Persistence::Unlogged
            } else {
                Persistence::Permanent
            },
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
            partition_by: c.prop_string("partition-by"),
            partition_of: self.partition_of(f, schema, c),
            ..Table::default()
        };
        self.rename_mode(f, c, &qn, None);
        let mut pk_span: Option<SourceSpan> = None;
        for ch in self.children(f, c) {
            match ch.spec.name {
                "column" => {
                    if let Some(col) = self.column(f, &qn, &ch) {
                        t.columns.insert(col.name.clone(), col);
                    }
                }
                "primary-key" => {
                    if let Some(prev) = pk_span {
                        let line = line_col(&f.text, prev.offset()).0;
                        self.push(
                            Problem::new(
                                ProblemKind::DuplicateName,
                                f,
                                ch.name_span(),
                                format!("table `{qn}` has two primary keys"),
                            )
                            .label("second primary key")
                            .help(format!("the first is on line {line}")),
                        );
                        continue;
                    }
                    pk_span = Some(ch.name_span());
                    t.primary_key = self.primary_key(f, &qn, &ch);
                }
                "unique" => {
                    if let Some(u) = self.unique(f, &qn, &ch) {
                        t.uniques.insert(u.name.clone(), u);
                    }
                }
                "foreign-key" => {
                    if let Some(fk) = self.foreign_key(f, &qn, &ch) {
                        t.foreign_keys.insert(fk.name.clone(), fk);
                    }
                }
                "check" => {
                    if let Some(k) = self.check_constraint(f, &qn, &ch) {
                        t.checks.insert(k.name.clone(), k);
                    }
                }
                "exclude" => {
                    if let Some(x) = self.exclusion(f, &qn, &ch) {
                        t.exclusions.insert(x.name.clone(), x);
                    }
                }
                "index" => {
                    if let Some(i) = self.index(f, &qn, &ch) {
                        t.indexes.insert(i.name.clone(), i);
                    }
                }
                "trigger" => {
                    if let Some(tr) = self.trigger(f, &qn, &ch) {
                        t.triggers.insert(tr.name.clone(), tr);
                    }
                }
                "row-level-security" => self.row_security(f, &qn, &mut t, &ch),
                "policy" => {
                    if let Some(p) = self.policy(f, &qn, &ch) {
                        t.policies.insert(p.name.clone(), p);
                    }
                }
                "grant" => t.grants.extend(self.grant(f, &ch, GrantOn::Relation)),
                _ => {}
            }
        }
        self.partition_columns(f, c, &t);
        if let Some(s) = self.schema_mut(schema) {
            s.tables.insert(name, t);
        }
    }

    fn column(&mut self, f: &FileCtx, table: &QualifiedName, c: &Checked<'_>) -> Option<Column> {
        let (name, span) = self.name_arg(f, c, 0)?;
        if !self.declare(
            Key::Column(table.schema.clone(), table.name.clone(), name.clone()),
            f,
            span,
            format!("column `{name}` of table `{table}`"),
        ) {
            return None;
        }
        let data_type = match c.arg_str(1) {
            Some((ty, tspan)) => {
                self.pending.push(Pending::ColumnType {
                    file: f.index,
                    span: tspan,
                    table: table.clone(),
                    column: name.clone(),
                });
                ty.to_string()
            }
            None => String::new(),
        };
        let mut identity = c.prop_str("identity").map(|k| Identity {
            kind: identity_kind(k),
            options: SequenceOptions::default(),
        });
        let mut generated = c.prop_string("generated").map(|e| Generated {
            expression: e,
            kind: GeneratedKind::Stored,
        });
        let mut grants = Vec::new();
        for ch in self.children(f, c) {
            match ch.spec.name {
                "grant" => grants.extend(self.grant(f, &ch, GrantOn::Column)),
                "identity" => {
                    if identity.is_some() {
                        self.conflict(
                            f,
                            ch.name_span(),
                            format!("column `{name}` declares its identity twice"),
                            "keep either `identity=` or the `identity` node",
                        );
                        continue;
                    }
                    if let Some((k, _)) = ch.arg_str(0) {
                        identity = Some(Identity {
                            kind: identity_kind(k),
                            options: self.sequence_options(&ch),
                        });
                    }
                }
                "generated" => {
                    if generated.is_some() {
                        self.conflict(
                            f,
                            ch.name_span(),
                            format!("column `{name}` declares its generation expression twice"),
                            "keep either `generated=` or the `generated` node",
                        );
                        continue;
                    }
                    if let Some((e, _)) = ch.arg_str(0) {
                        generated = Some(Generated {
                            expression: e.to_string(),
                            kind: if ch.prop_str("kind") == Some("virtual") {
                                GeneratedKind::Virtual
                            } else {
                                GeneratedKind::Stored
                            },
                        });
                    }
                }
                _ => {}
            }
        }
        let default = c.prop_string("default");
        if default.is_some() && identity.is_some() {
            self.conflict(
                f,
                c.prop_span("default"),
                format!("column `{name}` has both a default and an identity"),
                "an identity column takes its values from its sequence; remove `default=`",
            );
        }
        if default.is_some() && generated.is_some() {
            self.conflict(
                f,
                c.prop_span("default"),
                format!("column `{name}` has both a default and a generation expression"),
                "remove `default=`",
            );
        }
        if identity.is_some() && generated.is_some() {
            self.conflict(
                f,
                c.name_span(),
                format!("column `{name}` is both an identity and generated"),
                "keep one of them",
            );
        }
        let nullable = c.prop_bool("nullable").unwrap_or(false);
        if nullable && identity.is_some() {
            self.conflict(
                f,
                c.prop_span("nullable"),
                format!("identity column `{name}` cannot be nullable"),
                "remove `nullable=#true`",
            );
        }
        if let Some(expression) = c.prop_string("backfill") {
            if generated.is_some() {
                self.conflict(
                    f,
                    c.prop_span("backfill"),
                    format!("generated column `{name}` cannot be backfilled"),
                    "remove `backfill=`",
                );
            }
            self.model.backfills.push(crate::model::ColumnBackfill {
                table: table.clone(),
                column: name.clone(),
                expression,
            });
        }
        if let Some(expression) = c.prop_string("using") {
            if generated.is_some() {
                self.conflict(
                    f,
                    c.prop_span("using"),
                    format!("generated column `{name}` has no values to convert"),
                    "remove `using=`",
                );
            }
            self.model.conversions.push(crate::model::ColumnBackfill {
                table: table.clone(),
                column: name.clone(),
                expression,
            });
        }
        self.rename_mode(f, c, table, Some(&name));
        Some(Column {
            grants,
            name,
            data_type,
            not_null: !nullable,
            default,
            identity,
            generated,
            collation: c.prop_string("collation"),
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        })
    }

    /// One `default-grant` node: a grant whose privileges are checked against its `on=`.
    fn default_grant(&mut self, f: &FileCtx, c: &Checked<'_>) -> Option<DefaultGrant> {
        let on = c.prop_str("on")?;
        let kind = match on {
            "tables" => GrantOn::Relation,
            "sequences" => GrantOn::Sequence,
            "functions" => GrantOn::Function,
            _ => GrantOn::Type,
        };
        let for_role = c.prop_string("for-role")?;
        let grant = self.grant(f, c, kind)?;
        Some(DefaultGrant {
            for_role,
            on: on.to_string(),
            grant,
        })
    }

    /// The `grant` children of a node.
    fn grants(&mut self, f: &FileCtx, c: &Checked<'_>, on: GrantOn) -> Vec<Grant> {
        let mut out = Vec::new();
        for ch in self.children(f, c) {
            if ch.spec.name == "grant" {
                out.extend(self.grant(f, &ch, on));
            }
        }
        out
    }

    /// One `grant` node: privilege words checked against what the object takes (so that a
    /// typo is reported here, with its span, rather than by the scratch database).
    fn grant(&mut self, f: &FileCtx, c: &Checked<'_>, on: GrantOn) -> Option<Grant> {
        let mut privileges = Vec::new();
        let mut ok = true;
        for (word, span) in c.rest_strs(0) {
            let upper = word.trim().to_ascii_uppercase();
            let upper = if upper == "ALL PRIVILEGES" {
                "ALL".to_string()
            } else {
                upper
            };
            if upper == "ALL" || on.privileges().contains(&upper.as_str()) {
                privileges.push(upper);
            } else {
                ok = false;
                self.push(
                    Problem::new(
                        ProblemKind::BadValue,
                        f,
                        span,
                        format!("`{word}` is not a privilege {}", on.describe()),
                    )
                    .label("unknown privilege")
                    .help(format!(
                        "{} takes {} or ALL",
                        on.describe_object(),
                        on.privileges().join(", ")
                    )),
                );
            }
        }
        let to = c.prop_str("to")?;
        if to.is_empty() {
            self.push(
                Problem::new(
                    ProblemKind::BadValue,
                    f,
                    c.prop_span("to"),
                    "`to` names no role",
                )
                .label("empty")
                .help("name a role, or \"public\" for every role"),
            );
            return None;
        }
        ok.then(|| Grant {
            grantee: Grantee::from_declared(to),
            privileges,
            with_grant_option: c.prop_bool("grant-option").unwrap_or(false),
        })
    }

    /// `rename=` of a table or column: only meaningful next to `renamed-from=`; `atomic` is
    /// recorded in `Model::atomic_renames` (the value itself was checked against the choices).
    fn rename_mode(
        &mut self,
        f: &FileCtx,
        c: &Checked<'_>,
        table: &QualifiedName,
        column: Option<&str>,
    ) {
        let Some(mode) = c.prop_str("rename") else {
            return;
        };
        if c.prop("renamed-from").is_none() {
            let what = match column {
                Some(col) => format!("column `{col}`"),
                None => format!("table `{}`", table.name),
            };
            self.conflict(
                f,
                c.prop_span("rename"),
                format!("{what} says how it is renamed but not from what"),
                "add `renamed-from=\"old name\"`, or remove `rename=`",
            );
            return;
        }
        if mode == "atomic" {
            self.model.atomic_renames.push(crate::model::AtomicRename {
                table: table.clone(),
                column: column.map(str::to_string),
            });
        }
    }

    fn conflict(&mut self, f: &FileCtx, span: SourceSpan, message: String, help: &str) {
        self.push(
            Problem::new(ProblemKind::Conflict, f, span, message)
                .label("conflicts")
                .help(help),
        );
    }

    /// Column arguments from `from` on, each queued for an existence check.
    fn local_columns(
        &mut self,
        f: &FileCtx,
        table: &QualifiedName,
        c: &Checked<'_>,
        from: usize,
        role: &'static str,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for (col, span) in c.rest_strs(from) {
            self.pending.push(Pending::LocalColumn {
                file: f.index,
                span,
                table: table.clone(),
                column: col.to_string(),
                role,
            });
            out.push(col.to_string());
        }
        out
    }

    /// `include` children of a key, index or exclusion.
    fn include(
        &mut self,
        f: &FileCtx,
        table: &QualifiedName,
        children: &[Checked<'_>],
    ) -> Vec<String> {
        let mut out = Vec::new();
        for ch in children.iter().filter(|c| c.spec.name == "include") {
            out.extend(self.local_columns(f, table, ch, 0, "included column"));
        }
        out
    }

    /// Declare a constraint name on a table; index-backed ones also take a relation name.
    fn declare_constraint(
        &mut self,
        f: &FileCtx,
        table: &QualifiedName,
        name: &str,
        span: SourceSpan,
        kind: &str,
        has_index: bool,
    ) -> bool {
        let what = format!("{kind} `{name}` on table `{table}`");
        if !self.declare(
            Key::Constraint(table.schema.clone(), table.name.clone(), name.into()),
            f,
            span,
            what.clone(),
        ) {
            return false;
        }
        !has_index
            || self.declare(
                Key::Relation(table.schema.clone(), name.into()),
                f,
                span,
                what,
            )
    }

    fn primary_key(
        &mut self,
        f: &FileCtx,
        table: &QualifiedName,
        c: &Checked<'_>,
    ) -> Option<PrimaryKey> {
        let (name, span) = match c.prop_str("name") {
            Some(n) => {
                let span = c.prop_span("name");
                if !self.valid_name(f, n, span) {
                    return None;
                }
                (n.to_string(), span)
            }
            None => (names::default_pkey_name(&table.name), c.name_span()),
        };
        if !self.declare_constraint(f, table, &name, span, "primary key", true) {
            return None;
        }
        let columns = self.local_columns(f, table, c, 0, "primary key column");
        let children = self.children(f, c);
        let include = self.include(f, table, &children);
        Some(PrimaryKey {
            name,
            columns,
            include,
            deferrable: deferrable(c),
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        })
    }

    fn unique(&mut self, f: &FileCtx, table: &QualifiedName, c: &Checked<'_>) -> Option<Unique> {
        let (name, span) = self.name_arg(f, c, 0)?;
        if !self.declare_constraint(f, table, &name, span, "unique constraint", true) {
            return None;
        }
        let columns = self.local_columns(f, table, c, 1, "unique column");
        let children = self.children(f, c);
        let include = self.include(f, table, &children);
        Some(Unique {
            name,
            columns,
            include,
            nulls_not_distinct: c.flag("nulls-not-distinct"),
            deferrable: deferrable(c),
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        })
    }

    fn foreign_key(
        &mut self,
        f: &FileCtx,
        table: &QualifiedName,
        c: &Checked<'_>,
    ) -> Option<ForeignKey> {
        let (name, span) = self.name_arg(f, c, 0)?;
        if !self.declare_constraint(f, table, &name, span, "foreign key", false) {
            return None;
        }
        let columns = self.local_columns(f, table, c, 1, "foreign key column");
        let text = c.prop_str("references")?;
        let rspan = c.prop_span("references");
        let target = match names::parse_table_ref(text) {
            Ok(t) => t,
            Err(e) => {
                self.push(
                    Problem::new(
                        ProblemKind::BadValue,
                        f,
                        rspan,
                        format!("`references` is not a table reference: {}", e.message),
                    )
                    .label("expected `table`, `table(col, ...)` or `schema.table(col, ...)`")
                    .help("names with dots, parentheses, commas, quotes or spaces are double-quoted, SQL style"),
                );
                return None;
            }
        };
        for n in target
            .schema
            .iter()
            .chain(std::iter::once(&target.table))
            .chain(target.columns.iter().flatten())
        {
            if !self.valid_name(f, n, rspan) {
                return None;
            }
        }
        let references = QualifiedName::new(
            target
                .schema
                .clone()
                .unwrap_or_else(|| table.schema.clone()),
            target.table.clone(),
        );
        let referenced_columns = target.columns.clone().unwrap_or_default();
        self.pending.push(Pending::ForeignKey {
            file: f.index,
            span: rspan,
            table: table.clone(),
            name: name.clone(),
            target,
        });
        Some(ForeignKey {
            name,
            columns,
            references,
            referenced_columns,
            on_delete: fk_action(c.prop_str("on-delete")),
            on_update: fk_action(c.prop_str("on-update")),
            match_type: if c.prop_str("match") == Some("full") {
                FkMatch::Full
            } else {
                FkMatch::Simple
            },
            deferrable: deferrable(c),
            valid: !c.flag("not-valid"),
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        })
    }

    fn check_constraint(
        &mut self,
        f: &FileCtx,
        table: &QualifiedName,
        c: &Checked<'_>,
    ) -> Option<Check> {
        let (name, span) = self.name_arg(f, c, 0)?;
        let (expression, _) = c.arg_str(1)?;
        if !self.declare_constraint(f, table, &name, span, "check constraint", false) {
            return None;
        }
        Some(Check {
            name,
            expression: expression.to_string(),
            no_inherit: c.flag("no-inherit"),
            valid: !c.flag("not-valid"),
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        })
    }

    /// `column` / `expression` children of an index or exclusion.
    fn keys(
        &mut self,
        f: &FileCtx,
        table: &QualifiedName,
        children: &[Checked<'_>],
    ) -> Vec<(IndexKey, Option<String>)> {
        let mut out = Vec::new();
        for ch in children {
            let target = match (ch.spec.name, ch.arg_str(0)) {
                ("column", Some((col, span))) => {
                    self.pending.push(Pending::LocalColumn {
                        file: f.index,
                        span,
                        table: table.clone(),
                        column: col.to_string(),
                        role: "key column",
                    });
                    IndexKeyTarget::Column(col.to_string())
                }
                ("expression", Some((e, _))) => IndexKeyTarget::Expression(e.to_string()),
                _ => continue,
            };
            out.push((
                IndexKey {
                    target,
                    collation: ch.prop_string("collation"),
                    opclass: ch.prop_string("opclass"),
                    descending: ch.flag("desc"),
                    nulls_first: ch.prop_str("nulls").map(|n| n == "first"),
                },
                ch.prop_string("with"),
            ));
        }
        out
    }

    fn exclusion(
        &mut self,
        f: &FileCtx,
        table: &QualifiedName,
        c: &Checked<'_>,
    ) -> Option<Exclusion> {
        let (name, span) = self.name_arg(f, c, 0)?;
        if !self.declare_constraint(f, table, &name, span, "exclusion constraint", true) {
            return None;
        }
        let children = self.children(f, c);
        let elements: Vec<ExclusionElement> = self
            .keys(f, table, &children)
            .into_iter()
            .map(|(key, op)| ExclusionElement {
                key,
                operator: op.unwrap_or_default(),
            })
            .collect();
        if elements.is_empty() {
            self.push(
                Problem::new(
                    ProblemKind::WrongArity,
                    f,
                    c.name_span(),
                    format!("exclusion constraint `{name}` has no elements"),
                )
                .label("no elements")
                .help("add children such as: column \"room_id\" with=\"=\""),
            );
        }
        let include = self.include(f, table, &children);
        Some(Exclusion {
            name,
            method: c.prop_string("method").unwrap_or_else(|| "btree".into()),
            elements,
            include,
            predicate: c.prop_string("where"),
            deferrable: deferrable(c),
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        })
    }

    fn index(&mut self, f: &FileCtx, table: &QualifiedName, c: &Checked<'_>) -> Option<Index> {
        let (name, span) = self.name_arg(f, c, 0)?;
        if !self.declare(
            Key::Relation(table.schema.clone(), name.clone()),
            f,
            span,
            format!("index `{name}` on table `{table}`"),
        ) {
            return None;
        }
        let mut keys: Vec<IndexKey> = self
            .local_columns(f, table, c, 1, "key column")
            .into_iter()
            .map(|col| IndexKey {
                target: IndexKeyTarget::Column(col),
                collation: None,
                opclass: None,
                descending: false,
                nulls_first: None,
            })
            .collect();
        let children = self.children(f, c);
        let child_keys = self.keys(f, table, &children);
        if !keys.is_empty() && !child_keys.is_empty() {
            let first = children
                .iter()
                .find(|c| c.spec.name != "include")
                .map(|c| c.name_span())
                .unwrap_or(span);
            self.push(
                Problem::new(
                    ProblemKind::Conflict,
                    f,
                    first,
                    format!("index `{name}` lists keys both as arguments and as children"),
                )
                .label("second list")
                .help("use one form: arguments for plain columns, `column`/`expression` nodes otherwise"),
            );
        }
        keys.extend(child_keys.into_iter().map(|(k, _)| k));
        if keys.is_empty() {
            self.push(
                Problem::new(
                    ProblemKind::WrongArity,
                    f,
                    c.name_span(),
                    format!("index `{name}` has no keys"),
                )
                .label("no keys")
                .help("list columns after the name, or add `column`/`expression` children"),
            );
        }
        let unique = c.flag("unique");
        let nnd = c.flag("nulls-not-distinct");
        if nnd && !unique {
            self.conflict(
                f,
                c.prop_span("nulls-not-distinct"),
                format!("index `{name}` is not unique, so nulls-not-distinct means nothing"),
                "add unique=#true, or remove nulls-not-distinct",
            );
        }
        let include = self.include(f, table, &children);
        Some(Index {
            name,
            unique,
            method: c.prop_string("method").unwrap_or_else(|| "btree".into()),
            keys,
            include,
            predicate: c.prop_string("where"),
            nulls_not_distinct: nnd,
            valid: true,
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        })
    }

    /// The cross-file pass: types, columns, foreign keys, owned-by.
    fn resolve(&mut self) {
        let mut enums: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in self.model.schemas.values() {
            let user_types = s.domains.keys().chain(s.composites.keys()).cloned();
            let multiranges = s.ranges.values().map(|r| {
                r.multirange
                    .clone()
                    .unwrap_or_else(|| RangeType::default_multirange(&r.name))
            });
            enums.insert(
                s.name.clone(),
                s.enums
                    .keys()
                    .cloned()
                    .chain(user_types)
                    .chain(s.ranges.keys().cloned())
                    .chain(multiranges)
                    .collect(),
            );
        }
        let extensions: BTreeMap<String, String> = self
            .model
            .extensions
            .values()
            .map(|e| (e.name.clone(), e.schema.clone()))
            .collect();
        let pending = std::mem::take(&mut self.pending);
        for p in pending {
            match p {
                Pending::PartitionParent { file, span, table } => {
                    self.resolve_partition_parent(file, span, &table)
                }
                Pending::ColumnType {
                    file,
                    span,
                    table,
                    column,
                } => {
                    let Some(col) = self
                        .model
                        .schemas
                        .get(&table.schema)
                        .and_then(|s| s.tables.get(&table.name))
                        .and_then(|t| t.columns.get(&column))
                    else {
                        continue;
                    };
                    let env = TypeEnv {
                        enums: &enums,
                        extensions: &extensions,
                    };
                    match types::resolve(&col.data_type, &table.schema, &env) {
                        Ok(resolved) => {
                            if let Some(col) = self
                                .model
                                .schemas
                                .get_mut(&table.schema)
                                .and_then(|s| s.tables.get_mut(&table.name))
                                .and_then(|t| t.columns.get_mut(&column))
                            {
                                col.data_type = resolved;
                            }
                        }
                        Err(e) => {
                            let f = self.file(file);
                            self.push(
                                Problem::new(ProblemKind::DanglingReference, &f, span, e.message)
                                    .label("unknown type")
                                    .maybe_help(e.help),
                            );
                        }
                    }
                }
                Pending::LocalColumn {
                    file,
                    span,
                    table,
                    column,
                    role,
                } => {
                    if let Some(t) = self.model.table(&table) {
                        let t = partition::root(&self.model, t);
                        if !t.columns.contains_key(&column) {
                            let help = did_you_mean(&column, t.columns.keys().map(String::as_str));
                            let f = self.file(file);
                            self.push(
                                Problem::new(
                                    ProblemKind::DanglingReference,
                                    &f,
                                    span,
                                    format!("{role} `{column}` is not a column of table `{table}`"),
                                )
                                .label("no such column")
                                .maybe_help(help),
                            );
                        }
                    }
                }
                Pending::ForeignKey {
                    file,
                    span,
                    table,
                    name,
                    target,
                } => self.resolve_fk(file, span, &table, &name, &target),
                Pending::ExtensionSchema {
                    file,
                    span,
                    extension,
                    schema,
                } => {
                    if !self.model.schemas.contains_key(&schema) {
                        let help =
                            did_you_mean(&schema, self.model.schemas.keys().map(String::as_str))
                                .unwrap_or_else(|| format!("declare it: schema \"{schema}\""));
                        let f = self.file(file);
                        self.push(
                            Problem::new(
                                ProblemKind::DanglingReference,
                                &f,
                                span,
                                format!("extension `{extension}` goes in schema `{schema}`, which is not declared"),
                            )
                            .label("no such schema")
                            .help(help),
                        );
                    }
                }
                Pending::UserTypeText { file, span, slot } => {
                    let env = TypeEnv {
                        enums: &enums,
                        extensions: &extensions,
                    };
                    self.resolve_user_type_text(file, span, &slot, &env);
                }
                Pending::OwnedBy {
                    file,
                    span,
                    sequence,
                } => {
                    let Some(owner) = self
                        .model
                        .schemas
                        .get(&sequence.schema)
                        .and_then(|s| s.sequences.get(&sequence.name))
                        .and_then(|s| s.owned_by.clone())
                    else {
                        continue;
                    };
                    let problem = match self.model.table(&owner.table) {
                        None => Some((
                            format!(
                                "sequence `{sequence}` is owned by table `{}`, which is not declared",
                                owner.table
                            ),
                            self.table_suggestion(&owner.table),
                        )),
                        Some(t) if !t.columns.contains_key(&owner.column) => Some((
                            format!(
                                "sequence `{sequence}` is owned by `{}.{}`, which is not a column",
                                owner.table, owner.column
                            ),
                            did_you_mean(&owner.column, t.columns.keys().map(String::as_str)),
                        )),
                        Some(_) => None,
                    };
                    if let Some((msg, help)) = problem {
                        let f = self.file(file);
                        self.push(
                            Problem::new(ProblemKind::DanglingReference, &f, span, msg)
                                .label("dangling reference")
                                .maybe_help(help),
                        );
                    }
                }
            }
        }
    }

    fn table_suggestion(&self, missing: &QualifiedName) -> Option<String> {
        let schema = self.model.schemas.get(&missing.schema)?;
        did_you_mean(&missing.name, schema.tables.keys().map(String::as_str))
    }

    fn resolve_fk(
        &mut self,
        file: usize,
        span: SourceSpan,
        table: &QualifiedName,
        name: &str,
        target: &TableRef,
    ) {
        let f = self.file(file);
        let target_name = QualifiedName::new(
            target
                .schema
                .clone()
                .unwrap_or_else(|| table.schema.clone()),
            target.table.clone(),
        );
        let Some(t) = self.model.table(&target_name) else {
            let help = if self.model.schemas.contains_key(&target_name.schema) {
                self.table_suggestion(&target_name)
            } else {
                Some(format!("no schema `{}` is declared", target_name.schema))
            };
            self.push(
                Problem::new(
                    ProblemKind::DanglingReference,
                    &f,
                    span,
                    format!("foreign key `{name}` references table `{target_name}`, which is not declared"),
                )
                .label("no such table")
                .maybe_help(help),
            );
            return;
        };
        let referenced = match &target.columns {
            Some(cols) => {
                let missing: Vec<&String> = cols
                    .iter()
                    .filter(|c| !t.columns.contains_key(*c))
                    .collect();
                if let Some(m) = missing.first() {
                    let help = did_you_mean(m, t.columns.keys().map(String::as_str));
                    self.push(
                        Problem::new(
                            ProblemKind::DanglingReference,
                            &f,
                            span,
                            format!("foreign key `{name}` references column `{m}`, which table `{target_name}` does not have"),
                        )
                        .label("no such column")
                        .maybe_help(help),
                    );
                    return;
                }
                cols.clone()
            }
            None => match &t.primary_key {
                Some(pk) => pk.columns.clone(),
                None => {
                    self.push(
                        Problem::new(
                            ProblemKind::DanglingReference,
                            &f,
                            span,
                            format!("foreign key `{name}` references table `{target_name}`, which has no primary key"),
                        )
                        .label("no primary key to reference")
                        .help("name the referenced columns: references=\"table(col)\""),
                    );
                    return;
                }
            },
        };
        let Some(fk) = self
            .model
            .schemas
            .get_mut(&table.schema)
            .and_then(|s| s.tables.get_mut(&table.name))
            .and_then(|t| t.foreign_keys.get_mut(name))
        else {
            return;
        };
        let (n, m) = (fk.columns.len(), referenced.len());
        fk.referenced_columns = referenced;
        if n != m {
            self.push(
                Problem::new(
                    ProblemKind::WrongArity,
                    &f,
                    span,
                    format!(
                        "foreign key `{name}` has {n} column{} but references {m}",
                        if n == 1 { "" } else { "s" }
                    ),
                )
                .label("column counts differ"),
            );
        }
    }
}

fn data_loss_kind(s: &str) -> Option<DataLossKind> {
    Some(match s {
        "table" => DataLossKind::Table,
        "column" => DataLossKind::Column,
        "enum" => DataLossKind::Enum,
        "enum-value" => DataLossKind::EnumValue,
        "sequence" => DataLossKind::Sequence,
        "extension" => DataLossKind::Extension,
        "type" => DataLossKind::Type,
        "attribute" => DataLossKind::Attribute,
        _ => return None,
    })
}

/// How to write an `allow-data-loss` of this kind, for help lines.
fn data_loss_usage(kind: DataLossKind, word: &str) -> String {
    let names = match kind {
        DataLossKind::Column => "<table> <column>",
        DataLossKind::EnumValue => "<enum> <value>",
        DataLossKind::Attribute => "<type> <attribute>",
        _ => "<name>",
    };
    format!("allow-data-loss \"{word}\" {names}")
}

/// `column `public.users.nickname`` and the like, for "declared twice" messages.
fn describe_loss(loss: &DataLoss, word: &str) -> String {
    let mut path: Vec<&str> = Vec::new();
    path.extend(loss.schema.as_deref());
    path.push(&loss.name);
    path.extend(loss.member.as_deref());
    format!("{word} `{}`", path.join("."))
}

/// What a `grant` is on, for the privileges it may name.
#[derive(Clone, Copy)]
enum GrantOn {
    Schema,
    Relation,
    Column,
    Sequence,
    Function,
    Type,
}

impl GrantOn {
    fn privileges(self) -> &'static [&'static str] {
        match self {
            GrantOn::Schema => &["USAGE", "CREATE"],
            GrantOn::Relation => &[
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
                "TRUNCATE",
                "REFERENCES",
                "TRIGGER",
                "MAINTAIN",
            ],
            GrantOn::Column => &["SELECT", "INSERT", "UPDATE", "REFERENCES"],
            GrantOn::Sequence => &["USAGE", "SELECT", "UPDATE"],
            GrantOn::Function => &["EXECUTE"],
            GrantOn::Type => &["USAGE"],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            GrantOn::Schema => "on a schema",
            GrantOn::Relation => "on a table or view",
            GrantOn::Column => "on a column",
            GrantOn::Sequence => "on a sequence",
            GrantOn::Function => "on a function",
            GrantOn::Type => "on a type",
        }
    }

    fn describe_object(self) -> &'static str {
        match self {
            GrantOn::Schema => "a schema",
            GrantOn::Relation => "a table or view",
            GrantOn::Column => "a column",
            GrantOn::Sequence => "a sequence",
            GrantOn::Function => "a function",
            GrantOn::Type => "a type",
        }
    }
}

fn identity_kind(k: &str) -> IdentityKind {
    if k == "always" {
        IdentityKind::Always
    } else {
        IdentityKind::ByDefault
    }
}

fn deferrable(c: &Checked<'_>) -> Deferrable {
    match c.prop_str("deferrable") {
        Some("immediate") => Deferrable::InitiallyImmediate,
        Some("deferred") => Deferrable::InitiallyDeferred,
        _ => Deferrable::NotDeferrable,
    }
}

fn fk_action(s: Option<&str>) -> FkAction {
    match s {
        Some("restrict") => FkAction::Restrict,
        Some("cascade") => FkAction::Cascade,
        Some("set-null") => FkAction::SetNull,
        Some("set-default") => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut cut = offset.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let before = &text[..cut];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
