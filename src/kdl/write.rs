//! Model to files: what `formwork dump` writes, already in `fmt` form.
//!
//! Layout: one file per schema, `<schema>.kdl`, plus `extensions.kdl` when there are
//! extensions. Short forms are used whenever they say everything (a plain index on columns is
//! one line; an identity without options is a property), the long forms otherwise. Defaults
//! are left out, except that nullable columns say so: NOT NULL is the language's default.
//!
//! File names are safe for any schema name: bytes outside `[a-z0-9_-]` become `%XX` (upper
//! case hex), which also keeps names distinct on case-insensitive file systems, and a schema
//! named `extensions` is written `%65xtensions.kdl` so it cannot collide with the extensions
//! file. Loading never looks at file names, so the rule only has to be deterministic.
//!
//! Not done here: deciding what to dump (the catalog's job) or writing to disk (the caller's).

use std::path::PathBuf;

mod user_types;

use super::format::canonicalize;
use super::names::{default_pkey_name, quote_ref_name};
use super::spec::Ctx;
use super::text::{Node, print_document};
use crate::model::*;

#[path = "write_routines.rs"]
mod routines;

/// The files that declare `model`, in a fixed order (extensions first, then schemas in model
/// order), each in canonical form.
pub fn model_to_files(model: &Model) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    if !model.extensions.is_empty() {
        let mut nodes: Vec<Node> = model.extensions.values().map(extension).collect();
        canonicalize(&mut nodes, Ctx::Root);
        files.push((PathBuf::from("extensions.kdl"), print_document(&nodes, &[])));
    }
    for schema in model.schemas.values() {
        let mut nodes = vec![schema_node(schema)];
        canonicalize(&mut nodes, Ctx::Root);
        files.push((
            PathBuf::from(schema_file_name(&schema.name)),
            print_document(&nodes, &[]),
        ));
    }
    files
}

/// `<schema>.kdl` with unsafe bytes percent-encoded (see the module comment).
pub fn schema_file_name(schema: &str) -> String {
    let mut out = String::new();
    for (i, b) in schema.bytes().enumerate() {
        let keep = b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
        let reserved_first = i == 0 && schema == "extensions";
        if keep && !reserved_first {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push_str(".kdl");
    out
}

fn extension(e: &Extension) -> Node {
    Node::new("extension")
        .arg(&e.name)
        .prop("schema", &e.schema)
        .prop_opt("version", e.version.as_ref())
        .prop_opt("comment", e.comment.as_ref())
}

fn schema_node(s: &Schema) -> Node {
    let mut n = Node::new("schema")
        .arg(&s.name)
        .prop_opt("comment", s.comment.as_ref());
    let mut children = grant_nodes(&s.grants);
    for d in &s.default_grants {
        let mut n = Node::new("default-grant");
        for p in &d.grant.privileges {
            n = n.arg(p);
        }
        children.push(
            n.prop("on", &d.on)
                .prop("to", d.grant.grantee.as_declared())
                .prop("for-role", &d.for_role)
                .flag("grant-option", d.grant.with_grant_option),
        );
    }
    let group = |nodes: Vec<Node>, blank_each: bool, children: &mut Vec<Node>| {
        for (i, mut node) in nodes.into_iter().enumerate() {
            node.blank_before = !children.is_empty() && (blank_each || i == 0);
            children.push(node);
        }
    };
    group(
        s.enums.values().map(enum_node).collect(),
        false,
        &mut children,
    );
    group(user_types::nodes(s), false, &mut children);
    group(
        s.sequences.values().map(|q| sequence(q, &s.name)).collect(),
        false,
        &mut children,
    );
    group(
        s.tables.values().map(|t| table(t, &s.name)).collect(),
        true,
        &mut children,
    );
    group(
        s.views.values().map(|v| view_in(v, &s.name)).collect(),
        true,
        &mut children,
    );
    group(
        s.materialized_views
            .values()
            .map(materialized_view)
            .collect(),
        true,
        &mut children,
    );
    group(
        s.functions.values().map(routines::function).collect(),
        true,
        &mut children,
    );
    if !children.is_empty() {
        n.children = Some(children);
    }
    n
}

fn enum_node(e: &Enum) -> Node {
    let mut n = Node::new("enum")
        .arg(&e.name)
        .prop_opt("renamed-from", e.renamed_from.as_ref())
        .prop_opt("comment", e.comment.as_ref());
    let short_len: usize = e.values.iter().map(|v| v.name.len() + 3).sum::<usize>() + e.name.len();
    if e.values.iter().all(|v| v.renamed_from.is_none()) && short_len <= 80 {
        for v in &e.values {
            n = n.arg(&v.name);
        }
    } else {
        for v in &e.values {
            n = n.child(
                Node::new("value")
                    .arg(&v.name)
                    .prop_opt("renamed-from", v.renamed_from.as_ref()),
            );
        }
    }
    n
}

fn sequence_options(mut n: Node, o: &SequenceOptions) -> Node {
    n = n
        .prop_opt("as", o.data_type.as_ref())
        .prop_opt("start", o.start)
        .prop_opt("increment", o.increment)
        .prop_opt("min-value", o.min_value)
        .prop_opt("max-value", o.max_value)
        .prop_opt("cache", o.cache);
    n.flag("cycle", o.cycle)
}

fn sequence(q: &Sequence, schema: &str) -> Node {
    let mut n = Node::new("sequence")
        .arg(&q.name)
        .prop_opt("renamed-from", q.renamed_from.as_ref());
    n = sequence_options(n, &q.options);
    if let Some(o) = &q.owned_by {
        let mut text = String::new();
        if o.table.schema != schema {
            text.push_str(&quote_ref_name(&o.table.schema));
            text.push('.');
        }
        text.push_str(&quote_ref_name(&o.table.name));
        text.push('.');
        text.push_str(&quote_ref_name(&o.column));
        n = n.prop("owned-by", text);
    }
    n = n.prop_opt("comment", q.comment.as_ref());
    with_grants(n, &q.grants)
}

/// One `grant` node per grantee and grant option.
pub(super) fn grant_nodes(grants: &[Grant]) -> Vec<Node> {
    grants
        .iter()
        .map(|g| {
            let mut n = Node::new("grant");
            for p in &g.privileges {
                n = n.arg(p);
            }
            n.prop("to", g.grantee.as_declared())
                .flag("grant-option", g.with_grant_option)
        })
        .collect()
}

fn with_grants(mut n: Node, grants: &[Grant]) -> Node {
    for g in grant_nodes(grants) {
        n = n.child(g);
    }
    n
}

fn deferrable(n: Node, d: Deferrable) -> Node {
    match d {
        Deferrable::NotDeferrable => n,
        Deferrable::InitiallyImmediate => n.prop("deferrable", "immediate"),
        Deferrable::InitiallyDeferred => n.prop("deferrable", "deferred"),
    }
}

fn include(n: Node, cols: &[String]) -> Node {
    if cols.is_empty() {
        return n;
    }
    let mut inc = Node::new("include");
    for c in cols {
        inc = inc.arg(c);
    }
    n.child(inc)
}

fn fk_action(a: FkAction) -> Option<&'static str> {
    match a {
        FkAction::NoAction => None,
        FkAction::Restrict => Some("restrict"),
        FkAction::Cascade => Some("cascade"),
        FkAction::SetNull => Some("set-null"),
        FkAction::SetDefault => Some("set-default"),
    }
}

fn table(t: &Table, schema: &str) -> Node {
    let mut n = Node::new("table")
        .arg(&t.name)
        .prop_opt("renamed-from", t.renamed_from.as_ref())
        .flag("unlogged", t.persistence == Persistence::Unlogged)
        .prop_opt("comment", t.comment.as_ref())
        .prop_opt("partition-by", t.partition_by.as_ref());
    if let Some(p) = &t.partition_of {
        let mut parent = String::new();
        if p.parent.schema != schema {
            parent.push_str(&quote_ref_name(&p.parent.schema));
            parent.push('.');
        }
        parent.push_str(&quote_ref_name(&p.parent.name));
        n = n.prop("partition-of", parent).prop("bound", &p.bound);
    }
    for c in t.columns.values() {
        n = n.child(column(c));
    }
    if let Some(pk) = &t.primary_key {
        let mut k = Node::new("primary-key");
        for c in &pk.columns {
            k = k.arg(c);
        }
        if pk.name != default_pkey_name(&t.name) {
            k = k.prop("name", &pk.name);
        }
        k = k.prop_opt("renamed-from", pk.renamed_from.as_ref());
        k = deferrable(k, pk.deferrable).prop_opt("comment", pk.comment.as_ref());
        n = n.child(include(k, &pk.include));
    }
    for u in t.uniques.values() {
        let mut k = Node::new("unique").arg(&u.name);
        for c in &u.columns {
            k = k.arg(c);
        }
        k = k
            .prop_opt("renamed-from", u.renamed_from.as_ref())
            .flag("nulls-not-distinct", u.nulls_not_distinct);
        k = deferrable(k, u.deferrable).prop_opt("comment", u.comment.as_ref());
        n = n.child(include(k, &u.include));
    }
    for fk in t.foreign_keys.values() {
        n = n.child(foreign_key(fk, schema));
    }
    for c in t.checks.values() {
        n = n.child(
            Node::new("check")
                .arg(&c.name)
                .arg(&c.expression)
                .prop_opt("renamed-from", c.renamed_from.as_ref())
                .flag("no-inherit", c.no_inherit)
                .flag("not-valid", !c.valid)
                .prop_opt("comment", c.comment.as_ref()),
        );
    }
    for x in t.exclusions.values() {
        let mut k = Node::new("exclude")
            .arg(&x.name)
            .prop_opt("renamed-from", x.renamed_from.as_ref())
            .prop_opt("method", (x.method != "btree").then_some(&x.method))
            .prop_opt("where", x.predicate.as_ref());
        k = deferrable(k, x.deferrable).prop_opt("comment", x.comment.as_ref());
        for e in &x.elements {
            k = k.child(key_node(&e.key).prop("with", &e.operator));
        }
        n = n.child(include(k, &x.include));
    }
    for i in t.indexes.values() {
        n = n.child(index(i));
    }
    for tr in t.triggers.values() {
        n = n.child(routines::trigger(tr, schema));
    }
    if !t.row_security.is_off() {
        n = n.child(
            Node::new("row-level-security")
                .prop_opt("enabled", (!t.row_security.enabled).then_some(false))
                .flag("forced", t.row_security.forced),
        );
    }
    for p in t.policies.values() {
        n = n.child(policy(p));
    }
    with_grants(n, &t.grants)
}

fn policy(p: &Policy) -> Node {
    let command = match p.command {
        PolicyCommand::All => None,
        PolicyCommand::Select => Some("select"),
        PolicyCommand::Insert => Some("insert"),
        PolicyCommand::Update => Some("update"),
        PolicyCommand::Delete => Some("delete"),
    };
    let public = p.roles.len() == 1 && p.roles[0] == Policy::PUBLIC;
    let one = (p.roles.len() == 1 && !public).then(|| &p.roles[0]);
    let mut n = Node::new("policy")
        .arg(&p.name)
        .prop_opt("renamed-from", p.renamed_from.as_ref())
        .prop_opt("as", (!p.permissive).then_some("restrictive"))
        .prop_opt("for", command)
        .prop_opt("to", one)
        .prop_opt("using", p.using.as_ref())
        .prop_opt("with-check", p.with_check.as_ref())
        .prop_opt("comment", p.comment.as_ref());
    if p.roles.len() > 1 {
        let mut to = Node::new("to");
        for r in &p.roles {
            to = to.arg(r);
        }
        n = n.child(to);
    }
    n
}

fn column(c: &Column) -> Node {
    let mut n = Node::new("column")
        .arg(&c.name)
        .arg(&c.data_type)
        .prop_opt("renamed-from", c.renamed_from.as_ref())
        .flag("nullable", !c.not_null)
        .prop_opt("default", c.default.as_ref());
    let kind = |k: IdentityKind| match k {
        IdentityKind::Always => "always",
        IdentityKind::ByDefault => "by-default",
    };
    if let Some(id) = &c.identity {
        if id.options == SequenceOptions::default() {
            n = n.prop("identity", kind(id.kind));
        } else {
            n = n.child(sequence_options(
                Node::new("identity").arg(kind(id.kind)),
                &id.options,
            ));
        }
    }
    if let Some(g) = &c.generated {
        match g.kind {
            GeneratedKind::Stored => n = n.prop("generated", &g.expression),
            GeneratedKind::Virtual => {
                n = n.child(
                    Node::new("generated")
                        .arg(&g.expression)
                        .prop("kind", "virtual"),
                )
            }
        }
    }
    n = n
        .prop_opt("collation", c.collation.as_ref())
        .prop_opt("comment", c.comment.as_ref());
    with_grants(n, &c.grants)
}

fn foreign_key(fk: &ForeignKey, schema: &str) -> Node {
    let mut n = Node::new("foreign-key").arg(&fk.name);
    for c in &fk.columns {
        n = n.arg(c);
    }
    let mut target = String::new();
    if fk.references.schema != schema {
        target.push_str(&quote_ref_name(&fk.references.schema));
        target.push('.');
    }
    target.push_str(&quote_ref_name(&fk.references.name));
    target.push('(');
    target.push_str(
        &fk.referenced_columns
            .iter()
            .map(|c| quote_ref_name(c))
            .collect::<Vec<_>>()
            .join(", "),
    );
    target.push(')');
    n = n
        .prop_opt("renamed-from", fk.renamed_from.as_ref())
        .prop("references", target)
        .prop_opt("on-delete", fk_action(fk.on_delete))
        .prop_opt("on-update", fk_action(fk.on_update))
        .prop_opt("match", (fk.match_type == FkMatch::Full).then_some("full"));
    deferrable(n, fk.deferrable)
        .flag("not-valid", !fk.valid)
        .prop_opt("comment", fk.comment.as_ref())
}

fn key_is_plain(k: &IndexKey) -> bool {
    matches!(k.target, IndexKeyTarget::Column(_))
        && k.collation.is_none()
        && k.opclass.is_none()
        && !k.descending
        && k.nulls_first.is_none()
}

fn key_node(k: &IndexKey) -> Node {
    let n = match &k.target {
        IndexKeyTarget::Column(c) => Node::new("column").arg(c),
        IndexKeyTarget::Expression(e) => Node::new("expression").arg(e),
    };
    n.prop_opt("opclass", k.opclass.as_ref())
        .prop_opt("collation", k.collation.as_ref())
        .flag("desc", k.descending)
        .prop_opt(
            "nulls",
            k.nulls_first.map(|f| if f { "first" } else { "last" }),
        )
}

fn index(i: &Index) -> Node {
    let mut n = Node::new("index").arg(&i.name);
    let short = i.keys.iter().all(key_is_plain);
    if short {
        for k in &i.keys {
            if let IndexKeyTarget::Column(c) = &k.target {
                n = n.arg(c);
            }
        }
    }
    n = n
        .prop_opt("renamed-from", i.renamed_from.as_ref())
        .flag("unique", i.unique)
        .prop_opt("method", (i.method != "btree").then_some(&i.method))
        .prop_opt("where", i.predicate.as_ref())
        .flag("nulls-not-distinct", i.nulls_not_distinct)
        .prop_opt("comment", i.comment.as_ref());
    if !short {
        for k in &i.keys {
            n = n.child(key_node(k));
        }
    }
    include(n, &i.include)
}

fn view(v: &View) -> Node {
    let mut n = Node::new("view")
        .arg(&v.name)
        .arg(&v.query)
        .prop_opt("renamed-from", v.renamed_from.as_ref())
        .prop_opt("comment", v.comment.as_ref());
    for (k, val) in &v.options {
        n = n.child(Node::new("option").arg(k).arg(val));
    }
    with_grants(n, &v.grants)
}

fn materialized_view(m: &MaterializedView) -> Node {
    let mut n = Node::new("materialized-view")
        .arg(&m.name)
        .arg(&m.query)
        .prop_opt("renamed-from", m.renamed_from.as_ref())
        .prop_opt("with-data", (!m.populated).then_some(false))
        .prop_opt("comment", m.comment.as_ref());
    for (k, val) in &m.options {
        n = n.child(Node::new("option").arg(k).arg(val));
    }
    for i in m.indexes.values() {
        n = n.child(index(i));
    }
    n
}

fn view_in(v: &View, schema: &str) -> Node {
    let mut n = view(v);
    for tr in v.triggers.values() {
        n = n.child(routines::trigger(tr, schema));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(schema_file_name("public"), "public.kdl");
        assert_eq!(schema_file_name("Public"), "%50ublic.kdl");
        assert_eq!(schema_file_name("a/b"), "a%2Fb.kdl");
        assert_eq!(schema_file_name("extensions"), "%65xtensions.kdl");
        assert_eq!(schema_file_name("..").as_str(), "%2E%2E.kdl");
    }
}
