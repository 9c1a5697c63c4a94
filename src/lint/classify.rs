//! The lock classifier: what a statement does to the database's locks.
//!
//! For one statement it answers which lock modes are taken on which objects, whether the table
//! is rewritten or scanned, and whether the statement may run inside a transaction block, for
//! a given PostgreSQL major version (`reference/locks-and-lint.md`, section b, observed on 15).
//! The planner labels its steps with [`Effect`]; the lint rules are written on top of
//! [`Classified`].
//!
//! It reads sqlparser's PostgreSQL token stream with a small hand-written grammar of the DDL
//! that matters for locking instead of sqlparser's AST: the AST rejects several statements a
//! linter must see (DROP INDEX CONCURRENTLY, REINDEX, CLUSTER, DO, ALTER DOMAIN, ON ONLY...),
//! and one grammar for every statement means one set of rules instead of two. Anything the
//! grammar does not know becomes [`Stmt::Other`] with its leading keywords, never an error.
//!
//! It knows only the statement itself. What earlier statements established (tables created in
//! the file, validated CHECKs, the current transaction) lives in `context`.

use std::fmt;

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

pub use crate::locks::LockMode;

/// A possibly schema-qualified object name, as written (unquoted parts folded to lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Name {
    pub schema: Option<String>,
    pub name: String,
}

impl Name {
    /// The key used to recognise the same object in two statements: unqualified names are
    /// taken to be in `public`, the default search_path.
    pub fn key(&self) -> String {
        format!(
            "{}.{}",
            self.schema.as_deref().unwrap_or("public"),
            self.name
        )
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// What kind of object a lock is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjKind {
    Table,
    Index,
    View,
    MaterializedView,
    Sequence,
    Type,
    Domain,
    /// Every table whose columns use a domain.
    TablesUsing,
}

/// An object a statement locks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Target {
    pub kind: ObjKind,
    pub name: Name,
}

/// What running a statement does, lock-wise.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Effect {
    /// The strongest mode taken on each object (a statement may take weaker ones too).
    pub locks: Vec<(LockMode, Target)>,
    /// The heap (and its indexes) is copied while the lock is held.
    pub rewrites: bool,
    /// The table is read in full while the lock is held (validation, index build).
    pub scans: bool,
    /// Whether the statement may run inside a transaction block.
    pub transactional: bool,
}

impl Effect {
    fn lock(&mut self, mode: LockMode, kind: ObjKind, name: &Name) {
        if let Some(existing) = self
            .locks
            .iter_mut()
            .find(|(_, t)| t.kind == kind && t.name == *name)
        {
            existing.0 = existing.0.max(mode);
        } else {
            self.locks.push((
                mode,
                Target {
                    kind,
                    name: name.clone(),
                },
            ));
        }
    }

    /// The strongest lock taken on any object.
    pub fn strongest(&self) -> Option<(LockMode, &Target)> {
        self.locks
            .iter()
            .max_by_key(|(m, _)| *m)
            .map(|(m, t)| (*m, t))
    }
}

/// A range of token indices inside the statement (end exclusive), for carets.
pub type TokRange = (usize, usize);

/// A column type as written, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypeName {
    /// Lower-case canonical base name (`character varying`, `integer`, `timestamp with time
    /// zone`, or a user type's name as written).
    pub base: String,
    pub mods: Vec<i64>,
    pub array: bool,
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)?;
        if !self.mods.is_empty() {
            let m: Vec<String> = self.mods.iter().map(|m| m.to_string()).collect();
            write!(f, "({})", m.join(","))?;
        }
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

impl TypeName {
    pub fn is_serial(&self) -> bool {
        matches!(
            self.base.as_str(),
            "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2"
        )
    }
}

/// How volatile a default expression is, judged from the functions it calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volatility {
    /// Constants, casts and stable or immutable built-ins: no rewrite on PostgreSQL 11+.
    NotVolatile,
    /// Calls a function known to be volatile: every row gets its own value, so a rewrite.
    Volatile,
    /// Calls a function whose volatility is not known without the catalog.
    Unknown,
}

/// A default or generation expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub volatility: Volatility,
    /// Lower-case names of the functions called (unqualified).
    pub calls: Vec<String>,
    /// The expression is the NULL literal.
    pub is_null: bool,
    pub toks: TokRange,
}

/// A column definition (CREATE TABLE or ADD COLUMN).
#[derive(Debug, Clone, Default)]
pub struct ColumnDef {
    pub name: String,
    pub ty: TypeName,
    pub not_null: bool,
    pub default: Option<Expr>,
    pub generated_stored: bool,
    pub identity: bool,
    pub check: Option<TokRange>,
    pub references: Option<(Name, TokRange)>,
    pub unique: Option<TokRange>,
    pub primary_key: Option<TokRange>,
    pub toks: TokRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    Check,
    ForeignKey,
    Unique,
    PrimaryKey,
    Exclude,
    NotNull,
}

/// A table constraint (CREATE TABLE or ADD CONSTRAINT).
#[derive(Debug, Clone)]
pub struct ConstraintDef {
    pub name: Option<String>,
    pub kind: ConstraintKind,
    pub not_valid: bool,
    pub using_index: Option<String>,
    pub columns: Vec<String>,
    /// For `CHECK (c IS NOT NULL)` (or PG 18 `NOT NULL c`): the column it proves non-null.
    pub proves_not_null: Option<String>,
    pub references: Option<Name>,
    pub toks: TokRange,
}

/// One subcommand of ALTER TABLE.
#[derive(Debug, Clone)]
pub enum AlterAction {
    AddColumn(ColumnDef),
    DropColumn {
        name: String,
    },
    AlterType {
        column: String,
        ty: TypeName,
        using: bool,
    },
    SetDefault {
        column: String,
        expr: Expr,
    },
    DropDefault {
        column: String,
    },
    SetNotNull {
        column: String,
    },
    DropNotNull {
        column: String,
    },
    /// SET STATISTICS, SET (n_distinct ...), RESET (...) on a column.
    ColumnStats,
    /// SET STORAGE, SET COMPRESSION on a column.
    ColumnStorage,
    AddIdentity {
        column: String,
    },
    ChangeIdentity {
        column: String,
    },
    DropExpression {
        column: String,
    },
    SetExpression {
        column: String,
    },
    AddConstraint(ConstraintDef),
    ValidateConstraint {
        name: String,
    },
    DropConstraint {
        name: String,
    },
    AlterConstraint,
    RenameConstraint,
    RenameColumn {
        from: String,
        to: String,
    },
    RenameTo {
        to: String,
    },
    SetSchema,
    OwnerTo,
    /// ENABLE/DISABLE TRIGGER.
    TriggerToggle,
    /// ENABLE/DISABLE/FORCE/NO FORCE ROW LEVEL SECURITY, ENABLE/DISABLE RULE.
    RowSecurity,
    ClusterOn,
    /// SET (...) / RESET (...) storage parameters; `light` when every parameter is one that
    /// takes only SHARE UPDATE EXCLUSIVE (fillfactor, autovacuum_*, ...).
    SetParams {
        light: bool,
    },
    SetLogged,
    SetUnlogged,
    SetTablespace,
    SetAccessMethod,
    ReplicaIdentity,
    Inherit {
        parent: Name,
    },
    NoInherit {
        parent: Name,
    },
    AttachPartition {
        partition: Name,
        default: bool,
    },
    DetachPartition {
        partition: Name,
        concurrently: bool,
        finalize: bool,
    },
    Other,
}

/// A statement as the classifier understands it.
#[derive(Debug, Clone)]
pub enum Stmt {
    Begin,
    Commit,
    Rollback,
    /// SAVEPOINT, RELEASE, ROLLBACK TO: no effect on transaction boundaries.
    Savepoint,
    /// `SET [LOCAL|SESSION] name = value` (name lower case, value unquoted, lower case).
    Set {
        name: String,
        value: String,
        local: bool,
    },
    AlterTable {
        table: Name,
        only: bool,
        if_exists: bool,
        actions: Vec<(AlterAction, TokRange)>,
    },
    CreateTable {
        name: Name,
        columns: Vec<ColumnDef>,
        constraints: Vec<ConstraintDef>,
        partitioned: bool,
        partition_of: Option<Name>,
        temporary: bool,
    },
    CreateIndex {
        name: Option<Name>,
        table: Name,
        unique: bool,
        concurrently: bool,
        if_not_exists: bool,
        only: bool,
        columns: usize,
    },
    DropIndex {
        names: Vec<Name>,
        concurrently: bool,
    },
    Reindex {
        concurrently: bool,
        kind: String,
        name: Name,
    },
    AlterIndex {
        name: Name,
        attach: bool,
        tablespace: bool,
    },
    DropTable {
        names: Vec<Name>,
    },
    Truncate {
        names: Vec<Name>,
        cascade: bool,
    },
    Vacuum {
        full: bool,
        names: Vec<Name>,
    },
    Analyze,
    Cluster {
        name: Option<Name>,
    },
    RefreshMatview {
        name: Name,
        concurrently: bool,
    },
    CreateTrigger {
        table: Name,
    },
    DropTrigger {
        table: Name,
    },
    /// ALTER TRIGGER ... ON table RENAME TO (ACCESS EXCLUSIVE on the table).
    AlterTrigger {
        table: Name,
    },
    CreateRule {
        table: Name,
    },
    CreatePolicy {
        table: Name,
    },
    AlterPolicy {
        table: Name,
    },
    DropPolicy {
        table: Name,
    },
    CreateDomain {
        check: Option<TokRange>,
    },
    AlterDomain {
        name: Name,
        validating_constraint: bool,
        /// `VALIDATE CONSTRAINT`: scans like a validating ADD (SHARE on every table using the
        /// domain, observed on 14 to 18), but only after a `NOT VALID` add.
        validate: bool,
    },
    CreateEnum {
        name: Name,
    },
    AlterTypeAddValue {
        ty: Name,
        value: String,
        if_not_exists: bool,
    },
    AlterTypeOther {
        ty: Name,
    },
    /// INSERT/UPDATE/DELETE/MERGE/COPY FROM into a table.
    Dml {
        table: Name,
        verb: &'static str,
    },
    /// SELECT and other reads (tables read, as far as FROM/JOIN names them).
    Select {
        tables: Vec<Name>,
    },
    LockTable {
        names: Vec<Name>,
        mode: LockMode,
    },
    CreateView {
        name: Name,
        materialized: bool,
    },
    DropView {
        names: Vec<Name>,
        materialized: bool,
    },
    AlterSequence {
        name: Name,
    },
    /// `COMMENT ON` (or `SECURITY LABEL ON`): SHARE UPDATE EXCLUSIVE on the relation commented
    /// on, when it is one (a table, column, index, view, sequence); other objects (constraints,
    /// types, schemas) take no lock that matters.
    Comment {
        on: Option<(ObjKind, Name)>,
    },
    Grant,
    /// DO blocks, function calls and other statements whose effect cannot be seen.
    Opaque {
        what: String,
    },
    /// Recognised but with no lock relevance (CREATE FUNCTION, CREATE SCHEMA, ...).
    Other {
        keywords: String,
    },
}

/// A classified statement.
#[derive(Debug, Clone)]
pub struct Classified {
    pub stmt: Stmt,
    pub effect: Effect,
}

/// Classify a statement from its tokens (whitespace removed), for a PostgreSQL major version.
pub fn classify(tokens: &[TokenWithSpan], pg_major: u32) -> Classified {
    let mut p = P { t: tokens, i: 0 };
    let stmt = p.statement();
    let effect = effect_of(&stmt, pg_major);
    Classified { stmt, effect }
}

// ---------------------------------------------------------------------------------------------
// The token grammar.

struct P<'t> {
    t: &'t [TokenWithSpan],
    i: usize,
}

fn word_of(t: &Token) -> Option<&str> {
    match t {
        Token::Word(w) => Some(&w.value),
        _ => None,
    }
}

fn fold(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_some() => Some(w.value.clone()),
        Token::Word(w) => Some(w.value.to_lowercase()),
        _ => None,
    }
}

impl<'t> P<'t> {
    fn peek(&self) -> Option<&'t Token> {
        self.t.get(self.i).map(|t| &t.token)
    }

    fn peek_at(&self, n: usize) -> Option<&'t Token> {
        self.t.get(self.i + n).map(|t| &t.token)
    }

    fn at_end(&self) -> bool {
        self.i >= self.t.len()
    }

    /// Is the token at `i + n` the unquoted keyword `kw`?
    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        match self.peek_at(n) {
            Some(Token::Word(w)) => w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw),
            _ => false,
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }

    fn eat(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Eat a sequence of keywords, all or nothing.
    fn eat_seq(&mut self, kws: &[&str]) -> bool {
        if kws.iter().enumerate().all(|(n, k)| self.is_kw_at(n, k)) {
            self.i += kws.len();
            true
        } else {
            false
        }
    }

    fn eat_tok(&mut self, tok: &Token) -> bool {
        if self.peek() == Some(tok) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// An identifier, possibly dotted; returns the last two parts.
    fn name(&mut self) -> Option<Name> {
        let first = fold(self.peek()?)?;
        self.i += 1;
        let mut parts = vec![first];
        while self.peek() == Some(&Token::Period) {
            if let Some(next) = self.peek_at(1).and_then(fold) {
                self.i += 2;
                parts.push(next);
            } else {
                break;
            }
        }
        let name = parts.pop().unwrap_or_default();
        Some(Name {
            schema: parts.pop(),
            name,
        })
    }

    fn ident(&mut self) -> Option<String> {
        let v = fold(self.peek()?)?;
        self.i += 1;
        Some(v)
    }

    /// Skip a balanced parenthesised group starting at the current `(`.
    fn skip_parens(&mut self) {
        if self.peek() != Some(&Token::LParen) {
            return;
        }
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            self.i += 1;
            match t {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// Skip to the next `,` or `)` at the current nesting level (not consumed).
    fn skip_item(&mut self) {
        while let Some(t) = self.peek() {
            match t {
                Token::Comma | Token::RParen => return,
                Token::LParen => self.skip_parens(),
                _ => self.i += 1,
            }
        }
    }

    /// Names in a parenthesised list `(a, b, c)`; expressions count as unnamed entries.
    fn paren_names(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.eat_tok(&Token::LParen) {
            return out;
        }
        loop {
            let start = self.i;
            let name = self.ident();
            self.skip_item();
            if let Some(n) = name.filter(|_| self.i == start + 1) {
                out.push(n);
            } else {
                out.push(String::new());
            }
            if !self.eat_tok(&Token::Comma) {
                break;
            }
        }
        self.eat_tok(&Token::RParen);
        out
    }

    fn name_list(&mut self) -> Vec<Name> {
        let mut out = Vec::new();
        loop {
            self.eat("only");
            match self.name() {
                Some(n) => out.push(n),
                None => break,
            }
            self.eat_tok(&Token::Mul);
            if !self.eat_tok(&Token::Comma) {
                break;
            }
        }
        out
    }

    fn rest_has_kw(&self, kw: &str) -> bool {
        (self.i..self.t.len()).any(|n| self.is_kw_at(n - self.i, kw))
    }

    fn statement(&mut self) -> Stmt {
        let lead = self.leading_keywords();
        if self.eat("begin") || self.eat_seq(&["start", "transaction"]) {
            return Stmt::Begin;
        }
        if self.eat("commit") || self.eat("end") {
            return Stmt::Commit;
        }
        if self.eat_seq(&["rollback", "to"]) || self.eat("savepoint") || self.eat("release") {
            return Stmt::Savepoint;
        }
        if self.eat("rollback") || self.eat("abort") {
            return Stmt::Rollback;
        }
        if self.is_kw("set") || self.is_kw("reset") {
            return self.set();
        }
        if self.eat("alter") {
            return self.alter(lead);
        }
        if self.eat("create") {
            return self.create(lead);
        }
        if self.eat("drop") {
            return self.drop(lead);
        }
        if self.eat("reindex") {
            self.eat_tok(&Token::LParen).then(|| {
                self.i -= 1;
                self.skip_parens()
            });
            let kind = self.ident().unwrap_or_default();
            let concurrently = self.eat("concurrently");
            let name = self.name().unwrap_or_default();
            return Stmt::Reindex {
                concurrently,
                kind,
                name,
            };
        }
        if self.eat("truncate") {
            self.eat("table");
            let names = self.name_list();
            return Stmt::Truncate {
                names,
                cascade: self.rest_has_kw("cascade"),
            };
        }
        if self.eat("vacuum") {
            let mut full = false;
            if self.peek() == Some(&Token::LParen) {
                let start = self.i;
                self.skip_parens();
                full = (start..self.i).any(|n| {
                    word_of(&self.t[n].token).is_some_and(|w| w.eq_ignore_ascii_case("full"))
                }) && !(start..self.i).any(|n| {
                    word_of(&self.t[n].token).is_some_and(|w| {
                        w.eq_ignore_ascii_case("false") || w.eq_ignore_ascii_case("off")
                    })
                });
            } else {
                while self.is_kw("full")
                    || self.is_kw("freeze")
                    || self.is_kw("verbose")
                    || self.is_kw("analyze")
                {
                    full |= self.is_kw("full");
                    self.i += 1;
                }
            }
            let names = self.name_list();
            return Stmt::Vacuum { full, names };
        }
        if self.eat("analyze") || self.eat("analyse") {
            return Stmt::Analyze;
        }
        if self.eat("cluster") {
            self.eat("verbose");
            if self.peek() == Some(&Token::LParen) {
                self.skip_parens();
            }
            return Stmt::Cluster { name: self.name() };
        }
        if self.eat_seq(&["refresh", "materialized", "view"]) {
            let concurrently = self.eat("concurrently");
            let name = self.name().unwrap_or_default();
            return Stmt::RefreshMatview { name, concurrently };
        }
        if self.eat("lock") {
            self.eat("table");
            let names = self.name_list();
            let mode = if self.eat("in") {
                let mut words = Vec::new();
                while !self.at_end() && !self.is_kw("mode") {
                    // Always advance: a non-word token here must not stall the loop.
                    if let Some(w) = self.peek().and_then(fold) {
                        words.push(w);
                    }
                    self.i += 1;
                }
                match words.join(" ").as_str() {
                    "access share" => LockMode::AccessShare,
                    "row share" => LockMode::RowShare,
                    "row exclusive" => LockMode::RowExclusive,
                    "share update exclusive" => LockMode::ShareUpdateExclusive,
                    "share" => LockMode::Share,
                    "share row exclusive" => LockMode::ShareRowExclusive,
                    "exclusive" => LockMode::Exclusive,
                    _ => LockMode::AccessExclusive,
                }
            } else {
                LockMode::AccessExclusive
            };
            return Stmt::LockTable { names, mode };
        }
        if self.is_kw("insert")
            || self.is_kw("update")
            || self.is_kw("delete")
            || self.is_kw("merge")
        {
            return self.dml();
        }
        if self.is_kw("with") {
            // A CTE: the verb of the main statement decides.
            for n in self.i..self.t.len() {
                let tok = &self.t[n].token;
                if let Some(w) = word_of(tok) {
                    for verb in ["insert", "update", "delete", "merge"] {
                        if w.eq_ignore_ascii_case(verb) {
                            self.i = n;
                            return self.dml();
                        }
                    }
                }
            }
            return Stmt::Select {
                tables: self.tables_read(),
            };
        }
        if self.eat("copy") {
            let table = self.name().unwrap_or_default();
            if self.peek() == Some(&Token::LParen) {
                self.skip_parens();
            }
            if self.eat("from") {
                return Stmt::Dml {
                    table,
                    verb: "COPY",
                };
            }
            return Stmt::Select {
                tables: vec![table],
            };
        }
        if self.is_kw("select") || self.is_kw("table") || self.is_kw("values") {
            let tables = self.tables_read();
            let calls_functions = self.t.iter().enumerate().any(|(n, t)| {
                matches!(t.token, Token::Word(_))
                    && self.t.get(n + 1).map(|t| &t.token) == Some(&Token::LParen)
                    && !is_builtin_expr_word(&t.token)
            });
            if tables.is_empty() && calls_functions {
                return Stmt::Opaque {
                    what: "a SELECT that calls functions".into(),
                };
            }
            return Stmt::Select { tables };
        }
        if self.is_kw("do") || self.is_kw("call") || self.is_kw("execute") {
            return Stmt::Opaque {
                what: lead.to_uppercase(),
            };
        }
        if self.is_kw("comment") || self.is_kw("security") {
            return self.comment();
        }
        if self.is_kw("grant") || self.is_kw("revoke") {
            return Stmt::Grant;
        }
        Stmt::Other { keywords: lead }
    }

    /// `COMMENT ON <kind> <name> IS ...` from its first word.
    fn comment(&mut self) -> Stmt {
        while !self.at_end() && !self.eat("on") {
            self.i += 1;
        }
        let kind = if self.eat("table") || self.eat_seq(&["foreign", "table"]) {
            Some(ObjKind::Table)
        } else if self.eat("index") {
            Some(ObjKind::Index)
        } else if self.eat("view") {
            Some(ObjKind::View)
        } else if self.eat_seq(&["materialized", "view"]) {
            Some(ObjKind::MaterializedView)
        } else if self.eat("sequence") {
            Some(ObjKind::Sequence)
        } else if self.eat("column") {
            // `[schema.]relation.column`: the relation is locked. A view's column is locked
            // the same way; it is recorded as a table, the likelier kind.
            let mut parts = Vec::new();
            while let Some(p) = self.peek().and_then(fold) {
                self.i += 1;
                parts.push(p);
                if !self.eat_tok(&Token::Period) {
                    break;
                }
            }
            parts.pop();
            let on = parts.pop().map(|name| {
                (
                    ObjKind::Table,
                    Name {
                        schema: parts.pop(),
                        name,
                    },
                )
            });
            return Stmt::Comment { on };
        } else {
            None
        };
        let on = kind.and_then(|k| self.name().map(|n| (k, n)));
        Stmt::Comment { on }
    }

    /// The first few words, for messages about statements that are not understood.
    fn leading_keywords(&self) -> String {
        let mut out = Vec::new();
        for t in self.t.iter().take(3) {
            match word_of(&t.token) {
                Some(w) => out.push(w.to_lowercase()),
                None => break,
            }
        }
        out.join(" ")
    }

    fn set(&mut self) -> Stmt {
        let reset = self.eat("reset");
        if !reset {
            self.eat("set");
        }
        let local = self.eat("local");
        self.eat("session");
        let mut name = String::new();
        if self.eat_seq(&["time", "zone"]) {
            name = "timezone".into();
        } else if let Some(n) = self.name() {
            name = n.to_string().to_lowercase();
        }
        let _ = self.eat("to") || self.eat_tok(&Token::Eq);
        let mut value = String::new();
        for t in &self.t[self.i.min(self.t.len())..] {
            let piece = match &t.token {
                Token::SingleQuotedString(s) => s.clone(),
                Token::Word(w) => w.value.clone(),
                Token::Number(n, _) => n.clone(),
                other => other.to_string(),
            };
            if !value.is_empty() {
                value.push(' ');
            }
            value.push_str(&piece);
        }
        if reset {
            value = "default".into();
        }
        Stmt::Set {
            name,
            value: value.to_lowercase(),
            local,
        }
    }

    fn dml(&mut self) -> Stmt {
        let verb = if self.eat("insert") {
            self.eat("into");
            "INSERT"
        } else if self.eat("update") {
            "UPDATE"
        } else if self.eat("delete") {
            self.eat("from");
            "DELETE"
        } else {
            self.eat("merge");
            self.eat("into");
            "MERGE"
        };
        self.eat("only");
        let table = self.name().unwrap_or_default();
        Stmt::Dml { table, verb }
    }

    /// Table names after FROM and JOIN (a best effort for lock-ordering rules).
    fn tables_read(&self) -> Vec<Name> {
        let mut out = Vec::new();
        let mut n = self.i;
        while n < self.t.len() {
            let is_from = self.is_kw_at(n - self.i, "from") || self.is_kw_at(n - self.i, "join");
            n += 1;
            if is_from {
                let mut p = P { t: self.t, i: n };
                p.eat("only");
                if let Some(name) = p.name() {
                    out.push(name);
                }
                n = p.i;
            }
        }
        out
    }

    fn drop(&mut self, lead: String) -> Stmt {
        if self.eat("index") {
            let concurrently = self.eat("concurrently");
            self.eat_seq(&["if", "exists"]);
            return Stmt::DropIndex {
                names: self.name_list(),
                concurrently,
            };
        }
        if self.eat("table") {
            self.eat_seq(&["if", "exists"]);
            return Stmt::DropTable {
                names: self.name_list(),
            };
        }
        if self.eat("trigger") || self.eat("rule") || self.eat("policy") {
            let policy = self
                .t
                .get(self.i.wrapping_sub(1))
                .and_then(|t| word_of(&t.token));
            let policy = policy.is_some_and(|w| w.eq_ignore_ascii_case("policy"));
            self.eat_seq(&["if", "exists"]);
            self.ident();
            self.eat("on");
            let table = self.name().unwrap_or_default();
            return if policy {
                Stmt::DropPolicy { table }
            } else {
                Stmt::DropTrigger { table }
            };
        }
        let materialized = self.eat("materialized");
        if self.eat("view") {
            self.eat_seq(&["if", "exists"]);
            return Stmt::DropView {
                names: self.name_list(),
                materialized,
            };
        }
        Stmt::Other { keywords: lead }
    }

    fn create(&mut self, lead: String) -> Stmt {
        self.eat_seq(&["or", "replace"]);
        let unique = self.eat("unique");
        if self.eat("index") {
            let concurrently = self.eat("concurrently");
            let if_not_exists = self.eat_seq(&["if", "not", "exists"]);
            let name = if self.is_kw("on") { None } else { self.name() };
            self.eat("on");
            let only = self.eat("only");
            let table = self.name().unwrap_or_default();
            if self.eat("using") {
                self.ident();
            }
            let columns = self.paren_names().len();
            return Stmt::CreateIndex {
                name,
                table,
                unique,
                concurrently,
                if_not_exists,
                only,
                columns,
            };
        }
        let mut temporary = false;
        while self.is_kw("temp")
            || self.is_kw("temporary")
            || self.is_kw("unlogged")
            || self.is_kw("global")
            || self.is_kw("local")
        {
            temporary |= self.is_kw("temp") || self.is_kw("temporary");
            self.i += 1;
        }
        if self.eat("table") {
            return self.create_table(temporary);
        }
        self.eat("constraint");
        if self.eat("trigger") {
            self.ident();
            while !self.at_end() && !self.is_kw("on") {
                self.i += 1;
            }
            self.eat("on");
            return Stmt::CreateTrigger {
                table: self.name().unwrap_or_default(),
            };
        }
        if self.eat("rule") || self.eat("policy") {
            self.ident();
            while !self.at_end() && !self.is_kw("on") && !self.is_kw("to") {
                self.i += 1;
            }
            if self.eat("to") {
                // CREATE RULE name AS ON event TO table
            } else {
                self.eat("on");
                if self.rest_has_kw("to") && lead.contains("rule") {
                    while !self.at_end() && !self.is_kw("to") {
                        self.i += 1;
                    }
                    self.eat("to");
                }
            }
            let table = self.name().unwrap_or_default();
            return if lead.contains("policy") {
                Stmt::CreatePolicy { table }
            } else {
                Stmt::CreateRule { table }
            };
        }
        if self.eat("domain") {
            let start = (self.i..self.t.len()).find(|&n| self.is_kw_at(n - self.i, "check"));
            return Stmt::CreateDomain {
                check: start.map(|s| (s, self.t.len())),
            };
        }
        if self.eat("type") {
            let name = self.name().unwrap_or_default();
            if self.eat("as") && self.eat("enum") {
                return Stmt::CreateEnum { name };
            }
            return Stmt::Other { keywords: lead };
        }
        let materialized = self.eat("materialized");
        if self.eat("view") {
            self.eat_seq(&["if", "not", "exists"]);
            return Stmt::CreateView {
                name: self.name().unwrap_or_default(),
                materialized,
            };
        }
        Stmt::Other { keywords: lead }
    }

    fn create_table(&mut self, temporary: bool) -> Stmt {
        self.eat_seq(&["if", "not", "exists"]);
        let name = self.name().unwrap_or_default();
        let mut columns = Vec::new();
        let mut constraints = Vec::new();
        let mut partition_of = None;
        if self.eat_seq(&["partition", "of"]) {
            partition_of = self.name();
        }
        if self.eat_tok(&Token::LParen) {
            loop {
                if self.peek() == Some(&Token::RParen) || self.at_end() {
                    break;
                }
                if let Some(c) = self.table_constraint() {
                    constraints.push(c);
                } else if self.is_kw("like") {
                    self.skip_item();
                } else if let Some(col) = self.column_def() {
                    columns.push(col);
                }
                self.skip_item();
                if !self.eat_tok(&Token::Comma) {
                    break;
                }
            }
            self.eat_tok(&Token::RParen);
        }
        let partitioned = self.rest_has_kw("partition")
            && (self.i..self.t.len().saturating_sub(1)).any(|n| {
                self.is_kw_at(n - self.i, "partition") && self.is_kw_at(n - self.i + 1, "by")
            });
        Stmt::CreateTable {
            name,
            columns,
            constraints,
            partitioned,
            partition_of,
            temporary,
        }
    }

    fn type_name(&mut self) -> TypeName {
        let stop = [
            "not",
            "null",
            "default",
            "constraint",
            "check",
            "references",
            "unique",
            "primary",
            "generated",
            "collate",
            "using",
        ];
        let mut words: Vec<String> = Vec::new();
        let mut mods = Vec::new();
        let mut array = false;
        let mut schema_seen = false;
        while let Some(t) = self.peek() {
            match t {
                Token::Word(w)
                    if w.quote_style.is_none()
                        && stop.iter().any(|s| w.value.eq_ignore_ascii_case(s)) =>
                {
                    break;
                }
                Token::Word(w) => {
                    if schema_seen {
                        words.clear();
                        schema_seen = false;
                    }
                    words.push(if w.quote_style.is_some() {
                        w.value.clone()
                    } else {
                        w.value.to_lowercase()
                    });
                    self.i += 1;
                }
                Token::Period => {
                    schema_seen = true;
                    self.i += 1;
                }
                Token::LParen => {
                    self.i += 1;
                    while let Some(t) = self.peek() {
                        match t {
                            Token::Number(n, _) => mods.push(n.parse().unwrap_or(-1)),
                            Token::RParen => {
                                self.i += 1;
                                break;
                            }
                            _ => {}
                        }
                        self.i += 1;
                    }
                }
                Token::LBracket => {
                    array = true;
                    self.i += 1;
                    while !self.at_end() && self.peek() != Some(&Token::RBracket) {
                        self.i += 1;
                    }
                    self.i += 1;
                }
                _ => break,
            }
            if self.is_kw("array") {
                array = true;
                self.i += 1;
            }
        }
        TypeName {
            base: canonical_type(&words.join(" ")),
            mods,
            array,
        }
    }

    fn expr_until(&mut self, stops: &[&str]) -> Expr {
        let start = self.i;
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => break,
                Token::RParen => depth -= 1,
                Token::Comma if depth == 0 => break,
                Token::Word(w)
                    if depth == 0
                        && w.quote_style.is_none()
                        && stops.iter().any(|s| w.value.eq_ignore_ascii_case(s)) =>
                {
                    break;
                }
                _ => {}
            }
            self.i += 1;
        }
        expr_of(self.t, (start, self.i))
    }

    fn column_def(&mut self) -> Option<ColumnDef> {
        let start = self.i;
        let name = self.ident()?;
        let ty = self.type_name();
        let mut col = ColumnDef {
            name,
            ty,
            ..ColumnDef::default()
        };
        const STOPS: &[&str] = &[
            "not",
            "null",
            "constraint",
            "check",
            "references",
            "unique",
            "primary",
            "generated",
            "collate",
            "default",
        ];
        loop {
            let here = self.i;
            if self.eat("constraint") {
                self.ident();
            } else if self.eat_seq(&["not", "null"]) {
                col.not_null = true;
            } else if self.eat("null") {
            } else if self.eat("default") {
                col.default = Some(self.expr_until(STOPS));
            } else if self.eat("check") {
                self.skip_parens();
                self.eat_seq(&["no", "inherit"]);
                col.check = Some((here, self.i));
            } else if self.eat("references") {
                let r = self.name().unwrap_or_default();
                if self.peek() == Some(&Token::LParen) {
                    self.skip_parens();
                }
                while self.is_kw("on") || self.is_kw("match") {
                    self.i += 1;
                    while !self.at_end()
                        && !self.is_kw("on")
                        && self.peek() != Some(&Token::Comma)
                        && self.peek() != Some(&Token::RParen)
                        && !STOPS.iter().any(|s| self.is_kw(s))
                    {
                        self.i += 1;
                    }
                }
                col.references = Some((r, (here, self.i)));
            } else if self.eat("unique") {
                self.eat_seq(&["nulls", "not", "distinct"]);
                self.eat_seq(&["nulls", "distinct"]);
                col.unique = Some((here, self.i));
            } else if self.eat_seq(&["primary", "key"]) {
                col.primary_key = Some((here, self.i));
            } else if self.eat("generated") {
                if self.eat("always") {
                } else {
                    self.eat_seq(&["by", "default"]);
                }
                self.eat("as");
                if self.eat("identity") {
                    col.identity = true;
                    if self.peek() == Some(&Token::LParen) {
                        self.skip_parens();
                    }
                } else {
                    let gstart = self.i;
                    self.skip_parens();
                    let expr = expr_of(self.t, (gstart, self.i));
                    // PostgreSQL 18 also has VIRTUAL (its default); before 18 only STORED.
                    if !self.eat("virtual") {
                        self.eat("stored");
                        col.generated_stored = true;
                    }
                    let _ = expr;
                }
            } else if self.eat("collate") {
                self.name();
            } else if self.eat("deferrable")
                || self.eat("initially")
                || self.eat_seq(&["not", "deferrable"])
            {
                self.ident();
            } else {
                break;
            }
        }
        col.toks = (start, self.i);
        Some(col)
    }

    fn table_constraint(&mut self) -> Option<ConstraintDef> {
        let start = self.i;
        let mut name = None;
        if self.eat("constraint") {
            name = self.ident();
        }
        let kind = if self.eat("check") {
            ConstraintKind::Check
        } else if self.eat_seq(&["foreign", "key"]) {
            ConstraintKind::ForeignKey
        } else if self.eat("unique") {
            self.eat_seq(&["nulls", "not", "distinct"]);
            ConstraintKind::Unique
        } else if self.eat_seq(&["primary", "key"]) {
            ConstraintKind::PrimaryKey
        } else if self.eat("exclude") {
            ConstraintKind::Exclude
        } else if name.is_some() && self.eat_seq(&["not", "null"]) {
            ConstraintKind::NotNull
        } else {
            self.i = start;
            return None;
        };
        let mut c = ConstraintDef {
            name,
            kind,
            not_valid: false,
            using_index: None,
            columns: Vec::new(),
            proves_not_null: None,
            references: None,
            toks: (start, start),
        };
        match kind {
            ConstraintKind::Check => {
                let body = self.i;
                self.skip_parens();
                let body = &self.t[body..self.i];
                c.proves_not_null = is_not_null_check(body);
                c.columns = body
                    .iter()
                    .filter_map(|t| match &t.token {
                        Token::Word(w)
                            if w.quote_style.is_some() || w.keyword == Keyword::NoKeyword =>
                        {
                            fold(&t.token)
                        }
                        _ => None,
                    })
                    .collect();
            }
            ConstraintKind::NotNull => {
                c.proves_not_null = self.ident();
            }
            ConstraintKind::Exclude => {
                if self.eat("using") {
                    self.ident();
                }
                self.skip_parens();
            }
            _ => {
                if self.eat_seq(&["using", "index"]) {
                    c.using_index = self.ident();
                } else {
                    c.columns = self.paren_names();
                }
            }
        }
        if kind == ConstraintKind::ForeignKey && self.eat("references") {
            c.references = self.name();
            if self.peek() == Some(&Token::LParen) {
                self.skip_parens();
            }
        }
        // Trailing clauses: ON DELETE ..., DEFERRABLE, NOT VALID, NO INHERIT, WHERE (...).
        while !self.at_end()
            && self.peek() != Some(&Token::Comma)
            && self.peek() != Some(&Token::RParen)
        {
            if self.eat_seq(&["not", "valid"]) {
                c.not_valid = true;
            } else if self.peek() == Some(&Token::LParen) {
                self.skip_parens();
            } else {
                self.i += 1;
            }
        }
        c.toks = (start, self.i);
        Some(c)
    }

    fn alter(&mut self, lead: String) -> Stmt {
        if self.eat("table") {
            return self.alter_table();
        }
        if self.eat("index") {
            self.eat_seq(&["if", "exists"]);
            let name = self.name().unwrap_or_default();
            let attach = self.is_kw("attach");
            let tablespace = self.eat_seq(&["set", "tablespace"]);
            return Stmt::AlterIndex {
                name,
                attach,
                tablespace,
            };
        }
        if self.eat("domain") {
            let name = self.name().unwrap_or_default();
            let add = self.eat("add");
            let set_nn = self.eat_seq(&["set", "not", "null"]);
            let validate = !add && !set_nn && self.eat_seq(&["validate", "constraint"]);
            let not_valid = self.rest_has_kw("valid")
                && (self.i..self.t.len().saturating_sub(1)).any(|n| {
                    self.is_kw_at(n - self.i, "not") && self.is_kw_at(n - self.i + 1, "valid")
                });
            return Stmt::AlterDomain {
                name,
                validating_constraint: (add && !not_valid) || set_nn,
                validate,
            };
        }
        if self.eat("type") {
            let ty = self.name().unwrap_or_default();
            if self.eat_seq(&["add", "value"]) {
                let if_not_exists = self.eat_seq(&["if", "not", "exists"]);
                let value = match self.peek() {
                    Some(Token::SingleQuotedString(s)) => s.clone(),
                    _ => String::new(),
                };
                return Stmt::AlterTypeAddValue {
                    ty,
                    value,
                    if_not_exists,
                };
            }
            return Stmt::AlterTypeOther { ty };
        }
        if self.eat("trigger") {
            self.ident();
            self.eat("on");
            return Stmt::AlterTrigger {
                table: self.name().unwrap_or_default(),
            };
        }
        if self.eat("policy") {
            self.ident();
            self.eat("on");
            return Stmt::AlterPolicy {
                table: self.name().unwrap_or_default(),
            };
        }
        if self.eat("sequence") {
            self.eat_seq(&["if", "exists"]);
            return Stmt::AlterSequence {
                name: self.name().unwrap_or_default(),
            };
        }
        if self.eat_seq(&["materialized", "view"]) || self.eat("view") {
            return Stmt::Other { keywords: lead };
        }
        Stmt::Other { keywords: lead }
    }

    fn alter_table(&mut self) -> Stmt {
        let if_exists = self.eat_seq(&["if", "exists"]);
        let only = self.eat("only");
        let table = self.name().unwrap_or_default();
        self.eat_tok(&Token::Mul);
        let mut actions = Vec::new();
        loop {
            if self.at_end() {
                break;
            }
            let start = self.i;
            let action = self.alter_action();
            // Skip whatever the action did not consume, up to the next top-level comma.
            while !self.at_end() && self.peek() != Some(&Token::Comma) {
                if self.peek() == Some(&Token::LParen) {
                    self.skip_parens();
                } else {
                    self.i += 1;
                }
            }
            actions.push((action, (start, self.i)));
            if !self.eat_tok(&Token::Comma) {
                break;
            }
        }
        Stmt::AlterTable {
            table,
            only,
            if_exists,
            actions,
        }
    }

    fn alter_action(&mut self) -> AlterAction {
        if self.eat("add") {
            if let Some(c) = self.table_constraint() {
                return AlterAction::AddConstraint(c);
            }
            self.eat("column");
            self.eat_seq(&["if", "not", "exists"]);
            return match self.column_def() {
                Some(c) => AlterAction::AddColumn(c),
                None => AlterAction::Other,
            };
        }
        if self.eat("drop") {
            if self.eat("constraint") {
                self.eat_seq(&["if", "exists"]);
                return AlterAction::DropConstraint {
                    name: self.ident().unwrap_or_default(),
                };
            }
            self.eat("column");
            self.eat_seq(&["if", "exists"]);
            return AlterAction::DropColumn {
                name: self.ident().unwrap_or_default(),
            };
        }
        if self.eat("alter") {
            if self.eat("constraint") {
                return AlterAction::AlterConstraint;
            }
            self.eat("column");
            let column = self.ident().unwrap_or_default();
            if self.eat_seq(&["set", "data", "type"]) || self.eat("type") {
                let ty = self.type_name();
                if self.eat("collate") {
                    self.name();
                }
                let using = self.eat("using");
                return AlterAction::AlterType { column, ty, using };
            }
            if self.eat_seq(&["set", "default"]) {
                let expr = self.expr_until(&[]);
                return AlterAction::SetDefault { column, expr };
            }
            if self.eat_seq(&["drop", "default"]) {
                return AlterAction::DropDefault { column };
            }
            if self.eat_seq(&["set", "not", "null"]) {
                return AlterAction::SetNotNull { column };
            }
            if self.eat_seq(&["drop", "not", "null"]) {
                return AlterAction::DropNotNull { column };
            }
            if self.eat_seq(&["drop", "expression"]) {
                return AlterAction::DropExpression { column };
            }
            if self.eat_seq(&["set", "expression"]) {
                return AlterAction::SetExpression { column };
            }
            if self.eat_seq(&["add", "generated"]) {
                return AlterAction::AddIdentity { column };
            }
            if self.eat_seq(&["set", "statistics"])
                || self.eat_seq(&["set"]) && self.peek() == Some(&Token::LParen)
                || self.eat("reset")
            {
                return AlterAction::ColumnStats;
            }
            if self.eat("storage") || self.eat("compression") {
                return AlterAction::ColumnStorage;
            }
            if self.eat("set") || self.eat("drop") {
                if self.is_kw("storage") || self.is_kw("compression") {
                    return AlterAction::ColumnStorage;
                }
                return AlterAction::ChangeIdentity { column };
            }
            if self.eat("restart") {
                return AlterAction::ChangeIdentity { column };
            }
            return AlterAction::Other;
        }
        if self.eat_seq(&["validate", "constraint"]) {
            return AlterAction::ValidateConstraint {
                name: self.ident().unwrap_or_default(),
            };
        }
        if self.eat("rename") {
            if self.eat("constraint") {
                return AlterAction::RenameConstraint;
            }
            if self.eat("to") {
                return AlterAction::RenameTo {
                    to: self.ident().unwrap_or_default(),
                };
            }
            self.eat("column");
            let from = self.ident().unwrap_or_default();
            self.eat("to");
            let to = self.ident().unwrap_or_default();
            return AlterAction::RenameColumn { from, to };
        }
        if self.eat_seq(&["set", "schema"]) {
            return AlterAction::SetSchema;
        }
        if self.eat_seq(&["owner", "to"]) {
            return AlterAction::OwnerTo;
        }
        if self.is_kw("enable") || self.is_kw("disable") || self.is_kw("force") || self.is_kw("no")
        {
            if self.is_kw_at(1, "trigger")
                || (self.is_kw_at(2, "trigger")
                    && (self.is_kw_at(1, "always") || self.is_kw_at(1, "replica")))
            {
                return AlterAction::TriggerToggle;
            }
            if self.eat_seq(&["no", "inherit"]) {
                return AlterAction::NoInherit {
                    parent: self.name().unwrap_or_default(),
                };
            }
            return AlterAction::RowSecurity;
        }
        if self.eat_seq(&["cluster", "on"]) || self.eat_seq(&["set", "without", "cluster"]) {
            return AlterAction::ClusterOn;
        }
        if self.eat_seq(&["set", "logged"]) {
            return AlterAction::SetLogged;
        }
        if self.eat_seq(&["set", "unlogged"]) {
            return AlterAction::SetUnlogged;
        }
        if self.eat_seq(&["set", "tablespace"]) {
            return AlterAction::SetTablespace;
        }
        if self.eat_seq(&["set", "access", "method"]) {
            return AlterAction::SetAccessMethod;
        }
        if self.eat_seq(&["set", "without", "oids"]) {
            return AlterAction::Other;
        }
        if (self.is_kw("set") || self.is_kw("reset")) && self.peek_at(1) == Some(&Token::LParen) {
            self.i += 1;
            let names = self.paren_names_params();
            let light = !names.is_empty() && names.iter().all(|n| light_param(n));
            return AlterAction::SetParams { light };
        }
        if self.eat_seq(&["replica", "identity"]) {
            return AlterAction::ReplicaIdentity;
        }
        if self.eat("inherit") {
            return AlterAction::Inherit {
                parent: self.name().unwrap_or_default(),
            };
        }
        if self.eat_seq(&["attach", "partition"]) {
            let partition = self.name().unwrap_or_default();
            let default = self.eat("default");
            return AlterAction::AttachPartition { partition, default };
        }
        if self.eat_seq(&["detach", "partition"]) {
            let partition = self.name().unwrap_or_default();
            let concurrently = self.eat("concurrently");
            let finalize = self.eat("finalize");
            return AlterAction::DetachPartition {
                partition,
                concurrently,
                finalize,
            };
        }
        AlterAction::Other
    }

    /// Parameter names of `(a = 1, b.c = 2)`.
    fn paren_names_params(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.eat_tok(&Token::LParen) {
            return out;
        }
        loop {
            if let Some(n) = self.name() {
                out.push(n.to_string());
            }
            self.skip_item();
            if !self.eat_tok(&Token::Comma) {
                break;
            }
        }
        self.eat_tok(&Token::RParen);
        out
    }
}

/// Storage parameters that ALTER TABLE changes under SHARE UPDATE EXCLUSIVE (PostgreSQL docs).
fn light_param(name: &str) -> bool {
    let n = name.to_lowercase();
    n == "fillfactor"
        || n == "parallel_workers"
        || n == "toast_tuple_target"
        || n == "vacuum_index_cleanup"
        || n == "vacuum_truncate"
        || n.starts_with("autovacuum_")
        || n.starts_with("toast.autovacuum_")
        || n == "log_autovacuum_min_duration"
}

/// `( col IS NOT NULL )` as a CHECK body → the column.
fn is_not_null_check(body: &[TokenWithSpan]) -> Option<String> {
    let inner: Vec<&Token> = body
        .iter()
        .map(|t| &t.token)
        .filter(|t| !matches!(t, Token::LParen | Token::RParen))
        .collect();
    if inner.len() == 4 {
        let col = fold(inner[0])?;
        let kws: Vec<Option<&str>> = inner[1..].iter().map(|t| word_of(t)).collect();
        let ok = matches!(kws.as_slice(), [Some(a), Some(b), Some(c)]
            if a.eq_ignore_ascii_case("is") && b.eq_ignore_ascii_case("not") && c.eq_ignore_ascii_case("null"));
        if ok {
            return Some(col);
        }
    }
    None
}

/// Function-like words that are syntax, not calls.
fn is_builtin_expr_word(t: &Token) -> bool {
    word_of(t).is_some_and(|w| {
        [
            "count", "exists", "coalesce", "array", "row", "values", "in", "any", "all", "cast",
            "max", "min", "sum",
        ]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
    })
}

/// Functions known to be VOLATILE in pg_proc (a default calling one of them rewrites the table).
const VOLATILE: &[&str] = &[
    "random",
    "random_normal",
    "clock_timestamp",
    "timeofday",
    "gen_random_uuid",
    "uuidv4",
    "uuidv7",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "nextval",
    "setval",
    "txid_current",
    "pg_current_xact_id",
    "gen_random_bytes",
    "gen_salt",
    "crypt",
    "statement_timestamp_volatile",
];

/// Built-ins known to be STABLE or IMMUTABLE (no rewrite on PostgreSQL 11+).
const NOT_VOLATILE: &[&str] = &[
    "now",
    "transaction_timestamp",
    "statement_timestamp",
    "current_setting",
    "lower",
    "upper",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "concat",
    "concat_ws",
    "length",
    "to_char",
    "to_jsonb",
    "to_json",
    "jsonb_build_object",
    "jsonb_build_array",
    "json_build_object",
    "json_build_array",
    "array",
    "make_date",
    "make_interval",
    "make_timestamp",
    "make_timestamptz",
    "date_trunc",
    "timezone",
    "abs",
    "round",
    "md5",
    "encode",
    "decode",
    "current_user",
    "current_schema",
    "current_database",
    "inet_client_addr",
    "numeric",
    "int4",
    "int8",
    "text",
    "jsonb",
    "interval",
    "date",
    "timestamp",
    "timestamptz",
    "uuid",
    "replace",
    "substring",
    "trim",
    "btrim",
    "format",
    "pg_backend_pid",
];

/// Judge an expression's volatility from the functions it calls.
pub fn expr_of(tokens: &[TokenWithSpan], range: TokRange) -> Expr {
    let (s, e) = (range.0.min(tokens.len()), range.1.min(tokens.len()));
    let toks = &tokens[s..e];
    let mut calls = Vec::new();
    for (n, t) in toks.iter().enumerate() {
        if let Token::Word(w) = &t.token {
            if toks.get(n + 1).map(|t| &t.token) == Some(&Token::LParen)
                && toks.get(n.wrapping_sub(1)).map(|t| &t.token) != Some(&Token::DoubleColon)
            {
                calls.push(w.value.to_lowercase());
            }
        }
    }
    let is_null =
        toks.len() == 1 && word_of(&toks[0].token).is_some_and(|w| w.eq_ignore_ascii_case("null"));
    let volatility = if calls.iter().any(|c| VOLATILE.contains(&c.as_str())) {
        Volatility::Volatile
    } else if calls.iter().all(|c| NOT_VOLATILE.contains(&c.as_str())) {
        Volatility::NotVolatile
    } else {
        Volatility::Unknown
    };
    Expr {
        volatility,
        calls,
        is_null,
        toks: (s, e),
    }
}

/// Canonical spelling of built-in type names, so that `int4` and `integer` compare equal.
pub fn canonical_type(t: &str) -> String {
    let t = t.trim();
    let c = match t {
        "int" | "int4" | "integer" => "integer",
        "int8" | "bigint" => "bigint",
        "int2" | "smallint" => "smallint",
        "varchar" | "character varying" => "character varying",
        "char" | "character" | "bpchar" => "character",
        "bool" | "boolean" => "boolean",
        "float8" | "double precision" => "double precision",
        "float4" | "real" => "real",
        "decimal" | "numeric" => "numeric",
        "timestamptz" | "timestamp with time zone" => "timestamp with time zone",
        "timestamp" | "timestamp without time zone" => "timestamp without time zone",
        "timetz" | "time with time zone" => "time with time zone",
        "time" | "time without time zone" => "time without time zone",
        "varbit" | "bit varying" => "bit varying",
        other => other,
    };
    c.to_string()
}

/// Whether changing a column from `old` to `new` keeps the stored bytes (no rewrite), as
/// confirmed on PostgreSQL 15 (`reference/locks-and-lint.md`, a.1 note 1). The timestamp /
/// timestamptz pair is handled by its own rule: it depends on the session time zone.
pub fn binary_coercible(old: &TypeName, new: &TypeName) -> bool {
    if old.array != new.array {
        return false;
    }
    if old == new {
        return true;
    }
    let (o, n) = (old.base.as_str(), new.base.as_str());
    let widen = |i: usize| match (old.mods.get(i), new.mods.get(i)) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => b >= a,
    };
    match (o, n) {
        ("character varying", "character varying") => widen(0),
        ("character varying", "text") | ("text", "character varying") => new.mods.is_empty(),
        ("citext", "text") | ("text", "citext") => true,
        ("numeric", "numeric") => {
            new.mods.is_empty()
                || (old.mods.len() == new.mods.len()
                    && widen(0)
                    && old.mods.get(1).copied().unwrap_or(0)
                        == new.mods.get(1).copied().unwrap_or(0))
        }
        ("cidr", "inet") => true,
        ("timestamp without time zone", "timestamp without time zone")
        | ("timestamp with time zone", "timestamp with time zone")
        | ("time without time zone", "time without time zone")
        | ("interval", "interval")
        | ("bit varying", "bit varying") => widen(0),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Effects.

fn effect_of(stmt: &Stmt, pg: u32) -> Effect {
    use LockMode::*;
    use ObjKind as K;
    let mut e = Effect {
        transactional: true,
        ..Effect::default()
    };
    match stmt {
        Stmt::AlterTable { table, actions, .. } => {
            for (a, _) in actions {
                let (mode, rewrite, scan) = alter_action_effect(a, pg);
                e.lock(mode, K::Table, table);
                e.rewrites |= rewrite;
                e.scans |= scan;
                match a {
                    AlterAction::AddConstraint(c) => {
                        if let Some(r) = &c.references {
                            e.lock(ShareRowExclusive, K::Table, r);
                        }
                    }
                    AlterAction::AddColumn(c) => {
                        if let Some((r, _)) = &c.references {
                            e.lock(ShareRowExclusive, K::Table, r);
                        }
                    }
                    AlterAction::AttachPartition { partition, .. } => {
                        e.lock(AccessExclusive, K::Table, partition);
                    }
                    AlterAction::DetachPartition {
                        partition,
                        concurrently,
                        ..
                    } => {
                        e.lock(AccessExclusive, K::Table, partition);
                        if *concurrently {
                            e.transactional = false;
                        }
                    }
                    AlterAction::Inherit { parent } | AlterAction::NoInherit { parent } => {
                        e.lock(ShareUpdateExclusive, K::Table, parent);
                    }
                    _ => {}
                }
            }
        }
        Stmt::CreateTable {
            name,
            columns,
            constraints,
            partition_of,
            ..
        } => {
            e.lock(AccessExclusive, K::Table, name);
            for c in columns {
                if let Some((r, _)) = &c.references {
                    e.lock(ShareRowExclusive, K::Table, r);
                }
            }
            for c in constraints {
                if let Some(r) = &c.references {
                    e.lock(ShareRowExclusive, K::Table, r);
                }
            }
            if let Some(parent) = partition_of {
                e.lock(AccessExclusive, K::Table, parent);
            }
        }
        Stmt::CreateIndex {
            table,
            concurrently,
            only,
            name,
            ..
        } => {
            if *concurrently {
                e.lock(ShareUpdateExclusive, K::Table, table);
                e.transactional = false;
            } else {
                e.lock(Share, K::Table, table);
            }
            if let Some(n) = name {
                e.lock(AccessExclusive, K::Index, n);
            }
            e.scans = !*only;
        }
        Stmt::DropIndex {
            names,
            concurrently,
        } => {
            for n in names {
                e.lock(
                    if *concurrently {
                        ShareUpdateExclusive
                    } else {
                        AccessExclusive
                    },
                    K::Index,
                    n,
                );
            }
            e.transactional = !*concurrently;
        }
        Stmt::Reindex {
            concurrently,
            kind,
            name,
        } => {
            let k = if kind == "index" { K::Index } else { K::Table };
            if *concurrently {
                e.lock(ShareUpdateExclusive, k, name);
                e.transactional = false;
            } else {
                e.lock(
                    if k == K::Index {
                        AccessExclusive
                    } else {
                        Share
                    },
                    k,
                    name,
                );
                if kind == "system" || kind == "database" || kind == "schema" {
                    e.transactional = false;
                }
            }
            e.scans = true;
        }
        Stmt::AlterIndex {
            name, tablespace, ..
        } => {
            e.lock(
                if *tablespace {
                    AccessExclusive
                } else {
                    ShareUpdateExclusive
                },
                K::Index,
                name,
            );
            e.rewrites = *tablespace;
        }
        Stmt::DropTable { names } => names
            .iter()
            .for_each(|n| e.lock(AccessExclusive, K::Table, n)),
        Stmt::Truncate { names, .. } => {
            names
                .iter()
                .for_each(|n| e.lock(AccessExclusive, K::Table, n));
            e.rewrites = true;
        }
        Stmt::Vacuum { full, names } => {
            for n in names {
                e.lock(
                    if *full {
                        AccessExclusive
                    } else {
                        ShareUpdateExclusive
                    },
                    K::Table,
                    n,
                );
            }
            e.rewrites = *full;
            e.scans = true;
            e.transactional = false;
        }
        Stmt::Cluster { name } => {
            if let Some(n) = name {
                e.lock(AccessExclusive, K::Table, n);
            }
            e.rewrites = true;
            e.scans = true;
            // CLUSTER without a table name cannot run in a transaction block.
            e.transactional = name.is_some();
        }
        Stmt::RefreshMatview { name, concurrently } => {
            e.lock(
                if *concurrently {
                    Exclusive
                } else {
                    AccessExclusive
                },
                K::MaterializedView,
                name,
            );
            e.rewrites = !*concurrently;
            e.scans = true;
        }
        Stmt::CreateTrigger { table } => e.lock(ShareRowExclusive, K::Table, table),
        Stmt::DropTrigger { table }
        | Stmt::AlterTrigger { table }
        | Stmt::CreateRule { table }
        | Stmt::CreatePolicy { table }
        | Stmt::AlterPolicy { table }
        | Stmt::DropPolicy { table } => e.lock(AccessExclusive, K::Table, table),
        Stmt::AlterDomain {
            name,
            validating_constraint,
            validate,
        } if *validating_constraint || *validate => {
            e.lock(Share, K::TablesUsing, name);
            e.scans = true;
        }
        Stmt::AlterTypeAddValue { ty, .. } => {
            e.lock(Exclusive, K::Type, ty);
            e.transactional = pg >= 12;
        }
        Stmt::AlterTypeOther { ty } => e.lock(AccessExclusive, K::Type, ty),
        Stmt::Dml { table, .. } => e.lock(RowExclusive, K::Table, table),
        Stmt::Select { tables } => tables.iter().for_each(|t| e.lock(AccessShare, K::Table, t)),
        Stmt::LockTable { names, mode } => names.iter().for_each(|n| e.lock(*mode, K::Table, n)),
        Stmt::CreateView { name, materialized } => {
            e.lock(
                AccessExclusive,
                if *materialized {
                    K::MaterializedView
                } else {
                    K::View
                },
                name,
            );
            e.scans = *materialized;
        }
        Stmt::DropView {
            names,
            materialized,
        } => names.iter().for_each(|n| {
            e.lock(
                AccessExclusive,
                if *materialized {
                    K::MaterializedView
                } else {
                    K::View
                },
                n,
            )
        }),
        Stmt::AlterSequence { name } => e.lock(ShareRowExclusive, K::Sequence, name),
        Stmt::Comment {
            on: Some((kind, name)),
        } => e.lock(ShareUpdateExclusive, *kind, name),
        Stmt::Other { keywords }
            if keywords.starts_with("create database")
                || keywords.starts_with("drop database")
                || keywords.starts_with("alter system")
                || keywords.starts_with("create tablespace")
                || keywords.starts_with("drop tablespace") =>
        {
            e.transactional = false;
        }
        _ => {}
    }
    e
}

/// Lock mode, rewrite and scan of one ALTER TABLE subcommand (section b.2).
pub fn alter_action_effect(a: &AlterAction, pg: u32) -> (LockMode, bool, bool) {
    use LockMode::*;
    match a {
        AlterAction::AddColumn(c) => {
            let volatile_default = c
                .default
                .as_ref()
                .is_some_and(|d| d.volatility == Volatility::Volatile || (pg < 11 && !d.is_null));
            let rewrite = volatile_default || c.generated_stored || c.identity || c.ty.is_serial();
            let scan =
                rewrite || c.check.is_some() || c.unique.is_some() || c.primary_key.is_some();
            (AccessExclusive, rewrite, scan)
        }
        AlterAction::AlterType { .. } => (AccessExclusive, true, true),
        // PostgreSQL 17+: a stored generated column's values are recomputed by rewriting the
        // table (observed on 18). The statement does not say whether the column is virtual
        // (18, no rewrite), so this errs on the side of the rewrite.
        AlterAction::SetExpression { .. } => (AccessExclusive, true, true),
        AlterAction::SetNotNull { .. } => (AccessExclusive, false, true),
        AlterAction::ColumnStats | AlterAction::ClusterOn => (ShareUpdateExclusive, false, false),
        AlterAction::SetParams { light: true } => (ShareUpdateExclusive, false, false),
        AlterAction::AddConstraint(c) => match c.kind {
            ConstraintKind::ForeignKey => (ShareRowExclusive, false, !c.not_valid),
            ConstraintKind::Check | ConstraintKind::NotNull => {
                (AccessExclusive, false, !c.not_valid)
            }
            ConstraintKind::Unique | ConstraintKind::PrimaryKey => {
                (AccessExclusive, false, c.using_index.is_none())
            }
            ConstraintKind::Exclude => (AccessExclusive, false, true),
        },
        AlterAction::ValidateConstraint { .. } => (ShareUpdateExclusive, false, true),
        AlterAction::TriggerToggle => (ShareRowExclusive, false, false),
        AlterAction::SetLogged | AlterAction::SetUnlogged | AlterAction::SetTablespace => {
            (AccessExclusive, true, false)
        }
        AlterAction::SetAccessMethod => (AccessExclusive, true, false),
        AlterAction::AttachPartition { .. } => (
            if pg >= 12 {
                ShareUpdateExclusive
            } else {
                AccessExclusive
            },
            false,
            true,
        ),
        AlterAction::DetachPartition {
            concurrently: true, ..
        } => (ShareUpdateExclusive, false, false),
        _ => (AccessExclusive, false, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlfile::{Item, split};

    fn one(sql: &str) -> Classified {
        let st = split(sql)
            .find_map(|i| match i {
                Item::Statement(s) => Some(s),
                _ => None,
            })
            .expect("a statement");
        classify(&st.tokens, 15)
    }

    #[test]
    fn set_expression_rewrites_the_table() {
        let c = one("alter table t alter column b set expression as (a * 3)");
        assert!(c.effect.rewrites);
        assert_eq!(c.effect.locks[0].0, LockMode::AccessExclusive);
        assert!(
            !one("alter table t alter column b drop expression")
                .effect
                .rewrites
        );
    }

    #[test]
    fn comments_on_relations_take_share_update_exclusive_on_them() {
        let c = one(r#"comment on column s."T".c is 'x'"#);
        assert_eq!(c.effect.locks.len(), 1);
        assert_eq!(c.effect.locks[0].0, LockMode::ShareUpdateExclusive);
        assert_eq!(c.effect.locks[0].1.kind, ObjKind::Table);
        assert_eq!(c.effect.locks[0].1.name.to_string(), "s.T");
        let c = one("comment on table t is null");
        assert_eq!(c.effect.locks[0].1.name.to_string(), "t");
        let c = one("comment on index s.i is 'x'");
        assert_eq!(c.effect.locks[0].1.kind, ObjKind::Index);
        let c = one("comment on materialized view m is 'x'");
        assert_eq!(c.effect.locks[0].1.kind, ObjKind::MaterializedView);
        // A constraint's comment takes only ACCESS SHARE on its table (observed on 15).
        assert!(
            one("comment on constraint c on t is 'x'")
                .effect
                .locks
                .is_empty()
        );
        assert!(one("comment on type e is 'x'").effect.locks.is_empty());
    }

    /// What formwork's trigger and function steps take, as the plan proof observed it.
    #[test]
    fn trigger_statements_lock_their_table_and_function_statements_none() {
        let mode = |sql: &str| {
            let c = one(sql);
            assert_eq!(c.effect.locks.len(), 1, "{sql}");
            assert_eq!(c.effect.locks[0].1.name.to_string(), "s.t", "{sql}");
            c.effect.locks[0].0
        };
        for sql in [
            "create trigger tr before update on s.t for each row execute function f()",
            "create or replace trigger tr after insert or update of a on s.t execute function f()",
            "create constraint trigger tr after insert on s.t deferrable initially deferred \
             for each row execute function f()",
            "alter table s.t disable trigger tr",
            "alter table s.t enable replica trigger tr",
        ] {
            assert_eq!(mode(sql), LockMode::ShareRowExclusive, "{sql}");
        }
        for sql in [
            "drop trigger tr on s.t",
            "alter trigger tr on s.t rename to tr2",
        ] {
            assert_eq!(mode(sql), LockMode::AccessExclusive, "{sql}");
        }
        for sql in [
            "create or replace function s.f(a integer) returns integer language sql as $$select a$$",
            "create procedure s.p() language sql as $$select 1$$",
            "drop function s.f(integer)",
            "drop procedure s.p()",
            "alter function s.f(integer) rename to g",
            "comment on function s.f(integer) is 'x'",
        ] {
            assert!(one(sql).effect.locks.is_empty(), "{sql}");
        }
    }

    #[test]
    fn create_index_takes_share_and_concurrently_is_not_transactional() {
        let c = one("create index i on s.t (a)");
        assert_eq!(c.effect.locks[0].0, LockMode::Share);
        assert_eq!(c.effect.locks[0].1.name.to_string(), "s.t");
        assert!(c.effect.transactional);
        let c = one("create index concurrently i on t (a)");
        assert_eq!(c.effect.locks[0].0, LockMode::ShareUpdateExclusive);
        assert!(!c.effect.transactional);
    }

    #[test]
    fn alter_table_takes_the_strictest_lock_of_its_subcommands() {
        let c = one("alter table t alter column a set statistics 100, set (fillfactor = 70)");
        assert_eq!(
            c.effect.strongest().map(|l| l.0),
            Some(LockMode::ShareUpdateExclusive)
        );
        let c = one("alter table t add column b int, alter column a set statistics 100");
        assert_eq!(
            c.effect.strongest().map(|l| l.0),
            Some(LockMode::AccessExclusive)
        );
    }

    #[test]
    fn foreign_key_locks_both_tables() {
        let c = one("alter table a add constraint f foreign key (x) references b (id) not valid");
        let modes: Vec<_> = c
            .effect
            .locks
            .iter()
            .map(|(m, t)| (*m, t.name.name.clone()))
            .collect();
        assert_eq!(
            modes,
            vec![
                (LockMode::ShareRowExclusive, "a".into()),
                (LockMode::ShareRowExclusive, "b".into())
            ]
        );
        assert!(!c.effect.scans);
    }

    #[test]
    fn volatile_defaults_rewrite_constant_ones_do_not() {
        assert!(
            one("alter table t add column c uuid default gen_random_uuid()")
                .effect
                .rewrites
        );
        assert!(
            !one("alter table t add column c timestamptz not null default now()")
                .effect
                .rewrites
        );
        assert!(
            !one("alter table t add column c int default 0")
                .effect
                .rewrites
        );
        let c = classify(
            &split("alter table t add column c int default 0")
                .find_map(|i| match i {
                    Item::Statement(s) => Some(s.tokens),
                    _ => None,
                })
                .unwrap_or_default(),
            10,
        );
        assert!(c.effect.rewrites, "PostgreSQL 10 rewrites for any default");
    }

    #[test]
    fn statements_sqlparser_rejects_are_classified() {
        assert!(matches!(
            one("drop index concurrently if exists i").stmt,
            Stmt::DropIndex {
                concurrently: true,
                ..
            }
        ));
        assert!(matches!(
            one("reindex table concurrently t").stmt,
            Stmt::Reindex {
                concurrently: true,
                ..
            }
        ));
        assert!(matches!(
            one("cluster t using i").stmt,
            Stmt::Cluster { .. }
        ));
        assert!(matches!(
            one("alter domain d add constraint c check (value > 0)").stmt,
            Stmt::AlterDomain {
                validating_constraint: true,
                ..
            }
        ));
        assert!(matches!(
            one("alter domain d validate constraint c").stmt,
            Stmt::AlterDomain {
                validating_constraint: false,
                validate: true,
                ..
            }
        ));
        assert!(matches!(
            one("alter domain d add constraint c check (value > 0) not valid").stmt,
            Stmt::AlterDomain {
                validating_constraint: false,
                validate: false,
                ..
            }
        ));
        assert!(matches!(
            one("do $$ begin null; end $$").stmt,
            Stmt::Opaque { .. }
        ));
    }

    #[test]
    fn lock_table_with_a_malformed_mode_terminates() {
        // Found by the fuzzer: a non-word token after IN used to loop forever.
        let c = one("lock table t in 1 2 ( mode");
        assert!(matches!(
            c.stmt,
            Stmt::LockTable {
                mode: LockMode::AccessExclusive,
                ..
            }
        ));
        let c = one("lock t in share row exclusive mode");
        assert!(matches!(
            c.stmt,
            Stmt::LockTable {
                mode: LockMode::ShareRowExclusive,
                ..
            }
        ));
    }

    #[test]
    fn binary_coercible_changes_are_recognised() {
        let t = |s: &str| {
            let toks = split(&format!("alter table t alter column c type {s}"))
                .find_map(|i| match i {
                    Item::Statement(s) => Some(s.tokens),
                    _ => None,
                })
                .unwrap_or_default();
            match classify(&toks, 15).stmt {
                Stmt::AlterTable { actions, .. } => match &actions[0].0 {
                    AlterAction::AlterType { ty, .. } => ty.clone(),
                    _ => TypeName::default(),
                },
                _ => TypeName::default(),
            }
        };
        assert!(binary_coercible(&t("varchar(10)"), &t("varchar(20)")));
        assert!(binary_coercible(&t("varchar(10)"), &t("text")));
        assert!(!binary_coercible(&t("varchar(20)"), &t("varchar(10)")));
        assert!(!binary_coercible(&t("int"), &t("bigint")));
        assert!(binary_coercible(&t("numeric(10,2)"), &t("numeric(12,2)")));
        assert!(!binary_coercible(&t("numeric(10,2)"), &t("numeric(10,3)")));
        assert!(!binary_coercible(&t("text"), &t("varchar(5)")));
        assert!(binary_coercible(&t("cidr"), &t("inet")));
    }
}
