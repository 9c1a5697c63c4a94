//! Enum types: created before the columns that use them, values added in the declared position,
//! values renamed where declared, the type dropped (with permission) after its users.
//!
//! Removing or reordering values has no in-place form in PostgreSQL: `enum_rebuild` builds a
//! copy of the declared type and converts every column that uses it, rather than emitting
//! `DROP TYPE ... CASCADE`.

use super::{Ctx, Draft, Stage, display, loss, pair_in_schemas, qn};
use crate::model::{DataLossKind, Enum};
use crate::plan::HazardKind;
use crate::sql::quote_literal;

pub(super) fn diff(ctx: &mut Ctx) {
    let (current, desired) = (ctx.current, ctx.desired);
    let pairs = pair_in_schemas(current, desired, |s| &s.enums, |e| e.renamed_from.as_ref());
    for (sname, p) in pairs {
        for d in p.created {
            let q = qn(sname, &d.name);
            let labels: Vec<String> = d.values.iter().map(|v| quote_literal(&v.name)).collect();
            ctx.push(Draft::new(
                Stage::Enum,
                format!("create enum {}", display(sname, &d.name)),
                format!("CREATE TYPE {q} AS ENUM ({})", labels.join(", ")),
            ));
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

fn drop(ctx: &mut Ctx, schema: &str, c: &Enum) {
    ctx.push(
        Draft::new(
            Stage::DropEnum,
            format!("drop enum {}", display(schema, &c.name)),
            format!("DROP TYPE {}", qn(schema, &c.name)),
        )
        .loses(
            loss(DataLossKind::Enum, schema, &c.name, None),
            format!("drops enum {}", display(schema, &c.name)),
        ),
    );
}

fn comment(schema: &str, e: &Enum) -> Draft {
    super::comment_on(
        format!("TYPE {}", qn(schema, &e.name)),
        format!("enum {}", display(schema, &e.name)),
        e.comment.as_deref(),
    )
}

fn alter(ctx: &mut Ctx, schema: &str, c: &Enum, d: &Enum, renamed: bool) {
    let q = qn(schema, &d.name);
    if renamed {
        ctx.push(
            Draft::new(
                Stage::Rename,
                format!(
                    "rename enum {} to {}",
                    display(schema, &c.name),
                    display(schema, &d.name)
                ),
                format!(
                    "ALTER TYPE {} RENAME TO {}",
                    qn(schema, &c.name),
                    crate::sql::quote_ident(&d.name)
                ),
            )
            .hazard(
                HazardKind::BreaksCompatibility,
                format!("clients naming type {} break", display(schema, &c.name)),
            ),
        );
    }
    if super::enum_rebuild::needed(ctx, schema, c, d) {
        super::enum_rebuild::rebuild(ctx, schema, c, d);
        return;
    }
    // Current labels after the declared renames.
    let mut labels: Vec<String> = c.values.iter().map(|v| v.name.clone()).collect();
    for v in &d.values {
        let Some(old) = &v.renamed_from else { continue };
        if labels.contains(&v.name) {
            continue;
        }
        if let Some(slot) = labels.iter_mut().find(|l| *l == old) {
            *slot = v.name.clone();
            ctx.push(Draft::new(
                Stage::Enum,
                format!(
                    "rename value {old} of enum {} to {}",
                    display(schema, &d.name),
                    v.name
                ),
                format!(
                    "ALTER TYPE {q} RENAME VALUE {} TO {}",
                    quote_literal(old),
                    quote_literal(&v.name)
                ),
            ));
        }
    }
    // Values only added (a removal or a new order was rebuilt above).
    let wanted: Vec<&str> = d.values.iter().map(|v| v.name.as_str()).collect();
    // Add the new labels in declared order, each placed relative to one that exists by then.
    for (i, w) in wanted.iter().enumerate() {
        if labels.iter().any(|l| l == w) {
            continue;
        }
        let position = if i > 0 {
            format!(" AFTER {}", quote_literal(wanted[i - 1]))
        } else {
            match wanted
                .iter()
                .skip(1)
                .find(|x| labels.iter().any(|l| l == *x))
            {
                Some(next) => format!(" BEFORE {}", quote_literal(next)),
                None => String::new(),
            }
        };
        ctx.push(Draft::new(
            Stage::Enum,
            format!("add value {w} to enum {}", display(schema, &d.name)),
            format!("ALTER TYPE {q} ADD VALUE {}{position}", quote_literal(w)),
        ));
        labels.push(w.to_string());
    }
    if c.comment != d.comment {
        ctx.push(comment(schema, d));
    }
}
