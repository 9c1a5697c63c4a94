//! Domains, composite types and range types.
//!
//! Created before the tables that use them (in dependency order among themselves) and dropped,
//! with permission, after their users. What PostgreSQL can change in place is changed in place:
//! - domains: `RENAME`, `SET`/`DROP DEFAULT`, `SET`/`DROP NOT NULL`, CHECKs added `NOT VALID`
//!   then validated in their own step, dropped and renamed. A changed CHECK is dropped and added
//!   again (a domain constraint has no `ALTER`), so the domain goes unchecked between the two
//!   statements. `SET NOT NULL`, validating, and adding a validated CHECK scan every table
//!   whose columns use the domain under SHARE (observed on 14 to 18, `VALIDATE` included):
//!   writes to those tables wait for the scan. The drafts declare those locks and the proof
//!   checks them.
//! - composite types: attributes added (at the end), dropped, renamed, and retyped while no
//!   column stores the type (PostgreSQL refuses otherwise).
//! - range types: renamed (with their multirange); anything else has no `ALTER`, so the type is
//!   dropped and created again while nothing uses it.
//!
//! A change PostgreSQL cannot make while the type is in use (a domain's base type, a used
//! composite's attribute type or order, a used range's definition) is refused with the reason,
//! never made with `CASCADE`.

use std::collections::HashSet;

use super::{Ctx, Draft, Stage, display, loss, pair, pair_in_schemas, qn};
use crate::ddl::table::Names;
use crate::ddl::types::{self as ddl, UserType, mentions};
use crate::locks::LockMode;
use crate::model::{CompositeType, DataLossKind, Domain, Model, QualifiedName, RangeType, Schema};
use crate::plan::HazardKind;
use crate::sql::quote_ident;

pub(super) fn diff(ctx: &mut Ctx) {
    let (created, dropped) = created_and_dropped(ctx);
    create(ctx, &created);
    domains(ctx);
    composites(ctx);
    ranges(ctx);
    drop(ctx, &dropped);
}

/// Copy the declaration-only `renamed_from` of user types, their checks and attributes from
/// `ds` (declared) into `s` (read back from a scratch database).
pub fn carry_intent(s: &mut Schema, ds: &Schema) {
    for (n, dd) in &ds.domains {
        if let Some(d) = s.domains.get_mut(n) {
            d.renamed_from = dd.renamed_from.clone();
            for (cn, dc) in &dd.checks {
                if let Some(c) = d.checks.get_mut(cn) {
                    c.renamed_from = dc.renamed_from.clone();
                }
            }
        }
    }
    for (n, dc) in &ds.composites {
        if let Some(c) = s.composites.get_mut(n) {
            c.renamed_from = dc.renamed_from.clone();
            for a in c.attributes.iter_mut() {
                if let Some(da) = dc.attributes.iter().find(|da| da.name == a.name) {
                    a.renamed_from = da.renamed_from.clone();
                }
            }
        }
    }
    for (n, dr) in &ds.ranges {
        if let Some(r) = s.ranges.get_mut(n) {
            r.renamed_from = dr.renamed_from.clone();
        }
    }
}

/// (schema, old name, new name) of every user type the declaration renames, multiranges of
/// renamed ranges included.
fn renames(current: &Model, desired: &Model) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (s, p) in pair_in_schemas(
        current,
        desired,
        |s| &s.domains,
        |x| x.renamed_from.as_ref(),
    ) {
        out.extend(
            p.matched
                .iter()
                .filter(|m| m.2)
                .map(|(c, d, _)| (s.to_string(), c.name.clone(), d.name.clone())),
        );
    }
    for (s, p) in pair_in_schemas(
        current,
        desired,
        |s| &s.composites,
        |x| x.renamed_from.as_ref(),
    ) {
        out.extend(
            p.matched
                .iter()
                .filter(|m| m.2)
                .map(|(c, d, _)| (s.to_string(), c.name.clone(), d.name.clone())),
        );
    }
    for (s, p) in pair_in_schemas(current, desired, |s| &s.ranges, |x| x.renamed_from.as_ref()) {
        for (c, d, renamed) in &p.matched {
            if *renamed {
                out.push((s.to_string(), c.name.clone(), d.name.clone()));
            }
            if let (Some(cm), Some(dm)) = (&c.multirange, &d.multirange)
                && cm != dm
            {
                out.push((s.to_string(), cm.clone(), dm.clone()));
            }
        }
    }
    out
}

/// `text` with every mention of user type `schema.old` (see [`mentions`]) made a mention of
/// `schema.new`.
fn rename_mentions(text: &str, schema: &str, old: &str, new: &str) -> String {
    let from = ddl::printed_name(schema, old);
    let to = ddl::printed_name(schema, new);
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(&from) {
        let end = i + from.len();
        let before = out
            .chars()
            .next_back()
            .filter(|_| i == 0)
            .or_else(|| rest[..i].chars().next_back());
        let after = rest[end..].chars().next();
        out.push_str(&rest[..i]);
        if !before.is_some_and(|c| ident(c) || c == '.' || c == '"')
            && !after.is_some_and(|c| ident(c) || c == '"')
        {
            out.push_str(&to);
        } else {
            out.push_str(&from);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `current` as the columns and user types see it once the declared type renames ran: the
/// tables diff then sees a column of a renamed type as unchanged. `None` when nothing is
/// renamed. The renamed types themselves keep their old names (pairing follows
/// `renamed_from`).
pub(super) fn with_renamed_types(current: &Model, desired: &Model) -> Option<Model> {
    let renames = renames(current, desired);
    if renames.is_empty() {
        return None;
    }
    let mut out = current.clone();
    let fix = |text: &mut String| {
        for (s, old, new) in &renames {
            if mentions(text, s, old) {
                *text = rename_mentions(text, s, old, new);
            }
        }
    };
    for s in out.schemas.values_mut() {
        for t in s.tables.values_mut() {
            for c in t.columns.values_mut() {
                fix(&mut c.data_type);
            }
        }
        for d in s.domains.values_mut() {
            fix(&mut d.base_type);
        }
        for c in s.composites.values_mut() {
            for a in c.attributes.iter_mut() {
                fix(&mut a.data_type);
            }
        }
        for r in s.ranges.values_mut() {
            fix(&mut r.subtype);
        }
    }
    Some(out)
}

/// The names user type `schema.name` has on either side of a declared rename.
fn aliases(ctx: &Ctx, schema: &str, name: &str) -> Vec<String> {
    let mut out = vec![name.to_string()];
    for (s, old, new) in renames(ctx.current, ctx.desired) {
        if s == schema && old == name {
            out.push(new);
        } else if s == schema && new == name {
            out.push(old);
        }
    }
    out
}

/// The key of a user type in the pairing of one kind: (schema, name).
type Key = (String, String);

/// The types of `desired` that are created and those of `current` that are dropped (neither
/// matched by name nor through `renamed_from`), over the three kinds.
fn created_and_dropped(ctx: &Ctx) -> (HashSet<Key>, HashSet<Key>) {
    fn add<T>(
        out: &mut (HashSet<Key>, HashSet<Key>),
        pairs: Vec<(&str, super::Pairing<'_, T>)>,
        name: impl Fn(&T) -> &str,
    ) {
        for (s, p) in pairs {
            let key = |x: &&T| (s.to_string(), name(x).to_string());
            out.0.extend(p.created.iter().map(key));
            out.1.extend(p.dropped.iter().map(key));
        }
    }
    let (c, d) = (ctx.current, ctx.desired);
    let mut out = Default::default();
    let pairs = pair_in_schemas(c, d, |s| &s.domains, |x| x.renamed_from.as_ref());
    add(&mut out, pairs, |x| &x.name);
    let pairs = pair_in_schemas(c, d, |s| &s.composites, |x| x.renamed_from.as_ref());
    add(&mut out, pairs, |x| &x.name);
    let pairs = pair_in_schemas(c, d, |s| &s.ranges, |x| x.renamed_from.as_ref());
    add(&mut out, pairs, |x| &x.name);
    out
}

fn what(t: UserType<'_>) -> &'static str {
    match t {
        UserType::Domain(_) => "domain",
        UserType::Composite(_) => "composite type",
        UserType::Range(_) => "range type",
    }
}

fn comment_of(t: UserType<'_>) -> Option<&str> {
    match t {
        UserType::Domain(d) => d.comment.as_deref(),
        UserType::Composite(c) => c.comment.as_deref(),
        UserType::Range(r) => r.comment.as_deref(),
    }
}

fn comment(schema: &str, t: UserType<'_>) -> Draft {
    super::comment_on(
        ddl::target(schema, t),
        format!("{} {}", what(t), display(schema, t.name())),
        comment_of(t),
    )
}

/// Create the new types, in dependency order.
fn create(ctx: &mut Ctx, created: &HashSet<Key>) {
    if created.is_empty() {
        return;
    }
    let names = Names::of(ctx.desired);
    let mut drafts = Vec::new();
    let mut later = Vec::new();
    for (schema, t) in ddl::in_dependency_order(ctx.desired) {
        if !created.contains(&(schema.name.clone(), t.name().to_string())) {
            continue;
        }
        let UserType::Domain(d) = t else {
            drafts.extend(create_drafts(&names, schema, t));
            continue;
        };
        let (bare, deferred) = ddl::split_checks_calling_functions(ctx.desired, d);
        drafts.extend(create_drafts(&names, schema, UserType::Domain(&bare)));
        later.extend(
            deferred
                .into_iter()
                .map(|c| (schema.name.clone(), d.name.clone(), c)),
        );
    }
    ctx.drafts.extend(drafts);
    for (schema, domain, check) in later {
        add_check(
            ctx,
            &schema,
            &domain,
            &check.name,
            &check.expression,
            check.valid,
        );
    }
}

/// Add a check to a domain `NOT VALID`, then validate it in a step of its own when declared
/// valid: a validating `ADD CONSTRAINT` would scan every table using the domain in one step.
fn add_check(ctx: &mut Ctx, schema: &str, domain: &str, name: &str, expr: &str, valid: bool) {
    ctx.push(Draft::new(
        Stage::AddConstraint,
        format!(
            "add check {name} to domain {} (not valid)",
            display(schema, domain)
        ),
        ddl::add_domain_check(&qn(schema, domain), name, expr, false),
    ));
    if valid {
        validate(ctx, schema, domain, name);
    }
}

fn create_drafts(names: &Names, schema: &Schema, t: UserType<'_>) -> Vec<Draft> {
    let description = format!("create {} {}", what(t), display(&schema.name, t.name()));
    let mut out: Vec<Draft> = ddl::create(names, schema, t)
        .into_iter()
        .map(|sql| Draft::new(Stage::Type, description.clone(), sql))
        .collect();
    if comment_of(t).is_some() {
        out.push(comment(&schema.name, t));
    }
    out
}

/// Drop the types that are gone, users first (reverse dependency order).
fn drop(ctx: &mut Ctx, dropped: &HashSet<Key>) {
    let mut order = ddl::in_dependency_order(ctx.current);
    order.reverse();
    for (schema, t) in order {
        if dropped.contains(&(schema.name.clone(), t.name().to_string())) {
            ctx.push(drop_draft(Stage::DropType, &schema.name, t, true));
        }
    }
}

fn drop_draft(stage: Stage, schema: &str, t: UserType<'_>, lossy: bool) -> Draft {
    let kw = match t {
        UserType::Domain(_) => "DOMAIN",
        _ => "TYPE",
    };
    let d = Draft::new(
        stage,
        format!("drop {} {}", what(t), display(schema, t.name())),
        format!("DROP {kw} {}", qn(schema, t.name())),
    );
    if lossy {
        d.loses(
            loss(DataLossKind::Type, schema, t.name(), None),
            format!("drops {} {}", what(t), display(schema, t.name())),
        )
    } else {
        d
    }
}

/// The tables whose columns store user type `schema.name`, directly, in arrays, or through
/// domains over it, as they are called after the plan's renames.
fn tables_using(ctx: &Ctx, schema: &str, name: &str) -> Vec<QualifiedName> {
    let mut types: Vec<(String, String)> = aliases(ctx, schema, name)
        .into_iter()
        .map(|n| (schema.to_string(), n))
        .collect();
    let mut i = 0;
    while i < types.len() {
        let (ts, tn) = types[i].clone();
        for s in ctx.current.schemas.values() {
            for d in s.domains.values() {
                let key = (s.name.clone(), d.name.clone());
                if !types.contains(&key) && mentions(&d.base_type, &ts, &tn) {
                    types.push(key);
                }
            }
        }
        i += 1;
    }
    let mut out: Vec<QualifiedName> = ctx
        .current
        .tables()
        .filter(|(_, t)| {
            t.columns
                .values()
                .any(|c| types.iter().any(|(ts, tn)| mentions(&c.data_type, ts, tn)))
        })
        .map(|(s, t)| ctx.renamed(&QualifiedName::new(&s.name, &t.name)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What in the current model uses user type `schema.name` (under either name of a declared
/// rename): columns (`table.column`) and other user types.
fn users(ctx: &Ctx, schema: &str, name: &str) -> Vec<String> {
    let names = aliases(ctx, schema, name);
    let mentioned = |text: &str| names.iter().any(|n| mentions(text, schema, n));
    let model = ctx.current;
    let mut out = Vec::new();
    for (s, t) in model.tables() {
        for c in t.columns.values() {
            if mentioned(&c.data_type) {
                out.push(format!("column {}.{}.{}", s.name, t.name, c.name));
            }
        }
    }
    for (s, t) in ddl::in_dependency_order(model) {
        if t.type_texts().iter().any(|x| mentioned(x)) {
            out.push(format!("{} {}", what(t), display(&s.name, t.name())));
        }
    }
    out
}

/// A step that scans every table using the domain, declaring the SHARE it takes on each.
fn scanning(ctx: &Ctx, mut d: Draft, schema: &str, domain: &str) -> Draft {
    for t in tables_using(ctx, schema, domain) {
        d = d.also_locks(LockMode::Share, t);
    }
    d
}

fn rename_draft(schema: &str, kind: &str, kw: &str, old: &str, new: &str) -> Draft {
    Draft::new(
        Stage::Type,
        format!(
            "rename {kind} {} to {}",
            display(schema, old),
            display(schema, new)
        ),
        format!(
            "ALTER {kw} {} RENAME TO {}",
            qn(schema, old),
            quote_ident(new)
        ),
    )
    .hazard(
        HazardKind::BreaksCompatibility,
        format!("clients naming type {} break", display(schema, old)),
    )
}

/// Drop and create `d` again under its declared name, when nothing uses the current type;
/// otherwise refuse with `why`.
fn recreate_or_refuse(ctx: &mut Ctx, schema: &str, c: UserType<'_>, d: UserType<'_>, why: &str) {
    let users = users(ctx, schema, c.name());
    if !users.is_empty() {
        ctx.unsupported.push(format!(
            "{} {}: {why}, which PostgreSQL cannot change while it is used (by {}); declare a \
             new type and move its users to it",
            what(d),
            display(schema, d.name()),
            users.join(", ")
        ));
        return;
    }
    let Some(ds) = ctx.desired.schemas.get(schema) else {
        return;
    };
    let names = Names::of(ctx.desired);
    let drafts = create_drafts(&names, ds, d);
    ctx.push(drop_draft(Stage::Type, schema, c, false));
    ctx.drafts.extend(drafts);
}

fn domains(ctx: &mut Ctx) {
    let (current, desired) = (ctx.current, ctx.desired);
    for (sname, p) in pair_in_schemas(
        current,
        desired,
        |s| &s.domains,
        |x| x.renamed_from.as_ref(),
    ) {
        for (c, d, renamed) in p.matched {
            alter_domain(ctx, sname, c, d, renamed);
        }
    }
}

fn alter_domain(ctx: &mut Ctx, schema: &str, c: &Domain, d: &Domain, renamed: bool) {
    if renamed {
        ctx.push(rename_draft(schema, "domain", "DOMAIN", &c.name, &d.name));
    }
    let q = qn(schema, &d.name);
    let shown = display(schema, &d.name);
    if c.base_type != d.base_type || c.collation != d.collation {
        let why = if c.base_type != d.base_type {
            format!(
                "its base type changes from {} to {}",
                c.base_type, d.base_type
            )
        } else {
            "its collation changes".to_string()
        };
        recreate_or_refuse(ctx, schema, UserType::Domain(c), UserType::Domain(d), &why);
        return;
    }
    if c.default != d.default {
        ctx.push(match &d.default {
            Some(def) => Draft::new(
                Stage::Type,
                format!("set default of domain {shown}"),
                format!("ALTER DOMAIN {q} SET DEFAULT {def}"),
            ),
            None => Draft::new(
                Stage::Relax,
                format!("drop default of domain {shown}"),
                format!("ALTER DOMAIN {q} DROP DEFAULT"),
            ),
        });
    }
    match (c.not_null, d.not_null) {
        (false, true) => {
            let draft = Draft::new(
                Stage::NotNull,
                format!("set not null on domain {shown}"),
                format!("ALTER DOMAIN {q} SET NOT NULL"),
            );
            let draft = scanning(ctx, draft, schema, &c.name);
            ctx.push(draft);
        }
        (true, false) => ctx.push(Draft::new(
            Stage::Relax,
            format!("drop not null on domain {shown}"),
            format!("ALTER DOMAIN {q} DROP NOT NULL"),
        )),
        _ => {}
    }
    let p = pair(&c.checks, &d.checks, |x| x.renamed_from.as_ref());
    let add = |ctx: &mut Ctx, name: &str, expr: &str, valid: bool| {
        add_check(ctx, schema, &d.name, name, expr, valid);
    };
    for (cc, dc, renamed) in p.matched {
        if renamed {
            ctx.push(Draft::new(
                Stage::Type,
                format!("rename check {} of domain {shown} to {}", cc.name, dc.name),
                format!(
                    "ALTER DOMAIN {q} RENAME CONSTRAINT {} TO {}",
                    quote_ident(&cc.name),
                    quote_ident(&dc.name)
                ),
            ));
        }
        if cc.expression != dc.expression || (cc.valid && !dc.valid) {
            ctx.push(drop_check(&q, &shown, &dc.name));
            add(ctx, &dc.name, &dc.expression, dc.valid);
        } else if !cc.valid && dc.valid {
            validate(ctx, schema, &d.name, &dc.name);
        }
    }
    for dc in p.created {
        add(ctx, &dc.name, &dc.expression, dc.valid);
    }
    for cc in p.dropped {
        ctx.push(drop_check(&q, &shown, &cc.name));
    }
    if c.comment != d.comment {
        ctx.push(comment(schema, UserType::Domain(d)));
    }
}

fn drop_check(q: &str, shown: &str, name: &str) -> Draft {
    Draft::new(
        Stage::Relax,
        format!("drop check {name} of domain {shown}"),
        format!("ALTER DOMAIN {q} DROP CONSTRAINT {}", quote_ident(name)),
    )
}

/// `VALIDATE CONSTRAINT` in its own step: it scans every table using the domain.
fn validate(ctx: &mut Ctx, schema: &str, domain: &str, check: &str) {
    let draft = Draft::new(
        Stage::Validate,
        format!(
            "validate check {check} of domain {}",
            display(schema, domain)
        ),
        format!(
            "ALTER DOMAIN {} VALIDATE CONSTRAINT {}",
            qn(schema, domain),
            quote_ident(check)
        ),
    );
    // The domain is called by its declared name by now; the tables are found by its current one.
    let current_name = ctx
        .current
        .schemas
        .get(schema)
        .and_then(|s| {
            s.domains.get(domain).map(|d| d.name.clone()).or_else(|| {
                ctx.desired
                    .schemas
                    .get(schema)
                    .and_then(|ds| ds.domains.get(domain))
                    .and_then(|d| d.renamed_from.clone())
            })
        })
        .unwrap_or_else(|| domain.to_string());
    let draft = scanning(ctx, draft, schema, &current_name);
    ctx.push(draft);
}

fn composites(ctx: &mut Ctx) {
    let (current, desired) = (ctx.current, ctx.desired);
    for (sname, p) in pair_in_schemas(
        current,
        desired,
        |s| &s.composites,
        |x| x.renamed_from.as_ref(),
    ) {
        for (c, d, renamed) in p.matched {
            alter_composite(ctx, sname, c, d, renamed);
        }
    }
}

fn alter_composite(
    ctx: &mut Ctx,
    schema: &str,
    c: &CompositeType,
    d: &CompositeType,
    renamed: bool,
) {
    if renamed {
        ctx.push(rename_draft(
            schema,
            "composite type",
            "TYPE",
            &c.name,
            &d.name,
        ));
    }
    let q = qn(schema, &d.name);
    let shown = display(schema, &d.name);
    let used = !users(ctx, schema, &c.name).is_empty();
    let as_map =
        |t: &CompositeType| -> indexmap::IndexMap<String, crate::model::CompositeAttribute> {
            t.attributes
                .iter()
                .map(|a| (a.name.clone(), a.clone()))
                .collect()
        };
    let (cm, dm) = (as_map(c), as_map(d));
    let p = pair(&cm, &dm, |a| a.renamed_from.as_ref());
    // The order the attributes have after the in-place changes: kept ones where they were,
    // new ones at the end. Any other declared order needs the type rebuilt.
    let mut after: Vec<&str> = c
        .attributes
        .iter()
        .filter_map(|a| {
            p.matched
                .iter()
                .find(|(ca, _, _)| ca.name == a.name)
                .map(|(_, da, _)| da.name.as_str())
        })
        .collect();
    after.extend(p.created.iter().map(|a| a.name.as_str()));
    let declared: Vec<&str> = d.attributes.iter().map(|a| a.name.as_str()).collect();
    let retyped: Vec<&str> = p
        .matched
        .iter()
        .filter(|(ca, da, _)| ca.data_type != da.data_type || ca.collation != da.collation)
        .map(|(_, da, _)| da.name.as_str())
        .collect();
    if after != declared {
        recreate_or_refuse(
            ctx,
            schema,
            UserType::Composite(c),
            UserType::Composite(d),
            "its attributes change order (new attributes can only be added at the end)",
        );
        return;
    }
    if used && !retyped.is_empty() {
        recreate_or_refuse(
            ctx,
            schema,
            UserType::Composite(c),
            UserType::Composite(d),
            &format!("the type of attribute {} changes", retyped.join(", ")),
        );
        return;
    }
    let names = Names::of(ctx.desired);
    for (ca, da, renamed) in &p.matched {
        if *renamed {
            ctx.push(Draft::new(
                Stage::Type,
                format!("rename attribute {} of {shown} to {}", ca.name, da.name),
                format!(
                    "ALTER TYPE {q} RENAME ATTRIBUTE {} TO {}",
                    quote_ident(&ca.name),
                    quote_ident(&da.name)
                ),
            ));
        }
        if ca.data_type != da.data_type || ca.collation != da.collation {
            let mut sql = format!(
                "ALTER TYPE {q} ALTER ATTRIBUTE {} TYPE {}",
                quote_ident(&da.name),
                da.data_type
            );
            if let Some(coll) = &da.collation {
                sql.push_str(&format!(" COLLATE {}", names.object_name(coll)));
            }
            ctx.push(Draft::new(
                Stage::Type,
                format!("change type of attribute {} of {shown}", da.name),
                sql,
            ));
        }
    }
    for da in &p.created {
        ctx.push(Draft::new(
            Stage::Type,
            format!("add attribute {} to {shown}", da.name),
            format!(
                "ALTER TYPE {q} ADD ATTRIBUTE {}",
                ddl::attribute(&names, &da.name, &da.data_type, da.collation.as_deref())
            ),
        ));
    }
    for ca in &p.dropped {
        let draft = Draft::new(
            Stage::DropColumn,
            format!("drop attribute {} of {shown}", ca.name),
            format!("ALTER TYPE {q} DROP ATTRIBUTE {}", quote_ident(&ca.name)),
        );
        ctx.push(if used {
            draft.loses(
                loss(DataLossKind::Attribute, schema, &d.name, Some(&ca.name)),
                format!(
                    "drops attribute {} of {shown} from every stored value",
                    ca.name
                ),
            )
        } else {
            draft
        });
    }
    if c.comment != d.comment {
        ctx.push(comment(schema, UserType::Composite(d)));
    }
}

fn ranges(ctx: &mut Ctx) {
    let (current, desired) = (ctx.current, ctx.desired);
    for (sname, p) in pair_in_schemas(current, desired, |s| &s.ranges, |x| x.renamed_from.as_ref())
    {
        for (c, d, renamed) in p.matched {
            alter_range(ctx, sname, c, d, renamed);
        }
    }
}

fn alter_range(ctx: &mut Ctx, schema: &str, c: &RangeType, d: &RangeType, renamed: bool) {
    if renamed {
        ctx.push(rename_draft(schema, "range type", "TYPE", &c.name, &d.name));
    }
    if let (Some(cm), Some(dm)) = (&c.multirange, &d.multirange)
        && cm != dm
    {
        ctx.push(rename_draft(schema, "multirange type", "TYPE", cm, dm));
    }
    let same = RangeType {
        name: d.name.clone(),
        multirange: d.multirange.clone(),
        comment: d.comment.clone(),
        renamed_from: d.renamed_from.clone(),
        ..c.clone()
    };
    if same != *d {
        recreate_or_refuse(
            ctx,
            schema,
            UserType::Range(c),
            UserType::Range(d),
            "its definition changes (a range type has no ALTER for it)",
        );
        return;
    }
    if c.comment != d.comment {
        ctx.push(comment(schema, UserType::Range(d)));
    }
}
