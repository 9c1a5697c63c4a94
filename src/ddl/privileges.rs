//! GRANT and REVOKE statements, shared by create-from-nothing DDL and the diff.
//!
//! One statement per grantee and grant option, naming the object the way GRANT wants it
//! (`SCHEMA`, `TABLE` for tables and views, `SEQUENCE`, a column list before `ON TABLE`,
//! `FUNCTION` or `PROCEDURE` with the input argument types; default privileges as
//! `ALTER DEFAULT PRIVILEGES FOR ROLE ... IN SCHEMA ... GRANT`).
//!
//! A routine starts out executable by PUBLIC; [`new_routine`] gives one just created its
//! declared privileges, the revocation from PUBLIC first, so that the creation can carry them
//! in its own transaction.

use crate::model::{Function, Grant, Grantee, Model, QualifiedName};
use crate::sql::{qualified, quote_ident};

/// An object that takes privileges.
#[derive(Debug, Clone, Copy)]
pub enum On<'a> {
    Schema(&'a str),
    /// A table or a view.
    Table(&'a QualifiedName),
    Sequence(&'a QualifiedName),
    Column(&'a QualifiedName, &'a str),
    /// A function or procedure of `schema`, named by its input argument types.
    Routine(&'a str, &'a Function),
    /// Default privileges: objects of kind `on` (`tables`, ...) that `for_role` creates in
    /// `schema`.
    Defaults {
        schema: &'a str,
        for_role: &'a str,
        on: &'a str,
    },
}

impl On<'_> {
    /// `privileges ON target`, as GRANT and REVOKE spell it.
    fn clause(&self, privileges: &[String]) -> String {
        let list = privileges.join(", ");
        match self {
            On::Schema(s) => format!("{list} ON SCHEMA {}", quote_ident(s)),
            On::Table(t) => format!("{list} ON TABLE {}", qualified(t)),
            On::Sequence(q) => format!("{list} ON SEQUENCE {}", qualified(q)),
            On::Defaults { on, .. } => format!("{list} ON {}", on.to_ascii_uppercase()),
            On::Routine(schema, f) => format!(
                "{list} ON {} {}",
                super::functions::keyword(f),
                super::functions::signature(schema, f)
            ),
            On::Column(t, c) => {
                let with_column: Vec<String> = privileges
                    .iter()
                    .map(|p| format!("{p} ({})", quote_ident(c)))
                    .collect();
                format!("{} ON TABLE {}", with_column.join(", "), qualified(t))
            }
        }
    }

    /// The object in words, for step descriptions.
    pub fn describe(&self) -> String {
        match self {
            On::Schema(s) => format!("schema {s}"),
            On::Table(t) => format!("{t}"),
            On::Sequence(q) => format!("sequence {q}"),
            On::Column(t, c) => format!("column {t}.{c}"),
            On::Routine(schema, f) => format!(
                "{} {schema}.{}",
                super::functions::keyword(f).to_ascii_lowercase(),
                f.key()
            ),
            On::Defaults {
                schema,
                for_role,
                on,
            } => format!("{on} {for_role} creates in schema {schema}"),
        }
    }

    /// `ALTER DEFAULT PRIVILEGES FOR ROLE ... IN SCHEMA ... ` before GRANT or REVOKE.
    fn prefix(&self) -> String {
        match self {
            On::Defaults {
                schema, for_role, ..
            } => format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} ",
                quote_ident(for_role),
                quote_ident(schema)
            ),
            _ => String::new(),
        }
    }
}

fn grantee(g: &Grantee) -> String {
    match g {
        Grantee::Public => "PUBLIC".into(),
        Grantee::Role(r) => quote_ident(r),
    }
}

/// `GRANT ... TO ...` for one grant.
pub fn grant(on: On<'_>, g: &Grant) -> String {
    format!(
        "{}GRANT {} TO {}{}",
        on.prefix(),
        on.clause(&g.privileges),
        grantee(&g.grantee),
        if g.with_grant_option {
            " WITH GRANT OPTION"
        } else {
            ""
        }
    )
}

/// `REVOKE [GRANT OPTION FOR] ... FROM ...`: the privileges themselves, or only the right to
/// grant them on.
pub fn revoke(on: On<'_>, who: &Grantee, privileges: &[String], option_only: bool) -> String {
    format!(
        "{}REVOKE {}{} FROM {}",
        on.prefix(),
        if option_only { "GRANT OPTION FOR " } else { "" },
        on.clause(privileges),
        grantee(who)
    )
}

/// The statements that give a routine of `schema` that was just created (and so is executable
/// by PUBLIC) its declared privileges: PUBLIC's EXECUTE revoked first when the declaration
/// withholds it, then the grants to roles.
pub fn new_routine(schema: &str, f: &Function) -> Vec<String> {
    let on = On::Routine(schema, f);
    let mut out = Vec::new();
    if !f.public_execute() {
        out.push(revoke(
            on,
            &Grantee::Public,
            &["EXECUTE".to_string()],
            false,
        ));
    }
    out.extend(f.granted().map(|g| grant(on, g)));
    out
}

/// Every grant of `model`, for an empty database where all its objects were just created.
pub fn all(model: &Model) -> Vec<String> {
    let mut out = Vec::new();
    for s in model.schemas.values() {
        out.extend(s.grants.iter().map(|g| grant(On::Schema(&s.name), g)));
        out.extend(
            s.default_grants
                .iter()
                .map(|d| grant(d.target(&s.name), &d.grant)),
        );
        for q in s.sequences.values() {
            let name = QualifiedName::new(&s.name, &q.name);
            out.extend(q.grants.iter().map(|g| grant(On::Sequence(&name), g)));
        }
        for t in s.tables.values() {
            let name = QualifiedName::new(&s.name, &t.name);
            out.extend(t.grants.iter().map(|g| grant(On::Table(&name), g)));
            for c in t.columns.values() {
                out.extend(
                    c.grants
                        .iter()
                        .map(|g| grant(On::Column(&name, &c.name), g)),
                );
            }
        }
        for v in s.views.values() {
            let name = QualifiedName::new(&s.name, &v.name);
            out.extend(v.grants.iter().map(|g| grant(On::Table(&name), g)));
        }
        for f in s.functions.values() {
            out.extend(new_routine(&s.name, f));
        }
    }
    out
}

/// The roles `model` names (grantees, default privileges' roles, policies' roles), which must
/// exist wherever it is created.
pub fn roles(model: &Model) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut out_roles = Vec::new();
    let mut add = |grants: &[Grant]| {
        for g in grants {
            if let Grantee::Role(r) = &g.grantee {
                out.insert(r.clone());
            }
        }
    };
    for s in model.schemas.values() {
        add(&s.grants);
        for d in &s.default_grants {
            add(std::slice::from_ref(&d.grant));
            out_roles.push(d.for_role.clone());
        }
        s.sequences.values().for_each(|q| add(&q.grants));
        s.views.values().for_each(|v| add(&v.grants));
        s.functions.values().for_each(|f| add(&f.grants));
        for t in s.tables.values() {
            add(&t.grants);
            t.columns.values().for_each(|c| add(&c.grants));
            for p in t.policies.values() {
                out_roles.extend(
                    p.roles
                        .iter()
                        .filter(|r| *r != crate::model::Policy::PUBLIC)
                        .cloned(),
                );
            }
        }
    }
    out.extend(out_roles);
    out
}

impl crate::model::DefaultGrant {
    /// What GRANT and REVOKE name for this default privilege in `schema`.
    pub fn target<'a>(&'a self, schema: &'a str) -> On<'a> {
        On::Defaults {
            schema,
            for_role: &self.for_role,
            on: &self.on,
        }
    }
}
