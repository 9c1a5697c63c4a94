//! The migration linter: unsafe locking in hand-written SQL migrations and in plans.
//!
//! Pipeline: [`crate::sqlfile`] splits the text into statements; [`classify`] says what each
//! statement locks, rewrites and scans; [`context`] remembers what earlier statements of the
//! file did (transactions, tables created, CHECKs validated); the rules in [`rules`] (one file
//! each, documented on their own) turn that into [`Finding`]s; `output` renders them.
//!
//! Two entry points: [`lint_source`] for a file, and [`Linter`] for callers that already have
//! statements with known transaction boundaries (the planner lints its own steps with it). The
//! linter streams: a [`Linter`] keeps per-file state, not the statements it has seen, so memory
//! does not grow with the input, and findings go to a sink as soon as they are known.
//!
//! It never connects to a database itself; facts from one (`--db`) come in as [`DbFacts`].

pub mod classify;
pub mod config;
pub mod context;
pub mod db;
pub mod output;
pub mod rules;

use std::collections::{HashMap, HashSet};

use sqlparser::tokenizer::{Location, TokenWithSpan};

use crate::sqlfile::{self, Comment, Item, Pos};
use classify::{Classified, Stmt, TokRange};
use context::State;

/// How loud a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Notice,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A rule's configured level: a severity, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Off,
    On(Severity),
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "off" | "allow" | "ignore" => Level::Off,
            "notice" | "info" => Level::On(Severity::Notice),
            "warning" | "warn" => Level::On(Severity::Warning),
            "error" | "deny" => Level::On(Severity::Error),
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::On(s) => s.as_str(),
        }
    }
}

/// The PostgreSQL version the migration will run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PgVersion {
    pub major: u32,
    pub minor: u32,
}

impl PgVersion {
    /// The version formwork assumes when none is given (the newest it was checked against
    /// lock by lock).
    pub const DEFAULT: PgVersion = PgVersion {
        major: 15,
        minor: 0,
    };

    /// `15`, `15.4`, `9.6` (old style: major 9.6 is treated as 9), or a `server_version_num`
    /// such as `150004`.
    pub fn parse(s: &str) -> Option<PgVersion> {
        let s = s.trim();
        if let Ok(n) = s.parse::<u32>() {
            if n >= 10_000 {
                return Some(PgVersion {
                    major: n / 10_000,
                    minor: n % 10_000,
                });
            }
            return (9..100)
                .contains(&n)
                .then_some(PgVersion { major: n, minor: 0 });
        }
        let mut parts = s.split('.');
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next().map_or(Some(0), |m| m.parse().ok())?;
        (9..100)
            .contains(&major)
            .then_some(PgVersion { major, minor })
    }
}

/// Facts read from a live database (`--db`) that make findings more precise.
#[derive(Debug, Clone, Default)]
pub struct DbFacts {
    /// Estimated rows per table key (`pg_class.reltuples`).
    pub row_estimates: HashMap<String, f64>,
    /// Function name (lower case, unqualified) → `pg_proc.provolatile` (`i`, `s`, `v`).
    pub volatility: HashMap<String, char>,
    /// (table key, column) proven NOT NULL by a validated CHECK or a NOT NULL column.
    pub not_null: HashSet<(String, String)>,
    /// Partitioned tables (keys) and the index names (keys) that belong to them.
    pub partitioned: HashSet<String>,
    pub partitioned_indexes: HashSet<String>,
    /// Column types: table key → column → type as `format_type` prints it.
    pub column_types: HashMap<String, HashMap<String, String>>,
    /// Tables that exist (keys); when present, a table missing from it is treated as new.
    pub tables: Option<HashSet<String>>,
    /// Domains (unqualified names, as `TypeName::base` spells them) with a CHECK or NOT NULL:
    /// PostgreSQL checks every existing row against them when a column of one is added,
    /// by rewriting the table.
    pub constrained_domains: HashSet<String>,
}

/// Options for one lint run.
#[derive(Debug, Clone)]
pub struct LintOptions {
    pub pg_version: PgVersion,
    /// Treat the file as running inside one transaction (as most migration tools run it).
    pub assume_in_transaction: bool,
    /// Levels by rule id, overriding each rule's default.
    pub levels: HashMap<String, Level>,
    pub db: Option<DbFacts>,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            pg_version: PgVersion::DEFAULT,
            assume_in_transaction: false,
            levels: HashMap::new(),
            db: None,
        }
    }
}

impl LintOptions {
    /// The effective level of a rule.
    pub fn level(&self, rule: &rules::Rule) -> Level {
        self.levels.get(rule.id).copied().unwrap_or(rule.level)
    }
}

/// A named source text (a file, or `-` for stdin).
#[derive(Debug, Clone)]
pub struct SourceText {
    pub name: String,
    pub text: String,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub help: String,
    /// The offending part (byte offsets and 1-based line/column, end exclusive).
    pub start: Pos,
    pub end: Pos,
}

/// Lint a whole source text and collect the findings in source order.
pub fn lint_source(src: &SourceText, opts: &LintOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    lint_source_with(&src.text, opts, &mut |f| out.push(f));
    out
}

/// Lint a source text, handing each finding to `sink` as soon as it is known.
pub fn lint_source_with(text: &str, opts: &LintOptions, sink: &mut dyn FnMut(Finding)) {
    let mut linter = Linter::new(opts);
    for item in sqlfile::split(text) {
        match item {
            Item::Statement(st) => linter.statement(st.text, st.start, &st.tokens, &st.leading_comments, sink),
            Item::MetaCommand(m) => linter.comments(&m.leading_comments, sink),
            Item::TrailingComments(c) => linter.comments(&c, sink),
            Item::Error(e) => linter.emit_engine(
                rules::ids::SYNTAX_ERROR,
                format!(
                    "cannot split the file into statements: {}; nothing from line {} on was checked",
                    e.message, e.statement_start.line
                ),
                "Close the string, identifier, dollar quote or comment that starts here.".into(),
                e.statement_start,
                e.at.max(e.statement_start),
                sink,
            ),
        }
    }
    linter.finish(sink);
}

/// An ignore comment and whether it suppressed anything.
struct Ignore {
    rules: Vec<(String, bool)>,
    start: Pos,
    end: Pos,
}

/// Lints statements one at a time, keeping only per-file state.
pub struct Linter<'o> {
    opts: &'o LintOptions,
    state: State,
    file_ignores: Vec<Ignore>,
    seen_statement: bool,
    /// Span of the BEGIN of the open explicit transaction.
    open_begin: Option<(Pos, Pos)>,
    /// Effective level of each rule, in `rules::all()` order (looked up once, not per
    /// statement).
    levels: Vec<Level>,
}

impl<'o> Linter<'o> {
    pub fn new(opts: &'o LintOptions) -> Linter<'o> {
        Linter {
            opts,
            state: State::new(opts.assume_in_transaction),
            file_ignores: Vec::new(),
            seen_statement: false,
            open_begin: None,
            levels: rules::all().iter().map(|r| opts.level(r)).collect(),
        }
    }

    /// Mark a transaction boundary that is not written as a statement (a plan step that the
    /// executor wraps in its own transaction, for instance).
    pub fn begin(&mut self) {
        self.state.apply(
            &Classified {
                stmt: Stmt::Begin,
                effect: Default::default(),
            },
            0,
            false,
        );
    }

    /// See [`Linter::begin`].
    pub fn commit(&mut self) {
        self.state.apply(
            &Classified {
                stmt: Stmt::Commit,
                effect: Default::default(),
            },
            0,
            false,
        );
    }

    /// File-level ignores count only before the first statement; later ones are reported as
    /// unused rather than silently applied to the rest of the file.
    fn file_level_ignores(&mut self, file: Vec<Ignore>, sink: &mut dyn FnMut(Finding)) {
        if !self.seen_statement {
            self.file_ignores.extend(file);
            return;
        }
        for ig in file {
            self.emit_engine(
                rules::ids::UNUSED_IGNORE,
                "a file-level ignore only counts before the first statement".into(),
                "Move this comment to the top of the file.".into(),
                ig.start,
                ig.end,
                sink,
            );
        }
    }

    /// Comments not followed by a statement: file-level ignores count, statement ones are unused.
    pub fn comments(&mut self, comments: &[Comment<'_>], sink: &mut dyn FnMut(Finding)) {
        let (next, file) = parse_ignores(comments);
        self.file_level_ignores(file, sink);
        for ig in next {
            self.report_unused(&ig, "it is not followed by a statement", sink);
        }
    }

    /// Lint one statement. `tokens` are the statement's tokens without whitespace, with
    /// absolute locations (as [`crate::sqlfile::Statement::tokens`]).
    pub fn statement(
        &mut self,
        text: &str,
        start: Pos,
        tokens: &[TokenWithSpan],
        leading_comments: &[Comment<'_>],
        sink: &mut dyn FnMut(Finding),
    ) {
        let (mut next, file) = parse_ignores(leading_comments);
        self.file_level_ignores(file, sink);
        self.seen_statement = true;

        let classified = classify::classify(tokens, self.opts.pg_version.major);
        let mut cx = rules::Cx {
            c: &classified,
            alter_existing: false,
            tokens,
            state: &self.state,
            pg: self.opts.pg_version,
            db: self.opts.db.as_ref(),
        };
        if let Stmt::AlterTable { table, .. } = &classified.stmt {
            cx.alter_existing = cx.existing(table);
        }
        let mut hits = Vec::new();
        let mut fired: Vec<&'static str> = Vec::new();
        for (rule, level) in rules::all().iter().zip(&self.levels) {
            let Level::On(severity) = *level else {
                continue;
            };
            hits.clear();
            (rule.check)(&cx, &mut hits);
            if !hits.is_empty() {
                fired.push(rule.id);
            }
            for hit in hits.drain(..) {
                if suppress(&mut next, rule.id) || suppress(&mut self.file_ignores, rule.id) {
                    continue;
                }
                let (s, e) = span_of(text, start, tokens, hit.toks);
                sink(Finding {
                    rule: rule.id,
                    severity,
                    message: hit.message,
                    help: hit.help.unwrap_or_else(|| rule.help.to_string()),
                    start: s,
                    end: e,
                });
            }
        }
        for ig in &next {
            self.report_unused(ig, "no finding of that rule on the next statement", sink);
        }
        match classified.stmt {
            Stmt::Begin => self.open_begin = Some(span_of(text, start, tokens, None)),
            Stmt::Commit | Stmt::Rollback => self.open_begin = None,
            _ => {}
        }
        self.state.note_reported(&fired);
        self.state
            .apply(&classified, start.line, self.opts.assume_in_transaction);
    }

    /// End of input: report what only the whole file can tell.
    pub fn finish(mut self, sink: &mut dyn FnMut(Finding)) {
        if let (true, Some((start, end))) = (self.state.explicit_tx, self.open_begin) {
            self.emit_engine_if_on(
                rules::ids::UNCOMMITTED_TRANSACTION,
                format!(
                    "the transaction opened on line {} is never committed or rolled back: its locks are held until the session ends",
                    start.line
                ),
                start,
                end,
                sink,
            );
        }
        let ignores = std::mem::take(&mut self.file_ignores);
        for ig in &ignores {
            self.report_unused(ig, "nothing in the file was suppressed by it", sink);
        }
    }

    fn report_unused(&self, ig: &Ignore, why: &str, sink: &mut dyn FnMut(Finding)) {
        for (id, used) in &ig.rules {
            if *used {
                continue;
            }
            let message = if rules::find(id).is_none() {
                format!("`{id}` is not a formwork lint rule")
            } else {
                format!("the ignore comment for `{id}` suppresses nothing: {why}")
            };
            self.emit_engine(
                rules::ids::UNUSED_IGNORE,
                message,
                "Remove it, or fix the rule id (`formwork explain --all` lists them).".into(),
                ig.start,
                ig.end,
                sink,
            );
        }
    }

    fn emit_engine_if_on(
        &self,
        id: &'static str,
        message: String,
        start: Pos,
        end: Pos,
        sink: &mut dyn FnMut(Finding),
    ) {
        let help = rules::find(id)
            .map(|r| r.help.to_string())
            .unwrap_or_default();
        self.emit_engine(id, message, help, start, end, sink);
    }

    fn emit_engine(
        &self,
        id: &'static str,
        message: String,
        help: String,
        start: Pos,
        end: Pos,
        sink: &mut dyn FnMut(Finding),
    ) {
        let Some(rule) = rules::find(id) else { return };
        let Level::On(severity) = self.opts.level(rule) else {
            return;
        };
        sink(Finding {
            rule: rule.id,
            severity,
            message,
            help,
            start,
            end,
        });
    }
}

fn suppress(ignores: &mut [Ignore], id: &str) -> bool {
    let mut hit = false;
    for ig in ignores.iter_mut() {
        for (r, used) in ig.rules.iter_mut() {
            if r == id {
                *used = true;
                hit = true;
            }
        }
    }
    hit
}

/// `-- formwork-ignore: a, b` (next statement) and `-- formwork-ignore-file: a, b`.
fn parse_ignores(comments: &[Comment<'_>]) -> (Vec<Ignore>, Vec<Ignore>) {
    let mut next = Vec::new();
    let mut file = Vec::new();
    for c in comments {
        let body = c.body();
        let (list, target) = if let Some(rest) = body.strip_prefix("formwork-ignore-file:") {
            (rest, &mut file)
        } else if let Some(rest) = body.strip_prefix("formwork-ignore:") {
            (rest, &mut next)
        } else {
            continue;
        };
        let rules: Vec<(String, bool)> = list
            .split(|ch: char| ch == ',' || ch.is_whitespace())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| (s.to_string(), false))
            .collect();
        target.push(Ignore {
            rules,
            start: c.start,
            end: c.end,
        });
    }
    (next, file)
}

/// Byte positions of a token range of a statement (the whole statement when `None`).
fn span_of(text: &str, start: Pos, tokens: &[TokenWithSpan], toks: Option<TokRange>) -> (Pos, Pos) {
    let whole = || {
        let end = pos_at(text, start, Location::new(u64::MAX, u64::MAX));
        (start, end)
    };
    let Some((s, e)) = toks else { return whole() };
    let (Some(first), Some(last)) = (tokens.get(s), tokens.get(e.saturating_sub(1).max(s))) else {
        return whole();
    };
    let a = pos_at(text, start, first.span.start);
    let b = pos_at(text, start, last.span.end);
    (a, b.max(a))
}

/// Walk `text` (which starts at `from`) to the given absolute location.
fn pos_at(text: &str, from: Pos, loc: Location) -> Pos {
    let mut at = from;
    for ch in text.chars() {
        if (at.line, at.column) >= (loc.line, loc.column) {
            break;
        }
        at.offset += ch.len_utf8();
        if ch == '\n' {
            at.line += 1;
            at.column = 1;
        } else {
            at.column += 1;
        }
    }
    at
}

/// A source file's text after decoding, and the problem decoding found, if any.
pub struct Decoded {
    pub text: String,
    pub problem: Option<Finding>,
}

/// Decode file bytes as UTF-8. Invalid bytes are replaced (so the rest of the file is still
/// checked) and reported as a `syntax-error` at the first bad byte.
pub fn decode(bytes: Vec<u8>) -> Decoded {
    match String::from_utf8(bytes) {
        Ok(text) => Decoded {
            text,
            problem: None,
        },
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let before = String::from_utf8_lossy(&bytes[..valid]);
            let line = before.matches('\n').count() as u64 + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
            let at = Pos {
                offset: valid,
                line,
                column,
            };
            let text = String::from_utf8_lossy(&bytes).into_owned();
            Decoded {
                text,
                problem: Some(Finding {
                    rule: rules::ids::SYNTAX_ERROR,
                    severity: Severity::Error,
                    message: format!(
                        "the file is not valid UTF-8 (first bad byte at offset {valid}); invalid bytes were replaced and the rest checked"
                    ),
                    help: "Save migrations as UTF-8.".into(),
                    start: at,
                    end: Pos {
                        offset: valid + 1,
                        line,
                        column: column + 1,
                    },
                }),
            }
        }
    }
}

/// Lint from a reader in bounded chunks, so memory does not grow with the input: only the
/// current chunk (about [`STREAM_CHUNK`] bytes, more while a single statement is longer) and
/// the per-file state are held. Positions in findings are those of the whole input.
///
/// A statement closed by `;` inside a chunk is exactly what splitting the whole input would
/// give (see [`crate::sqlfile`]), so only the unfinished tail of each chunk is carried over.
/// Invalid UTF-8 is replaced chunk by chunk and reported once as `syntax-error`.
pub fn lint_reader_with(
    reader: &mut dyn std::io::Read,
    opts: &LintOptions,
    sink: &mut dyn FnMut(Finding),
) -> std::io::Result<()> {
    let mut linter = Linter::new(opts);
    let mut buf: Vec<u8> = Vec::new();
    let mut base = Pos::START;
    let mut eof = false;
    let mut bad_utf8_reported = false;
    let mut want = STREAM_CHUNK;
    let mut tmp = vec![0u8; 64 * 1024];
    loop {
        while buf.len() < want && !eof {
            let n = reader.read(&mut tmp)?;
            if n == 0 {
                eof = true;
            } else {
                buf.extend_from_slice(&tmp[..n]);
            }
        }
        // Keep an incomplete UTF-8 sequence at the end for the next round.
        let (text, used): (std::borrow::Cow<'_, str>, usize) = match std::str::from_utf8(&buf) {
            Ok(t) => (t.into(), buf.len()),
            Err(e) if e.error_len().is_none() && !eof => {
                let valid = e.valid_up_to();
                (String::from_utf8_lossy(&buf[..valid]), valid)
            }
            Err(e) => {
                if !bad_utf8_reported {
                    bad_utf8_reported = true;
                    let d = decode(buf[..e.valid_up_to() + 1].to_vec());
                    if let Some(mut f) = d.problem {
                        f.start = rebase(f.start, base);
                        f.end = rebase(f.end, base);
                        sink(f);
                    }
                }
                (String::from_utf8_lossy(&buf), buf.len())
            }
        };
        let text_len = text.len();
        let mut cut: Option<Pos> = None;
        for item in sqlfile::split(&text) {
            match item {
                Item::Statement(st) if eof || (st.terminated && st.copy_data.as_ref().is_none_or(|c| c.1)) => {
                    let start = rebase(st.start, base);
                    let tokens: Vec<TokenWithSpan> = st
                        .tokens
                        .into_iter()
                        .map(|mut t| {
                            t.span = sqlparser::tokenizer::Span::new(
                                rebase_loc(t.span.start, base),
                                rebase_loc(t.span.end, base),
                            );
                            t
                        })
                        .collect();
                    let comments: Vec<Comment<'_>> = st
                        .leading_comments
                        .iter()
                        .map(|c| Comment { text: c.text, start: rebase(c.start, base), end: rebase(c.end, base) })
                        .collect();
                    linter.statement(st.text, start, &tokens, &comments, sink);
                    cut = Some(st.end);
                }
                Item::MetaCommand(m) => {
                    let comments: Vec<Comment<'_>> = m
                        .leading_comments
                        .iter()
                        .map(|c| Comment { text: c.text, start: rebase(c.start, base), end: rebase(c.end, base) })
                        .collect();
                    linter.comments(&comments, sink);
                    cut = Some(m.end);
                }
                Item::TrailingComments(c) if eof => {
                    let comments: Vec<Comment<'_>> = c
                        .iter()
                        .map(|c| Comment { text: c.text, start: rebase(c.start, base), end: rebase(c.end, base) })
                        .collect();
                    linter.comments(&comments, sink);
                }
                Item::Error(e) if eof => linter.emit_engine(
                    rules::ids::SYNTAX_ERROR,
                    format!(
                        "cannot split the file into statements: {}; nothing from line {} on was checked",
                        e.message,
                        rebase(e.statement_start, base).line
                    ),
                    "Close the string, identifier, dollar quote or comment that starts here.".into(),
                    rebase(e.statement_start, base),
                    rebase(e.at.max(e.statement_start), base),
                    sink,
                ),
                // An unfinished statement, error or comment at the end of a chunk: it is
                // split again with more input.
                _ => break,
            }
        }
        if eof {
            break;
        }
        let cut_rel = cut.unwrap_or(Pos::START);
        if cut_rel.offset == 0 {
            // Nothing complete yet: read more before trying again (doubling, so a statement
            // or an unterminated quote as long as the input costs linear time overall).
            want = buf.len().saturating_mul(2).max(STREAM_CHUNK);
            continue;
        }
        base = rebase(cut_rel, base);
        let _ = text_len;
        drop(text);
        buf.drain(..cut_rel.offset.min(used));
        want = STREAM_CHUNK;
    }
    linter.finish(sink);
    Ok(())
}

/// Bytes read per chunk by [`lint_reader_with`].
pub const STREAM_CHUNK: usize = 1 << 20;

fn rebase(p: Pos, base: Pos) -> Pos {
    Pos {
        offset: base.offset + p.offset,
        line: base.line + p.line - 1,
        column: if p.line == 1 {
            base.column + p.column - 1
        } else {
            p.column
        },
    }
}

fn rebase_loc(l: Location, base: Pos) -> Location {
    if l.line == 0 {
        return l;
    }
    Location::new(
        base.line + l.line - 1,
        if l.line == 1 {
            base.column + l.column - 1
        } else {
            l.column
        },
    )
}

#[cfg(test)]
mod stream_tests {
    use super::*;

    /// A reader that hands out a few bytes at a time, to exercise every cut.
    struct Trickle<'a>(&'a [u8], usize);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn streaming_gives_the_same_findings_as_linting_the_whole_text() {
        let mut sql = String::from("SET lock_timeout = '1s';\n");
        for i in 0..40_000 {
            match i % 7 {
                0 => sql.push_str(&format!("ALTER TABLE t{} ADD COLUMN c{i} uuid DEFAULT gen_random_uuid();\n", i % 13)),
                1 => sql.push_str(&format!("CREATE INDEX i{i} ON t{} (a);  -- é comment ; with semicolon\n", i % 13)),
                2 => sql.push_str(&format!("CREATE FUNCTION f{i}() RETURNS int AS $$\nSELECT 1; -- body ;\n$$ LANGUAGE sql;\n")),
                3 => sql.push_str("BEGIN;\nALTER TABLE t1 ADD COLUMN x int;\nUPDATE t1 SET x = 1;\nCOMMIT;\n"),
                4 => sql.push_str(&format!("-- formwork-ignore: truncate\nTRUNCATE t{};\n", i % 5)),
                5 => sql.push_str("\\connect other\n"),
                _ => sql.push_str(&format!("INSERT INTO t VALUES ({i}, 'x;y'); SELECT 'caf\u{e9}';\n")),
            }
        }
        sql.push_str("SELECT $$ never closed ;\n");
        let opts = LintOptions::default();
        let whole = lint_source(
            &SourceText {
                name: "m".into(),
                text: sql.clone(),
            },
            &opts,
        );
        let mut streamed = Vec::new();
        lint_reader_with(&mut Trickle(sql.as_bytes(), 7_777), &opts, &mut |f| {
            streamed.push(f)
        })
        .expect("in-memory reads do not fail");
        assert!(
            sql.len() > 2 * STREAM_CHUNK,
            "the input must span several chunks"
        );
        assert!(whole.len() > 10_000);
        assert_eq!(whole.len(), streamed.len());
        for (a, b) in whole.iter().zip(&streamed) {
            assert_eq!(a, b);
        }
    }
}
