//! The "not managed yet" report shared by `dump` and `import`.
//!
//! A dump that silently leaves out a trigger or a policy would let someone believe the KDL is
//! the whole schema. This report names every such object, grouped by kind, so the gap is seen.

use std::collections::BTreeMap;

use crate::model::Unmanaged;

/// A human-readable list of objects left out, or `None` when there are none.
///
/// ```text
/// not managed yet (left out of the KDL, never altered or dropped):
///   2 functions: public.audit(), shop.touch_updated_at()
///   1 trigger: trigger items_touch on shop.items
/// ```
pub fn unmanaged_report(unmanaged: &[Unmanaged]) -> Option<String> {
    if unmanaged.is_empty() {
        return None;
    }
    let mut by_kind: BTreeMap<_, Vec<&str>> = BTreeMap::new();
    for u in unmanaged {
        by_kind.entry(u.kind).or_default().push(&u.name);
    }
    let mut out =
        String::from("not managed yet (left out of the KDL, never altered or dropped):\n");
    for (kind, mut names) in by_kind {
        names.sort_unstable();
        names.dedup();
        let noun = kind.describe();
        let noun = if names.len() == 1 {
            noun.to_string()
        } else {
            plural(noun)
        };
        out.push_str(&format!("  {} {noun}: {}\n", names.len(), names.join(", ")));
    }
    Some(out)
}

fn plural(noun: &str) -> String {
    if noun.ends_with('y') && !noun.ends_with("ey") {
        format!("{}ies", &noun[..noun.len() - 1])
    } else {
        format!("{noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ObjectKind;

    #[test]
    fn report_groups_by_kind_with_counts_and_plurals() {
        let items = vec![
            Unmanaged {
                kind: ObjectKind::Function,
                name: "shop.b()".into(),
            },
            Unmanaged {
                kind: ObjectKind::Policy,
                name: "items_owner on shop.items".into(),
            },
            Unmanaged {
                kind: ObjectKind::Function,
                name: "shop.a()".into(),
            },
            Unmanaged {
                kind: ObjectKind::Grant,
                name: "SELECT on shop.items to PUBLIC".into(),
            },
        ];
        let report = unmanaged_report(&items).unwrap_or_default();
        assert!(
            report.contains("  2 functions: shop.a(), shop.b()\n"),
            "{report}"
        );
        assert!(
            report.contains("  1 row-level security policy: items_owner on shop.items\n"),
            "{report}"
        );
        assert!(report.contains("  1 privilege: SELECT"), "{report}");
        assert_eq!(unmanaged_report(&[]), None);
        assert_eq!(plural("policy"), "policies");
        assert_eq!(plural("privilege"), "privileges");
    }
}
