//! Functions and procedures: created before the tables that may use them, replaced in place
//! when PostgreSQL allows it, dropped and created again when it does not, together with what
//! depends on them.
//!
//! `CREATE OR REPLACE` keeps the function's identity (its OID), so views, triggers, defaults
//! and checks that use it keep working; it changes the body, language, volatility, strictness,
//! security, parallel safety, cost, rows and settings, and may add argument defaults.
//! PostgreSQL refuses it for a different result type (`OUT` arguments included), renamed input
//! arguments, removed defaults, and a function becoming a procedure: then the function is
//! dropped and created again. Before the drop, the views and triggers that use it are dropped
//! (`views` and `triggers` recreate them after it, in dependency order); columns, checks and
//! indexes that use it cannot be dropped without losing data or a long rebuild, so such a plan
//! is refused with the list. What uses a function is found in the current model's SQL text
//! (a model has no dependency graph): a view or expression naming `schema.name(` uses it.
//!
//! Functions are created in the expand phase, before tables (plpgsql and other bodies are not
//! checked at creation) or, for SQL-language bodies that name tables, after the new tables and
//! columns; they are dropped in the contract phase, after the tables and triggers that used
//! them. Renames follow `renamed-from` (`ALTER FUNCTION ... RENAME TO`).
//!
//! Privileges of a routine that stays are compared like any (`privileges::compare`: granted in
//! the expand phase, revoked in the contract phase). A routine created, or dropped and created
//! again, starts out executable by PUBLIC: the step that creates it also revokes that when the
//! declaration withholds it and grants what it declares, in one transaction, so there is no
//! moment where PUBLIC may call a new SECURITY DEFINER function. This module writes SQL text
//! only.

use std::collections::{HashMap, HashSet};

use super::{Ctx, Draft, Stage};
use crate::ddl::functions::{create_function, keyword, signature};
use crate::ddl::privileges::{On, new_routine, revoke};
use crate::model::{Function, Grantee, Model, QualifiedName, Schema, signature_key};
use crate::plan::HazardKind;
use crate::sql::{quote_ident, quote_literal};

/// How a current function becomes the desired one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Same,
    Replace,
    Recreate,
}

fn change(c: &Function, d: &Function) -> Change {
    let same_attributes = c.returns == d.returns
        && c.language == d.language
        && c.body == d.body
        && c.volatility == d.volatility
        && c.strict == d.strict
        && c.security_definer == d.security_definer
        && c.leakproof == d.leakproof
        && c.parallel == d.parallel
        && c.cost == d.cost
        && c.rows == d.rows
        && c.config == d.config
        && c.arguments == d.arguments
        && c.kind == d.kind;
    if same_attributes {
        return Change::Same;
    }
    let args_compatible = c.arguments.len() == d.arguments.len()
        && c.arguments.iter().zip(&d.arguments).all(|(a, b)| {
            a.mode == b.mode && a.data_type == b.data_type && (a.name.is_none() || a.name == b.name)
        });
    let defaults = |f: &Function| f.arguments.iter().filter(|a| a.default.is_some()).count();
    if c.kind != d.kind || c.returns != d.returns || !args_compatible || defaults(d) < defaults(c) {
        Change::Recreate
    } else {
        Change::Replace
    }
}

/// The stage that creates `f`: SQL-language bodies may name tables and are checked at
/// creation, so they come after the new tables and columns.
fn create_stage(f: &Function) -> Stage {
    if f.language == "sql" {
        Stage::CreateFunctionLate
    } else {
        Stage::CreateFunction
    }
}

pub(super) fn diff(ctx: &mut Ctx) {
    let (current, desired) = (ctx.current, ctx.desired);
    let empty = Schema::default();
    let mut recreated: Vec<(String, &Function, &Function)> = Vec::new();
    for (sname, ds) in &desired.schemas {
        let cs = current.schemas.get(sname).unwrap_or(&empty);
        let mut used: HashSet<&str> = HashSet::new();
        for (key, d) in &ds.functions {
            let (c, renamed) = match cs.functions.get(key) {
                Some(c) => (Some(c), false),
                None => {
                    let old = d
                        .renamed_from
                        .as_ref()
                        .map(|old| signature_key(old, &d.arguments))
                        .filter(|k| !ds.functions.contains_key(k));
                    match old.and_then(|k| cs.functions.get_key_value(&k)) {
                        Some((k, c)) if !used.contains(k.as_str()) => (Some(c), true),
                        _ => (None, false),
                    }
                }
            };
            let Some(c) = c else {
                create(ctx, sname, d);
                continue;
            };
            used.insert(cs.functions.get_key_value(&c.key()).map_or("", |(k, _)| k));
            if renamed {
                ctx.push(
                    Draft::new(
                        Stage::Rename,
                        format!("rename {} {}.{} to {}", describe(c), sname, c.key(), d.name),
                        format!(
                            "ALTER {} {} RENAME TO {}",
                            keyword(c),
                            signature(sname, c),
                            quote_ident(&d.name)
                        ),
                    )
                    .hazard(
                        HazardKind::BreaksCompatibility,
                        format!("clients calling {sname}.{} break", c.name),
                    ),
                );
            }
            let change = change(c, d);
            let mut before = c.grants.clone();
            match change {
                Change::Same => {}
                Change::Replace => {
                    let mut sql = create_function(sname, d, true);
                    // A function becoming SECURITY DEFINER that PUBLIC may no longer call
                    // loses PUBLIC's EXECUTE in the same transaction, not in the contract.
                    if d.security_definer
                        && !c.security_definer
                        && c.public_execute()
                        && !d.public_execute()
                    {
                        let on = On::Routine(sname, d);
                        sql = format!(
                            "{sql};\n{}",
                            revoke(on, &Grantee::Public, &["EXECUTE".to_string()], false)
                        );
                        before.retain(|g| g.grantee != Grantee::Public);
                    }
                    ctx.push(Draft::new(
                        create_stage(d),
                        format!("replace {} {sname}.{}", describe(d), d.key()),
                        sql,
                    ));
                }
                Change::Recreate => recreated.push((sname.clone(), c, d)),
            }
            if change != Change::Recreate {
                super::privileges::compare(ctx, On::Routine(sname, d), &before, &d.grants);
            }
            if c.comment != d.comment {
                ctx.push(comment(sname, d));
            }
        }
        for (key, c) in &cs.functions {
            if !ds.functions.contains_key(key) && !used.contains(key.as_str()) {
                drop(ctx, sname, c, Stage::DropFunction);
            }
        }
    }
    for (sname, cs) in &current.schemas {
        if !desired.schemas.contains_key(sname) {
            for c in cs.functions.values() {
                drop(ctx, sname, c, Stage::DropFunction);
            }
        }
    }
    for (sname, c, d) in recreated {
        let users = expression_users(current, &sname, &c.name);
        if !users.is_empty() {
            ctx.unsupported.push(format!(
                "{} {sname}.{} must be dropped and created again (its result, argument names \
                 or kind change), but {} use it; change them in a separate plan first",
                describe(c),
                c.key(),
                users.join(", ")
            ));
            continue;
        }
        ctx.replaced_functions
            .insert(QualifiedName::new(&sname, &c.name));
        drop(ctx, &sname, c, Stage::DropFunctionForRecreate);
        create(ctx, &sname, d);
    }
}

fn describe(f: &Function) -> &'static str {
    match f.kind {
        crate::model::RoutineKind::Function => "function",
        crate::model::RoutineKind::Procedure => "procedure",
    }
}

/// Create `d` with its privileges in one transaction: PUBLIC never holds EXECUTE on a routine
/// whose declaration withholds it (the protection of a SECURITY DEFINER function).
fn create(ctx: &mut Ctx, schema: &str, d: &Function) {
    let mut sql = vec![create_function(schema, d, false)];
    sql.extend(new_routine(schema, d));
    let description = format!(
        "create {} {schema}.{}{}",
        describe(d),
        d.key(),
        if sql.len() > 1 {
            " with its privileges"
        } else {
            ""
        }
    );
    ctx.push(Draft::new(create_stage(d), description, sql.join(";\n")));
    if d.comment.is_some() {
        ctx.push(comment(schema, d));
    }
}

fn drop(ctx: &mut Ctx, schema: &str, c: &Function, stage: Stage) {
    let recreate = stage == Stage::DropFunctionForRecreate;
    let mut d = Draft::new(
        stage,
        if recreate {
            format!(
                "drop {} {schema}.{} to create it again (it does not exist until then)",
                describe(c),
                c.key()
            )
        } else {
            format!("drop {} {schema}.{}", describe(c), c.key())
        },
        format!("DROP {} {}", keyword(c), signature(schema, c)),
    );
    if !recreate {
        d = d.hazard(
            HazardKind::BreaksCompatibility,
            format!("clients calling {schema}.{} break", c.name),
        );
    }
    ctx.push(d);
}

fn comment(schema: &str, f: &Function) -> Draft {
    Draft::new(
        Stage::Comment,
        format!("comment on {} {schema}.{}", describe(f), f.key()),
        format!(
            "COMMENT ON {} {} IS {}",
            keyword(f),
            signature(schema, f),
            f.comment
                .as_deref()
                .map_or("NULL".to_string(), quote_literal)
        ),
    )
}

/// Whether SQL text calls the function `schema.name` (as PostgreSQL prints it with an empty
/// `search_path`: qualified, quoted only where needed; unqualified also counts, to be safe).
pub(crate) fn calls(sql: &str, function: &QualifiedName) -> bool {
    let name_forms = [function.name.clone(), quote_ident(&function.name)];
    for form in &name_forms {
        let needle = format!("{form}(");
        let mut from = 0;
        while let Some(pos) = sql[from..].find(&needle) {
            let at = from + pos;
            let before = sql[..at].chars().next_back();
            let word_start = !before.is_some_and(|b| b.is_alphanumeric() || b == '_' || b == '$');
            if word_start {
                return true;
            }
            from = at + needle.len();
        }
    }
    false
}

/// The views of `model` whose query calls one of `functions`.
pub(super) fn views_calling(
    model: &Model,
    functions: &HashSet<QualifiedName>,
) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    if functions.is_empty() {
        return out;
    }
    for s in model.schemas.values() {
        for v in s.views.values() {
            if functions.iter().any(|f| calls(&v.query, f)) {
                out.insert((s.name.clone(), v.name.clone()));
            }
        }
    }
    out
}

/// Column defaults, generated columns, checks and index expressions of `model` that call
/// `schema.name`, described for a message.
fn expression_users(model: &Model, schema: &str, name: &str) -> Vec<String> {
    let f = QualifiedName::new(schema, name);
    let mut out = Vec::new();
    for (s, t) in model.tables() {
        for c in t.columns.values() {
            let exprs = c
                .default
                .iter()
                .chain(c.generated.as_ref().map(|g| &g.expression));
            if exprs.into_iter().any(|e| calls(e, &f)) {
                out.push(format!("column {}.{}.{}", s.name, t.name, c.name));
            }
        }
        for k in t.checks.values() {
            if calls(&k.expression, &f) {
                out.push(format!("check {} on {}.{}", k.name, s.name, t.name));
            }
        }
        for i in t.indexes.values() {
            let keys = i.keys.iter().any(|k| match &k.target {
                crate::model::IndexKeyTarget::Expression(e) => calls(e, &f),
                crate::model::IndexKeyTarget::Column(_) => false,
            });
            if keys || i.predicate.as_ref().is_some_and(|p| calls(p, &f)) {
                out.push(format!("index {}.{}", s.name, i.name));
            }
        }
    }
    out
}

/// For the proof: the views that call a function among the `functions` units that change.
pub fn views_calling_units(
    model: &Model,
    units: &HashSet<crate::model::UnitKey>,
) -> HashSet<QualifiedName> {
    let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
    for k in units
        .iter()
        .filter(|k| k.kind == crate::model::UnitKind::Function)
    {
        let name = k.name.split('(').next().unwrap_or(&k.name).to_string();
        by_name.entry(k.schema.clone()).or_default().push(name);
    }
    let functions: HashSet<QualifiedName> = by_name
        .into_iter()
        .flat_map(|(s, names)| names.into_iter().map(move |n| QualifiedName::new(&s, n)))
        .collect();
    views_calling(model, &functions)
        .into_iter()
        .map(|(s, n)| QualifiedName::new(s, n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::calls;
    use crate::model::QualifiedName;

    #[test]
    fn calls_are_found_qualified_or_not_but_not_inside_other_names() {
        let f = QualifiedName::new("public", "score");
        assert!(calls("SELECT public.score(t.x) AS s FROM t", &f));
        assert!(calls("SELECT score(t.x) FROM t", &f));
        assert!(calls("SELECT \"score\"(1)", &f));
        assert!(!calls("SELECT public.total_score(t.x) FROM t", &f));
        assert!(!calls("SELECT score FROM t", &f));
    }
}
