//! Standalone sequences: options, ownership, renames and drops.
//!
//! `OWNED BY` is set after the tables (the column must exist). A sequence owned by a column
//! goes away with the column, so its drop is written `IF EXISTS`: whichever statement comes
//! first, the end state is the same.

use super::{Ctx, Draft, Stage, display, loss, pair_in_schemas, qn};
use crate::model::{DataLossKind, Sequence, SequenceOptions};
use crate::plan::HazardKind;
use crate::sql::{qualified, quote_ident, quote_literal};

pub(super) fn diff(ctx: &mut Ctx) {
    let (current, desired) = (ctx.current, ctx.desired);
    let pairs = pair_in_schemas(
        current,
        desired,
        |s| &s.sequences,
        |s| s.renamed_from.as_ref(),
    );
    for (sname, p) in pairs {
        for d in p.created {
            let q = qn(sname, &d.name);
            ctx.push(Draft::new(
                Stage::Sequence,
                format!("create sequence {}", display(sname, &d.name)),
                format!(
                    "CREATE SEQUENCE {q}{}",
                    crate::ddl::sequence_options(&d.options, true)
                ),
            ));
            if d.owned_by.is_some() {
                ctx.push(owner(sname, d));
            }
            if d.comment.is_some() {
                ctx.push(comment(sname, d));
            }
        }
        for (c, d, renamed) in p.matched {
            alter(ctx, sname, c, d, renamed);
        }
        for c in p.dropped {
            drop(ctx, sname, c);
        }
    }
}

fn drop(ctx: &mut Ctx, schema: &str, c: &Sequence) {
    let if_exists = if c.owned_by.is_some() {
        "IF EXISTS "
    } else {
        ""
    };
    ctx.push(
        Draft::new(
            Stage::DropSequence,
            format!("drop sequence {}", display(schema, &c.name)),
            format!("DROP SEQUENCE {if_exists}{}", qn(schema, &c.name)),
        )
        .loses(
            loss(DataLossKind::Sequence, schema, &c.name, None),
            format!(
                "drops sequence {} and its current value",
                display(schema, &c.name)
            ),
        ),
    );
}

fn owner(schema: &str, s: &Sequence) -> Draft {
    let target = match &s.owned_by {
        Some(o) => format!("{}.{}", qualified(&o.table), quote_ident(&o.column)),
        None => "NONE".to_string(),
    };
    Draft::new(
        Stage::SequenceOwner,
        format!("set the owner of sequence {}", display(schema, &s.name)),
        format!("ALTER SEQUENCE {} OWNED BY {target}", qn(schema, &s.name)),
    )
}

fn comment(schema: &str, s: &Sequence) -> Draft {
    super::comment_on(
        format!("SEQUENCE {}", qn(schema, &s.name)),
        format!("sequence {}", display(schema, &s.name)),
        s.comment.as_deref(),
    )
}

fn alter(ctx: &mut Ctx, schema: &str, c: &Sequence, d: &Sequence, renamed: bool) {
    if renamed {
        ctx.push(
            Draft::new(
                Stage::Rename,
                format!(
                    "rename sequence {} to {}",
                    display(schema, &c.name),
                    display(schema, &d.name)
                ),
                format!(
                    "ALTER SEQUENCE {} RENAME TO {}",
                    qn(schema, &c.name),
                    quote_ident(&d.name)
                ),
            )
            .hazard(
                HazardKind::BreaksCompatibility,
                format!("clients naming sequence {} break", display(schema, &c.name)),
            ),
        );
    }
    let clauses = option_changes(&c.options, &d.options);
    if !clauses.is_empty() {
        let q = qn(schema, &d.name);
        let alter = format!("ALTER SEQUENCE {q}{clauses}");
        let sql = match bound_lift(&quote_literal(&q), &c.options, &d.options) {
            Some(lift) => format!("{lift};\n{alter}"),
            None => alter,
        };
        ctx.push(Draft::new(
            Stage::Sequence,
            format!("change options of sequence {}", display(schema, &d.name)),
            sql,
        ));
    }
    if c.owned_by != d.owned_by {
        ctx.push(owner(schema, d));
    }
    if c.comment != d.comment {
        ctx.push(comment(schema, d));
    }
}

/// The `ALTER SEQUENCE` clauses (each with a leading space) that turn `c`'s options into `d`'s.
fn option_changes(c: &SequenceOptions, d: &SequenceOptions) -> String {
    option_clauses(c, d)
        .into_iter()
        .map(|clause| format!(" {clause}"))
        .collect()
}

/// The bound the sequence counts away from: MINVALUE when ascending, MAXVALUE when
/// descending, with PostgreSQL's defaults (1 and -1) when unset.
fn effective_first(o: &SequenceOptions) -> i64 {
    if o.increment.unwrap_or(1) > 0 {
        o.min_value.unwrap_or(1)
    } else {
        o.max_value.unwrap_or(-1)
    }
}

/// A statement to run before an `ALTER` that moves the bound a sequence counts away from
/// past its position (a higher MINVALUE for an ascending sequence, a lower MAXVALUE for a
/// descending one), which PostgreSQL refuses ("RESTART value cannot be less than MINVALUE")
/// unless the sequence restarts. A RESTART could hand out values again; this moves the
/// position only forward, to the new bound, and only when it lies behind it. Every value
/// handed out so far lies behind the position, so none comes again. The position is read at
/// apply time, not planned: a sequence used between plan and apply is still right. One that
/// never handed out a value has no readable position but its next value, which `nextval`
/// takes (a gap, as sequences allow). `sequence` is SQL yielding the sequence's regclass.
pub(crate) fn bound_lift(
    sequence: &str,
    c: &SequenceOptions,
    d: &SequenceOptions,
) -> Option<String> {
    let ascending = d.increment.unwrap_or(1) > 0;
    if ascending != (c.increment.unwrap_or(1) > 0) {
        return None;
    }
    let (from, to) = (effective_first(c), effective_first(d));
    let (behind, moved) = if ascending {
        ("<", to > from)
    } else {
        (">", to < from)
    };
    moved.then(|| {
        format!(
            "SELECT pg_catalog.setval(s.seq, {to}, false) \
             FROM (SELECT {sequence}::regclass AS seq) AS s \
             WHERE coalesce(pg_catalog.pg_sequence_last_value(s.seq), pg_catalog.nextval(s.seq)) {behind} {to}"
        )
    })
}

/// START as PostgreSQL applies it: when not set, MINVALUE for an ascending sequence and
/// MAXVALUE for a descending one (1 and -1 when those are not set either).
fn effective_start(o: &SequenceOptions) -> i64 {
    o.start.unwrap_or(if o.increment.unwrap_or(1) > 0 {
        o.min_value.unwrap_or(1)
    } else {
        o.max_value.unwrap_or(-1)
    })
}

/// The option clauses that turn `c` into `d`. `None` means PostgreSQL's default, which each
/// clause restores explicitly.
pub(crate) fn option_clauses(c: &SequenceOptions, d: &SequenceOptions) -> Vec<String> {
    let mut out = Vec::new();
    if c.data_type != d.data_type {
        out.push(format!("AS {}", d.data_type.as_deref().unwrap_or("bigint")));
    }
    if c.increment != d.increment {
        out.push(format!("INCREMENT BY {}", d.increment.unwrap_or(1)));
    }
    if c.min_value != d.min_value || c.data_type != d.data_type {
        out.push(match d.min_value {
            Some(v) => format!("MINVALUE {v}"),
            None => "NO MINVALUE".to_string(),
        });
    }
    if c.max_value != d.max_value || c.data_type != d.data_type {
        out.push(match d.max_value {
            Some(v) => format!("MAXVALUE {v}"),
            None => "NO MAXVALUE".to_string(),
        });
    }
    // An unset START follows MINVALUE (MAXVALUE when descending), so a new minimum moves it
    // too, and PostgreSQL refuses a START outside the new bounds.
    if effective_start(c) != effective_start(d) {
        out.push(format!("START WITH {}", effective_start(d)));
    }
    if c.cache != d.cache {
        out.push(format!("CACHE {}", d.cache.unwrap_or(1)));
    }
    if c.cycle != d.cycle {
        out.push(if d.cycle { "CYCLE" } else { "NO CYCLE" }.to_string());
    }
    out
}
