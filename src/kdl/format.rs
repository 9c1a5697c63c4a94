//! `formwork fmt`: canonical layout for hand-written files, comments kept.
//!
//! kdl's own `autoformat` drops comments that end a node's line and slashdashed entries, so
//! formatting is done here: the parsed document is turned into the same node tree the writer
//! builds, with the comments the parser kept in its whitespace attached to the nearest node,
//! properties sorted into the order `spec` gives, and printed by `text`. The layout is
//! therefore exactly what `write` produces for the same constructs.
//!
//! Safety net: the output is parsed again and must have the same nodes, values and comments
//! as the input (property order aside). If it does not, nothing is written and the problem is
//! reported; `fmt` never changes what a file means and never loses a comment.
//!
//! Not done here: anything about meaning. A file that parses formats, whether or not it
//! would load.

use kdl::{KdlDocument, KdlNode};
use miette::SourceSpan;

use super::diag::{LoadError, Problem, ProblemKind, Problems};
use super::load::{file_ctx, parse_file};
use super::scan::{self, Item, ItemKind};
use super::spec::{self, Ctx};
use super::text::{Comment, Node, Val, print_document};

/// Format one file's text. `name` is only used in messages.
pub fn format_source(name: &str, text: &str) -> Result<String, LoadError> {
    let file = file_ctx(0, name, text);
    let mut problems = Problems::default();
    let Some(doc) = parse_file(&file, &mut problems) else {
        return Err(LoadError {
            problems: problems.list,
        });
    };
    let mut header = Vec::new();
    let (mut nodes, tail) = convert_doc(&doc, text, true, &mut header);
    // Comments on the first line of a file have no previous line to join.
    if let Some(first) = nodes.first_mut() {
        let mut lead: Vec<Comment> = header
            .into_iter()
            .map(|text| Comment {
                text,
                blank_before: false,
            })
            .collect();
        lead.append(&mut first.leading);
        first.leading = lead;
    }
    canonicalize(&mut nodes, Ctx::Root);
    let out = print_document(&nodes, &tail);
    match verify(&doc, text, &out) {
        Ok(()) => Ok(out),
        Err(why) => {
            problems.push(
                Problem::new(
                    ProblemKind::Format,
                    &file,
                    SourceSpan::new(0.into(), 0),
                    format!("cannot format {name} without changing it: {why}"),
                )
                .help("move comments inside node lines onto their own lines, then run fmt again"),
            );
            Err(LoadError {
                problems: problems.list,
            })
        }
    }
}

/// Sort properties into `spec` order (unknown ones after, in their original order) through a
/// tree, following the blocks each node opens.
pub(crate) fn canonicalize(nodes: &mut [Node], parent: Ctx) {
    for n in nodes {
        let spec = spec::find(parent, &n.name);
        if let Some(spec) = spec {
            n.props.sort_by_key(|(k, _)| {
                spec.props
                    .iter()
                    .position(|p| p.name == k)
                    .unwrap_or(usize::MAX)
            });
        }
        if let Some(children) = &mut n.children {
            canonicalize(children, spec.map_or(Ctx::Leaf, |s| s.ctx));
        }
    }
}

/// The comments in a stretch of whitespace: those before the first line break (still on the
/// previous line), and those on their own lines with a blank-line flag, plus the line breaks
/// after the last one.
struct Split {
    same_line: Vec<String>,
    own_lines: Vec<Comment>,
    trailing_newlines: usize,
}

fn split(decor: &str, at_line_start: bool, node_level: bool) -> Split {
    let (items, trailing) = scan::items(decor, node_level);
    let mut same_line = Vec::new();
    let mut own_lines = Vec::new();
    let mut seen_newline = at_line_start;
    let mut first_own = true;
    for Item {
        text,
        newlines_before,
        ..
    } in items
    {
        let effective =
            newlines_before + usize::from(at_line_start && first_own && same_line.is_empty());
        if !seen_newline && newlines_before == 0 {
            same_line.push(text);
            continue;
        }
        seen_newline = true;
        own_lines.push(Comment {
            text,
            blank_before: effective >= 2,
        });
        first_own = false;
    }
    let trailing_newlines = if own_lines.is_empty() && same_line.is_empty() {
        trailing + usize::from(at_line_start)
    } else {
        trailing
    };
    Split {
        same_line,
        own_lines,
        trailing_newlines,
    }
}

/// Comments inside a node's line: block comments and slashdashes stay inline, `//` comments
/// (possible after a `\` line continuation) go to the end of the line.
fn inline(decor: &str, node: &mut Node) {
    let (items, _) = scan::items(decor, false);
    for it in items {
        match it.kind {
            ItemKind::Line => node.line_comments.push(it.text),
            ItemKind::Block | ItemKind::Slashdash => node.inline.push(it.text),
        }
    }
}

/// Convert a document's nodes. `up` receives comments that sit on the line before the first
/// node (the parent's `{` line, or the first line of a file).
fn convert_doc(
    doc: &KdlDocument,
    src: &str,
    root: bool,
    up: &mut Vec<String>,
) -> (Vec<Node>, Vec<Comment>) {
    let mut nodes: Vec<Node> = Vec::new();
    let doc_leading = doc.format().map(|f| f.leading.as_str()).unwrap_or("");
    let mut pending_leading = String::from(doc_leading);
    let mut at_line_start = root;
    for kn in doc.nodes() {
        let fmt = kn.format();
        pending_leading.push_str(fmt.map(|f| f.leading.as_str()).unwrap_or(""));
        let s = split(&pending_leading, at_line_start, true);
        pending_leading.clear();
        let (mut node, ends_line) = convert_node(kn, src);
        match nodes.last_mut() {
            Some(prev) => attach_after(prev, s.same_line),
            None => up.extend(s.same_line),
        }
        node.blank_before = match s.own_lines.first() {
            Some(c) => c.blank_before,
            None => s.trailing_newlines >= 2,
        };
        node.leading = s.own_lines;
        if let Some(first) = node.leading.first_mut() {
            first.blank_before = false;
        }
        at_line_start = ends_line;
        nodes.push(node);
    }
    let doc_trailing = doc.format().map(|f| f.trailing.as_str()).unwrap_or("");
    pending_leading.push_str(doc_trailing);
    let s = split(&pending_leading, at_line_start, true);
    match nodes.last_mut() {
        Some(prev) => attach_after(prev, s.same_line),
        None => up.extend(s.same_line),
    }
    let mut tail = s.own_lines;
    spill(&mut nodes, &mut tail);
    (nodes, tail)
}

fn has_block(n: &Node) -> bool {
    n.children.as_ref().is_some_and(|c| !c.is_empty()) || !n.tail.is_empty()
}

/// A line ends with at most one `//` comment. Any further ones (possible after a `\` line
/// continuation) move to their own lines where the next run would find them anyway: the
/// first child's for a block's opening line, else the next node's, so the layout is stable.
fn spill(nodes: &mut [Node], tail: &mut Vec<Comment>) {
    let own = |texts: Vec<String>| -> Vec<Comment> {
        texts
            .into_iter()
            .map(|text| Comment {
                text,
                blank_before: false,
            })
            .collect()
    };
    for i in 0..nodes.len() {
        let n = &mut nodes[i];
        let extra = if has_block(n) {
            if n.line_comments.len() > 1 {
                let inside = own(n.line_comments.split_off(1));
                match n.children.as_mut().and_then(|c| c.first_mut()) {
                    Some(first) => {
                        first.leading.splice(0..0, inside);
                    }
                    None => {
                        n.tail.splice(0..0, inside);
                    }
                }
            }
            if n.close_comments.len() > 1 {
                n.close_comments.split_off(1)
            } else {
                Vec::new()
            }
        } else {
            let mut all = std::mem::take(&mut n.line_comments);
            all.append(&mut n.close_comments);
            let extra = if all.len() > 1 {
                all.split_off(1)
            } else {
                Vec::new()
            };
            n.line_comments = all;
            extra
        };
        if extra.is_empty() {
            continue;
        }
        match nodes.get_mut(i + 1) {
            Some(next) => {
                next.leading.splice(0..0, own(extra));
            }
            None => {
                tail.splice(0..0, own(extra));
            }
        }
    }
}

/// Comments found on the line a node ends on.
fn attach_after(node: &mut Node, comments: Vec<String>) {
    if node.children.as_ref().is_some_and(|c| !c.is_empty()) || !node.tail.is_empty() {
        node.close_comments.extend(comments);
    } else {
        node.line_comments.extend(comments);
    }
}

/// A node and whether its text ended a line.
fn convert_node(kn: &KdlNode, src: &str) -> (Node, bool) {
    let mut node = Node::new(kn.name().value());
    // The loader refuses type annotations; fmt keeps them as they were.
    node.ty = kn.ty().map(|t| t.value().to_string());
    for e in kn.entries() {
        if let Some(f) = e.format() {
            for d in [&f.leading, &f.after_key, &f.after_eq, &f.trailing] {
                inline(d, &mut node);
            }
        }
        let mut v = Val::from_kdl(e.value(), e.format().map(|f| f.value_repr.as_str()));
        if let Some(ty) = e.ty() {
            let mut repr = String::new();
            repr.push('(');
            repr.push_str(&super::text::ident_repr(ty.value()));
            repr.push(')');
            repr.push_str(&value_text(&v));
            v = Val::Raw(repr);
        }
        match e.name() {
            None => node.args.push(v),
            Some(k) => node.props.push((k.value().to_string(), v)),
        }
    }
    let fmt = kn.format();
    if let Some(f) = fmt {
        inline(&f.after_ty, &mut node);
        inline(&f.before_children, &mut node);
        inline(&f.before_terminator, &mut node);
    }
    let mut ends_line =
        fmt.is_none_or(|f| f.terminator.ends_with('\n') || f.trailing.ends_with('\n'));
    if let Some(children) = kn.children() {
        let mut brace_line = Vec::new();
        let (kids, tail) = convert_doc(children, src, false, &mut brace_line);
        node.line_comments.extend(brace_line);
        node.children = Some(kids);
        node.tail = tail;
        // The parser does not keep what follows a closing `}` on its line; read it from the
        // source.
        let start = kn.name().span().offset();
        if let Some(close) = scan::closing_brace(src, start) {
            let (after, ended) = scan::rest_of_line(src, close + 1);
            attach_after(&mut node, after);
            ends_line = ended;
        }
    } else if let Some(f) = fmt {
        let (items, _) = scan::items(&f.terminator, false);
        let (items2, _) = scan::items(&f.trailing, false);
        let texts: Vec<String> = items.into_iter().chain(items2).map(|i| i.text).collect();
        attach_after(&mut node, texts);
    }
    (node, ends_line)
}

fn value_text(v: &Val) -> String {
    let mut n = Node::new("x");
    n.args.push(v.clone());
    let printed = print_document(&[n], &[]);
    printed
        .trim_end()
        .strip_prefix("x ")
        .unwrap_or_default()
        .to_string()
}

/// The formatted text must mean the same and keep every comment.
fn verify(original: &KdlDocument, src: &str, out: &str) -> Result<(), String> {
    let reparsed = KdlDocument::parse(out).map_err(|_| "the result would not parse".to_string())?;
    if shape(original) != shape(&reparsed) {
        return Err("the result would read differently".into());
    }
    let (mut a, sa) = scan::all_comments(src);
    let (mut b, sb) = scan::all_comments(out);
    a.sort();
    b.sort();
    if a != b || sa != sb {
        return Err("a comment would be lost or changed".into());
    }
    Ok(())
}

/// Nodes and values, properties sorted by name (stable, so repeated keys keep their order).
fn shape(doc: &KdlDocument) -> Vec<String> {
    let mut out = Vec::new();
    shape_into(doc, 0, &mut out);
    out
}

fn shape_into(doc: &KdlDocument, depth: usize, out: &mut Vec<String>) {
    for n in doc.nodes() {
        let mut line = format!(
            "{depth} {:?} {:?}",
            n.ty().map(|t| t.value()),
            n.name().value()
        );
        let mut props = Vec::new();
        for e in n.entries() {
            let v = format!("{:?}{:?}", e.ty().map(|t| t.value()), e.value());
            match e.name() {
                None => line.push_str(&format!(" {v}")),
                Some(k) => props.push((k.value().to_string(), v)),
            }
        }
        props.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, v) in props {
            line.push_str(&format!(" {k}={v}"));
        }
        let has_kids = n.children().is_some_and(|c| !c.nodes().is_empty());
        line.push_str(if has_kids { " {" } else { "" });
        out.push(line);
        if let Some(c) = n.children() {
            shape_into(c, depth + 1, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(s: &str) -> String {
        match format_source("t.kdl", s) {
            Ok(o) => o,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn layout_is_canonical_and_idempotent() {
        let src = "schema public {\n  table \"t\" comment=\"c\" renamed-from=old { column a int ; column b text nullable=#true }\n}\n";
        let out = fmt(src);
        assert_eq!(
            out,
            "schema \"public\" {\n    table \"t\" renamed-from=\"old\" comment=\"c\" {\n        column \"a\" \"int\"\n        column \"b\" \"text\" nullable=#true\n    }\n}\n"
        );
        assert_eq!(fmt(&out), out);
    }

    #[test]
    fn comments_stay_where_they_were() {
        let src = "// header\n\n/* block\n   comment */\nschema \"public\" { // brace\n    // above t\n    table \"t\" /* inline */ { // t brace\n        column \"a\" \"int\" // after a\n        /-column \"b\" \"int\"\n        // end of t\n    } // after t\n\n    // last\n}\n// end\n";
        let out = fmt(src);
        assert_eq!(fmt(&out), out);
        for c in [
            "// header",
            "/* block",
            "// brace",
            "// above t",
            "/* inline */",
            "// t brace",
            "// after a",
            "/-column \"b\" \"int\"",
            "// end of t",
            "// after t",
            "// last",
            "// end",
        ] {
            assert!(out.contains(c), "lost {c:?} in\n{out}");
        }
        assert!(out.contains("column \"a\" \"int\" // after a\n"), "{out}");
        assert!(out.contains("schema \"public\" { // brace\n"), "{out}");
    }
}
