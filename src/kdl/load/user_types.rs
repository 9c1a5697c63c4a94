//! Loading `domain`, `composite` and `range` nodes (see `spec`), kept beside the loader so the
//! other kinds stay short. Type texts (base types, attribute types, subtypes) are resolved in
//! the cross-file pass like column types, with the same messages.

use miette::SourceSpan;

use super::{Checked, FileCtx, Key, Loader, Pending};
use crate::kdl::diag::{Problem, ProblemKind};
use crate::model::{
    CompositeAttribute, CompositeType, Domain, DomainCheck, QualifiedName, RangeType,
};

/// Which type text of a user type a pending resolution is for.
#[derive(Debug, Clone)]
pub(super) enum Slot {
    DomainBase(QualifiedName),
    Attribute(QualifiedName, String),
    RangeSubtype(QualifiedName),
}

impl Loader {
    fn type_text(&mut self, f: &FileCtx, text: (&str, SourceSpan), slot: Slot) -> String {
        self.pending.push(Pending::UserTypeText {
            file: f.index,
            span: text.1,
            slot,
        });
        text.0.to_string()
    }

    pub(super) fn domain(&mut self, f: &FileCtx, schema: &str, c: &Checked<'_>) {
        let Some((name, span)) = self.name_arg(f, c, 0) else {
            return;
        };
        let what = format!("domain `{schema}.{name}`");
        if !self.declare(Key::Type(schema.into(), name.clone()), f, span, what) {
            return;
        }
        let qn = QualifiedName::new(schema, &name);
        let base_type = match c.arg_str(1) {
            Some(t) => self.type_text(f, t, Slot::DomainBase(qn.clone())),
            None => String::new(),
        };
        let mut checks = indexmap::IndexMap::new();
        for ch in self.children(f, c) {
            let Some((cname, cspan)) = self.name_arg(f, &ch, 0) else {
                continue;
            };
            let Some((expression, _)) = ch.arg_str(1) else {
                continue;
            };
            if !self.declare(
                Key::Constraint(schema.into(), name.clone(), cname.clone()),
                f,
                cspan,
                format!("check `{cname}` of domain `{qn}`"),
            ) {
                continue;
            }
            checks.insert(
                cname.clone(),
                DomainCheck {
                    name: cname,
                    expression: expression.to_string(),
                    valid: !ch.flag("not-valid"),
                    renamed_from: ch.prop_string("renamed-from"),
                },
            );
        }
        let d = Domain {
            name: name.clone(),
            base_type,
            collation: c.prop_string("collation"),
            default: c.prop_string("default"),
            not_null: c.flag("not-null"),
            checks,
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        };
        if let Some(s) = self.schema_mut(schema) {
            s.domains.insert(name, d);
        }
    }

    pub(super) fn composite(&mut self, f: &FileCtx, schema: &str, c: &Checked<'_>) {
        let Some((name, span)) = self.name_arg(f, c, 0) else {
            return;
        };
        let what = format!("composite type `{schema}.{name}`");
        if !self.declare(Key::Type(schema.into(), name.clone()), f, span, what) {
            return;
        }
        let qn = QualifiedName::new(schema, &name);
        let mut attributes = Vec::new();
        for ch in self.children(f, c) {
            let Some((aname, aspan)) = self.name_arg(f, &ch, 0) else {
                continue;
            };
            if !self.declare(
                Key::Column(schema.into(), name.clone(), aname.clone()),
                f,
                aspan,
                format!("attribute `{aname}` of composite type `{qn}`"),
            ) {
                continue;
            }
            let data_type = match ch.arg_str(1) {
                Some(t) => self.type_text(f, t, Slot::Attribute(qn.clone(), aname.clone())),
                None => continue,
            };
            attributes.push(CompositeAttribute {
                name: aname,
                data_type,
                collation: ch.prop_string("collation"),
                renamed_from: ch.prop_string("renamed-from"),
            });
        }
        let t = CompositeType {
            name: name.clone(),
            attributes,
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        };
        if let Some(s) = self.schema_mut(schema) {
            s.composites.insert(name, t);
        }
    }

    pub(super) fn range(&mut self, f: &FileCtx, schema: &str, c: &Checked<'_>) {
        let Some((name, span)) = self.name_arg(f, c, 0) else {
            return;
        };
        let what = format!("range type `{schema}.{name}`");
        if !self.declare(Key::Type(schema.into(), name.clone()), f, span, what) {
            return;
        }
        let qn = QualifiedName::new(schema, &name);
        let multirange = c.prop_string("multirange");
        let multi_name = multirange
            .clone()
            .unwrap_or_else(|| RangeType::default_multirange(&name));
        let multi_span = match c.prop("multirange") {
            Some(_) => c.prop_span("multirange"),
            None => span,
        };
        if !self.declare(
            Key::Type(schema.into(), multi_name.clone()),
            f,
            multi_span,
            format!("multirange type `{schema}.{multi_name}` of range `{qn}`"),
        ) {
            return;
        }
        let subtype = match c.prop_str("subtype") {
            Some(t) => {
                let span = c.prop_span("subtype");
                self.type_text(f, (t, span), Slot::RangeSubtype(qn.clone()))
            }
            None => String::new(),
        };
        let r = RangeType {
            name: name.clone(),
            subtype,
            subtype_opclass: c.prop_string("subtype-opclass"),
            collation: c.prop_string("collation"),
            canonical: c.prop_string("canonical"),
            subtype_diff: c.prop_string("subtype-diff"),
            multirange,
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        };
        if let Some(s) = self.schema_mut(schema) {
            s.ranges.insert(name, r);
        }
    }

    /// The type text of `slot`, to resolve, or `None` when the object is gone.
    fn slot_text(&mut self, slot: &Slot) -> Option<&mut String> {
        match slot {
            Slot::DomainBase(q) => self
                .model
                .schemas
                .get_mut(&q.schema)?
                .domains
                .get_mut(&q.name)
                .map(|d| &mut d.base_type),
            Slot::Attribute(q, a) => self
                .model
                .schemas
                .get_mut(&q.schema)?
                .composites
                .get_mut(&q.name)?
                .attributes
                .iter_mut()
                .find(|x| &x.name == a)
                .map(|x| &mut x.data_type),
            Slot::RangeSubtype(q) => self
                .model
                .schemas
                .get_mut(&q.schema)?
                .ranges
                .get_mut(&q.name)
                .map(|r| &mut r.subtype),
        }
    }

    /// Resolve one pending type text of a user type (see [`Slot`]).
    pub(super) fn resolve_user_type_text(
        &mut self,
        file: usize,
        span: SourceSpan,
        slot: &Slot,
        env: &crate::kdl::types::TypeEnv<'_>,
    ) {
        let schema = match slot {
            Slot::DomainBase(q) | Slot::Attribute(q, _) | Slot::RangeSubtype(q) => q.schema.clone(),
        };
        let Some(text) = self.slot_text(slot).map(|t| t.clone()) else {
            return;
        };
        match crate::kdl::types::resolve(&text, &schema, env) {
            Ok(resolved) => {
                if let Some(t) = self.slot_text(slot) {
                    *t = resolved;
                }
            }
            Err(e) => {
                let f = self.file(file);
                self.push(
                    Problem::new(ProblemKind::DanglingReference, &f, span, e.message)
                        .label("unknown type")
                        .maybe_help(e.help),
                );
            }
        }
    }
}
