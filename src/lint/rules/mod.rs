//! The rule registry. Each rule is one file in this folder; its `DOC` constant is its
//! documentation (sections "What it flags", "Lock taken and what it blocks", "Instead",
//! "PostgreSQL versions"), printed by `formwork explain` and collected into
//! `docs/lint-rules.md` by [`markdown`], so the docs cannot drift from the code.
//!
//! A rule sees one classified statement and the file's state before it ([`Cx`]) and pushes
//! [`Hit`]s; the engine adds the id, the configured severity, suppression and positions.

use sqlparser::tokenizer::TokenWithSpan;

use super::classify::{AlterAction, Classified, Name, TokRange, TypeName};
use super::context::State;
use super::{DbFacts, Level, PgVersion, Severity};

/// One lint rule.
pub struct Rule {
    /// Stable kebab-case id, used in output, config and ignore comments.
    pub id: &'static str,
    /// Default level.
    pub level: Level,
    /// One line: what the rule catches.
    pub summary: &'static str,
    /// The default "help" shown with a finding: the safe alternative, briefly.
    pub help: &'static str,
    /// Markdown documentation.
    pub doc: &'static str,
    pub check: fn(&Cx<'_>, &mut Vec<Hit>),
}

/// What a rule reports: where (a token range of the statement, or the whole statement) and why.
pub struct Hit {
    pub toks: Option<TokRange>,
    pub message: String,
    /// Overrides the rule's default help.
    pub help: Option<String>,
}

impl Hit {
    pub fn at(toks: TokRange, message: impl Into<String>) -> Hit {
        Hit {
            toks: Some(toks),
            message: message.into(),
            help: None,
        }
    }

    pub fn stmt(message: impl Into<String>) -> Hit {
        Hit {
            toks: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Hit {
        self.help = Some(help.into());
        self
    }
}

/// What a rule can look at.
pub struct Cx<'a> {
    pub c: &'a Classified,
    /// For ALTER TABLE: whether its table existed before the file (computed once, since most
    /// rules ask).
    pub alter_existing: bool,
    pub tokens: &'a [TokenWithSpan],
    pub state: &'a State,
    pub pg: PgVersion,
    pub db: Option<&'a DbFacts>,
}

impl Cx<'_> {
    /// Whether the table existed before this file, so other sessions may be using it.
    pub fn existing(&self, n: &Name) -> bool {
        let key = n.key();
        if !self.state.preexisting(&key) || self.creates(n) {
            return false;
        }
        match self.db.and_then(|d| d.tables.as_ref()) {
            Some(tables) => tables.contains(&key),
            None => true,
        }
    }

    /// Whether this very statement creates the object (its own lock on it blocks nobody).
    pub fn creates(&self, n: &Name) -> bool {
        use super::classify::Stmt;
        let same = |m: &Name| {
            m.name == n.name && (m.schema == n.schema || m.schema.is_none() || n.schema.is_none())
        };
        match &self.c.stmt {
            Stmt::CreateTable { name, .. } | Stmt::CreateView { name, .. } => same(name),
            Stmt::CreateIndex {
                name: Some(name), ..
            } => same(name),
            _ => false,
        }
    }

    /// The subcommands of an ALTER TABLE on a table that existed before the file.
    pub fn alter(&self) -> Option<(&Name, &[(AlterAction, TokRange)])> {
        match &self.c.stmt {
            super::classify::Stmt::AlterTable { table, actions, .. } if self.alter_existing => {
                Some((table, actions.as_slice()))
            }
            _ => None,
        }
    }

    /// The type a column had before this statement, if the file or the database says.
    pub fn old_type(&self, table: &Name, column: &str) -> Option<TypeName> {
        let key = table.key();
        if let Some(t) = self.state.columns.get(&key).and_then(|c| c.get(column)) {
            return Some(t.clone());
        }
        let printed = self.db?.column_types.get(&key)?.get(column)?;
        Some(parse_type(printed))
    }

    /// Whether `column` is known non-null (so SET NOT NULL needs no scan).
    pub fn proven_not_null(&self, table: &Name, column: &str) -> bool {
        let key = table.key();
        self.state.proven_not_null(&key, column)
            || self
                .db
                .is_some_and(|d| d.not_null.contains(&(key.clone(), column.to_string())))
    }

    pub fn partitioned(&self, table: &Name) -> bool {
        let key = table.key();
        self.state.partitioned.contains(&key)
            || self.db.is_some_and(|d| d.partitioned.contains(&key))
    }

    /// Estimated rows, when `--db` gave them: used to word messages.
    pub fn rows(&self, table: &Name) -> Option<f64> {
        self.db?.row_estimates.get(&table.key()).copied()
    }

    /// " (about N rows)" when the size is known.
    pub fn size_note(&self, table: &Name) -> String {
        match self.rows(table) {
            Some(r) if r >= 0.0 => format!(" (about {} rows)", r.round() as i64),
            _ => String::new(),
        }
    }
}

/// Parse a type as `format_type` prints it (for `--db` column types).
pub fn parse_type(printed: &str) -> TypeName {
    let toks = crate::sqlfile::split(&format!("select null::{printed}"))
        .find_map(|i| match i {
            crate::sqlfile::Item::Statement(s) => Some(s.tokens),
            _ => None,
        })
        .unwrap_or_default();
    let mut base = Vec::new();
    let mut mods = Vec::new();
    let mut array = false;
    for t in toks.iter().skip(3) {
        match &t.token {
            sqlparser::tokenizer::Token::Word(w) => base.push(w.value.to_lowercase()),
            sqlparser::tokenizer::Token::Number(n, _) => mods.push(n.parse().unwrap_or(-1)),
            sqlparser::tokenizer::Token::LBracket => array = true,
            _ => {}
        }
    }
    TypeName {
        base: super::classify::canonical_type(&base.join(" ")),
        mods,
        array,
    }
}

/// Ids of the findings the engine itself produces.
pub mod ids {
    pub const SYNTAX_ERROR: &str = "syntax-error";
    pub const UNUSED_IGNORE: &str = "unused-ignore";
    pub const UNCOMMITTED_TRANSACTION: &str = "uncommitted-transaction";
}

/// A rule whose findings the engine produces (no per-statement check).
pub fn engine_only(_: &Cx<'_>, _: &mut Vec<Hit>) {}

pub const ERROR: Level = Level::On(Severity::Error);
pub const WARNING: Level = Level::On(Severity::Warning);
pub const NOTICE: Level = Level::On(Severity::Notice);
pub const OFF: Level = Level::Off;

macro_rules! rules {
    ($($module:ident),* $(,)?) => {
        $(mod $module;)*
        /// Every rule, in documentation order.
        pub fn all() -> &'static [Rule] {
            static ALL: &[Rule] = &[$($module::RULE),*];
            ALL
        }
    };
}

rules!(
    add_column_volatile_default,
    add_column_constrained_domain,
    add_column_stored_generated,
    add_column_serial_or_identity,
    add_column_required,
    change_column_type_rewrite,
    change_column_type_revalidates_constraints,
    timestamptz_needs_utc_session,
    set_not_null_scan,
    add_check_validating,
    add_foreign_key_validating,
    validate_in_same_transaction,
    add_unique_constraint,
    add_primary_key,
    pk_using_index_implicit_not_null,
    add_exclusion_constraint,
    vacuum_full_or_cluster,
    set_logged_unlogged,
    set_tablespace,
    set_access_method,
    refresh_matview_blocking,
    truncate,
    create_index_non_concurrent,
    drop_index_non_concurrent,
    reindex_non_concurrent,
    concurrently_in_transaction,
    concurrent_index_invalid_leftover,
    partitioned_index_build,
    partitioned_index_drop,
    concurrent_index_pg14_bug,
    index_too_many_columns,
    detach_partition_non_concurrent,
    attach_partition_scan,
    require_lock_timeout,
    require_statement_timeout,
    lock_held_across_statements,
    backfill_in_ddl_transaction,
    multiple_alter_same_table,
    lock_upgrade_deadlock,
    drop_fk_locks_referenced_table,
    create_table_fk_locks_referenced,
    trigger_ddl_lock,
    rule_policy_rls_ddl_lock,
    alter_domain_add_constraint,
    enum_value_used_same_tx,
    transaction_nesting,
    uncommitted_transaction,
    prefer_robust_stmts,
    opaque_sql,
    syntax_error,
    unused_ignore,
    drop_column,
    drop_table,
    drop_schema_or_database,
    rename_column,
    rename_table,
    set_schema,
    drop_not_null,
    drop_object,
    identifier_too_long,
    unique_may_fail,
    prefer_jsonb,
    avoid_enum,
    prefer_text,
    ban_char,
    prefer_timestamptz,
    prefer_bigint,
    prefer_identity,
);

/// Look a rule up by id.
pub fn find(id: &str) -> Option<&'static Rule> {
    all().iter().find(|r| r.id == id)
}

/// One rule's page: title, default level, then its documentation.
pub fn explain(rule: &Rule) -> String {
    format!(
        "## `{}`\n\n{}\n\nDefault level: **{}**.\n\n{}\n",
        rule.id,
        rule.summary,
        rule.level.as_str(),
        rule.doc.trim()
    )
}

/// The whole `docs/lint-rules.md`.
pub fn markdown() -> String {
    let mut out = String::from(
        "# formwork lint rules\n\n\
         <!-- Generated from the rule files in src/lint/rules by `formwork explain --all --markdown`. Do not edit. -->\n\n\
         Suppress a rule for the next statement with `-- formwork-ignore: rule-id[, rule-id]`, or for a\n\
         whole file with `-- formwork-ignore-file: rule-id` before its first statement. Set levels in\n\
         `formwork.kdl` (`lint { rule \"rule-id\" level=\"off\" }`).\n\n\
         | rule | default | what it flags |\n|---|---|---|\n",
    );
    for r in all() {
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} |\n",
            r.id,
            r.id,
            r.level.as_str(),
            r.summary
        ));
    }
    out.push('\n');
    for r in all() {
        out.push_str(&explain(r));
        out.push('\n');
    }
    out
}

/// What every rule file imports, plus helpers several rules share.
pub(crate) mod prelude {
    pub use super::{Cx, ERROR, Hit, NOTICE, OFF, Rule, WARNING};
    pub use crate::lint::classify::{
        AlterAction, ConstraintKind, Expr, LockMode, Name, ObjKind, Stmt, Target, TokRange,
        TypeName, Volatility, binary_coercible,
    };
    pub use crate::lint::context::{Held, is_bookkeeping};
    pub use sqlparser::tokenizer::Token;

    /// The source text of a token range, re-joined (for messages).
    pub fn expr_text(cx: &Cx<'_>, toks: TokRange) -> String {
        let (s, e) = (toks.0.min(cx.tokens.len()), toks.1.min(cx.tokens.len()));
        let mut out = String::new();
        for t in &cx.tokens[s..e] {
            let piece = t.token.to_string();
            let glue = matches!(
                t.token,
                Token::LParen | Token::RParen | Token::Comma | Token::Period | Token::DoubleColon
            ) || out.ends_with('(')
                || out.ends_with('.')
                || out.ends_with("::");
            if !out.is_empty() && !glue {
                out.push(' ');
            }
            out.push_str(&piece);
        }
        if out.chars().count() > 60 {
            let cut: String = out.chars().take(57).collect();
            return format!("{cut}...");
        }
        out
    }

    /// Volatility of a default, refined with `pg_proc` when `--db` gave it.
    pub fn volatility(cx: &Cx<'_>, d: &Expr) -> Volatility {
        let Some(db) = cx.db.filter(|db| !db.volatility.is_empty()) else {
            return d.volatility;
        };
        let mut unknown = false;
        for call in &d.calls {
            match db.volatility.get(call) {
                Some('v') => return Volatility::Volatile,
                Some(_) => {}
                None => unknown = true,
            }
        }
        if unknown {
            d.volatility
        } else {
            Volatility::NotVolatile
        }
    }

    /// `timestamp` to `timestamptz` or back.
    pub fn is_timestamp_pair(old: &TypeName, new: &TypeName) -> bool {
        let a = old.base.as_str();
        let b = new.base.as_str();
        a != b && a.starts_with("timestamp") && b.starts_with("timestamp") && old.array == new.array
    }

    /// Whether an index (by name) belongs to a partitioned table.
    pub fn is_partitioned_index(cx: &Cx<'_>, index: &Name) -> bool {
        let key = index.key();
        cx.state
            .indexes
            .get(&key)
            .is_some_and(|t| cx.state.partitioned.contains(t))
            || cx.db.is_some_and(|d| d.partitioned_indexes.contains(&key))
    }

    /// The strongest traffic-blocking lock this statement takes on an existing object.
    pub fn blocking_lock<'a>(cx: &'a Cx<'_>) -> Option<(LockMode, &'a Target)> {
        cx.c.effect
            .locks
            .iter()
            .filter(|(m, t)| {
                m.blocks_traffic()
                    && matches!(
                        t.kind,
                        ObjKind::Table
                            | ObjKind::Index
                            | ObjKind::MaterializedView
                            | ObjKind::View
                            | ObjKind::TablesUsing
                    )
                    && cx.existing(&t.name)
            })
            .max_by_key(|(m, _)| *m)
            .map(|(m, t)| (*m, t))
    }

    /// Statements that do not prolong a held lock in a way the author controls.
    pub fn is_boundary_or_bookkeeping(cx: &Cx<'_>) -> bool {
        match &cx.c.stmt {
            Stmt::Begin | Stmt::Commit | Stmt::Rollback | Stmt::Savepoint | Stmt::Set { .. } => {
                true
            }
            Stmt::Dml { table, .. } => is_bookkeeping(&table.key()),
            Stmt::CreateTable { name, .. } => is_bookkeeping(&name.key()),
            _ => false,
        }
    }

    /// Column types this statement declares: (column, type, token range), from CREATE TABLE,
    /// ADD COLUMN and ALTER COLUMN ... TYPE.
    pub fn column_types<'a>(cx: &'a Cx<'_>) -> Vec<(&'a str, &'a TypeName, TokRange)> {
        match &cx.c.stmt {
            Stmt::CreateTable { columns, .. } => columns
                .iter()
                .map(|c| (c.name.as_str(), &c.ty, c.toks))
                .collect(),
            Stmt::AlterTable { actions, .. } => actions
                .iter()
                .filter_map(|(a, r)| match a {
                    AlterAction::AddColumn(c) => Some((c.name.as_str(), &c.ty, c.toks)),
                    AlterAction::AlterType { column, ty, .. } => Some((column.as_str(), ty, *r)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `public.t` → `t` for messages.
    pub fn display_key(key: &str) -> String {
        key.strip_prefix("public.").unwrap_or(key).to_string()
    }

    /// Leading keywords of SQL commands formwork knows to carry no lock hazard of their own
    /// beyond what the classifier models.
    pub fn known_command(keywords: &str) -> bool {
        let first = keywords.split(' ').next().unwrap_or("");
        matches!(
            first,
            "create"
                | "alter"
                | "drop"
                | "grant"
                | "revoke"
                | "comment"
                | "security"
                | "select"
                | "with"
                | "values"
                | "table"
                | "insert"
                | "update"
                | "delete"
                | "merge"
                | "set"
                | "reset"
                | "show"
                | "begin"
                | "start"
                | "commit"
                | "end"
                | "rollback"
                | "abort"
                | "savepoint"
                | "release"
                | "analyze"
                | "analyse"
                | "vacuum"
                | "cluster"
                | "reindex"
                | "refresh"
                | "lock"
                | "truncate"
                | "copy"
                | "notify"
                | "listen"
                | "unlisten"
                | "discard"
                | "prepare"
                | "deallocate"
                | "explain"
                | "load"
                | "checkpoint"
                | "import"
                | "fetch"
                | "declare"
                | "close"
                | "move"
                | "reassign"
        )
    }
}
