//! `materialized-view` in a schema block: its query, storage options and indexes.
//!
//! Indexes are read exactly as a table's are (`Loader::index`); their key columns are not
//! checked against the query's output, which only the scratch database knows.

use super::{Checked, FileCtx, Key, Loader};
use crate::model::{MaterializedView, QualifiedName};

impl Loader {
    pub(super) fn materialized_view(&mut self, f: &FileCtx, schema: &str, c: &Checked<'_>) {
        let Some((name, span)) = self.name_arg(f, c, 0) else {
            return;
        };
        if !self.declare_relation_with_type(f, schema, &name, span, "materialized view") {
            return;
        }
        let qn = QualifiedName::new(schema, &name);
        let mut m = MaterializedView {
            name: name.clone(),
            query: c.arg_str(1).map(|(q, _)| q.to_string()).unwrap_or_default(),
            options: indexmap::IndexMap::new(),
            populated: c.prop_bool("with-data").unwrap_or(true),
            indexes: indexmap::IndexMap::new(),
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        };
        for ch in self.children(f, c) {
            match ch.spec.name {
                "index" => {
                    if let Some(i) = self.index(f, &qn, &ch) {
                        m.indexes.insert(i.name.clone(), i);
                    }
                }
                "option" => {
                    if let (Some((k, kspan)), Some((v, _))) = (ch.arg_str(0), ch.arg_str(1))
                        && self.declare(
                            Key::ViewOption(schema.into(), name.clone(), k.to_string()),
                            f,
                            kspan,
                            format!("option `{k}` of materialized view `{qn}`"),
                        )
                    {
                        m.options.insert(k.to_string(), v.to_string());
                    }
                }
                _ => {}
            }
        }
        if let Some(s) = self.schema_mut(schema) {
            s.materialized_views.insert(name, m);
        }
    }
}
