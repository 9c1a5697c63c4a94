//! Row-level security of tables on both sides: the `ENABLE` / `FORCE` flags and policies.
//!
//! Every statement here takes ACCESS EXCLUSIVE on its table for a moment (no scan, no
//! rewrite), so each is its own short transaction under the short lock_timeout the planner
//! gives blocking steps, and apply retries it when the lock is not granted in time.
//!
//! Order within [`Stage::Policy`] keeps access from ever being wider or narrower than either
//! the old or the new declaration allows: flags are switched off first, policies are renamed,
//! altered, created and dropped next, and flags switched on last, so that a table never has
//! row-level security on without the policies it is declared with. A policy whose command or
//! `PERMISSIVE`/`RESTRICTIVE` kind changes, or that loses its `USING` or `WITH CHECK`
//! expression (which `ALTER POLICY` cannot do), is dropped and created again in one
//! transaction, so no session sees the table without it. Roles, `USING` and `WITH CHECK`
//! otherwise change in place with `ALTER POLICY`.
//!
//! Roles are named, never created or dropped here.

use super::{Ctx, Draft, Stage};
use crate::ddl::policies as ddl;
use crate::model::{Policy, QualifiedName, Table};
use crate::plan::HazardKind;
use crate::sql::{qualified, quote_ident};

/// Row-level security of a table the plan creates.
pub(super) fn create(ctx: &mut Ctx, table: &QualifiedName, t: &Table) {
    for sql in ddl::for_table(table, t) {
        ctx.push(Draft::new(
            Stage::Policy,
            format!("row-level security of new table {table}"),
            sql,
        ));
    }
}

/// Row-level security of a table on both sides; `table` is its name once renames ran.
pub(super) fn diff_table(ctx: &mut Ctx, table: &QualifiedName, c: &Table, d: &Table) {
    let t = qualified(table);
    let (cf, df) = (c.row_security, d.row_security);
    if cf.forced && !df.forced {
        ctx.push(Draft::new(
            Stage::Policy,
            format!("stop forcing row-level security on {table} for its owner"),
            format!("ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY"),
        ));
    }
    if cf.enabled && !df.enabled {
        ctx.push(
            Draft::new(
                Stage::Policy,
                format!("disable row-level security on {table}"),
                format!("ALTER TABLE {t} DISABLE ROW LEVEL SECURITY"),
            )
            .hazard(
                HazardKind::BreaksCompatibility,
                format!("every role with privileges on {table} sees and changes every row"),
            ),
        );
    }
    let p = super::pair(&c.policies, &d.policies, |p| p.renamed_from.as_ref());
    for (cp, dp, renamed) in &p.matched {
        if *renamed {
            ctx.push(Draft::new(
                Stage::Policy,
                format!("rename policy {} on {table} to {}", cp.name, dp.name),
                format!(
                    "ALTER POLICY {} ON {t} RENAME TO {}",
                    quote_ident(&cp.name),
                    quote_ident(&dp.name)
                ),
            ));
        }
        alter(ctx, table, cp, dp);
    }
    for dp in &p.created {
        ctx.push(Draft::new(
            Stage::Policy,
            format!("create policy {} on {table}", dp.name),
            ddl::create_policy(table, dp),
        ));
        if dp.comment.is_some() {
            ctx.push(comment(table, dp));
        }
    }
    for cp in &p.dropped {
        let effect = if cp.permissive {
            "rows only it allowed become invisible to the roles it served"
        } else {
            "rows it hid become visible"
        };
        ctx.push(
            Draft::new(
                Stage::Policy,
                format!("drop policy {} on {table}", cp.name),
                drop_sql(table, &cp.name),
            )
            .hazard(HazardKind::BreaksCompatibility, effect),
        );
    }
    if !cf.enabled && df.enabled {
        ctx.push(
            Draft::new(
                Stage::Policy,
                format!("enable row-level security on {table}"),
                format!("ALTER TABLE {t} ENABLE ROW LEVEL SECURITY"),
            )
            .hazard(
                HazardKind::BreaksCompatibility,
                format!(
                    "roles other than the owner see only the rows of {table} its policies allow"
                ),
            ),
        );
    }
    if !cf.forced && df.forced {
        ctx.push(Draft::new(
            Stage::Policy,
            format!("force row-level security on {table} for its owner too"),
            format!("ALTER TABLE {t} FORCE ROW LEVEL SECURITY"),
        ));
    }
}

fn alter(ctx: &mut Ctx, table: &QualifiedName, c: &Policy, d: &Policy) {
    let loses_expression = (c.using.is_some() && d.using.is_none())
        || (c.with_check.is_some() && d.with_check.is_none());
    if c.permissive != d.permissive || c.command != d.command || loses_expression {
        let why = if loses_expression {
            "ALTER POLICY cannot remove an expression"
        } else {
            "its command or kind changed"
        };
        ctx.push(Draft::new(
            Stage::Policy,
            format!(
                "replace policy {} on {table} in one transaction ({why})",
                d.name
            ),
            format!(
                "{};\n{}",
                drop_sql(table, &d.name),
                ddl::create_policy(table, d)
            ),
        ));
        if d.comment.is_some() {
            ctx.push(comment(table, d));
        }
        return;
    }
    let mut clauses = String::new();
    if c.roles != d.roles {
        clauses.push_str(&format!(" TO {}", ddl::roles(&d.roles)));
    }
    if c.using != d.using
        && let Some(e) = &d.using
    {
        clauses.push_str(&format!(" USING ({e})"));
    }
    if c.with_check != d.with_check
        && let Some(e) = &d.with_check
    {
        clauses.push_str(&format!(" WITH CHECK ({e})"));
    }
    if !clauses.is_empty() {
        ctx.push(Draft::new(
            Stage::Policy,
            format!("alter policy {} on {table}", d.name),
            format!(
                "ALTER POLICY {} ON {}{clauses}",
                quote_ident(&d.name),
                qualified(table)
            ),
        ));
    }
    if c.comment != d.comment {
        ctx.push(comment(table, d));
    }
}

fn drop_sql(table: &QualifiedName, name: &str) -> String {
    format!("DROP POLICY {} ON {}", quote_ident(name), qualified(table))
}

fn comment(table: &QualifiedName, p: &Policy) -> Draft {
    super::comment_on(
        format!("POLICY {} ON {}", quote_ident(&p.name), qualified(table)),
        format!("policy {} on {table}", p.name),
        p.comment.as_deref(),
    )
}
