//! Removing or reordering the values of an enum that columns use, without
//! `DROP TYPE ... CASCADE` and without rewriting a table under ACCESS EXCLUSIVE.
//!
//! PostgreSQL can add and rename enum values in place, but not remove or reorder them. The type
//! is rebuilt instead:
//!
//! Expand:
//! 1. `CREATE TYPE formwork_enum_<hash> AS ENUM (<declared values, in order>)`, a copy of the
//!    declared type under a temporary name (`Ctx::fresh_name`, deterministic).
//! 2. Every column that uses the enum is converted to the copy by the expand and contract
//!    retype of `retype` (shadow column, sync trigger, batched backfill, indexes rebuilt
//!    concurrently, swap under the short lock_timeout), with the conversion
//!    `CASE col::text WHEN 'removed' THEN 'replacement' ... ELSE col::text END`: removed values
//!    become their declared replacement (`removed "old" replaced-by="new"` in KDL), renamed
//!    values (`renamed-from`) their new name, every other value itself. The column's default
//!    is carried over as the same label of the copy. A column the retype cannot move online
//!    (a key, a table a view reads, ... see `retype::why_not_online`) is converted in place by
//!    `ALTER COLUMN ... TYPE ... USING`, a rewrite the plan gate reports as blocking.
//!
//! Contract (one transaction): the retired columns are dropped (by `retype`), then
//! `DROP TYPE <old>` (no CASCADE: anything still depending on it makes the step fail rather
//! than vanish) and `ALTER TYPE formwork_enum_<hash> RENAME TO <name>`, with the declared
//! comment. Between the phases the application reads and writes the columns as the copy; an
//! untyped literal or a text parameter works against both, an explicit `'x'::<name>` cast
//! does not until the contract ran.
//!
//! A removed value without a declared replacement is only removed when no row holds it: the
//! plan is refused otherwise (`catalog::enum_usage` counts the rows, [`unreplaced`] says where
//! to look); a row written with it after planning makes the conversion fail at apply (the
//! value does not exist in the copy) instead of being changed silently.
//!
//! What this deliberately does not do: arrays of the enum, generated columns of it, columns
//! added (or changed to the enum) in the same plan, defaults other than a label of the enum,
//! and views whose query names the type are refused with the reason (declare the change in two
//! plans). Domains, functions and composite types over the enum are not in the model: the
//! contract's `DROP TYPE` fails on them, naming them.

use super::{Ctx, Draft, Stage, display, qn};
use crate::ddl::table::Names;
use crate::model::{Column, Enum, Model, QualifiedName};
use crate::sql::{quote_ident, quote_literal};

/// A type as the catalog prints it (`format_type`, empty search_path: `public.mood`,
/// `"My Schema"."Mood"[]`), read back as its qualified name and whether it is an array of it.
/// `None` for built-in types without a schema.
pub fn type_ref(data_type: &str) -> Option<(QualifiedName, bool)> {
    let (base, array) = match data_type.trim().strip_suffix("[]") {
        Some(b) => (b, true),
        None => (data_type.trim(), false),
    };
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = base.chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    parts.push(cur);
    match <[String; 2]>::try_from(parts) {
        Ok([schema, name]) if !quoted => Some((QualifiedName::new(schema, name), array)),
        _ => None,
    }
}

/// Whether a column type is the copy of an enum being rebuilt (`formwork_enum_<hash>`).
pub(super) fn is_rebuild_type(data_type: &str) -> bool {
    type_ref(data_type).is_some_and(|(q, array)| {
        !array
            && super::transitional::recognize(&q.name, super::transitional::ObjectType::Enum)
                .is_some()
    })
}

/// What becomes of a current label of an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    /// Declared as it is.
    Kept,
    /// Declared under a new name (`renamed-from`).
    Renamed(String),
    /// Removed; its rows get this declared label (`removed ... replaced-by=`).
    Replaced(String),
    /// Removed without a replacement.
    Removed,
}

impl Fate {
    /// The label rows holding it get, if any.
    fn target<'a>(&'a self, label: &'a str) -> Option<&'a str> {
        match self {
            Fate::Kept => Some(label),
            Fate::Renamed(to) | Fate::Replaced(to) => Some(to),
            Fate::Removed => None,
        }
    }
}

/// Each current label of enum `c` with what the declaration `d` (in `desired`) makes of it.
fn fates(desired: &Model, schema: &str, c: &Enum, d: &Enum) -> Vec<(String, Fate)> {
    let declared = QualifiedName::new(schema, &d.name);
    c.values
        .iter()
        .map(|l| {
            // As `enums::alter` renames: only to a label the type does not have yet.
            let renamed = d.values.iter().find(|v| {
                v.renamed_from.as_deref() == Some(l.name.as_str())
                    && !c.values.iter().any(|cv| cv.name == v.name)
            });
            let fate = match renamed {
                Some(v) => Fate::Renamed(v.name.clone()),
                None if d.values.iter().any(|v| v.name == l.name) => Fate::Kept,
                None => desired
                    .replacement_of(&declared, &l.name)
                    .map_or(Fate::Removed, |r| Fate::Replaced(r.to_string())),
            };
            (l.name.clone(), fate)
        })
        .collect()
}

/// A current column whose type is the enum.
struct User<'a> {
    table: QualifiedName,
    column: &'a Column,
    array: bool,
}

/// The columns of `model` whose type is enum `q` or an array of it.
fn users<'a>(model: &'a Model, q: &QualifiedName) -> Vec<User<'a>> {
    model
        .tables()
        .flat_map(|(s, t)| {
            t.columns.values().filter_map(move |col| {
                let (r, array) = type_ref(&col.data_type)?;
                (r == *q).then(|| User {
                    table: QualifiedName::new(&s.name, &t.name),
                    column: col,
                    array,
                })
            })
        })
        .collect()
}

/// A value removed from an enum without a declared replacement, and a column that may hold
/// it: the plan is refused when a row does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreplaced {
    /// The enum as it is called now.
    pub type_name: QualifiedName,
    pub value: String,
    pub table: QualifiedName,
    pub column: String,
}

/// Every (removed value without replacement, column using the enum) pair between `current`
/// and `declared` (the declaration as loaded: enum values and names are compared exactly).
pub fn unreplaced(current: &Model, declared: &Model) -> Vec<Unreplaced> {
    let mut out = Vec::new();
    for (sname, ds) in &declared.schemas {
        let Some(cs) = current.schemas.get(sname) else {
            continue;
        };
        for d in ds.enums.values() {
            let c = cs.enums.get(&d.name).or_else(|| {
                d.renamed_from
                    .as_ref()
                    .filter(|old| !ds.enums.contains_key(*old))
                    .and_then(|old| cs.enums.get(old))
            });
            let Some(c) = c else { continue };
            let q = QualifiedName::new(sname, &c.name);
            let used = users(current, &q);
            for (value, fate) in fates(declared, sname, c, d) {
                if fate != Fate::Removed {
                    continue;
                }
                for u in used.iter().filter(|u| !u.array) {
                    out.push(Unreplaced {
                        type_name: q.clone(),
                        value: value.clone(),
                        table: u.table.clone(),
                        column: u.column.name.clone(),
                    });
                }
            }
        }
    }
    out
}

/// Whether enum `c` must be rebuilt to become `d`: a value goes away (not renamed), or the
/// values that stay change their order.
pub(super) fn needed(ctx: &Ctx, schema: &str, c: &Enum, d: &Enum) -> bool {
    let fates = fates(ctx.desired, schema, c, d);
    let removed = fates
        .iter()
        .any(|(_, f)| matches!(f, Fate::Replaced(_) | Fate::Removed));
    let kept: Vec<&str> = fates.iter().filter_map(|(l, f)| f.target(l)).collect();
    let declared: Vec<&str> = d
        .values
        .iter()
        .map(|v| v.name.as_str())
        .filter(|v| kept.contains(v))
        .collect();
    removed || kept != declared
}

/// The expand and contract drafts rebuilding enum `c` (current) as `d` (declared) in `schema`.
pub(super) fn rebuild(ctx: &mut Ctx, schema: &str, c: &Enum, d: &Enum) {
    let desired = ctx.desired;
    let shown = display(schema, &d.name);
    let temp = ctx.fresh_name("enum", schema, &[schema, &d.name]);
    let temp_sql = qn(schema, &temp);
    let fates = fates(desired, schema, c, d);
    let current_q = QualifiedName::new(schema, &c.name);
    let declared_q = QualifiedName::new(schema, &d.name);
    let users = users(ctx.current, &current_q);

    // A copy left by a plan whose contract has not run: its columns may use the copy already.
    let pending = ctx.current.schemas.get(schema).and_then(|s| {
        s.enums.keys().find(|n| {
            super::transitional::recognize(n, super::transitional::ObjectType::Enum).is_some()
                && super::transitional::hash_matches(n, "enum", &[schema, &d.name])
        })
    });
    if let Some(copy) = pending {
        ctx.unsupported.push(format!(
            "enum {shown}: {copy}, the copy an earlier plan made to rebuild it, still exists: \
             finish that plan first (`formwork apply <plan file> --phase contract`, see \
             `formwork status`)"
        ));
        return;
    }
    let mut refused = Vec::new();
    for u in users.iter().filter(|u| u.array) {
        refused.push(format!(
            "{}.{} is an array of it (arrays of a rebuilt enum are not converted yet)",
            u.table, u.column.name
        ));
    }
    let moved: Vec<(QualifiedName, String)> = users
        .iter()
        .filter_map(|u| {
            let (tq, col) = declared_twin(ctx, &u.table, u.column)?;
            Some((tq, col.name.clone()))
        })
        .collect();
    for (s, t) in desired.tables() {
        let tq = QualifiedName::new(&s.name, &t.name);
        for col in t.columns.values() {
            let uses = type_ref(&col.data_type).is_some_and(|(r, _)| r == declared_q);
            if uses && !moved.contains(&(tq.clone(), col.name.clone())) {
                refused.push(format!(
                    "{tq}.{} is added with it, or changed to it, in the same plan (make that \
                     change in a plan of its own)",
                    col.name
                ));
            }
        }
    }
    let printed = format!(
        "::{}",
        users.first().map_or_else(
            || format!("{schema}.{}", c.name),
            |u| u.column.data_type.trim_end_matches("[]").to_string()
        )
    );
    for (s, v) in ctx
        .current
        .schemas
        .iter()
        .flat_map(|(n, s)| s.views.values().map(move |v| (n, v)))
    {
        if v.query.contains(&printed) {
            refused.push(format!("view {s}.{} names the type in its query", v.name));
        }
    }
    if !refused.is_empty() {
        ctx.unsupported.push(format!(
            "enum {shown}: removing or reordering values rebuilds the type, which formwork cannot \
             do here yet:\n{}",
            refused
                .iter()
                .map(|r| format!("    {r}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
        return;
    }

    let labels: Vec<String> = d.values.iter().map(|v| quote_literal(&v.name)).collect();
    let gone: Vec<String> = fates
        .iter()
        .filter_map(|(from, fate)| match fate {
            Fate::Kept => None,
            Fate::Renamed(to) => Some(format!("{from} renamed {to}")),
            Fate::Replaced(to) => Some(format!("{from} removed, its rows get {to}")),
            Fate::Removed => Some(format!("{from} removed")),
        })
        .collect();
    ctx.push(Draft::new(
        Stage::Enum,
        format!(
            "create {temp}, a copy of enum {shown} as declared ({}), for its columns",
            if gone.is_empty() {
                "values reordered".to_string()
            } else {
                gone.join(", ")
            }
        ),
        format!("CREATE TYPE {temp_sql} AS ENUM ({})", labels.join(", ")),
    ));

    let names = Names::of(desired);
    for u in &users {
        let Some((tq, dcol)) = declared_twin(ctx, &u.table, u.column) else {
            continue;
        };
        let (Some(table_c), Some(table_d), Some(schema_d)) = (
            ctx.current.table(&u.table),
            desired.table(&tq),
            desired.schemas.get(&tq.schema),
        ) else {
            continue;
        };
        let col = quote_ident(&dcol.name);
        let default = match &dcol.default {
            None => None,
            Some(def) => match label_of(def, &dcol.data_type) {
                Some(label) => Some(format!("{label}::{temp_sql}")),
                None => {
                    ctx.unsupported.push(format!(
                        "enum {shown}: the default of {tq}.{} ({def}) is not a label of the enum; \
                         rebuilding the type cannot carry it over yet",
                        dcol.name
                    ));
                    continue;
                }
            },
        };
        let copy = Column {
            data_type: temp_sql.clone(),
            default,
            ..dcol.clone()
        };
        let whens: String = fates
            .iter()
            .filter_map(|(from, fate)| {
                let to = fate.target(from).filter(|t| t != from)?;
                Some(format!(
                    " WHEN {} THEN {}",
                    quote_literal(from),
                    quote_literal(to)
                ))
            })
            .collect();
        let using = if whens.is_empty() {
            format!("{col}::text")
        } else {
            format!("CASE {col}::text{whens} ELSE {col}::text END")
        };
        ctx.reshaped_tables.insert(tq.clone());
        match super::retype::why_not_online(ctx, &tq, (table_c, table_d), u.column, &copy) {
            None => super::retype::expand_contract_using(
                ctx,
                &names,
                (schema_d, table_c, table_d),
                &tq,
                (u.column, &copy),
                Some(using),
            ),
            Some(reason) => in_place(ctx, &tq, (u.column, &copy), &using, reason),
        }
    }

    let mut contract = vec![
        format!("DROP TYPE {}", qn(schema, &d.name)),
        format!("ALTER TYPE {temp_sql} RENAME TO {}", quote_ident(&d.name)),
    ];
    if let Some(comment) = &d.comment {
        contract.push(format!(
            "COMMENT ON TYPE {} IS {}",
            qn(schema, &d.name),
            quote_literal(comment)
        ));
    }
    ctx.push(Draft::new(
        Stage::DropEnum,
        format!(
            "replace enum {shown} by its rebuilt copy {temp} (its columns use the copy already)"
        ),
        contract.join(";\n"),
    ));
}

/// The declared table and column a current column of `table` becomes, when it keeps using the
/// enum (not dropped, not changed to another type, not generated).
fn declared_twin<'a>(
    ctx: &Ctx<'a>,
    table: &QualifiedName,
    column: &Column,
) -> Option<(QualifiedName, &'a Column)> {
    let tq = ctx.renamed(table);
    let t = ctx.desired.table(&tq)?;
    let d = t.columns.get(&column.name).or_else(|| {
        t.columns
            .values()
            .find(|d| d.renamed_from.as_deref() == Some(column.name.as_str()))
    })?;
    let same = type_ref(&d.data_type).is_some_and(|(_, array)| !array)
        && type_ref(&column.data_type).is_some_and(|(_, array)| !array);
    (same && d.generated.is_none() && column.generated.is_none() && !is_rebuild_type(&d.data_type))
        .then_some((tq, d))
}

/// The literal of a default that is one label of the enum (`'calm'::public.mood`, as the
/// catalog prints it), or `None`.
fn label_of<'d>(default: &'d str, data_type: &str) -> Option<&'d str> {
    let lit = default.strip_suffix(&format!("::{data_type}"))?;
    let inner = lit.strip_prefix('\'')?.strip_suffix('\'')?;
    // One literal: every quote inside is doubled.
    (!inner.replace("''", "").contains('\'')).then_some(lit)
}

/// The blocking fallback: `ALTER COLUMN ... TYPE <copy> USING <conversion>`, which rewrites the
/// table under ACCESS EXCLUSIVE (the plan gate reports it; `--allow-blocking` accepts it).
fn in_place(
    ctx: &mut Ctx,
    tq: &QualifiedName,
    (c, d): (&Column, &Column),
    using: &str,
    reason: &str,
) {
    let t = crate::sql::qualified(tq);
    let col = quote_ident(&d.name);
    let shown = format!("{tq}.{}", d.name);
    if c.default.is_some() {
        ctx.push(Draft::new(
            Stage::Columns,
            format!("drop the default of {shown} (it names the old type)"),
            format!("ALTER TABLE {t} ALTER COLUMN {col} DROP DEFAULT"),
        ));
    }
    ctx.push(Draft::new(
        Stage::Columns,
        format!(
            "convert {shown} to {} (rewrites the table: {reason})",
            d.data_type
        ),
        format!(
            "ALTER TABLE {t} ALTER COLUMN {col} TYPE {} USING ({using})::{}",
            d.data_type, d.data_type
        ),
    ));
    if let Some(def) = &d.default {
        ctx.push(Draft::new(
            Stage::Columns,
            format!("set the default of {shown}"),
            format!("ALTER TABLE {t} ALTER COLUMN {col} SET DEFAULT {def}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_type_names_are_read_back_with_their_quotes_undone() {
        assert_eq!(
            type_ref("public.mood"),
            Some((QualifiedName::new("public", "mood"), false))
        );
        assert_eq!(
            type_ref(r#""My ""S"""."Mo.od"[]"#),
            Some((QualifiedName::new(r#"My "S""#, "Mo.od"), true))
        );
        assert_eq!(type_ref("integer"), None);
        assert_eq!(type_ref("character varying(20)"), None);
    }

    #[test]
    fn only_a_single_label_default_is_carried_over() {
        assert_eq!(
            label_of("'calm'::public.mood", "public.mood"),
            Some("'calm'")
        );
        assert_eq!(
            label_of("'it''s'::public.mood", "public.mood"),
            Some("'it''s'")
        );
        assert_eq!(label_of("pick_mood()", "public.mood"), None);
        assert_eq!(label_of("'a'::public.mood", "public.other"), None);
    }
}
