//! Row-level security as DDL: the table's `ENABLE` / `FORCE ROW LEVEL SECURITY` flags, its
//! policies and their comments.
//!
//! Policies come after every table and view exists, since their expressions may read other
//! relations. Roles are named, never created: they live outside the database (formwork's
//! own scratch servers are the exception, see `plan::materialize`).

use crate::model::{Policy, QualifiedName, Table};
use crate::sql::{qualified, quote_ident, quote_literal};

/// The statements that give the new table `t` its row-level security.
pub(crate) fn for_table(table: &QualifiedName, t: &Table) -> Vec<String> {
    let mut out = Vec::new();
    let q = qualified(table);
    if t.row_security.enabled {
        out.push(format!("ALTER TABLE {q} ENABLE ROW LEVEL SECURITY"));
    }
    if t.row_security.forced {
        out.push(format!("ALTER TABLE {q} FORCE ROW LEVEL SECURITY"));
    }
    for p in t.policies.values() {
        out.push(create_policy(table, p));
        out.extend(comment(table, p));
    }
    out
}

/// `CREATE POLICY`.
pub(crate) fn create_policy(table: &QualifiedName, p: &Policy) -> String {
    let mut sql = format!(
        "CREATE POLICY {} ON {} AS {} FOR {} TO {}",
        quote_ident(&p.name),
        qualified(table),
        if p.permissive {
            "PERMISSIVE"
        } else {
            "RESTRICTIVE"
        },
        p.command.keyword(),
        roles(&p.roles)
    );
    sql.push_str(&expressions(p));
    sql
}

/// ` USING (...)` and ` WITH CHECK (...)` as the policy has them.
pub(crate) fn expressions(p: &Policy) -> String {
    let mut sql = String::new();
    if let Some(e) = &p.using {
        sql.push_str(&format!(" USING ({e})"));
    }
    if let Some(e) = &p.with_check {
        sql.push_str(&format!(" WITH CHECK ({e})"));
    }
    sql
}

/// A role list for `TO`: `PUBLIC` (a keyword, not a name) or quoted names.
pub(crate) fn roles(roles: &[String]) -> String {
    if roles.is_empty() {
        return "PUBLIC".to_string();
    }
    roles
        .iter()
        .map(|r| {
            if r == Policy::PUBLIC {
                "PUBLIC".to_string()
            } else {
                quote_ident(r)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `COMMENT ON POLICY`, when the policy has a comment.
pub(crate) fn comment(table: &QualifiedName, p: &Policy) -> Option<String> {
    p.comment.as_ref().map(|c| {
        format!(
            "COMMENT ON POLICY {} ON {} IS {}",
            quote_ident(&p.name),
            qualified(table),
            quote_literal(c)
        )
    })
}
