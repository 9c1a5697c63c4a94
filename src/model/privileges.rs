//! Privileges: who may do what with an object (`GRANT`), as part of the object.
//!
//! A grant lives on the object it is about (schema, table, column, view, sequence, function or
//! procedure), so it travels with that object through units, fingerprints and renames. What is
//! modelled is the object's access list minus its owner's own entries: owners are not part of
//! the declaration (roles stay outside it), and an owner's privileges are PostgreSQL's default
//! for every object it creates. A routine's default also lets PUBLIC execute it; that entry is
//! modelled like any other (see `Function::grants`). Roles themselves are never created or dropped by a plan.
//!
//! Privilege words are kept as PostgreSQL spells them (`SELECT`, `USAGE`, ...). A declaration
//! may say `ALL`; like every other SQL fragment it reaches its normal form by being read back
//! from a scratch database, where PostgreSQL expands it for the object's kind and version.

use serde::{Deserialize, Serialize};

/// Who receives a grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Grantee {
    /// Every role (`PUBLIC`; written `to="public"` in KDL: no role can be named `public`).
    Public,
    /// A role, by its exact name.
    Role(String),
}

impl Grantee {
    /// The grantee as KDL writes it.
    pub fn as_declared(&self) -> &str {
        match self {
            Grantee::Public => "public",
            Grantee::Role(r) => r,
        }
    }

    /// The grantee as it reads in KDL: `public` is PUBLIC, anything else a role name.
    pub fn from_declared(s: &str) -> Grantee {
        if s == "public" {
            Grantee::Public
        } else {
            Grantee::Role(s.to_string())
        }
    }
}

/// Privileges one grantee holds on an object, all with or all without the grant option.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Grant {
    pub grantee: Grantee,
    /// Privilege words in PostgreSQL's order (see [`privilege_rank`]); `ALL` only in a
    /// declaration that was not read back yet.
    pub privileges: Vec<String>,
    pub with_grant_option: bool,
}

/// Privileges a role's future objects of one kind in a schema get when created
/// (`ALTER DEFAULT PRIVILEGES FOR ROLE ... IN SCHEMA ... GRANT ...`). In-schema default
/// privileges only add to the server-wide ones, so a list of grants says everything; the
/// server-wide entries (no schema) are not managed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DefaultGrant {
    /// The role whose new objects get the privileges.
    pub for_role: String,
    /// `tables` (tables and views), `sequences`, `functions` or `types`.
    pub on: String,
    pub grant: Grant,
}

/// The object kinds default privileges apply to, as KDL and SQL name them (`ON TABLES`).
pub const DEFAULT_GRANT_KINDS: &[&str] = &["tables", "sequences", "functions", "types"];

/// [`DefaultGrant`]s as (for role, kind, grantee, privilege, grant option): what is compared.
pub fn exploded_defaults(
    grants: &[DefaultGrant],
) -> std::collections::BTreeSet<(String, String, Grantee, String, bool)> {
    grants
        .iter()
        .flat_map(|d| {
            d.grant.privileges.iter().map(move |p| {
                (
                    d.for_role.clone(),
                    d.on.clone(),
                    d.grant.grantee.clone(),
                    p.clone(),
                    d.grant.with_grant_option,
                )
            })
        })
        .collect()
}

/// [`normalize_grants`] for default privileges, per role and object kind; sorted.
pub fn normalize_default_grants(grants: &mut Vec<DefaultGrant>) {
    let mut by: std::collections::BTreeMap<(String, String), Vec<Grant>> = Default::default();
    for d in grants.drain(..) {
        by.entry((d.for_role, d.on)).or_default().push(d.grant);
    }
    for ((for_role, on), mut list) in by {
        normalize_grants(&mut list);
        grants.extend(list.into_iter().map(|grant| DefaultGrant {
            for_role: for_role.clone(),
            on: on.clone(),
            grant,
        }));
    }
}

/// PostgreSQL's order of privileges (the order of `aclitem` bits), for stable output.
pub fn privilege_rank(p: &str) -> usize {
    const ORDER: &[&str] = &[
        "ALL",
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "TRUNCATE",
        "REFERENCES",
        "TRIGGER",
        "EXECUTE",
        "USAGE",
        "CREATE",
        "CONNECT",
        "TEMPORARY",
        "SET",
        "ALTER SYSTEM",
        "MAINTAIN",
    ];
    ORDER.iter().position(|o| *o == p).unwrap_or(ORDER.len())
}

/// Put grants in their one canonical form: one entry per grantee and grant option, privileges
/// deduplicated in PostgreSQL's order, a privilege held with the grant option not repeated
/// without it, entries sorted. Both sides of a comparison pass through this.
pub fn normalize_grants(grants: &mut Vec<Grant>) {
    let mut by: std::collections::BTreeMap<(Grantee, bool), Vec<String>> = Default::default();
    for g in grants.drain(..) {
        by.entry((g.grantee, g.with_grant_option))
            .or_default()
            .extend(g.privileges);
    }
    let with_option: std::collections::BTreeMap<Grantee, Vec<String>> = by
        .iter()
        .filter(|((_, o), _)| *o)
        .map(|((g, _), p)| (g.clone(), p.clone()))
        .collect();
    for ((grantee, option), mut privileges) in by {
        if !option && let Some(held) = with_option.get(&grantee) {
            privileges.retain(|p| !held.contains(p));
        }
        privileges.sort_by_key(|p| (privilege_rank(p), p.clone()));
        privileges.dedup();
        if !privileges.is_empty() {
            grants.push(Grant {
                grantee,
                privileges,
                with_grant_option: option,
            });
        }
    }
}

/// The privileges of `grants` as (grantee, privilege, with grant option) triples: the unit
/// of comparison when planning GRANT and REVOKE.
pub fn exploded(grants: &[Grant]) -> std::collections::BTreeSet<(Grantee, String, bool)> {
    grants
        .iter()
        .flat_map(|g| {
            g.privileges
                .iter()
                .map(move |p| (g.grantee.clone(), p.clone(), g.with_grant_option))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(who: &str, privs: &[&str], option: bool) -> Grant {
        Grant {
            grantee: Grantee::from_declared(who),
            privileges: privs.iter().map(|p| p.to_string()).collect(),
            with_grant_option: option,
        }
    }

    #[test]
    fn grants_merge_per_grantee_in_postgres_order_and_the_grant_option_wins() {
        let mut v = vec![
            g("app", &["UPDATE", "SELECT"], false),
            g("public", &["SELECT"], false),
            g("app", &["INSERT", "SELECT"], false),
            g("app", &["SELECT"], true),
        ];
        normalize_grants(&mut v);
        assert_eq!(
            v,
            vec![
                g("public", &["SELECT"], false),
                g("app", &["INSERT", "UPDATE"], false),
                g("app", &["SELECT"], true),
            ]
        );
    }

    #[test]
    fn only_lower_case_public_means_every_role() {
        assert_eq!(Grantee::from_declared("public"), Grantee::Public);
        assert_eq!(
            Grantee::from_declared("PUBLIC"),
            Grantee::Role("PUBLIC".into())
        );
    }
}
