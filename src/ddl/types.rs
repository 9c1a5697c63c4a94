//! Domains, composite types and range types as DDL, in dependency order.
//!
//! These types may be built on each other (a domain over a composite, a range over a domain, a
//! composite with a domain attribute), so they are created in an order where every type comes
//! after the user types its text names. Which types a text names is read from the text as the
//! catalog prints it (`schema.name`, quoted where needed), which is also how declarations hold
//! it after `kdl::types` qualified it; a cycle, which PostgreSQL cannot create either, keeps
//! model order. Enums come before all of them and tables after (`ddl::render`).
//!
//! A domain's validated CHECKs are written inline; a `NOT VALID` one can only be added with
//! `ALTER DOMAIN ... NOT VALID`, so it comes back as a second statement.

use std::collections::HashSet;

use crate::model::{CompositeType, Domain, DomainCheck, Model, RangeType, Schema};
use crate::sql::{quote_ident, quote_literal};

use super::table::{Names, qname};

/// One domain, composite or range type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UserType<'a> {
    Domain(&'a Domain),
    Composite(&'a CompositeType),
    Range(&'a RangeType),
}

impl<'a> UserType<'a> {
    pub(crate) fn name(&self) -> &'a str {
        match self {
            UserType::Domain(d) => &d.name,
            UserType::Composite(c) => &c.name,
            UserType::Range(r) => &r.name,
        }
    }

    /// The SQL type texts this type is built from.
    pub(crate) fn type_texts(&self) -> Vec<&'a str> {
        match self {
            UserType::Domain(d) => vec![d.base_type.as_str()],
            UserType::Composite(c) => c.attributes.iter().map(|a| a.data_type.as_str()).collect(),
            UserType::Range(r) => vec![r.subtype.as_str()],
        }
    }
}

/// Every domain, composite and range type of `schema`, in model order.
pub(crate) fn of_schema(schema: &Schema) -> impl Iterator<Item = UserType<'_>> {
    schema
        .domains
        .values()
        .map(UserType::Domain)
        .chain(schema.composites.values().map(UserType::Composite))
        .chain(schema.ranges.values().map(UserType::Range))
}

/// How the catalog prints a reference to user type `schema.name` (`format_type` with an empty
/// search_path): each part bare when it is a plain lower-case identifier, quoted otherwise.
pub(crate) fn printed_name(schema: &str, name: &str) -> String {
    format!(
        "{}.{}",
        crate::kdl::types::sql_ident(schema),
        crate::kdl::types::sql_ident(name)
    )
}

/// Whether the SQL type text `text` names the user type `schema.name` (itself, an array of
/// it, or inside modifiers).
pub(crate) fn mentions(text: &str, schema: &str, name: &str) -> bool {
    let needle = printed_name(schema, name);
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut from = 0;
    while let Some(i) = text[from..].find(&needle) {
        let start = from + i;
        let end = start + needle.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(|c| ident(c) || c == '.' || c == '"')
            && !after.is_some_and(|c| ident(c) || c == '"')
        {
            return true;
        }
        from = end;
    }
    false
}

/// Every user type of `model` with its schema, each after the user types it is built from.
pub(crate) fn in_dependency_order(model: &Model) -> Vec<(&Schema, UserType<'_>)> {
    let all: Vec<(&Schema, UserType<'_>)> = model
        .schemas
        .values()
        .flat_map(|s| of_schema(s).map(move |t| (s, t)))
        .collect();
    let deps: Vec<Vec<usize>> = all
        .iter()
        .map(|(_, t)| {
            let texts = t.type_texts();
            all.iter()
                .enumerate()
                .filter(|(_, (os, ot))| {
                    texts.iter().any(|text| mentions(text, &os.name, ot.name()))
                })
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    let mut done: HashSet<usize> = HashSet::new();
    let mut out = Vec::with_capacity(all.len());
    while out.len() < all.len() {
        let ready: Vec<usize> = (0..all.len())
            .filter(|i| !done.contains(i))
            .filter(|i| deps[*i].iter().all(|d| *d == *i || done.contains(d)))
            .collect();
        let next = if ready.is_empty() {
            // A cycle: PostgreSQL refuses it too; keep model order and let it say so.
            (0..all.len()).filter(|i| !done.contains(i)).collect()
        } else {
            ready
        };
        for i in next {
            done.insert(i);
            out.push(all[i]);
        }
    }
    out
}

/// `CREATE DOMAIN`, and an `ALTER DOMAIN ... NOT VALID` for each check not validated.
pub(crate) fn create_domain(names: &Names, schema: &Schema, d: &Domain) -> Vec<String> {
    let q = qname(schema, &d.name);
    let mut s = format!("CREATE DOMAIN {q} AS {}", d.base_type);
    if let Some(c) = &d.collation {
        s.push_str(&format!(" COLLATE {}", names.object_name(c)));
    }
    if let Some(def) = &d.default {
        s.push_str(&format!(" DEFAULT {def}"));
    }
    if d.not_null {
        s.push_str(" NOT NULL");
    }
    let mut out = Vec::new();
    for c in d.checks.values() {
        if c.valid {
            s.push_str(&format!(
                " CONSTRAINT {} CHECK ({})",
                quote_ident(&c.name),
                c.expression
            ));
        } else {
            out.push(add_domain_check(&q, &c.name, &c.expression, false));
        }
    }
    out.insert(0, s);
    out
}

/// `ALTER DOMAIN q ADD CONSTRAINT name CHECK (expr)`, `NOT VALID` unless `validate`.
pub(crate) fn add_domain_check(q: &str, name: &str, expr: &str, validate: bool) -> String {
    format!(
        "ALTER DOMAIN {q} ADD CONSTRAINT {} CHECK ({expr}){}",
        quote_ident(name),
        if validate { "" } else { " NOT VALID" }
    )
}

/// `name type [COLLATE c]`, one attribute of a composite type.
pub(crate) fn attribute(names: &Names, name: &str, ty: &str, collation: Option<&str>) -> String {
    let mut s = format!("{} {ty}", quote_ident(name));
    if let Some(c) = collation {
        s.push_str(&format!(" COLLATE {}", names.object_name(c)));
    }
    s
}

pub(crate) fn create_composite(names: &Names, schema: &Schema, c: &CompositeType) -> String {
    let attrs: Vec<String> = c
        .attributes
        .iter()
        .map(|a| attribute(names, &a.name, &a.data_type, a.collation.as_deref()))
        .collect();
    format!(
        "CREATE TYPE {} AS ({})",
        qname(schema, &c.name),
        attrs.join(", ")
    )
}

pub(crate) fn create_range(names: &Names, schema: &Schema, r: &RangeType) -> String {
    let mut opts = vec![format!("SUBTYPE = {}", r.subtype)];
    if let Some(o) = &r.subtype_opclass {
        opts.push(format!("SUBTYPE_OPCLASS = {}", names.object_name(o)));
    }
    if let Some(c) = &r.collation {
        opts.push(format!("COLLATION = {}", names.object_name(c)));
    }
    if let Some(f) = &r.canonical {
        opts.push(format!("CANONICAL = {f}"));
    }
    if let Some(f) = &r.subtype_diff {
        opts.push(format!("SUBTYPE_DIFF = {f}"));
    }
    if let Some(m) = &r.multirange
        && *m != RangeType::default_multirange(&r.name)
    {
        opts.push(format!("MULTIRANGE_TYPE_NAME = {}", qname(schema, m)));
    }
    format!(
        "CREATE TYPE {} AS RANGE ({})",
        qname(schema, &r.name),
        opts.join(", ")
    )
}

/// The statements that create one user type.
pub(crate) fn create(names: &Names, schema: &Schema, t: UserType<'_>) -> Vec<String> {
    match t {
        UserType::Domain(d) => create_domain(names, schema, d),
        UserType::Composite(c) => vec![create_composite(names, schema, c)],
        UserType::Range(r) => vec![create_range(names, schema, r)],
    }
}

/// Every user type of `model`, in dependency order, and then the domain checks that call a
/// declared function (see [`split_checks_calling_functions`]), to run once the functions exist.
pub(crate) fn create_all(model: &Model) -> (Vec<String>, Vec<String>) {
    let names = Names::of(model);
    let (mut now, mut later) = (Vec::new(), Vec::new());
    for (s, t) in in_dependency_order(model) {
        let UserType::Domain(d) = t else {
            now.extend(create(&names, s, t));
            continue;
        };
        let (bare, deferred) = split_checks_calling_functions(model, d);
        now.extend(create(&names, s, UserType::Domain(&bare)));
        let q = crate::sql::qualified(&crate::model::QualifiedName::new(&s.name, &d.name));
        later.extend(
            deferred
                .iter()
                .map(|c| add_domain_check(&q, &c.name, &c.expression, c.valid)),
        );
    }
    (now, later)
}

/// `d` without its checks that call a function `model` declares, and those checks. PostgreSQL
/// resolves the call when the constraint is created, and functions are created after types
/// (their signatures may use the domain), so these checks are added after the functions.
pub(crate) fn split_checks_calling_functions(
    model: &Model,
    d: &Domain,
) -> (Domain, Vec<DomainCheck>) {
    let functions: Vec<crate::model::QualifiedName> = model
        .schemas
        .values()
        .flat_map(|s| {
            s.functions
                .values()
                .map(move |f| crate::model::QualifiedName::new(&s.name, &f.name))
        })
        .collect();
    let calls_one = |c: &DomainCheck| {
        functions
            .iter()
            .any(|f| crate::diff::calls(&c.expression, f))
    };
    let mut bare = d.clone();
    bare.checks.retain(|_, c| !calls_one(c));
    let deferred = d
        .checks
        .values()
        .filter(|c| calls_one(c))
        .cloned()
        .collect();
    (bare, deferred)
}

/// `DOMAIN "s"."n"` or `TYPE "s"."n"`, for COMMENT ON and the like.
pub(crate) fn target(schema: &str, t: UserType<'_>) -> String {
    let kw = match t {
        UserType::Domain(_) => "DOMAIN",
        _ => "TYPE",
    };
    format!(
        "{kw} {}",
        crate::sql::qualified(&crate::model::QualifiedName::new(schema, t.name()))
    )
}

/// `COMMENT ON` for each user type of `schema` that has a comment.
pub(crate) fn comments(schema: &Schema) -> Vec<String> {
    of_schema(schema)
        .filter_map(|t| {
            let comment = match t {
                UserType::Domain(d) => &d.comment,
                UserType::Composite(c) => &c.comment,
                UserType::Range(r) => &r.comment,
            };
            comment.as_ref().map(|c| {
                format!(
                    "COMMENT ON {} IS {}",
                    target(&schema.name, t),
                    quote_literal(c)
                )
            })
        })
        .collect()
}
