//! `domain`, `composite` and `range` nodes for `dump`: defaults left out (a domain allows
//! null, a range's multirange has PostgreSQL's default name), like the rest of the writer.

use super::Node;
use crate::model::{CompositeType, Domain, RangeType, Schema};

/// The user type nodes of `schema`: domains, then composite types, then range types.
pub(super) fn nodes(s: &Schema) -> Vec<Node> {
    s.domains
        .values()
        .map(domain)
        .chain(s.composites.values().map(composite))
        .chain(s.ranges.values().map(range))
        .collect()
}

fn domain(d: &Domain) -> Node {
    let mut n = Node::new("domain")
        .arg(&d.name)
        .arg(&d.base_type)
        .prop_opt("renamed-from", d.renamed_from.as_ref())
        .flag("not-null", d.not_null)
        .prop_opt("default", d.default.as_ref())
        .prop_opt("collation", d.collation.as_ref())
        .prop_opt("comment", d.comment.as_ref());
    for c in d.checks.values() {
        n = n.child(
            Node::new("check")
                .arg(&c.name)
                .arg(&c.expression)
                .prop_opt("renamed-from", c.renamed_from.as_ref())
                .flag("not-valid", !c.valid),
        );
    }
    n
}

fn composite(c: &CompositeType) -> Node {
    let mut n = Node::new("composite")
        .arg(&c.name)
        .prop_opt("renamed-from", c.renamed_from.as_ref())
        .prop_opt("comment", c.comment.as_ref());
    for a in &c.attributes {
        n = n.child(
            Node::new("attribute")
                .arg(&a.name)
                .arg(&a.data_type)
                .prop_opt("renamed-from", a.renamed_from.as_ref())
                .prop_opt("collation", a.collation.as_ref()),
        );
    }
    n
}

fn range(r: &RangeType) -> Node {
    let multirange = r
        .multirange
        .as_ref()
        .filter(|m| **m != RangeType::default_multirange(&r.name));
    Node::new("range")
        .arg(&r.name)
        .prop_opt("renamed-from", r.renamed_from.as_ref())
        .prop("subtype", &r.subtype)
        .prop_opt("subtype-opclass", r.subtype_opclass.as_ref())
        .prop_opt("collation", r.collation.as_ref())
        .prop_opt("canonical", r.canonical.as_ref())
        .prop_opt("subtype-diff", r.subtype_diff.as_ref())
        .prop_opt("multirange", multirange)
        .prop_opt("comment", r.comment.as_ref())
}
