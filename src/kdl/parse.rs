//! A fast KDL 2.0 parser for loading declarations, producing a small tree of our own.
//!
//! The `kdl` crate parses at about a megabyte a second, which made loading a 5,000-table
//! declaration take seconds. This parser reads the same language byte by byte, borrows every
//! string that needs no unescaping from the source, and keeps nothing but names, values and
//! byte spans, which is all the loader reads.
//!
//! It is deliberately conservative: it decides by looking ahead and never backtracks into an
//! alternative, and it rejects a few valid but exotic spellings (a slashdash right after a
//! value with no space before it, whitespace escapes inside multi-line strings, uppercase
//! `0X`/`0O`/`0B` prefixes, raw strings whose body starts with `""`). A rejection is never
//! shown to anyone: the loader then parses with the `kdl` crate, which either accepts the
//! document (and [`Document::from_kdl`] converts its tree) or produces the diagnostics. So this
//! parser must never accept what the `kdl` crate rejects and must agree with it on everything
//! it accepts, spans included; `tests/kdl_parse_diff.rs` and the `kdl_parse_diff` fuzz target
//! check exactly that.
//!
//! Not done here: comments and formatting are dropped (`fmt` keeps using the `kdl` crate), and
//! no error messages are produced.

use std::borrow::Cow;

use miette::SourceSpan;

/// Children blocks nested deeper than this are refused (the loader refuses far less already).
const MAX_DEPTH: usize = 128;

/// A parsed document: its top-level nodes, slashdashed ones removed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document<'a> {
    pub nodes: Vec<Node<'a>>,
}

/// A string in name position (node name, property key, type annotation) and the span of its
/// token (quotes and hashes included).
#[derive(Debug, Clone, PartialEq)]
pub struct Name<'a> {
    pub value: Cow<'a, str>,
    pub span: SourceSpan,
}

/// A node. Its span runs from its type annotation or name to the end of the whitespace after
/// its last entry or children block, before the terminator (what the `kdl` crate reports).
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    pub ty: Option<Name<'a>>,
    pub name: Name<'a>,
    pub entries: Vec<Entry<'a>>,
    pub children: Option<Document<'a>>,
    pub span: SourceSpan,
}

/// An argument (`name` is `None`) or a property. The span covers the key, the type annotation
/// and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    pub name: Option<Name<'a>>,
    pub ty: Option<Name<'a>>,
    pub value: Value<'a>,
    pub span: SourceSpan,
}

/// A value. Integers are `i128` like the `kdl` crate's; floats keep no spelling.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    String(Cow<'a, str>),
    Integer(i128),
    Float(f64),
    Bool(bool),
    Null,
}

impl PartialEq for Value<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Integer(a), Value::Integer(b)) => a == b,
            // NaN equals NaN here: two parses of `#nan` are the same document.
            (Value::Float(a), Value::Float(b)) => {
                a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()
            }
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Null, Value::Null) => true,
            _ => false,
        }
    }
}

impl<'a> Document<'a> {
    pub fn nodes(&self) -> &[Node<'a>] {
        &self.nodes
    }
}

impl<'a> Name<'a> {
    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn span(&self) -> SourceSpan {
        self.span
    }
}

impl<'a> Node<'a> {
    pub fn name(&self) -> &Name<'a> {
        &self.name
    }

    pub fn ty(&self) -> Option<&Name<'a>> {
        self.ty.as_ref()
    }

    pub fn entries(&self) -> &[Entry<'a>] {
        &self.entries
    }

    pub fn children(&self) -> Option<&Document<'a>> {
        self.children.as_ref()
    }

    pub fn span(&self) -> SourceSpan {
        self.span
    }
}

impl<'a> Entry<'a> {
    pub fn name(&self) -> Option<&Name<'a>> {
        self.name.as_ref()
    }

    pub fn ty(&self) -> Option<&Name<'a>> {
        self.ty.as_ref()
    }

    pub fn value(&self) -> &Value<'a> {
        &self.value
    }

    pub fn span(&self) -> SourceSpan {
        self.span
    }
}

impl Value<'_> {
    pub fn as_string(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<i128> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    pub fn is_bool(&self) -> bool {
        matches!(self, Value::Bool(_))
    }
}

impl Document<'static> {
    /// The tree of a document the `kdl` crate parsed (the fallback for what [`parse`] refuses).
    pub fn from_kdl(doc: &kdl::KdlDocument) -> Document<'static> {
        Document {
            nodes: doc.nodes().iter().map(node_from_kdl).collect(),
        }
    }
}

fn name_from_kdl(i: &kdl::KdlIdentifier) -> Name<'static> {
    Name {
        value: Cow::Owned(i.value().to_string()),
        span: i.span(),
    }
}

fn node_from_kdl(n: &kdl::KdlNode) -> Node<'static> {
    Node {
        ty: n.ty().map(name_from_kdl),
        name: name_from_kdl(n.name()),
        entries: n
            .entries()
            .iter()
            .map(|e| Entry {
                name: e.name().map(name_from_kdl),
                ty: e.ty().map(name_from_kdl),
                value: match e.value() {
                    kdl::KdlValue::String(s) => Value::String(Cow::Owned(s.clone())),
                    kdl::KdlValue::Integer(i) => Value::Integer(*i),
                    kdl::KdlValue::Float(f) => Value::Float(*f),
                    kdl::KdlValue::Bool(b) => Value::Bool(*b),
                    kdl::KdlValue::Null => Value::Null,
                },
                span: e.span(),
            })
            .collect(),
        children: n.children().map(Document::from_kdl),
        span: n.span(),
    }
}

/// The input was refused at this byte offset (invalid, or valid but left to the `kdl` crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub offset: usize,
}

type R<T> = Result<T, Refused>;

/// Parse a whole document.
pub fn parse(text: &str) -> Result<Document<'_>, Refused> {
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    if p.b.starts_with("\u{FEFF}".as_bytes()) {
        p.i = 3;
    }
    let nodes = p.nodes()?;
    if p.i != p.b.len() {
        return p.refuse();
    }
    Ok(Document { nodes })
}

/// ASCII bytes that may appear in an identifier string.
const IDENT_ASCII: [bool; 128] = {
    let mut t = [false; 128];
    let mut c = 0x21;
    while c < 0x7F {
        t[c] = true;
        c += 1;
    }
    let bad = b"\\/(){}[];\"#=";
    let mut k = 0;
    while k < bad.len() {
        t[bad[k] as usize] = false;
        k += 1;
    }
    t
};

fn is_unicode_space(c: char) -> bool {
    matches!(
        c,
        '\t' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

fn is_newline_char(c: char) -> bool {
    matches!(
        c,
        '\r' | '\n' | '\u{85}' | '\u{0B}' | '\u{0C}' | '\u{2028}' | '\u{2029}'
    )
}

/// Code points KDL forbids in literal text; DEL too, which the spec forbids and the `kdl`
/// crate lets through (refusing it here leaves the decision to the crate).
fn is_disallowed(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}'
        | '\u{E}'..='\u{1F}'
        | '\u{7F}'
        | '\u{200E}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
    )
}

fn is_ident_char(c: char) -> bool {
    if c.is_ascii() {
        IDENT_ASCII[c as usize]
    } else {
        !is_unicode_space(c) && !is_newline_char(c) && !is_disallowed(c)
    }
}

fn span(start: usize, end: usize) -> SourceSpan {
    SourceSpan::new(start.into(), end - start)
}

/// The lines of a multi-line string (byte ranges, newlines excluded), the length of the
/// closing line's indentation, and the offset of the closing quotes.
type MultilineBody = (Vec<(usize, usize)>, usize, usize);

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
}

/// Where a node may be in its sequence of entries and children blocks.
#[derive(PartialEq, Clone, Copy)]
enum Phase {
    Entries,
    /// A slashdashed children block was seen: only more of them or the real block may follow.
    SdChildren,
    /// The children block was seen: only slashdashed blocks may follow.
    AfterChildren,
}

impl<'a> Parser<'a> {
    fn refuse<T>(&self) -> R<T> {
        Err(Refused { offset: self.i })
    }

    fn byte(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn byte_at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn char_at(&self, i: usize) -> Option<char> {
        match self.b.get(i) {
            None => None,
            Some(&b) if b < 0x80 => Some(b as char),
            // `None` inside a character too: byte scans (comments) ask about every byte.
            Some(_) => self.s.get(i..).and_then(|t| t.chars().next()),
        }
    }

    fn starts(&self, at: usize, pat: &[u8]) -> bool {
        self.b.len() >= at + pat.len() && &self.b[at..at + pat.len()] == pat
    }

    /// Length of the unicode space at `i`, 0 if none.
    fn space_len(&self, i: usize) -> usize {
        match self.b.get(i) {
            Some(b'\t' | b' ') => 1,
            Some(&b) if b >= 0x80 => match self.char_at(i) {
                Some(c) if is_unicode_space(c) => c.len_utf8(),
                _ => 0,
            },
            _ => 0,
        }
    }

    /// Length of the newline at `i` (`\r\n` counts as one), 0 if none.
    fn newline_len(&self, i: usize) -> usize {
        match self.b.get(i) {
            Some(b'\r') if self.byte_at(i + 1) == Some(b'\n') => 2,
            Some(b'\r' | b'\n' | 0x0B | 0x0C) => 1,
            Some(&b) if b >= 0x80 => match self.char_at(i) {
                Some(c @ ('\u{85}' | '\u{2028}' | '\u{2029}')) => c.len_utf8(),
                _ => 0,
            },
            _ => 0,
        }
    }

    /// `/* ... */` with nesting, starting at `/*`.
    fn block_comment(&mut self) -> R<()> {
        let mut depth = 0usize;
        let b = self.b;
        let mut i = self.i;
        while i < b.len() {
            if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    self.i = i;
                    return Ok(());
                }
            } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                depth += 1;
                i += 2;
            } else {
                i += 1;
            }
        }
        self.i = b.len();
        self.refuse()
    }

    /// `//` to the end of the line, the newline included.
    fn line_comment(&mut self) {
        let mut i = self.i + 2;
        while i < self.b.len() {
            let n = self.newline_len(i);
            if n > 0 {
                self.i = i + n;
                return;
            }
            i += 1;
        }
        self.i = self.b.len();
    }

    /// `ws*`: unicode spaces and block comments.
    fn wss(&mut self) -> R<()> {
        loop {
            let n = self.space_len(self.i);
            if n > 0 {
                self.i += n;
            } else if self.starts(self.i, b"/*") {
                self.block_comment()?;
            } else {
                return Ok(());
            }
        }
    }

    /// `node-space*`; whether anything was consumed.
    fn node_space(&mut self) -> R<bool> {
        let start = self.i;
        loop {
            self.wss()?;
            if self.byte() != Some(b'\\') {
                break;
            }
            // escline := '\' ws* (single-line-comment | newline | eof)
            self.i += 1;
            self.wss()?;
            if self.starts(self.i, b"//") {
                self.line_comment();
            } else if self.i == self.b.len() {
            } else {
                let n = self.newline_len(self.i);
                if n == 0 {
                    return self.refuse();
                }
                self.i += n;
            }
        }
        Ok(self.i > start)
    }

    /// `line-space*`: node space, newlines and line comments.
    fn line_space(&mut self) -> R<()> {
        loop {
            self.node_space()?;
            let n = self.newline_len(self.i);
            if n > 0 {
                self.i += n;
            } else if self.starts(self.i, b"//") {
                self.line_comment();
            } else {
                return Ok(());
            }
        }
    }

    fn at_slashdash(&self) -> bool {
        self.starts(self.i, b"/-")
    }

    /// `/-` and the space after it (newlines allowed).
    fn slashdash(&mut self) -> R<()> {
        self.i += 2;
        self.line_space()
    }

    fn at_node_end(&self) -> bool {
        match self.byte() {
            None | Some(b';' | b'}') => true,
            Some(b'/') => self.byte_at(self.i + 1) == Some(b'/'),
            _ => self.newline_len(self.i) > 0,
        }
    }

    fn nodes(&mut self) -> R<Vec<Node<'a>>> {
        let mut out = Vec::new();
        loop {
            loop {
                self.line_space()?;
                if !self.at_slashdash() {
                    break;
                }
                self.slashdash()?;
                if matches!(self.byte(), None | Some(b'}')) {
                    return self.refuse();
                }
                self.node()?;
                if self.byte() == Some(b';') {
                    return self.refuse();
                }
            }
            if matches!(self.byte(), None | Some(b'}')) {
                return Ok(out);
            }
            out.push(self.node()?);
            match self.byte() {
                Some(b';') => self.i += 1,
                Some(b'/') => self.line_comment(),
                None | Some(b'}') => return Ok(out),
                _ => self.i += self.newline_len(self.i),
            }
        }
    }

    fn children(&mut self) -> R<Document<'a>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.refuse();
        }
        self.i += 1;
        let nodes = self.nodes()?;
        if self.byte() != Some(b'}') {
            return self.refuse();
        }
        self.i += 1;
        self.depth -= 1;
        Ok(Document { nodes })
    }

    fn node(&mut self) -> R<Node<'a>> {
        let start = self.i;
        if self.byte() == Some(b'{') {
            return self.refuse();
        }
        let ty = self.opt_type_annotation()?;
        let Some(name) = self.string()? else {
            return self.refuse();
        };
        let mut entries = Vec::new();
        let mut children = None;
        let mut phase = Phase::Entries;
        loop {
            let space = self.node_space()?;
            if self.at_node_end() {
                break;
            }
            match self.byte() {
                Some(b'{') => {
                    if phase == Phase::AfterChildren {
                        return self.refuse();
                    }
                    children = Some(self.children()?);
                    phase = Phase::AfterChildren;
                }
                Some(b'/') if self.byte_at(self.i + 1) == Some(b'-') => {
                    if !space {
                        return self.refuse();
                    }
                    self.slashdash()?;
                    if self.byte() == Some(b'{') {
                        self.children()?;
                        if phase == Phase::Entries {
                            phase = Phase::SdChildren;
                        }
                    } else if phase != Phase::Entries || self.at_slashdash() {
                        return self.refuse();
                    } else {
                        self.entry()?;
                    }
                }
                _ => {
                    if !space || phase != Phase::Entries {
                        return self.refuse();
                    }
                    entries.push(self.entry()?);
                }
            }
        }
        Ok(Node {
            ty,
            name,
            entries,
            children,
            span: span(start, self.i),
        })
    }

    /// A type annotation and the space after it, if one starts here.
    fn opt_type_annotation(&mut self) -> R<Option<Name<'a>>> {
        if self.byte() != Some(b'(') {
            return Ok(None);
        }
        let t = self.type_annotation()?;
        self.node_space()?;
        Ok(Some(t))
    }

    /// `(name)`, starting at `(`.
    fn type_annotation(&mut self) -> R<Name<'a>> {
        self.i += 1;
        self.node_space()?;
        let Some(name) = self.string()? else {
            return self.refuse();
        };
        self.node_space()?;
        if self.byte() != Some(b')') {
            return self.refuse();
        }
        self.i += 1;
        Ok(name)
    }

    fn entry(&mut self) -> R<Entry<'a>> {
        let start = self.i;
        if self.byte() != Some(b'(') {
            if let Some(s) = self.string()? {
                let after = self.i;
                self.node_space()?;
                if self.byte() == Some(b'=') {
                    self.i += 1;
                    self.node_space()?;
                    let (ty, value) = self.value()?;
                    return Ok(Entry {
                        name: Some(s),
                        ty,
                        value,
                        span: span(start, self.i),
                    });
                }
                self.i = after;
                return Ok(Entry {
                    name: None,
                    ty: None,
                    value: Value::String(s.value),
                    span: span(start, after),
                });
            }
        }
        let (ty, value) = self.value()?;
        Ok(Entry {
            name: None,
            ty,
            value,
            span: span(start, self.i),
        })
    }

    /// `type? node-space* (keyword | number | string)`.
    fn value(&mut self) -> R<(Option<Name<'a>>, Value<'a>)> {
        let ty = self.opt_type_annotation()?;
        let v = match self.byte() {
            Some(b'#') if !matches!(self.byte_at(self.i + 1), Some(b'#' | b'"')) => {
                self.keyword()?
            }
            Some(b'0'..=b'9') => self.number()?,
            Some(b'+' | b'-') if matches!(self.byte_at(self.i + 1), Some(b'0'..=b'9')) => {
                self.number()?
            }
            _ => match self.string()? {
                Some(s) => Value::String(s.value),
                None => return self.refuse(),
            },
        };
        Ok((ty, v))
    }

    fn keyword(&mut self) -> R<Value<'a>> {
        let rest = &self.b[self.i + 1..];
        let (v, n) = if rest.starts_with(b"true") {
            (Value::Bool(true), 4)
        } else if rest.starts_with(b"false") {
            (Value::Bool(false), 5)
        } else if rest.starts_with(b"null") {
            (Value::Null, 4)
        } else if rest.starts_with(b"nan") {
            (Value::Float(f64::NAN), 3)
        } else if rest.starts_with(b"inf") {
            (Value::Float(f64::INFINITY), 3)
        } else if rest.starts_with(b"-inf") {
            (Value::Float(f64::NEG_INFINITY), 4)
        } else {
            return self.refuse();
        };
        self.i += 1 + n;
        Ok(v)
    }

    /// Digits of `radix` with `_` after the first, as an `i128` (overflow refuses).
    fn digits(&mut self, radix: u32) -> R<i128> {
        let mut v: i128 = 0;
        let mut first = true;
        while let Some(b) = self.byte() {
            if b == b'_' && !first {
                self.i += 1;
                continue;
            }
            let Some(d) = (b as char).to_digit(radix) else {
                break;
            };
            v = match v
                .checked_mul(radix as i128)
                .and_then(|v| v.checked_add(d as i128))
            {
                Some(v) => v,
                None => return self.refuse(),
            };
            first = false;
            self.i += 1;
        }
        if first {
            return self.refuse();
        }
        Ok(v)
    }

    fn number(&mut self) -> R<Value<'a>> {
        let start = self.i;
        let negative = match self.byte() {
            Some(b'-') => {
                self.i += 1;
                true
            }
            Some(b'+') => {
                self.i += 1;
                false
            }
            _ => false,
        };
        let radix = if self.byte() == Some(b'0') {
            match self.byte_at(self.i + 1) {
                Some(b'x') => 16,
                Some(b'o') => 8,
                Some(b'b') => 2,
                Some(b'X' | b'O' | b'B') => return self.refuse(),
                _ => 10,
            }
        } else {
            10
        };
        if radix != 10 {
            self.i += 2;
            let v = self.digits(radix)?;
            return Ok(Value::Integer(if negative { -v } else { v }));
        }
        let v = self.digits(10)?;
        let mut float = false;
        if self.byte() == Some(b'.') {
            self.i += 1;
            self.digits(10)?;
            float = true;
        }
        if matches!(self.byte(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.byte(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            self.digits(10)?;
            float = true;
        }
        if !float {
            return Ok(Value::Integer(if negative { -v } else { v }));
        }
        let text: String = self.s[start..self.i]
            .chars()
            .filter(|&c| c != '_')
            .collect();
        match text.parse::<f64>() {
            Ok(f) => Ok(Value::Float(f)),
            Err(_) => self.refuse(),
        }
    }

    /// A string at the current position (identifier, quoted or raw), or `None` when none
    /// starts here.
    fn string(&mut self) -> R<Option<Name<'a>>> {
        let start = self.i;
        let value = match self.byte() {
            Some(b'"') => {
                if self.starts(self.i, b"\"\"\"") {
                    self.multiline_string()?
                } else {
                    self.quoted_string()?
                }
            }
            Some(b'#') => {
                let mut j = self.i;
                while self.byte_at(j) == Some(b'#') {
                    j += 1;
                }
                if self.byte_at(j) != Some(b'"') {
                    return Ok(None);
                }
                self.raw_string(j - self.i)?
            }
            _ => match self.identifier()? {
                Some(s) => s,
                None => return Ok(None),
            },
        };
        Ok(Some(Name {
            value,
            span: span(start, self.i),
        }))
    }

    fn identifier(&mut self) -> R<Option<Cow<'a, str>>> {
        let start = self.i;
        let Some(c) = self.char_at(start) else {
            return Ok(None);
        };
        let digit = |i: usize| matches!(self.byte_at(i), Some(b'0'..=b'9'));
        match c {
            '0'..='9' => return Ok(None),
            '+' | '-' => {
                if digit(start + 1) {
                    return Ok(None);
                }
                if self.byte_at(start + 1) == Some(b'.') && digit(start + 2) {
                    return Ok(None);
                }
            }
            '.' if digit(start + 1) => return Ok(None),
            _ => {}
        }
        if !is_ident_char(c) {
            return Ok(None);
        }
        let mut i = start;
        while i < self.b.len() {
            let b = self.b[i];
            if b < 0x80 {
                if !IDENT_ASCII[b as usize] {
                    break;
                }
                i += 1;
            } else {
                match self.char_at(i) {
                    Some(c) if is_ident_char(c) => i += c.len_utf8(),
                    _ => break,
                }
            }
        }
        let s = &self.s[start..i];
        if matches!(s, "true" | "false" | "null" | "inf" | "-inf" | "nan") {
            return self.refuse();
        }
        self.i = i;
        Ok(Some(Cow::Borrowed(s)))
    }

    /// `"..."`, starting at the quote.
    fn quoted_string(&mut self) -> R<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        let mut owned: Option<String> = None;
        loop {
            let Some(b) = self.byte() else {
                return self.refuse();
            };
            match b {
                b'"' => {
                    let v = match owned {
                        Some(o) => Cow::Owned(o),
                        None => Cow::Borrowed(&self.s[start..self.i]),
                    };
                    self.i += 1;
                    return Ok(v);
                }
                b'\\' => {
                    let o = owned.get_or_insert_with(|| self.s[start..self.i].to_string());
                    let mut tmp = std::mem::take(o);
                    self.escape(&mut tmp, true)?;
                    owned = Some(tmp);
                }
                0x20..=0x7E => {
                    if let Some(o) = owned.as_mut() {
                        o.push(b as char);
                    }
                    self.i += 1;
                }
                _ => {
                    let Some(c) = self.char_at(self.i) else {
                        return self.refuse();
                    };
                    if is_newline_char(c) || is_disallowed(c) {
                        return self.refuse();
                    }
                    if let Some(o) = owned.as_mut() {
                        o.push(c);
                    }
                    self.i += c.len_utf8();
                }
            }
        }
    }

    /// An escape at `\`, appended to `out`. Whitespace escapes only where `ws_ok`.
    fn escape(&mut self, out: &mut String, ws_ok: bool) -> R<()> {
        self.i += 1;
        let Some(b) = self.byte() else {
            return self.refuse();
        };
        let c = match b {
            b'\\' => '\\',
            b'"' => '"',
            b'b' => '\u{8}',
            b'f' => '\u{C}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b's' => ' ',
            b'u' => {
                if self.byte_at(self.i + 1) != Some(b'{') {
                    return self.refuse();
                }
                let hex_start = self.i + 2;
                let mut j = hex_start;
                while j < self.b.len() && j - hex_start < 6 && self.b[j].is_ascii_hexdigit() {
                    j += 1;
                }
                if j == hex_start || self.byte_at(j) != Some(b'}') {
                    return self.refuse();
                }
                let Some(c) = u32::from_str_radix(&self.s[hex_start..j], 16)
                    .ok()
                    .and_then(char::from_u32)
                else {
                    return self.refuse();
                };
                out.push(c);
                self.i = j + 1;
                return Ok(());
            }
            _ => {
                if !ws_ok {
                    return self.refuse();
                }
                let mut any = false;
                loop {
                    let n = self.space_len(self.i).max(self.newline_len(self.i));
                    if n == 0 {
                        break;
                    }
                    any = true;
                    self.i += n;
                }
                if !any {
                    return self.refuse();
                }
                return Ok(());
            }
        };
        out.push(c);
        self.i += 1;
        Ok(())
    }

    /// Split a multi-line body into lines. `body` starts right after the opening newline;
    /// `closing` is the byte string that ends it (`"""` plus the hashes of a raw string).
    /// Returns the line ranges, the prefix (the closing line's indentation) and the offset of
    /// the closing quotes. Refuses a closing sequence inside a line, disallowed code points,
    /// and a backslash before whitespace (a whitespace escape, or in raw strings a spelling
    /// the `kdl` crate treats specially).
    fn multiline_lines(&self, body: usize, closing: &[u8], raw: bool) -> R<MultilineBody> {
        let b = self.b;
        let mut lines = Vec::new();
        let mut line = body;
        loop {
            let mut j = line;
            loop {
                let n = self.space_len(j);
                if n == 0 {
                    break;
                }
                j += n;
            }
            if self.starts(j, closing) {
                return Ok((lines, j - line, j));
            }
            let mut k = line;
            loop {
                if k >= b.len() {
                    return Err(Refused { offset: k });
                }
                let n = self.newline_len(k);
                if n > 0 {
                    lines.push((line, k));
                    line = k + n;
                    break;
                }
                if b[k] == b'\\' {
                    let next = k + 1;
                    if self.space_len(next) > 0 || self.newline_len(next) > 0 {
                        return Err(Refused { offset: k });
                    }
                    if !raw {
                        // Skip the escaped character so `\"` is not read as a quote; the
                        // escape itself is checked when the line is unescaped.
                        let c = self.char_at(next).ok_or(Refused { offset: next })?;
                        k = next + c.len_utf8();
                        continue;
                    }
                }
                if b[k] == b'"' && self.starts(k, closing) {
                    return Err(Refused { offset: k });
                }
                let c = match self.char_at(k) {
                    Some(c) => c,
                    None => return Err(Refused { offset: k }),
                };
                if is_disallowed(c) {
                    return Err(Refused { offset: k });
                }
                k += c.len_utf8();
            }
        }
    }

    /// Dedent and join the lines of a multi-line string; `text` turns a line's content into
    /// its value (unescaping for quoted strings).
    fn multiline_join(
        &mut self,
        lines: &[(usize, usize)],
        prefix: &'a str,
        mut text: impl FnMut(&mut Self, usize, usize, &mut String) -> R<()>,
    ) -> R<String> {
        let mut out = String::new();
        for &(a, z) in lines {
            let line = &self.s[a..z];
            let blank = line.chars().all(is_unicode_space);
            if !blank {
                if !line.starts_with(prefix) {
                    return Err(Refused { offset: a });
                }
                text(self, a + prefix.len(), z, &mut out)?;
            }
            out.push('\n');
        }
        out.pop();
        Ok(out)
    }

    /// `"""` newline ... newline ws* `"""`, starting at the quotes.
    fn multiline_string(&mut self) -> R<Cow<'a, str>> {
        self.i += 3;
        let n = self.newline_len(self.i);
        if n == 0 {
            return self.refuse();
        }
        let body = self.i + n;
        let (lines, indent, close) = self.multiline_lines(body, b"\"\"\"", false)?;
        let prefix = &self.s[close - indent..close];
        let out = self.multiline_join(&lines, prefix, |p, a, z, out| {
            p.i = a;
            while p.i < z {
                match p.b[p.i] {
                    b'\\' => p.escape(out, false)?,
                    b if b < 0x80 => {
                        out.push(b as char);
                        p.i += 1;
                    }
                    _ => {
                        let c = p.char_at(p.i).ok_or(Refused { offset: p.i })?;
                        out.push(c);
                        p.i += c.len_utf8();
                    }
                }
            }
            if p.i != z {
                return p.refuse();
            }
            Ok(())
        })?;
        self.i = close + 3;
        Ok(Cow::Owned(out))
    }

    /// `#"..."#` (any number of hashes) and the multi-line form, starting at the hashes.
    fn raw_string(&mut self, hashes: usize) -> R<Cow<'a, str>> {
        let q = self.i + hashes;
        let mut closing = Vec::with_capacity(hashes + 3);
        if self.starts(q, b"\"\"\"") {
            let n = self.newline_len(q + 3);
            if n == 0 {
                // `#"""#` or a body starting with `""`: left to the `kdl` crate.
                return self.refuse();
            }
            closing.extend_from_slice(b"\"\"\"");
            closing.extend(std::iter::repeat_n(b'#', hashes));
            let (lines, indent, close) = self.multiline_lines(q + 3 + n, &closing, true)?;
            let prefix = &self.s[close - indent..close];
            let out = self.multiline_join(&lines, prefix, |p, a, z, out| {
                out.push_str(&p.s[a..z]);
                Ok(())
            })?;
            self.i = close + closing.len();
            return Ok(Cow::Owned(out));
        }
        closing.push(b'"');
        closing.extend(std::iter::repeat_n(b'#', hashes));
        let start = q + 1;
        let mut k = start;
        loop {
            if k >= self.b.len() {
                return Err(Refused { offset: k });
            }
            if self.b[k] == b'"' && self.starts(k, &closing) {
                break;
            }
            let c = self.char_at(k).ok_or(Refused { offset: k })?;
            if is_newline_char(c) || is_disallowed(c) {
                return Err(Refused { offset: k });
            }
            k += c.len_utf8();
        }
        self.i = k + closing.len();
        Ok(Cow::Borrowed(&self.s[start..k]))
    }
}

/// How the fast parser and the `kdl` crate judged one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Both accepted it, with the same tree.
    BothAccept,
    /// Both rejected it.
    BothReject,
    /// The fast parser refused a document the `kdl` crate accepts (the loader falls back).
    LeftToKdl,
}

/// Compare [`parse`] with the `kdl` crate on `text`: `Err` describes a divergence (the fast
/// parser accepted what the crate rejects, or the trees differ). Used by the differential
/// tests and the fuzz target.
pub fn compare_with_kdl(text: &str) -> Result<Agreement, String> {
    let fast = parse(text);
    let reference = kdl::KdlDocument::parse(text);
    match (fast, reference) {
        (Ok(ours), Ok(theirs)) => {
            let theirs = Document::from_kdl(&theirs);
            if ours == theirs {
                Ok(Agreement::BothAccept)
            } else {
                Err(format!(
                    "trees differ for {text:?}\nfast: {ours:#?}\nkdl:  {theirs:#?}"
                ))
            }
        }
        (Ok(ours), Err(e)) => Err(format!(
            "fast parser accepted what kdl rejects: {text:?}\nfast: {ours:#?}\nkdl: {e:?}"
        )),
        (Err(_), Ok(_)) => Ok(Agreement::LeftToKdl),
        (Err(_), Err(_)) => Ok(Agreement::BothReject),
    }
}
