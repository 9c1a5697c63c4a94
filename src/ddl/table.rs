//! Tables, their columns, constraints and indexes as DDL.
//!
//! Constraints that only involve the table itself are written inline in `CREATE TABLE`, the way
//! a person would write them. Foreign keys and `NOT VALID` checks come back separately as
//! `ALTER TABLE` statements: foreign keys need the referenced table (cycles included), and
//! PostgreSQL only accepts `NOT VALID` on `ALTER TABLE ... ADD CONSTRAINT`.

use std::collections::HashSet;

use crate::model::{
    Check, Column, Deferrable, Exclusion, FkAction, FkMatch, ForeignKey, GeneratedKind,
    IdentityKind, Index, IndexKey, IndexKeyTarget, Model, Persistence, Schema, Table,
};
use crate::sql::{ident_list, qualified, quote_ident, quote_literal};

/// `"schema"."name"` for an object of `schema`.
pub(crate) fn qname(schema: &Schema, name: &str) -> String {
    qualified(&crate::model::QualifiedName::new(&schema.name, name))
}

/// The schemas a model declares, to read collation and operator class names (see
/// [`Names::object_name`]).
pub(crate) struct Names<'a>(HashSet<&'a str>);

impl<'a> Names<'a> {
    pub(crate) fn of(model: &'a Model) -> Names<'a> {
        let mut set: HashSet<&str> = model.schemas.keys().map(String::as_str).collect();
        set.extend(model.extensions.values().map(|e| e.schema.as_str()));
        Names(set)
    }

    /// A collation or operator class name as the model keeps it: bare when it lives in
    /// `pg_catalog` (`C`, `en_US.utf8`, `text_pattern_ops`; dots can be part of such a name),
    /// `schema.name` otherwise. A prefix before the first dot that names one of the model's
    /// schemas is that schema; anything else is one name. Text already in SQL form (with double
    /// quotes) is kept as it is.
    pub(crate) fn object_name(&self, name: &str) -> String {
        if name.contains('"') {
            return name.to_string();
        }
        match name.split_once('.') {
            Some((schema, rest)) if self.0.contains(schema) => {
                format!("{}.{}", quote_ident(schema), quote_ident(rest))
            }
            _ => quote_ident(name),
        }
    }
}

pub(crate) fn create_table(names: &Names, schema: &Schema, t: &Table) -> String {
    let items = table_items(names, t);
    let unlogged = match t.persistence {
        Persistence::Permanent => "",
        Persistence::Unlogged => "UNLOGGED ",
    };
    super::partitions::create_statement(unlogged, &qname(schema, &t.name), t, &items)
}

/// The column and constraint definitions inside `CREATE TABLE (...)`.
pub(crate) fn table_items(names: &Names, t: &Table) -> Vec<String> {
    let mut items: Vec<String> = t.columns.values().map(|c| column(names, c)).collect();
    if let Some(pk) = &t.primary_key {
        let mut s = format!(
            "CONSTRAINT {} PRIMARY KEY ({})",
            quote_ident(&pk.name),
            ident_list(&pk.columns)
        );
        s.push_str(&include(&pk.include));
        s.push_str(deferrable(pk.deferrable));
        items.push(s);
    }
    for u in t.uniques.values() {
        let mut s = format!("CONSTRAINT {} UNIQUE", quote_ident(&u.name));
        if u.nulls_not_distinct {
            s.push_str(" NULLS NOT DISTINCT");
        }
        s.push_str(&format!(" ({})", ident_list(&u.columns)));
        s.push_str(&include(&u.include));
        s.push_str(deferrable(u.deferrable));
        items.push(s);
    }
    for c in t.checks.values().filter(|c| c.valid) {
        items.push(check(c));
    }
    for x in t.exclusions.values() {
        items.push(exclusion(names, x));
    }
    items
}

pub(crate) fn column(names: &Names, c: &Column) -> String {
    let mut s = format!("{} {}", quote_ident(&c.name), c.data_type);
    if let Some(coll) = &c.collation {
        s.push_str(&format!(" COLLATE {}", names.object_name(coll)));
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if c.not_null {
        s.push_str(" NOT NULL");
    }
    if let Some(g) = &c.generated {
        let kind = match g.kind {
            GeneratedKind::Stored => "STORED",
            GeneratedKind::Virtual => "VIRTUAL",
        };
        s.push_str(&format!(" GENERATED ALWAYS AS ({}) {kind}", g.expression));
    }
    if let Some(id) = &c.identity {
        let kind = match id.kind {
            IdentityKind::Always => "ALWAYS",
            IdentityKind::ByDefault => "BY DEFAULT",
        };
        s.push_str(&format!(" GENERATED {kind} AS IDENTITY"));
        let opts = super::sequence_options(&id.options, false);
        if !opts.is_empty() {
            s.push_str(&format!(" ({})", opts.trim_start()));
        }
    }
    s
}

pub(crate) fn include(cols: &[String]) -> String {
    if cols.is_empty() {
        String::new()
    } else {
        format!(" INCLUDE ({})", ident_list(cols))
    }
}

pub(crate) fn deferrable(d: Deferrable) -> &'static str {
    match d {
        Deferrable::NotDeferrable => "",
        Deferrable::InitiallyImmediate => " DEFERRABLE INITIALLY IMMEDIATE",
        Deferrable::InitiallyDeferred => " DEFERRABLE INITIALLY DEFERRED",
    }
}

pub(crate) fn check(c: &Check) -> String {
    let mut s = format!(
        "CONSTRAINT {} CHECK ({})",
        quote_ident(&c.name),
        c.expression
    );
    if c.no_inherit {
        s.push_str(" NO INHERIT");
    }
    s
}

pub(crate) fn exclusion(names: &Names, x: &Exclusion) -> String {
    let elements: Vec<String> = x
        .elements
        .iter()
        .map(|e| format!("{} WITH {}", index_key(names, &e.key), e.operator))
        .collect();
    let mut s = format!(
        "CONSTRAINT {} EXCLUDE USING {} ({})",
        quote_ident(&x.name),
        quote_ident(&x.method),
        elements.join(", ")
    );
    s.push_str(&include(&x.include));
    if let Some(p) = &x.predicate {
        s.push_str(&format!(" WHERE ({p})"));
    }
    s.push_str(deferrable(x.deferrable));
    s
}

pub(crate) fn index_key(names: &Names, k: &IndexKey) -> String {
    let mut s = match &k.target {
        IndexKeyTarget::Column(c) => quote_ident(c),
        IndexKeyTarget::Expression(e) => format!("({e})"),
    };
    if let Some(coll) = &k.collation {
        s.push_str(&format!(" COLLATE {}", names.object_name(coll)));
    }
    if let Some(op) = &k.opclass {
        s.push_str(&format!(" {}", names.object_name(op)));
    }
    if k.descending {
        s.push_str(" DESC");
    }
    match k.nulls_first {
        Some(true) => s.push_str(" NULLS FIRST"),
        Some(false) => s.push_str(" NULLS LAST"),
        None => {}
    }
    s
}

pub(crate) fn create_index(names: &Names, schema: &Schema, t: &Table, idx: &Index) -> String {
    create_index_with(names, schema, t, idx, false)
}

/// `CREATE INDEX`, optionally `CONCURRENTLY` (for tables that already hold data).
pub(crate) fn create_index_with(
    names: &Names,
    schema: &Schema,
    t: &Table,
    idx: &Index,
    concurrently: bool,
) -> String {
    let keys: Vec<String> = idx.keys.iter().map(|k| index_key(names, k)).collect();
    let mut s = format!(
        "CREATE {}INDEX {}{} ON {} USING {} ({})",
        if idx.unique { "UNIQUE " } else { "" },
        if concurrently { "CONCURRENTLY " } else { "" },
        quote_ident(&idx.name),
        qname(schema, &t.name),
        quote_ident(&idx.method),
        keys.join(", ")
    );
    s.push_str(&include(&idx.include));
    if idx.nulls_not_distinct {
        s.push_str(" NULLS NOT DISTINCT");
    }
    if let Some(p) = &idx.predicate {
        s.push_str(&format!(" WHERE ({p})"));
    }
    s
}

/// `ALTER TABLE ... ADD CONSTRAINT` for what cannot be inline: `NOT VALID` checks and every
/// foreign key.
pub(crate) fn deferred_constraints(schema: &Schema, t: &Table) -> Vec<String> {
    let table = qname(schema, &t.name);
    let mut out = Vec::new();
    for c in t.checks.values().filter(|c| !c.valid) {
        out.push(format!("ALTER TABLE {table} ADD {} NOT VALID", check(c)));
    }
    for fk in t.foreign_keys.values() {
        out.push(format!("ALTER TABLE {table} ADD {}", foreign_key(fk)));
    }
    out
}

pub(crate) fn fk_action(a: FkAction) -> Option<&'static str> {
    match a {
        FkAction::NoAction => None,
        FkAction::Restrict => Some("RESTRICT"),
        FkAction::Cascade => Some("CASCADE"),
        FkAction::SetNull => Some("SET NULL"),
        FkAction::SetDefault => Some("SET DEFAULT"),
    }
}

pub(crate) fn foreign_key(fk: &ForeignKey) -> String {
    let mut s = format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
        quote_ident(&fk.name),
        ident_list(&fk.columns),
        qualified(&fk.references),
        ident_list(&fk.referenced_columns)
    );
    if fk.match_type == FkMatch::Full {
        s.push_str(" MATCH FULL");
    }
    if let Some(a) = fk_action(fk.on_update) {
        s.push_str(&format!(" ON UPDATE {a}"));
    }
    if let Some(a) = fk_action(fk.on_delete) {
        s.push_str(&format!(" ON DELETE {a}"));
    }
    s.push_str(deferrable(fk.deferrable));
    if !fk.valid {
        s.push_str(" NOT VALID");
    }
    s
}

pub(crate) fn comments(schema: &Schema, t: &Table) -> Vec<String> {
    let table = qname(schema, &t.name);
    let mut out = Vec::new();
    let mut push = |target: String, comment: &Option<String>| {
        if let Some(c) = comment {
            out.push(format!("COMMENT ON {target} IS {}", quote_literal(c)));
        }
    };
    push(format!("TABLE {table}"), &t.comment);
    for c in t.columns.values() {
        push(
            format!("COLUMN {table}.{}", quote_ident(&c.name)),
            &c.comment,
        );
    }
    let on = |name: &str| format!("CONSTRAINT {} ON {table}", quote_ident(name));
    if let Some(pk) = &t.primary_key {
        push(on(&pk.name), &pk.comment);
    }
    for u in t.uniques.values() {
        push(on(&u.name), &u.comment);
    }
    for fk in t.foreign_keys.values() {
        push(on(&fk.name), &fk.comment);
    }
    for c in t.checks.values() {
        push(on(&c.name), &c.comment);
    }
    for x in t.exclusions.values() {
        push(on(&x.name), &x.comment);
    }
    for idx in t.indexes.values() {
        push(format!("INDEX {}", qname(schema, &idx.name)), &idx.comment);
    }
    out
}

#[cfg(test)]
pub(crate) fn column_for_test(c: &Column) -> String {
    let model = Model::default();
    column(&Names::of(&model), c)
}

#[cfg(test)]
pub(crate) fn foreign_key_for_test(fk: &ForeignKey) -> String {
    foreign_key(fk)
}
