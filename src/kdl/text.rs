//! The canonical text form shared by the writer and `fmt`: how a value is spelled and how a
//! tree of nodes is laid out.
//!
//! Both `write` (model to files) and `format` (file to file) build a [`Node`] tree and print
//! it here, so "the canonical layout" has exactly one definition: four-space indent, one node
//! per line, arguments then properties, every string quoted, one blank line at most.
//!
//! This module knows nothing about schemas; property order is decided by the callers (from
//! `spec`).

use kdl::KdlValue;

/// A value as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Int(i128),
    Bool(bool),
    Null,
    /// A value kept exactly as the source spelled it (floats, which the language never uses).
    Raw(String),
}

impl Val {
    pub fn from_kdl(v: &KdlValue, repr: Option<&str>) -> Val {
        match v {
            KdlValue::String(s) => Val::Str(s.clone()),
            KdlValue::Integer(i) => Val::Int(*i),
            KdlValue::Bool(b) => Val::Bool(*b),
            KdlValue::Null => Val::Null,
            KdlValue::Float(f) => Val::Raw(repr.map(str::to_string).unwrap_or_else(|| {
                // Only reached for floats built in code; the parser always keeps the repr.
                format!("{f:?}")
            })),
        }
    }

    fn write(&self, out: &mut String, indent: usize) {
        match self {
            Val::Str(s) => out.push_str(&string_repr(s, indent)),
            Val::Int(i) => out.push_str(&i.to_string()),
            Val::Bool(true) => out.push_str("#true"),
            Val::Bool(false) => out.push_str("#false"),
            Val::Null => out.push_str("#null"),
            Val::Raw(r) => out.push_str(r),
        }
    }
}

/// A comment kept by `fmt`, with whether a blank line preceded it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comment {
    pub text: String,
    pub blank_before: bool,
}

/// A node to print.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Node {
    pub blank_before: bool,
    /// Comments on their own lines above the node.
    pub leading: Vec<Comment>,
    /// A type annotation, kept by `fmt` (the language gives them no meaning).
    pub ty: Option<String>,
    /// Name, written bare when KDL allows it.
    pub name: String,
    pub args: Vec<Val>,
    pub props: Vec<(String, Val)>,
    /// `/* */` comments and slashdashed entries found inside the node's line, written after
    /// the entries.
    pub inline: Vec<String>,
    /// `//` comments at the end of the node's first line.
    pub line_comments: Vec<String>,
    pub children: Option<Vec<Node>>,
    /// Comments on their own lines after the last child, before `}`.
    pub tail: Vec<Comment>,
    /// `//` comments after the closing `}`.
    pub close_comments: Vec<String>,
}

impl Node {
    pub fn new(name: &str) -> Node {
        Node {
            name: name.to_string(),
            ..Node::default()
        }
    }

    pub fn arg(mut self, v: impl Into<Val>) -> Node {
        self.args.push(v.into());
        self
    }

    pub fn prop(mut self, k: &str, v: impl Into<Val>) -> Node {
        self.props.push((k.to_string(), v.into()));
        self
    }

    pub fn prop_opt(self, k: &str, v: Option<impl Into<Val>>) -> Node {
        match v {
            Some(v) => self.prop(k, v),
            None => self,
        }
    }

    pub fn flag(self, k: &str, on: bool) -> Node {
        if on { self.prop(k, true) } else { self }
    }

    pub fn child(mut self, c: Node) -> Node {
        self.children.get_or_insert_with(Vec::new).push(c);
        self
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Str(s.to_string())
    }
}
impl From<&String> for Val {
    fn from(s: &String) -> Val {
        Val::Str(s.clone())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Str(s)
    }
}
impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::Int(i as i128)
    }
}
impl From<bool> for Val {
    fn from(b: bool) -> Val {
        Val::Bool(b)
    }
}

/// Print a document: file header comments, nodes, and comments after the last node.
pub(crate) fn print_document(nodes: &[Node], tail: &[Comment]) -> String {
    let mut out = String::new();
    print_nodes(&mut out, nodes, tail, 0);
    out
}

const INDENT: &str = "    ";

fn print_nodes(out: &mut String, nodes: &[Node], tail: &[Comment], depth: usize) {
    let mut first = true;
    for n in nodes {
        print_node(out, n, depth, first);
        first = false;
    }
    print_comments(out, tail, depth, first);
}

fn print_comments(out: &mut String, comments: &[Comment], depth: usize, mut first: bool) {
    for c in comments {
        if c.blank_before && !first {
            out.push('\n');
        }
        push_indent(out, depth);
        out.push_str(&c.text);
        out.push('\n');
        first = false;
    }
}

fn push_indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str(INDENT);
    }
}

fn print_node(out: &mut String, n: &Node, depth: usize, first: bool) {
    let mut first = first;
    if n.blank_before && !first {
        out.push('\n');
        first = true;
    }
    print_comments(out, &n.leading, depth, first);
    push_indent(out, depth);
    if let Some(ty) = &n.ty {
        out.push('(');
        out.push_str(&ident_repr(ty));
        out.push(')');
    }
    out.push_str(&ident_repr(&n.name));
    for a in &n.args {
        out.push(' ');
        a.write(out, depth);
    }
    for (k, v) in &n.props {
        out.push(' ');
        out.push_str(&ident_repr(k));
        out.push('=');
        v.write(out, depth);
    }
    for c in &n.inline {
        out.push(' ');
        out.push_str(c);
    }
    let has_block = n.children.as_ref().is_some_and(|c| !c.is_empty()) || !n.tail.is_empty();
    if has_block {
        out.push_str(" {");
        push_line_comments(out, &n.line_comments);
        out.push('\n');
        print_nodes(
            out,
            n.children.as_deref().unwrap_or(&[]),
            &n.tail,
            depth + 1,
        );
        push_indent(out, depth);
        out.push('}');
        push_line_comments(out, &n.close_comments);
    } else {
        // An empty `{ }` block means nothing; the node line carries every comment.
        let mut all = n.line_comments.clone();
        all.extend(n.close_comments.iter().cloned());
        push_line_comments(out, &all);
    }
    out.push('\n');
}

/// Only one `//` comment fits at the end of a line; further ones follow on their own lines,
/// which is where they are found again on the next run (so the layout is stable).
fn push_line_comments(out: &mut String, comments: &[String]) {
    let mut iter = comments.iter();
    if let Some(c) = iter.next() {
        out.push(' ');
        out.push_str(c);
    }
    for c in iter {
        out.push('\n');
        out.push_str(c);
    }
}

/// A node or property name: bare when KDL reads it back as the same identifier, else quoted.
pub(crate) fn ident_repr(s: &str) -> String {
    if is_plain_identifier(s) {
        s.to_string()
    } else {
        string_repr(s, 0)
    }
}

fn is_plain_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return false;
    }
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && !matches!(s, "true" | "false" | "null" | "inf" | "nan")
}

/// A string value in its canonical spelling: a multi-line `"""` block for text with line
/// breaks (view queries), a raw `#"..."#` string for text with quotes or backslashes, else a
/// plain quoted string. The chosen spelling is parsed back before it is used; anything that
/// would not read back identically falls back to the escaped form, which always does.
pub(crate) fn string_repr(s: &str, indent: usize) -> String {
    if s.contains('\n') {
        if let Some(m) = multiline_repr(s, indent) {
            if reads_back(&m, s) {
                return m;
            }
        }
    } else if (s.contains('"') || s.contains('\\')) && !s.chars().any(needs_escape) {
        let r = raw_repr(s);
        if reads_back(&r, s) {
            return r;
        }
    }
    escaped_repr(s)
}

fn reads_back(repr: &str, s: &str) -> bool {
    match kdl::KdlDocument::parse(&format!("n {repr}")) {
        Ok(doc) => doc
            .nodes()
            .first()
            .and_then(|n| n.entries().first())
            .is_some_and(|e| e.value().as_string() == Some(s) && doc.nodes().len() == 1),
        Err(_) => false,
    }
}

/// Characters that must be escaped inside a single-line string (KDL 2.0 newlines and
/// disallowed code points), plus controls that would be invisible in a file.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

fn raw_repr(s: &str) -> String {
    let mut hashes = 1;
    while s.contains(&format!("\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let h = "#".repeat(hashes);
    format!("{h}\"{s}\"{h}")
}

pub(crate) fn escaped_repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `"""` block indented one level deeper than the node. Only for text that reads back the
/// same: no backslashes, no `"""`, no whitespace-only lines (KDL empties them), no other line
/// break characters, no escapes needed.
fn multiline_repr(s: &str, indent: usize) -> Option<String> {
    if s.contains('\\') || s.contains("\"\"\"") {
        return None;
    }
    if s.chars().any(|c| c != '\n' && c != '\t' && needs_escape(c)) {
        return None;
    }
    let lines: Vec<&str> = s.split('\n').collect();
    if lines
        .iter()
        .any(|l| !l.is_empty() && l.chars().all(char::is_whitespace))
    {
        return None;
    }
    let pad = INDENT.repeat(indent + 1);
    let mut out = String::from("\"\"\"\n");
    for l in &lines {
        if !l.is_empty() {
            out.push_str(&pad);
            out.push_str(l);
        }
        out.push('\n');
    }
    out.push_str(&pad);
    out.push_str("\"\"\"");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_pick_the_most_readable_spelling_that_reads_back() {
        assert_eq!(string_repr("plain", 0), "\"plain\"");
        assert_eq!(string_repr("title <> ''", 0), "\"title <> ''\"");
        assert_eq!(string_repr("a \"b\"", 0), "#\"a \"b\"\"#");
        assert_eq!(string_repr("x\"#y", 0), "##\"x\"#y\"##");
        assert_eq!(string_repr("tab\u{1}", 0), "\"tab\\u{1}\"");
        assert_eq!(
            string_repr("SELECT 1\n  FROM t", 1),
            "\"\"\"\n        SELECT 1\n          FROM t\n        \"\"\""
        );
        // Whitespace-only lines would be emptied by KDL, so that text stays escaped.
        assert_eq!(string_repr("a\n  \nb", 0), "\"a\\n  \\nb\"");
    }

    #[test]
    fn identifiers_are_bare_only_when_kdl_reads_them_back() {
        assert_eq!(ident_repr("foreign-key"), "foreign-key");
        assert_eq!(ident_repr("true"), "\"true\"");
        assert_eq!(ident_repr("1abc"), "\"1abc\"");
        assert_eq!(ident_repr("has space"), "\"has space\"");
    }
}
