//! `function`, `procedure` and `trigger` nodes for `dump` (see `write`): defaults left out
//! (PUBLIC's EXECUTE among them: `public-execute=#false` only when it was revoked), the body as
//! a child (a raw string when it spans lines) followed by the grants, a trigger's function
//! unqualified when it lives in the table's schema.

use crate::kdl::names::quote_ref_name;
use crate::kdl::text::Node;
use crate::model::*;

pub(super) fn function(f: &Function) -> Node {
    let mut n = Node::new(match f.kind {
        RoutineKind::Function => "function",
        RoutineKind::Procedure => "procedure",
    })
    .arg(&f.name)
    .prop_opt("renamed-from", f.renamed_from.as_ref())
    .prop_opt("returns", f.returns.as_ref())
    .prop("language", &f.language);
    if f.kind == RoutineKind::Function {
        n = n
            .prop_opt(
                "volatility",
                match f.volatility {
                    Volatility::Volatile => None,
                    Volatility::Stable => Some("stable"),
                    Volatility::Immutable => Some("immutable"),
                },
            )
            .flag("strict", f.strict);
    }
    n = n.flag("security-definer", f.security_definer);
    if !f.public_execute() {
        n = n.prop("public-execute", false);
    }
    if f.kind == RoutineKind::Function {
        n = n
            .flag("leakproof", f.leakproof)
            .prop_opt(
                "parallel",
                match f.parallel {
                    Parallel::Unsafe => None,
                    Parallel::Restricted => Some("restricted"),
                    Parallel::Safe => Some("safe"),
                },
            )
            .prop_opt("cost", f.cost)
            .prop_opt("rows", f.rows);
    }
    n = n.prop_opt("comment", f.comment.as_ref());
    for a in &f.arguments {
        let mut arg = Node::new("argument")
            .arg(a.name.clone().unwrap_or_default())
            .arg(&a.data_type);
        arg = arg.prop_opt(
            "mode",
            match a.mode {
                ArgMode::In => None,
                ArgMode::Out => Some("out"),
                ArgMode::InOut => Some("inout"),
                ArgMode::Variadic => Some("variadic"),
            },
        );
        n = n.child(arg.prop_opt("default", a.default.as_ref()));
    }
    for (k, v) in &f.config {
        n = n.child(Node::new("set").arg(k).arg(v));
    }
    n = n.child(Node::new("body").arg(&f.body));
    let granted: Vec<Grant> = f.granted().cloned().collect();
    for g in super::grant_nodes(&granted) {
        n = n.child(g);
    }
    n
}

pub(super) fn trigger(t: &Trigger, schema: &str) -> Node {
    let events: Vec<&str> = t.events.iter().map(|e| e.word()).collect();
    let timing = match t.timing {
        TriggerTiming::Before => "before",
        TriggerTiming::After => "after",
        TriggerTiming::InsteadOf => "instead-of",
    };
    let function = if t.function.schema == schema {
        quote_ref_name(&t.function.name)
    } else {
        format!(
            "{}.{}",
            quote_ref_name(&t.function.schema),
            quote_ref_name(&t.function.name)
        )
    };
    let mut n = Node::new("trigger")
        .arg(&t.name)
        .prop_opt("renamed-from", t.renamed_from.as_ref())
        .prop(timing, events.join(" or "))
        .prop_opt(
            "for-each",
            (t.for_each_row && !t.constraint).then_some("row"),
        )
        .prop("function", function)
        .prop_opt("when", t.when.as_ref())
        .prop_opt(
            "state",
            (t.state != TriggerState::Enabled).then_some(t.state.word()),
        )
        .flag("constraint", t.constraint);
    n = match t.deferrable {
        Deferrable::NotDeferrable => n,
        Deferrable::InitiallyImmediate => n.prop("deferrable", "immediate"),
        Deferrable::InitiallyDeferred => n.prop("deferrable", "deferred"),
    };
    n = n
        .prop_opt("old-table", t.old_table.as_ref())
        .prop_opt("new-table", t.new_table.as_ref())
        .prop_opt("comment", t.comment.as_ref());
    if !t.update_of.is_empty() {
        let mut u = Node::new("update-of");
        for c in &t.update_of {
            u = u.arg(c);
        }
        n = n.child(u);
    }
    if !t.arguments.is_empty() {
        let mut a = Node::new("arguments");
        for v in &t.arguments {
            a = a.arg(v);
        }
        n = n.child(a);
    }
    n
}
