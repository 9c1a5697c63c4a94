//! Constraints of a table that exists on both sides: primary key, unique, check, exclusion and
//! foreign keys.
//!
//! A constraint whose definition changed is dropped and added again (a constraint has no
//! `ALTER` for its definition). Adding takes the online form:
//! - primary key and unique: the index is built `CONCURRENTLY` first, then attached with
//!   `ADD CONSTRAINT ... USING INDEX` (a brief ACCESS EXCLUSIVE, no build under it);
//! - check and foreign key: `NOT VALID` (no scan), then `VALIDATE CONSTRAINT` in its own
//!   transaction, which scans under SHARE UPDATE EXCLUSIVE and does not block writes;
//! - exclusion: PostgreSQL has no online form; the step says so through its lock.
//!
//! Dropping a foreign key takes ACCESS EXCLUSIVE on the referenced table too (its triggers
//! live there), and validating one takes ROW SHARE there: the SQL does not show either, so the
//! drafts declare them, and the proof checks them against what PostgreSQL took.

use super::{Ctx, Draft, Stage, pair};
use crate::ddl::table::{self as ddl, Names};
use crate::locks::LockMode;
use crate::model::{
    Check, Exclusion, ForeignKey, Index, IndexKey, IndexKeyTarget, PrimaryKey, QualifiedName,
    Schema, Table, Unique,
};
use crate::sql::{qualified, quote_ident};

pub(super) fn diff_table(ctx: &mut Ctx, names: &Names, schema: &Schema, c: &Table, d: &Table) {
    let tq = QualifiedName::new(&schema.name, &d.name);
    let t = qualified(&tq);
    // Primary key: at most one on each side, matched by presence.
    match (&c.primary_key, &d.primary_key) {
        (Some(cp), Some(dp)) => {
            if !same_pk(cp, dp) {
                drop_constraint(ctx, &tq, &cp.name, "primary key");
                add_key(ctx, names, schema, d, KeyKind::Primary(dp));
            } else if cp.name != dp.name {
                rename(ctx, &tq, &cp.name, &dp.name);
            }
            if cp.comment != dp.comment {
                ctx.push(comment(&t, &tq, &dp.name, dp.comment.as_deref()));
            }
        }
        (None, Some(dp)) => {
            add_key(ctx, names, schema, d, KeyKind::Primary(dp));
            if dp.comment.is_some() {
                ctx.push(comment(&t, &tq, &dp.name, dp.comment.as_deref()));
            }
        }
        (Some(cp), None) => drop_constraint(ctx, &tq, &cp.name, "primary key"),
        (None, None) => {}
    }

    let p = pair(&c.uniques, &d.uniques, |u| u.renamed_from.as_ref());
    for (cu, du, renamed) in p.matched {
        if renamed {
            rename(ctx, &tq, &cu.name, &du.name);
        }
        if !same_unique(cu, du) {
            drop_constraint(ctx, &tq, &du.name, "unique constraint");
            add_key(ctx, names, schema, d, KeyKind::Unique(du));
        }
        if cu.comment != du.comment {
            ctx.push(comment(&t, &tq, &du.name, du.comment.as_deref()));
        }
    }
    for du in p.created {
        add_key(ctx, names, schema, d, KeyKind::Unique(du));
        if du.comment.is_some() {
            ctx.push(comment(&t, &tq, &du.name, du.comment.as_deref()));
        }
    }
    for cu in p.dropped {
        drop_constraint(ctx, &tq, &cu.name, "unique constraint");
    }

    let p = pair(&c.checks, &d.checks, |x| x.renamed_from.as_ref());
    for (cc, dc, renamed) in p.matched {
        if renamed {
            rename(ctx, &tq, &cc.name, &dc.name);
        }
        if cc.expression != dc.expression
            || cc.no_inherit != dc.no_inherit
            || (cc.valid && !dc.valid)
        {
            drop_constraint(ctx, &tq, &dc.name, "check constraint");
            add_check(ctx, &tq, dc);
        } else if !cc.valid && dc.valid {
            validate(ctx, &tq, &dc.name, "check constraint");
        }
        if cc.comment != dc.comment {
            ctx.push(comment(&t, &tq, &dc.name, dc.comment.as_deref()));
        }
    }
    for dc in p.created {
        add_check(ctx, &tq, dc);
        if dc.comment.is_some() {
            ctx.push(comment(&t, &tq, &dc.name, dc.comment.as_deref()));
        }
    }
    for cc in p.dropped {
        drop_constraint(ctx, &tq, &cc.name, "check constraint");
    }

    let p = pair(&c.exclusions, &d.exclusions, |x| x.renamed_from.as_ref());
    for (cx, dx, renamed) in p.matched {
        if renamed {
            rename(ctx, &tq, &cx.name, &dx.name);
        }
        if !same_exclusion(cx, dx) {
            drop_constraint(ctx, &tq, &dx.name, "exclusion constraint");
            add_exclusion(ctx, names, &tq, dx);
        }
        if cx.comment != dx.comment {
            ctx.push(comment(&t, &tq, &dx.name, dx.comment.as_deref()));
        }
    }
    for dx in p.created {
        add_exclusion(ctx, names, &tq, dx);
        if dx.comment.is_some() {
            ctx.push(comment(&t, &tq, &dx.name, dx.comment.as_deref()));
        }
    }
    for cx in p.dropped {
        drop_constraint(ctx, &tq, &cx.name, "exclusion constraint");
    }

    let p = pair(&c.foreign_keys, &d.foreign_keys, |x| {
        x.renamed_from.as_ref()
    });
    for (cf, df, renamed) in p.matched {
        if renamed {
            rename(ctx, &tq, &cf.name, &df.name);
        }
        // A referenced table renamed by this plan is the same table.
        let followed = ForeignKey {
            references: ctx.renamed(&cf.references),
            ..cf.clone()
        };
        if !same_fk(&followed, df) || (cf.valid && !df.valid) {
            let references = ctx.renamed(&cf.references);
            ctx.push(drop_foreign_key(
                Stage::RelaxForeignKeys,
                &tq,
                &df.name,
                &references,
                "its definition changes",
            ));
            add_fk(ctx, &tq, df);
        } else if !cf.valid && df.valid {
            validate_fk(ctx, &tq, df);
        }
        if cf.comment != df.comment {
            ctx.push(comment(&t, &tq, &df.name, df.comment.as_deref()));
        }
    }
    for df in p.created {
        add_fk(ctx, &tq, df);
        if df.comment.is_some() {
            ctx.push(comment(&t, &tq, &df.name, df.comment.as_deref()));
        }
    }
    for cf in p.dropped {
        let references = ctx.renamed(&cf.references);
        ctx.push(drop_foreign_key(
            Stage::RelaxForeignKeys,
            &tq,
            &cf.name,
            &references,
            "it is no longer declared",
        ));
    }
}

fn same_pk(a: &PrimaryKey, b: &PrimaryKey) -> bool {
    a.columns == b.columns && a.include == b.include && a.deferrable == b.deferrable
}

fn same_unique(a: &Unique, b: &Unique) -> bool {
    a.columns == b.columns
        && a.include == b.include
        && a.nulls_not_distinct == b.nulls_not_distinct
        && a.deferrable == b.deferrable
}

fn same_exclusion(a: &Exclusion, b: &Exclusion) -> bool {
    a.method == b.method
        && a.elements == b.elements
        && a.include == b.include
        && a.predicate == b.predicate
        && a.deferrable == b.deferrable
}

fn same_fk(a: &ForeignKey, b: &ForeignKey) -> bool {
    a.columns == b.columns
        && a.references == b.references
        && a.referenced_columns == b.referenced_columns
        && a.on_delete == b.on_delete
        && a.on_update == b.on_update
        && a.match_type == b.match_type
        && a.deferrable == b.deferrable
}

fn rename(ctx: &mut Ctx, tq: &QualifiedName, old: &str, new: &str) {
    ctx.push(Draft::new(
        Stage::Rename,
        format!("rename constraint {old} of {tq} to {new}"),
        format!(
            "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
            qualified(tq),
            quote_ident(old),
            quote_ident(new)
        ),
    ));
}

fn drop_constraint(ctx: &mut Ctx, tq: &QualifiedName, name: &str, what: &str) {
    ctx.push(Draft::new(
        Stage::Relax,
        format!("drop {what} {name} of {tq}"),
        format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            qualified(tq),
            quote_ident(name)
        ),
    ));
}

/// Dropping a foreign key: ACCESS EXCLUSIVE on its table and on the table it references,
/// whose triggers enforce it. `why` says why it goes.
pub(super) fn drop_foreign_key(
    stage: Stage,
    table: &QualifiedName,
    name: &str,
    references: &QualifiedName,
    why: &str,
) -> Draft {
    let also = if references == table {
        String::new()
    } else {
        format!("; also locks the referenced table {references}")
    };
    Draft::new(
        stage,
        format!("drop foreign key {name} of {table} ({why}{also})"),
        format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            qualified(table),
            quote_ident(name)
        ),
    )
    .also_locks(LockMode::AccessExclusive, references.clone())
}

fn validate_draft(tq: &QualifiedName, name: &str, what: &str) -> Draft {
    Draft::new(
        Stage::Validate,
        format!("validate {what} {name} of {tq}, without blocking writes"),
        format!(
            "ALTER TABLE {} VALIDATE CONSTRAINT {}",
            qualified(tq),
            quote_ident(name)
        ),
    )
}

fn validate(ctx: &mut Ctx, tq: &QualifiedName, name: &str, what: &str) {
    ctx.push(validate_draft(tq, name, what));
}

/// Validating a foreign key reads the referenced table under ROW SHARE as well.
fn validate_fk(ctx: &mut Ctx, tq: &QualifiedName, fk: &ForeignKey) {
    ctx.push(
        validate_draft(tq, &fk.name, "foreign key")
            .also_locks(LockMode::RowShare, fk.references.clone()),
    );
}

fn comment(t: &str, tq: &QualifiedName, name: &str, text: Option<&str>) -> Draft {
    super::comment_on(
        format!("CONSTRAINT {} ON {t}", quote_ident(name)),
        format!("constraint {name} of {tq}"),
        text,
    )
}

enum KeyKind<'a> {
    Primary(&'a PrimaryKey),
    Unique(&'a Unique),
}

/// A primary key or unique constraint on an existing table: its index built concurrently,
/// then attached.
fn add_key(ctx: &mut Ctx, names: &Names, schema: &Schema, table: &Table, key: KeyKind) {
    let tq = QualifiedName::new(&schema.name, &table.name);
    let (name, columns, include, nulls_not_distinct, deferrable, what) = match key {
        KeyKind::Primary(pk) => (
            &pk.name,
            &pk.columns,
            &pk.include,
            false,
            pk.deferrable,
            "PRIMARY KEY",
        ),
        KeyKind::Unique(u) => (
            &u.name,
            &u.columns,
            &u.include,
            u.nulls_not_distinct,
            u.deferrable,
            "UNIQUE",
        ),
    };
    let index = Index {
        name: name.clone(),
        unique: true,
        method: "btree".into(),
        keys: columns
            .iter()
            .map(|c| IndexKey {
                target: IndexKeyTarget::Column(c.clone()),
                collation: None,
                opclass: None,
                descending: false,
                nulls_first: None,
            })
            .collect(),
        include: include.clone(),
        predicate: None,
        nulls_not_distinct,
        valid: true,
        comment: None,
        renamed_from: None,
    };
    if table.partition_by.is_some() {
        // PostgreSQL has no `USING INDEX` for partitioned tables.
        let nnd = if nulls_not_distinct {
            " NULLS NOT DISTINCT"
        } else {
            ""
        };
        let sql = format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {what}{nnd} ({}){}{}",
            qualified(&tq),
            quote_ident(name),
            crate::sql::ident_list(columns),
            ddl::include(include),
            ddl::deferrable(deferrable)
        );
        ctx.push(super::partitions::blocking_key(&tq, name, sql));
        return;
    }
    ctx.push(
        Draft::new(
            Stage::CreateIndex,
            format!("build the unique index for {name} on {tq} without blocking writes"),
            ddl::create_index_with(names, schema, table, &index, true),
        )
        .outside_transaction(),
    );
    ctx.push(Draft::new(
        Stage::AddConstraint,
        format!(
            "make index {name} the {} of {tq}",
            if what == "UNIQUE" {
                "unique constraint"
            } else {
                "primary key"
            }
        ),
        format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {what} USING INDEX {}{}",
            qualified(&tq),
            quote_ident(name),
            quote_ident(name),
            ddl::deferrable(deferrable)
        ),
    ));
}

fn add_check(ctx: &mut Ctx, tq: &QualifiedName, c: &Check) {
    let body = ddl::check(c);
    ctx.push(Draft::new(
        Stage::AddConstraint,
        format!(
            "add check constraint {} to {tq} (not validated yet)",
            c.name
        ),
        format!("ALTER TABLE {} ADD {body} NOT VALID", qualified(tq)),
    ));
    if c.valid {
        validate(ctx, tq, &c.name, "check constraint");
    }
}

fn add_fk(ctx: &mut Ctx, tq: &QualifiedName, fk: &ForeignKey) {
    let mut not_valid = fk.clone();
    // PostgreSQL before 18 refuses NOT VALID foreign keys on partitioned tables.
    not_valid.valid = super::partitions::fk_valid_at_once(ctx, tq);
    if not_valid.valid {
        ctx.push(Draft::new(
            Stage::AddForeignKey,
            format!(
                "add foreign key {} from partitioned table {tq} to {} (validated as it is added: \
                 PostgreSQL before 18 has no NOT VALID here)",
                fk.name, fk.references
            ),
            format!("ALTER TABLE {} ADD {}", qualified(tq), ddl::foreign_key(fk)),
        ));
        return;
    }
    ctx.push(Draft::new(
        Stage::AddForeignKey,
        format!(
            "add foreign key {} from {tq} to {} (not validated yet)",
            fk.name, fk.references
        ),
        format!(
            "ALTER TABLE {} ADD {}",
            qualified(tq),
            ddl::foreign_key(&not_valid)
        ),
    ));
    if fk.valid {
        validate_fk(ctx, tq, fk);
    }
}

fn add_exclusion(ctx: &mut Ctx, names: &Names, tq: &QualifiedName, x: &Exclusion) {
    ctx.push(Draft::new(
        Stage::AddConstraint,
        format!("add exclusion constraint {} to {tq}", x.name),
        format!(
            "ALTER TABLE {} ADD {}",
            qualified(tq),
            ddl::exclusion(names, x)
        ),
    ));
}
