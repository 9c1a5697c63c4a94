//! Privileges: GRANT what the declaration adds, REVOKE what it no longer gives.
//!
//! Objects are compared grant by grant, as (grantee, privilege, grant option) triples, so
//! that the plan says exactly what changes for whom. New objects get their grants after they
//! are created; new functions and procedures get theirs in the step that creates them (see
//! `functions`), which also pairs routines and calls [`compare`] for the ones that stay. Grants are part of the expand phase (the new application version may need
//! them); revocations are part of the contract phase, since the previous version may still
//! rely on what is taken away. Neither takes a lock that blocks reads or writes. Roles are
//! never created or dropped here: they stay outside the declaration.

use std::collections::BTreeMap;

use super::{Ctx, Draft, Stage, pair_in_schemas};
use crate::ddl::privileges::{On, grant, revoke};
use crate::model::{DefaultGrant, Grant, Grantee, QualifiedName, exploded, privilege_rank};

pub(super) fn diff(ctx: &mut Ctx) {
    let (current, desired) = (ctx.current, ctx.desired);
    let none: Vec<Grant> = Vec::new();
    let no_defaults: Vec<DefaultGrant> = Vec::new();
    for (sname, ds) in &desired.schemas {
        let cs = current.schemas.get(sname);
        compare(
            ctx,
            On::Schema(sname),
            cs.map_or(&none, |c| &c.grants),
            &ds.grants,
        );
        defaults(
            ctx,
            sname,
            cs.map_or(&no_defaults, |c| &c.default_grants),
            &ds.default_grants,
        );
    }
    for (schema, p) in pair_in_schemas(
        current,
        desired,
        |s| &s.sequences,
        |q| q.renamed_from.as_ref(),
    ) {
        for (c, d, _) in p.matched {
            let name = QualifiedName::new(schema, &d.name);
            compare(ctx, On::Sequence(&name), &c.grants, &d.grants);
        }
        for d in p.created {
            let name = QualifiedName::new(schema, &d.name);
            compare(ctx, On::Sequence(&name), &none, &d.grants);
        }
    }
    for (schema, p) in pair_in_schemas(current, desired, |s| &s.views, |v| v.renamed_from.as_ref())
    {
        for (c, d, _) in p.matched {
            let name = QualifiedName::new(schema, &d.name);
            compare(ctx, On::Table(&name), &c.grants, &d.grants);
        }
        for d in p.created {
            let name = QualifiedName::new(schema, &d.name);
            compare(ctx, On::Table(&name), &none, &d.grants);
        }
    }
    for (schema, p) in pair_in_schemas(current, desired, |s| &s.tables, |t| t.renamed_from.as_ref())
    {
        let matched = p.matched.into_iter().map(|(c, d, _)| (Some(c), d));
        for (c, d) in matched.chain(p.created.into_iter().map(|d| (None, d))) {
            let name = QualifiedName::new(schema, &d.name);
            compare(
                ctx,
                On::Table(&name),
                c.map_or(&none, |c| &c.grants),
                &d.grants,
            );
            for col in d.columns.values() {
                let before = c.and_then(|c| {
                    c.columns.get(&col.name).or_else(|| {
                        col.renamed_from
                            .as_ref()
                            .filter(|old| !d.columns.contains_key(*old))
                            .and_then(|old| c.columns.get(old))
                    })
                });
                compare(
                    ctx,
                    On::Column(&name, &col.name),
                    before.map_or(&none, |b| &b.grants),
                    &col.grants,
                );
            }
        }
    }
}

/// Default privileges in `schema`, compared per role and object kind like any grants.
fn defaults(ctx: &mut Ctx, schema: &str, current: &[DefaultGrant], desired: &[DefaultGrant]) {
    let mut keys: Vec<(&str, &str)> = current
        .iter()
        .chain(desired)
        .map(|d| (d.for_role.as_str(), d.on.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    for (for_role, on) in keys {
        let of = |list: &[DefaultGrant]| -> Vec<Grant> {
            list.iter()
                .filter(|d| d.for_role == for_role && d.on == on)
                .map(|d| d.grant.clone())
                .collect()
        };
        let target = On::Defaults {
            schema,
            for_role,
            on,
        };
        compare(ctx, target, &of(current), &of(desired));
    }
}

/// The drafts that take `on` from `current` grants to `desired` ones.
pub(super) fn compare(ctx: &mut Ctx, on: On<'_>, current: &[Grant], desired: &[Grant]) {
    let have = exploded(current);
    let want = exploded(desired);
    if have == want {
        return;
    }
    // Per grantee: privileges to grant (with or without the option), to revoke entirely, and
    // whose grant option alone goes.
    #[derive(Default)]
    struct Change {
        grant: Vec<String>,
        grant_with_option: Vec<String>,
        revoke: Vec<String>,
        revoke_option: Vec<String>,
    }
    let mut changes: BTreeMap<Grantee, Change> = BTreeMap::new();
    let holds = |set: &std::collections::BTreeSet<(Grantee, String, bool)>,
                 who: &Grantee,
                 p: &str|
     -> Option<bool> {
        if set.contains(&(who.clone(), p.to_string(), true)) {
            Some(true)
        } else if set.contains(&(who.clone(), p.to_string(), false)) {
            Some(false)
        } else {
            None
        }
    };
    for (who, p, _) in want.iter().chain(have.iter()) {
        let change = changes.entry(who.clone()).or_default();
        match (holds(&have, who, p), holds(&want, who, p)) {
            (h, w) if h == w => {}
            (_, Some(true)) => change.grant_with_option.push(p.clone()),
            (None, Some(false)) => change.grant.push(p.clone()),
            (Some(true), Some(false)) => change.revoke_option.push(p.clone()),
            (Some(_), None) => change.revoke.push(p.clone()),
            _ => {}
        }
    }
    for (who, mut c) in changes {
        for list in [
            &mut c.grant,
            &mut c.grant_with_option,
            &mut c.revoke,
            &mut c.revoke_option,
        ] {
            list.sort_by_key(|p| (privilege_rank(p), p.clone()));
            list.dedup();
        }
        let whom = who.as_declared().to_string();
        for (privileges, with_grant_option) in [(&c.grant, false), (&c.grant_with_option, true)] {
            if privileges.is_empty() {
                continue;
            }
            let g = Grant {
                grantee: who.clone(),
                privileges: privileges.clone(),
                with_grant_option,
            };
            ctx.push(Draft::new(
                Stage::Grant,
                format!(
                    "grant {} on {} to {whom}{}",
                    privileges.join(", "),
                    on.describe(),
                    if with_grant_option {
                        " with grant option"
                    } else {
                        ""
                    }
                ),
                grant(on, &g),
            ));
        }
        if !c.revoke_option.is_empty() {
            ctx.push(Draft::new(
                Stage::Revoke,
                format!(
                    "revoke the grant option for {} on {} from {whom}",
                    c.revoke_option.join(", "),
                    on.describe()
                ),
                revoke(on, &who, &c.revoke_option, true),
            ));
        }
        if !c.revoke.is_empty() {
            ctx.push(Draft::new(
                Stage::Revoke,
                format!(
                    "revoke {} on {} from {whom}",
                    c.revoke.join(", "),
                    on.describe()
                ),
                revoke(on, &who, &c.revoke, false),
            ));
        }
    }
}
