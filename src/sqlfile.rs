//! Splitting SQL files into statements, the way psql would send them.
//!
//! Both the linter and the importer read files written for psql (hand-written migrations,
//! Alembic's offline output, `pg_dump` output) and need them one statement at a time, with
//! exact positions for diagnostics. This module does only that: it does not parse statements,
//! classify them, or decide whether they are valid.
//!
//! It is built on sqlparser's tokenizer (PostgreSQL dialect), so quoting rules (standard and
//! `E''` strings, quoted identifiers, dollar quotes, nested block comments, `COPY ... FROM stdin`
//! payloads) are the same ones the parser uses later. Like psql, a `;` ends a statement only
//! outside parentheses (`CREATE RULE ... DO (a; b)`) and outside `BEGIN ATOMIC ... END` bodies of
//! SQL-standard functions. psql meta-command lines (`\connect`, `\restrict`, `\set`...) found
//! where a statement would start are reported as [`Item::MetaCommand`], never as SQL.
//!
//! The file is tokenized in windows of a bounded size rather than all at once, so memory stays
//! flat however large the input is, and each byte is tokenized about once: tokens up to the last
//! `;` of a window are exactly what a whole-file pass would produce, because nothing the
//! tokenizer decides before a `;` depends on text after it. The tokens of each statement are
//! handed out with it (whitespace removed, locations absolute), so callers can parse a
//! statement without tokenizing it again.
//!
//! A tokenizer error (an unterminated string, quoted identifier, dollar quote or comment) is
//! reported as [`Item::Error`] with its position; since such a token runs to the end of the
//! input, everything from the start of the broken statement on is covered by that error and
//! splitting stops there.

use std::ops::Range;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer, Whitespace};

/// How many bytes are tokenized at a time. Large enough that per-window overhead is noise,
/// small enough that the token buffer stays a few megabytes.
const WINDOW: usize = 256 * 1024;

/// A position in the source: byte offset plus 1-based line and column (columns count
/// characters, as sqlparser's locations do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Pos {
    pub offset: usize,
    pub line: u64,
    pub column: u64,
}

impl Pos {
    /// The start of a source text.
    pub const START: Pos = Pos {
        offset: 0,
        line: 1,
        column: 1,
    };

    fn location(self) -> Location {
        Location::new(self.line, self.column)
    }
}

/// A comment found before a statement (or a meta-command, or at the end of the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment<'a> {
    /// The whole comment as written, including `--` or `/* */` (and no line end).
    pub text: &'a str,
    pub start: Pos,
    pub end: Pos,
}

impl<'a> Comment<'a> {
    /// The comment's content without its markers, trimmed.
    pub fn body(&self) -> &'a str {
        let t = self.text;
        let t = if let Some(rest) = t.strip_prefix("--") {
            rest
        } else if let Some(rest) = t.strip_prefix("/*") {
            rest.strip_suffix("*/").unwrap_or(rest)
        } else {
            t
        };
        t.trim()
    }
}

/// One SQL statement as psql would send it.
#[derive(Debug, Clone)]
pub struct Statement<'a> {
    /// The statement text, from its first token to its last, without the closing `;`.
    pub text: &'a str,
    pub start: Pos,
    pub end: Pos,
    /// Whether a `;` closed the statement (the last statement of a file may lack one).
    pub terminated: bool,
    /// Comments between the previous item and this statement, in order.
    pub leading_comments: Vec<Comment<'a>>,
    /// The statement's tokens without whitespace and comments, with absolute locations, ready
    /// for `sqlparser::parser::Parser::with_tokens_with_locations`. The closing `;` is not
    /// included. A `COPY ... FROM stdin` payload is not included either (see `copy_data`).
    pub tokens: Vec<TokenWithSpan>,
    /// For `COPY ... FROM stdin`: the byte range of the inline data (up to and including the
    /// `\.` line), and whether the `\.` terminator was found.
    pub copy_data: Option<(Range<usize>, bool)>,
}

impl Statement<'_> {
    /// Byte range of [`Statement::text`] in the source.
    pub fn span(&self) -> Range<usize> {
        self.start.offset..self.end.offset
    }
}

/// A psql meta-command line such as `\connect db` or `\restrict key`.
#[derive(Debug, Clone)]
pub struct MetaCommand<'a> {
    /// The whole line from the backslash to the end of the line (line end excluded).
    pub text: &'a str,
    pub start: Pos,
    pub end: Pos,
    pub leading_comments: Vec<Comment<'a>>,
}

impl<'a> MetaCommand<'a> {
    /// The command name without the backslash (`connect`, `restrict`, `set`...).
    pub fn name(&self) -> &'a str {
        let t = self.text.strip_prefix('\\').unwrap_or(self.text);
        t.split(|c: char| c.is_whitespace()).next().unwrap_or("")
    }
}

/// Text that could not be split because the tokenizer rejected it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    /// The tokenizer's message (for example "Unterminated dollar-quoted string").
    pub message: String,
    /// Where the tokenizer gave up.
    pub at: Pos,
    /// From the start of the statement the error is in to the end of the input: none of it
    /// was split into statements.
    pub unsplit: Range<usize>,
    /// Where `unsplit` starts.
    pub statement_start: Pos,
}

/// What the splitter yields, in source order.
#[derive(Debug, Clone)]
pub enum Item<'a> {
    Statement(Statement<'a>),
    MetaCommand(MetaCommand<'a>),
    /// Comments after the last statement of the input.
    TrailingComments(Vec<Comment<'a>>),
    /// The tokenizer failed; this is the last item.
    Error(SplitError),
}

/// Split `text` into statements, meta-commands and errors, lazily.
pub fn split(text: &str) -> Splitter<'_> {
    Splitter {
        text,
        pos: Pos::START,
        pending: std::collections::VecDeque::new(),
        done: false,
        window: WINDOW,
    }
}

/// Iterator over the [`Item`]s of a source text. See [`split`].
pub struct Splitter<'a> {
    text: &'a str,
    /// Everything before `pos` has been handed out (or queued in `pending`).
    pos: Pos,
    pending: std::collections::VecDeque<Item<'a>>,
    done: bool,
    window: usize,
}

impl<'a> Iterator for Splitter<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            self.fill();
        }
    }
}

/// Converts tokenizer locations (line, column) into byte offsets by walking the text forward.
/// Tokens arrive in order, so the walk is linear; the rare backward seek (a `COPY` payload is
/// reported before the `;` that precedes it) restarts from a checkpoint.
struct Cursor<'a> {
    text: &'a str,
    at: Pos,
    checkpoint: Pos,
}

impl Cursor<'_> {
    fn seek(&mut self, target: Location) -> Pos {
        if (target.line, target.column) < (self.at.line, self.at.column) {
            self.at = self.checkpoint;
            if (target.line, target.column) < (self.at.line, self.at.column) {
                return self.at;
            }
        }
        let bytes = self.text.as_bytes();
        while (self.at.line, self.at.column) < (target.line, target.column) {
            let Some(b) = bytes.get(self.at.offset).copied() else {
                break;
            };
            if b == b'\n' {
                self.at.line += 1;
                self.at.column = 1;
                self.at.offset += 1;
            } else {
                // Columns count characters: skip a whole UTF-8 sequence per step.
                let len = utf8_len(b);
                self.at.offset = (self.at.offset + len).min(bytes.len());
                self.at.column += 1;
            }
        }
        self.at
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xff => 4,
        // A continuation byte cannot start a character in a valid &str; step one byte.
        _ => 1,
    }
}

/// Statement-boundary state, psql style.
#[derive(Default)]
struct Depth {
    parens: u32,
    /// Inside `BEGIN ATOMIC` bodies (and the `CASE ... END` within them).
    atomic: u32,
    cases: u32,
    /// The previous significant token was `BEGIN` (waiting to see `ATOMIC`).
    after_begin: bool,
}

impl Depth {
    fn at_top(&self) -> bool {
        self.parens == 0 && self.atomic == 0
    }

    fn note(&mut self, token: &Token) {
        let was_begin = std::mem::take(&mut self.after_begin);
        match token {
            Token::LParen => self.parens += 1,
            Token::RParen => self.parens = self.parens.saturating_sub(1),
            Token::Word(w) => match w.keyword {
                Keyword::BEGIN if w.quote_style.is_none() => self.after_begin = true,
                Keyword::ATOMIC if was_begin => self.atomic += 1,
                Keyword::CASE if self.atomic > 0 => self.cases += 1,
                Keyword::END if self.atomic > 0 => {
                    if self.cases > 0 {
                        self.cases -= 1;
                    } else {
                        self.atomic -= 1;
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
}

impl<'a> Splitter<'a> {
    /// Tokenize the next window and queue the items it completes.
    fn fill(&mut self) {
        let rest_len = self.text.len() - self.pos.offset;
        if rest_len == 0 {
            self.done = true;
            return;
        }
        let mut end = self.pos.offset + self.window.min(rest_len);
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        let is_last = end >= self.text.len();
        let Some(chunk) = self.text.get(self.pos.offset..end) else {
            self.done = true;
            return;
        };

        let origin = self.pos;
        let mut buf: Vec<TokenWithSpan> = Vec::new();
        let dialect = PostgreSqlDialect {};
        let result = Tokenizer::new(&dialect, chunk)
            .with_unescape(false)
            .tokenize_with_location_into_buf_with_mapper(&mut buf, |mut t| {
                t.span = rebase_span(t.span, origin);
                t
            });
        let error = result.err();

        let mut cursor = Cursor {
            text: self.text,
            at: origin,
            checkpoint: origin,
        };
        let outcome = self.scan(buf, &mut cursor, is_last && error.is_none());
        match outcome {
            Scan::Advanced(next) => {
                // Progress was made; the next window starts after the last complete item.
                self.pos = next;
                self.window = WINDOW;
                if next.offset >= self.text.len() {
                    self.done = true;
                }
            }
            Scan::NeedMore(stmt_start) => {
                if let Some(err) = error.filter(|_| is_last) {
                    let at = rebase_location(err.location, origin);
                    let at = cursor.seek(at);
                    self.pending.push_back(Item::Error(SplitError {
                        message: err.message,
                        at,
                        unsplit: stmt_start.offset..self.text.len(),
                        statement_start: stmt_start,
                    }));
                    self.done = true;
                } else {
                    // The window ended inside a statement: look at a bigger one.
                    self.window = self.window.saturating_mul(2);
                }
            }
        }
    }

    /// Walk the tokens of one window, queueing every item that is complete.
    fn scan(
        &mut self,
        mut buf: Vec<TokenWithSpan>,
        cursor: &mut Cursor<'a>,
        final_window: bool,
    ) -> Scan {
        let mut comments: Vec<Comment<'a>> = Vec::new();
        let mut tokens: Vec<TokenWithSpan> = Vec::new();
        let mut start: Option<Pos> = None;
        let mut last_end = cursor.at;
        let mut depth = Depth::default();
        let mut copy_data: Option<(Range<usize>, bool)> = None;
        let mut copy_end: Option<Pos> = None;
        // Where the first unfinished item begins; the next window starts there.
        let mut resume = cursor.at;
        let mut progressed = false;

        let mut i = 0;
        while i < buf.len() {
            let t = &buf[i];
            i += 1;
            match &t.token {
                Token::Whitespace(Whitespace::SingleLineComment { .. })
                | Token::Whitespace(Whitespace::MultiLineComment(_)) => {
                    // Comments on the `COPY` line were already passed when the payload was.
                    if start.is_none() && t.span.start >= cursor.checkpoint.location() {
                        let s = cursor.seek(t.span.start);
                        let e = cursor.seek(t.span.end);
                        let raw = self.text.get(s.offset..e.offset).unwrap_or("");
                        // Single-line comments include their line end; keep the text clean.
                        let trimmed = raw.trim_end_matches(['\n', '\r']);
                        let e = if trimmed.len() < raw.len() {
                            Pos {
                                offset: s.offset + trimmed.len(),
                                line: s.line,
                                column: s.column + trimmed.chars().count() as u64,
                            }
                        } else {
                            e
                        };
                        comments.push(Comment {
                            text: trimmed,
                            start: s,
                            end: e,
                        });
                    }
                }
                Token::Whitespace(_) => {}
                Token::Backslash if start.is_none() => {
                    // A psql meta-command: the rest of the line, whatever it contains.
                    let s = cursor.seek(t.span.start);
                    let line_end = self.text[s.offset..]
                        .find('\n')
                        .map_or(self.text.len(), |n| s.offset + n);
                    let raw = &self.text[s.offset..line_end];
                    let raw = raw.strip_suffix('\r').unwrap_or(raw);
                    let e = Pos {
                        offset: s.offset + raw.len(),
                        line: s.line,
                        column: s.column + raw.chars().count() as u64,
                    };
                    self.pending.push_back(Item::MetaCommand(MetaCommand {
                        text: raw,
                        start: s,
                        end: e,
                        leading_comments: std::mem::take(&mut comments),
                    }));
                    progressed = true;
                    // Skip the tokens on the rest of the line. If one of them runs past the
                    // line end (an unbalanced quote in the arguments), re-tokenize from the
                    // next line instead.
                    let next_line = Pos {
                        offset: (line_end + 1).min(self.text.len()),
                        line: s.line + 1,
                        column: 1,
                    };
                    let resync = next_line.location();
                    while i < buf.len() && buf[i].span.start < resync {
                        if buf[i].span.end > resync {
                            return Scan::Advanced(next_line);
                        }
                        i += 1;
                    }
                    if i >= buf.len() && !final_window {
                        return Scan::Advanced(next_line);
                    }
                    cursor.checkpoint = cursor.seek(resync);
                    resume = cursor.at;
                    last_end = cursor.at;
                }
                Token::SemiColon if depth.at_top() => {
                    let semi_end = cursor.seek(t.span.end);
                    if let Some(s) = start.take() {
                        let body_end = last_end;
                        let text = self.text.get(s.offset..body_end.offset).unwrap_or("");
                        self.pending.push_back(Item::Statement(Statement {
                            text,
                            start: s,
                            end: body_end,
                            terminated: true,
                            leading_comments: std::mem::take(&mut comments),
                            tokens: std::mem::take(&mut tokens),
                            copy_data: copy_data.take(),
                        }));
                        progressed = true;
                    }
                    resume = semi_end;
                    // A COPY payload follows the `;` in the text; the next statement starts
                    // after it.
                    if let Some(copy_end) = copy_end.take() {
                        cursor.at = copy_end;
                        resume = copy_end;
                    }
                    cursor.checkpoint = resume;
                    last_end = resume;
                    depth = Depth::default();
                }
                Token::CopyData { terminated, .. } => {
                    if !terminated && !final_window {
                        // The payload may continue past this window.
                        break;
                    }
                    let s = cursor.seek(t.span.start);
                    let e = cursor.seek(t.span.end);
                    copy_data = Some((s.offset..e.offset, *terminated));
                    copy_end = Some(e);
                }
                other => {
                    let s = cursor.seek(t.span.start);
                    if start.is_none() {
                        start = Some(s);
                        cursor.checkpoint = s;
                    }
                    depth.note(other);
                    let span = t.span;
                    last_end = cursor.seek(span.end);
                    // Move the token out instead of cloning it: the window's buffer is
                    // dropped after this scan anyway.
                    let token = std::mem::replace(&mut buf[i - 1].token, Token::EOF);
                    tokens.push(TokenWithSpan::new(token, span));
                }
            }
        }

        if final_window {
            if let Some(s) = start.take() {
                let text = self.text.get(s.offset..last_end.offset).unwrap_or("");
                self.pending.push_back(Item::Statement(Statement {
                    text,
                    start: s,
                    end: last_end,
                    terminated: false,
                    leading_comments: std::mem::take(&mut comments),
                    tokens,
                    copy_data,
                }));
            } else if !comments.is_empty() {
                self.pending.push_back(Item::TrailingComments(comments));
            }
            let mut end = cursor.at;
            end.offset = self.text.len();
            return Scan::Advanced(end);
        }
        if progressed {
            Scan::Advanced(resume)
        } else {
            Scan::NeedMore(start.unwrap_or(resume))
        }
    }
}

enum Scan {
    /// Items were queued; continue from this position.
    Advanced(Pos),
    /// Nothing complete in this window; the unfinished statement starts here.
    NeedMore(Pos),
}

fn rebase_location(loc: Location, origin: Pos) -> Location {
    if loc.line == 0 {
        return origin.location();
    }
    if loc.line == 1 {
        Location::new(origin.line, loc.column + origin.column - 1)
    } else {
        Location::new(loc.line + origin.line - 1, loc.column)
    }
}

fn rebase_span(span: Span, origin: Pos) -> Span {
    Span::new(
        rebase_location(span.start, origin),
        rebase_location(span.end, origin),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(text: &str) -> Vec<String> {
        split(text)
            .filter_map(|i| match i {
                Item::Statement(s) => Some(s.text.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "select 1; select ';' -- ;\n; select $$a;b$$; select $x$ $$ ; $x$;";
        assert_eq!(
            statements(sql),
            vec![
                "select 1",
                "select ';'",
                "select $$a;b$$",
                "select $x$ $$ ; $x$"
            ]
        );
    }

    #[test]
    fn begin_atomic_body_is_one_statement() {
        let sql = "create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end;\nselect 3;";
        let got = statements(sql);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("end"));
        assert_eq!(got[1], "select 3");
    }

    #[test]
    fn rule_actions_in_parentheses_stay_together() {
        let sql = "create rule r as on insert to t do also (insert into a values (1); insert into b values (2));\nselect 1;";
        assert_eq!(statements(sql).len(), 2);
    }

    #[test]
    fn meta_commands_are_reported_separately() {
        let sql = "\\restrict abc\nset x = 1;\n-- hi\n\\connect db 'it''s\nselect 1;\n";
        let items: Vec<_> = split(sql).collect();
        let kinds: Vec<String> = items
            .iter()
            .map(|i| match i {
                Item::Statement(s) => format!("S:{}", s.text),
                Item::MetaCommand(m) => format!("M:{}:{}", m.name(), m.start.line),
                Item::TrailingComments(_) => "C".into(),
                Item::Error(e) => format!("E:{}", e.message),
            })
            .collect();
        assert_eq!(
            kinds,
            vec!["M:restrict:1", "S:set x = 1", "M:connect:4", "S:select 1"]
        );
        if let Item::MetaCommand(m) = &items[2] {
            assert_eq!(m.leading_comments[0].text, "-- hi");
        }
    }

    #[test]
    fn positions_are_exact_after_multibyte_text() {
        let sql = "select 'é€';\n  alter table t add column c int;";
        let st: Vec<_> = split(sql)
            .filter_map(|i| match i {
                Item::Statement(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(st[1].start.line, 2);
        assert_eq!(st[1].start.column, 3);
        assert_eq!(&sql[st[1].span()], "alter table t add column c int");
        assert_eq!(st[1].tokens[0].span.start, Location::new(2, 3));
    }

    #[test]
    fn unterminated_dollar_quote_is_an_error_with_position() {
        let sql = "select 1;\ncreate function f() returns int as $$ select 1;\n";
        let items: Vec<_> = split(sql).collect();
        assert!(matches!(&items[0], Item::Statement(s) if s.text == "select 1"));
        match &items[1] {
            Item::Error(e) => {
                assert_eq!(e.statement_start.line, 2);
                assert_eq!(e.unsplit.start, 10);
                assert!(e.message.to_lowercase().contains("dollar"), "{}", e.message);
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn leading_comments_attach_to_the_next_statement() {
        let sql = "select 1; -- formwork-ignore: x\n/* y */ select 2";
        let st: Vec<_> = split(sql)
            .filter_map(|i| match i {
                Item::Statement(s) => Some(s),
                _ => None,
            })
            .collect();
        let bodies: Vec<_> = st[1].leading_comments.iter().map(|c| c.body()).collect();
        assert_eq!(bodies, vec!["formwork-ignore: x", "y"]);
        assert!(!st[1].terminated);
    }

    #[test]
    fn copy_from_stdin_payload_is_skipped() {
        let sql = "copy t (a) from stdin;\n1\n2;3\n\\.\nselect 1;";
        let st: Vec<_> = split(sql)
            .filter_map(|i| match i {
                Item::Statement(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(st.len(), 2, "{st:?}");
        assert_eq!(st[0].text, "copy t (a) from stdin");
        let (range, terminated) = st[0].copy_data.clone().unwrap();
        assert!(terminated);
        assert_eq!(&sql[range], "1\n2;3\n\\.\n");
        assert_eq!(st[1].text, "select 1");
        assert_eq!(st[1].start.line, 5);
    }

    #[test]
    fn statements_spanning_window_boundaries_are_intact() {
        let mut sql = String::new();
        for i in 0..20_000 {
            sql.push_str(&format!(
                "insert into t values ({i}, 'long text value number {i}', $q$ body ; {i} $q$);\n"
            ));
        }
        let st = statements(&sql);
        assert_eq!(st.len(), 20_000);
        assert!(st[19_999].starts_with("insert into t values (19999,"));
        // Also a single statement bigger than a window.
        let big = format!("select '{}';select 2;", "x".repeat(3 * WINDOW));
        assert_eq!(statements(&big).len(), 2);
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            "\0\0\u{1}",
            "'",
            "\"",
            "/*",
            "$$",
            "E'\\",
            "\\",
            "(((;",
            "begin atomic",
            "\r\n;\r\n",
        ] {
            let _ = split(s).count();
        }
    }
}
