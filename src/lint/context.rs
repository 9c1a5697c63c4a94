//! What earlier statements of a file established, for rules that depend on it.
//!
//! Transaction boundaries (explicit BEGIN/COMMIT/ROLLBACK, or one transaction assumed around
//! the whole file as migration tools run it), the locks held in the current transaction,
//! tables created earlier in the file (exempt from lock rules: nobody else can be using them
//! yet), column types and constraints seen, CHECKs validated, enum values added in the current
//! transaction, and session settings (lock_timeout, statement_timeout, TimeZone).
//!
//! It is updated after the rules have looked at a statement, so rules always see the state
//! *before* the statement. It knows nothing about the live database; `--db` facts come in
//! through [`super::DbFacts`].

use std::collections::{HashMap, HashSet};

use super::classify::{AlterAction, Classified, ConstraintKind, LockMode, ObjKind, Stmt, TypeName};

/// A lock held in the current transaction.
#[derive(Debug, Clone)]
pub struct Held {
    pub mode: LockMode,
    /// 1-based line of the statement that took it (for messages).
    pub line: u64,
}

/// A constraint seen in the file.
#[derive(Debug, Clone)]
pub struct KnownConstraint {
    pub kind: ConstraintKind,
    pub validated: bool,
    pub proves_not_null: Option<String>,
    pub references: Option<String>,
    /// Transaction number it was added in.
    pub tx: u64,
}

/// The state of a file before the statement being checked.
#[derive(Debug, Default)]
pub struct State {
    /// Inside a transaction block (explicit or assumed).
    pub in_tx: bool,
    /// The current transaction was opened by an explicit BEGIN in the file.
    pub explicit_tx: bool,
    /// Increments at each transaction start; statements outside a block each get a new one.
    pub tx: u64,
    /// 1-based line of the BEGIN of the current explicit transaction.
    pub tx_line: u64,
    /// Tables (keys) created earlier in the file.
    pub created: HashSet<String>,
    /// Partitioned tables seen in the file.
    pub partitioned: HashSet<String>,
    /// Column types seen in the file: table key → column → type.
    pub columns: HashMap<String, HashMap<String, TypeName>>,
    /// Columns known to be NOT NULL (declared so, or proven by a validated CHECK).
    pub not_null: HashSet<(String, String)>,
    /// Columns covered by a CHECK or a foreign key.
    pub constrained_columns: HashSet<(String, String)>,
    /// Constraints seen: (table key, constraint name) → facts.
    pub constraints: HashMap<(String, String), KnownConstraint>,
    /// Tables with a VALIDATE CONSTRAINT of a constraint added outside the file (assumed to be a
    /// CHECK proving the column set NOT NULL next, as in the documented recipe).
    pub validated_elsewhere: HashSet<String>,
    /// Locks held in the current transaction: table key → strongest mode.
    pub held: HashMap<String, Held>,
    /// Tables already reported as holding a lock across statements in this transaction.
    pub held_reported: HashSet<String>,
    /// Enum values added in the current transaction.
    pub enum_values_added: Vec<(String, String)>,
    /// ALTER TABLE statements seen in the current transaction: table key → line.
    pub altered_in_tx: HashMap<String, u64>,
    pub lock_timeout_set: bool,
    pub statement_timeout_set: bool,
    pub lock_timeout_reported: bool,
    pub statement_timeout_reported: bool,
    /// The session time zone is known to be UTC.
    pub utc: bool,
    /// Statements checked so far.
    pub statements: u64,
    /// Indexes created in the file: index key → table key.
    pub indexes: HashMap<String, String>,
}

/// Tables that migration tools use for their own bookkeeping; touching them is not a backfill
/// and does not prolong anyone's lock in a way the author could avoid.
pub fn is_bookkeeping(table_key: &str) -> bool {
    let name = table_key.rsplit('.').next().unwrap_or(table_key);
    matches!(
        name,
        "alembic_version"
            | "schema_migrations"
            | "flyway_schema_history"
            | "__diesel_schema_migrations"
            | "goose_db_version"
            | "_sqlx_migrations"
    )
}

impl State {
    pub fn new(assume_in_transaction: bool) -> State {
        State {
            in_tx: assume_in_transaction,
            tx: 1,
            ..State::default()
        }
    }

    /// Whether `key` existed before this file (so other sessions may be using it).
    pub fn preexisting(&self, key: &str) -> bool {
        !self.created.contains(key)
    }

    /// Whether `column` of `table` is known to be non-null without a scan.
    pub fn proven_not_null(&self, table: &str, column: &str) -> bool {
        self.not_null
            .contains(&(table.to_string(), column.to_string()))
            || self.validated_elsewhere.contains(table)
    }

    /// Record what a statement did, after the rules have seen it.
    pub fn apply(&mut self, c: &Classified, line: u64, assume_in_transaction: bool) {
        self.statements += 1;
        match &c.stmt {
            Stmt::Begin => {
                self.start_tx(line);
                self.explicit_tx = true;
                return;
            }
            Stmt::Commit | Stmt::Rollback => {
                self.end_tx();
                // Outside any block, each statement is its own transaction.
                self.in_tx = false;
                self.explicit_tx = false;
                let _ = assume_in_transaction;
                return;
            }
            Stmt::Set { name, value, local } => {
                let off = value == "0" || value == "default" || value == "'0'";
                match name.as_str() {
                    "lock_timeout" => self.lock_timeout_set = !off,
                    "statement_timeout" => self.statement_timeout_set = !off,
                    "timezone" => {
                        self.utc = matches!(
                            value.as_str(),
                            "utc" | "'utc'" | "etc/utc" | "z" | "gmt" | "etc/gmt"
                        )
                    }
                    _ => {}
                }
                let _ = local;
            }
            _ => {}
        }
        if !self.in_tx {
            // An autocommit statement: its locks end with it.
            self.tx += 1;
            self.held.clear();
            self.held_reported.clear();
            self.enum_values_added.clear();
            self.altered_in_tx.clear();
        }
        for (mode, target) in &c.effect.locks {
            // Only relation locks stall application queries on a table.
            if !matches!(
                target.kind,
                ObjKind::Table | ObjKind::Index | ObjKind::View | ObjKind::MaterializedView
            ) {
                continue;
            }
            let key = target.name.key();
            let e = self.held.entry(key).or_insert(Held { mode: *mode, line });
            if *mode > e.mode {
                *e = Held { mode: *mode, line };
            }
        }
        match &c.stmt {
            Stmt::CreateTable {
                name, partitioned, ..
            } => {
                // Lock rules leave tables created in the file alone, so their columns and
                // constraints need not be remembered: memory stays proportional to the
                // pre-existing objects a file touches.
                let key = name.key();
                if *partitioned {
                    self.partitioned.insert(key.clone());
                }
                self.created.insert(key);
            }
            Stmt::AlterTable { table, actions, .. } if self.created.contains(&table.key()) => {
                for (a, _) in actions {
                    if let AlterAction::RenameTo { to } = a {
                        let renamed = crate::lint::classify::Name {
                            schema: table.schema.clone(),
                            name: to.clone(),
                        };
                        self.created.insert(renamed.key());
                    }
                }
            }
            Stmt::AlterTable { table, actions, .. } => {
                let key = table.key();
                self.altered_in_tx.entry(key.clone()).or_insert(line);
                for (a, _) in actions {
                    match a {
                        AlterAction::AddColumn(col) => {
                            self.columns
                                .entry(key.clone())
                                .or_default()
                                .insert(col.name.clone(), col.ty.clone());
                            if col.not_null || col.primary_key.is_some() || col.identity {
                                self.not_null.insert((key.clone(), col.name.clone()));
                            }
                            if col.check.is_some() || col.references.is_some() {
                                self.constrained_columns
                                    .insert((key.clone(), col.name.clone()));
                            }
                        }
                        AlterAction::AlterType { column, ty, .. } => {
                            self.columns
                                .entry(key.clone())
                                .or_default()
                                .insert(column.clone(), ty.clone());
                        }
                        AlterAction::SetNotNull { column } => {
                            self.not_null.insert((key.clone(), column.clone()));
                        }
                        AlterAction::DropNotNull { column } => {
                            self.not_null.remove(&(key.clone(), column.clone()));
                        }
                        AlterAction::AddConstraint(con) => {
                            let validated = !con.not_valid;
                            self.add_constraint(&key, con, validated);
                        }
                        AlterAction::ValidateConstraint { name } => {
                            match self.constraints.get_mut(&(key.clone(), name.clone())) {
                                Some(k) => {
                                    k.validated = true;
                                    if let Some(col) = k.proves_not_null.clone() {
                                        self.not_null.insert((key.clone(), col));
                                    }
                                }
                                None => {
                                    self.validated_elsewhere.insert(key.clone());
                                }
                            }
                        }
                        AlterAction::DropConstraint { name } => {
                            self.constraints.remove(&(key.clone(), name.clone()));
                        }
                        AlterAction::RenameTo { to } => {
                            let new_key = crate::lint::classify::Name {
                                schema: table.schema.clone(),
                                name: to.clone(),
                            }
                            .key();
                            if self.created.contains(&key) {
                                self.created.insert(new_key.clone());
                            }
                            if let Some(cols) = self.columns.get(&key).cloned() {
                                self.columns.insert(new_key, cols);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Stmt::DropTable { names } => {
                for n in names {
                    let key = n.key();
                    self.columns.remove(&key);
                    self.constraints.retain(|(t, _), _| t != &key);
                }
            }
            Stmt::CreateView { name, .. } => {
                self.created.insert(name.key());
            }
            Stmt::CreateIndex {
                name: Some(name),
                table,
                ..
            } => {
                let key = crate::lint::classify::Name {
                    schema: name.schema.clone().or_else(|| table.schema.clone()),
                    name: name.name.clone(),
                }
                .key();
                // Only indexes of partitioned tables matter later (partitioned-index-drop).
                if self.partitioned.contains(&table.key()) {
                    self.indexes.insert(key.clone(), table.key());
                }
                self.created.insert(key);
            }
            Stmt::AlterTypeAddValue { ty, value, .. } if self.in_tx => {
                self.enum_values_added.push((ty.key(), value.clone()));
            }
            _ => {}
        }
    }

    /// Remember which once-per-file or once-per-transaction findings were just reported.
    pub fn note_reported(&mut self, rule_ids: &[&str]) {
        for id in rule_ids {
            match *id {
                "require-lock-timeout" => self.lock_timeout_reported = true,
                "require-statement-timeout" => self.statement_timeout_reported = true,
                "lock-held-across-statements" => {
                    let keys: Vec<String> = self
                        .held
                        .iter()
                        .filter(|(_, h)| h.mode >= LockMode::Share)
                        .map(|(k, _)| k.clone())
                        .collect();
                    self.held_reported.extend(keys);
                }
                _ => {}
            }
        }
    }

    fn add_constraint(
        &mut self,
        table: &str,
        con: &crate::lint::classify::ConstraintDef,
        validated: bool,
    ) {
        if let Some(col) = &con.proves_not_null {
            if validated {
                self.not_null.insert((table.to_string(), col.clone()));
            }
        }
        if matches!(con.kind, ConstraintKind::Check | ConstraintKind::ForeignKey) {
            for col in &con.columns {
                self.constrained_columns
                    .insert((table.to_string(), col.clone()));
            }
        }
        if con.kind == ConstraintKind::PrimaryKey {
            for col in &con.columns {
                self.not_null.insert((table.to_string(), col.clone()));
            }
        }
        if let Some(name) = &con.name {
            self.constraints.insert(
                (table.to_string(), name.clone()),
                KnownConstraint {
                    kind: con.kind,
                    validated,
                    proves_not_null: con.proves_not_null.clone(),
                    references: con.references.as_ref().map(|r| r.key()),
                    tx: self.tx,
                },
            );
        }
    }

    fn start_tx(&mut self, line: u64) {
        self.end_tx();
        self.in_tx = true;
        self.tx += 1;
        self.tx_line = line;
    }

    fn end_tx(&mut self) {
        self.held.clear();
        self.held_reported.clear();
        self.enum_values_added.clear();
        self.altered_in_tx.clear();
        self.tx += 1;
    }
}
