//! Units: the top-level objects a model is made of, each replaceable on its own.
//!
//! A unit is an extension, a schema's own attributes, or an enum, sequence, table (with its
//! columns, constraints, indexes and triggers), view, materialized view (with its indexes),
//! function (one overload), domain, composite type or range type. Planning works unit by unit so that its cost
//! follows what changed rather than the size of the schema: only the units that differ are
//! materialized in a scratch database, the rest of the model is carried over as it is
//! ([`Model::restrict`], [`Model::replace_units`]), and the fingerprint is combined from
//! per-unit hashes so that replacing a few units re-hashes only those.

use std::collections::HashSet;

use super::{Model, QualifiedName, Schema};

/// The kind of a unit. The order is the fingerprint's encoding order: do not reorder.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum UnitKind {
    Extension,
    Schema,
    Enum,
    Sequence,
    Table,
    View,
    /// A function or procedure; its name is its signature (`model::Function::key`).
    Function,
    MaterializedView,
    Domain,
    Composite,
    Range,
}

/// Identifies a unit. `schema` is empty for extensions and equals `name` for schemas.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct UnitKey {
    pub kind: UnitKind,
    pub schema: String,
    pub name: String,
}

impl UnitKey {
    pub fn new(kind: UnitKind, schema: &str, name: &str) -> UnitKey {
        UnitKey {
            kind,
            schema: schema.to_string(),
            name: name.to_string(),
        }
    }

    pub fn table(name: &QualifiedName) -> UnitKey {
        UnitKey::new(UnitKind::Table, &name.schema, &name.name)
    }

    pub fn qualified(&self) -> QualifiedName {
        QualifiedName::new(&self.schema, &self.name)
    }
}

impl std::fmt::Display for UnitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            UnitKind::Extension => return write!(f, "extension {}", self.name),
            UnitKind::Schema => return write!(f, "schema {}", self.name),
            UnitKind::Enum => "enum",
            UnitKind::Sequence => "sequence",
            UnitKind::Table => "table",
            UnitKind::View => "view",
            UnitKind::Function => "function",
            UnitKind::MaterializedView => "materialized view",
            UnitKind::Domain => "domain",
            UnitKind::Composite => "composite type",
            UnitKind::Range => "range type",
        };
        write!(f, "{kind} {}.{}", self.schema, self.name)
    }
}

impl Model {
    /// Every unit of the model.
    pub fn unit_keys(&self) -> Vec<UnitKey> {
        let mut out: Vec<UnitKey> = self
            .extensions
            .keys()
            .map(|n| UnitKey::new(UnitKind::Extension, "", n))
            .collect();
        for s in self.schemas.values() {
            out.push(UnitKey::new(UnitKind::Schema, &s.name, &s.name));
            let sn = s.name.as_str();
            out.extend(s.enums.keys().map(|n| UnitKey::new(UnitKind::Enum, sn, n)));
            out.extend(
                s.sequences
                    .keys()
                    .map(|n| UnitKey::new(UnitKind::Sequence, sn, n)),
            );
            out.extend(
                s.tables
                    .keys()
                    .map(|n| UnitKey::new(UnitKind::Table, sn, n)),
            );
            out.extend(s.views.keys().map(|n| UnitKey::new(UnitKind::View, sn, n)));
            out.extend(
                s.functions
                    .keys()
                    .map(|n| UnitKey::new(UnitKind::Function, sn, n)),
            );
            out.extend(
                s.materialized_views
                    .keys()
                    .map(|n| UnitKey::new(UnitKind::MaterializedView, sn, n)),
            );
            out.extend(
                s.domains
                    .keys()
                    .map(|n| UnitKey::new(UnitKind::Domain, sn, n)),
            );
            out.extend(
                s.composites
                    .keys()
                    .map(|n| UnitKey::new(UnitKind::Composite, sn, n)),
            );
            out.extend(
                s.ranges
                    .keys()
                    .map(|n| UnitKey::new(UnitKind::Range, sn, n)),
            );
        }
        out
    }

    /// Whether the model has this unit.
    pub fn has_unit(&self, key: &UnitKey) -> bool {
        match key.kind {
            UnitKind::Extension => self.extensions.contains_key(&key.name),
            UnitKind::Schema => self.schemas.contains_key(&key.name),
            kind => self.schemas.get(&key.schema).is_some_and(|s| match kind {
                UnitKind::Enum => s.enums.contains_key(&key.name),
                UnitKind::Sequence => s.sequences.contains_key(&key.name),
                UnitKind::Table => s.tables.contains_key(&key.name),
                UnitKind::View => s.views.contains_key(&key.name),
                UnitKind::Function => s.functions.contains_key(&key.name),
                UnitKind::MaterializedView => s.materialized_views.contains_key(&key.name),
                UnitKind::Domain => s.domains.contains_key(&key.name),
                UnitKind::Composite => s.composites.contains_key(&key.name),
                UnitKind::Range => s.ranges.contains_key(&key.name),
                _ => false,
            }),
        }
    }

    /// The model with only the schema-level units in `keep` (extensions and schemas are always
    /// kept; they are cheap and everything else may need them).
    pub fn restrict(&self, keep: &HashSet<UnitKey>) -> Model {
        let mut out = Model {
            extensions: self.extensions.clone(),
            schemas: Default::default(),
            allow_data_loss: Vec::new(),
            backfills: Vec::new(),
            conversions: Vec::new(),
            enum_replacements: Vec::new(),
            atomic_renames: Vec::new(),
        };
        for s in self.schemas.values() {
            let sn = s.name.as_str();
            let k = |kind, n: &String| keep.contains(&UnitKey::new(kind, sn, n));
            out.schemas.insert(
                s.name.clone(),
                Schema {
                    grants: s.grants.clone(),
                    default_grants: s.default_grants.clone(),
                    name: s.name.clone(),
                    comment: s.comment.clone(),
                    enums: filter(&s.enums, |n| k(UnitKind::Enum, n)),
                    sequences: filter(&s.sequences, |n| k(UnitKind::Sequence, n)),
                    tables: filter(&s.tables, |n| k(UnitKind::Table, n)),
                    views: filter(&s.views, |n| k(UnitKind::View, n)),
                    functions: filter(&s.functions, |n| k(UnitKind::Function, n)),
                    materialized_views: filter(&s.materialized_views, |n| {
                        k(UnitKind::MaterializedView, n)
                    }),
                    domains: filter(&s.domains, |n| k(UnitKind::Domain, n)),
                    composites: filter(&s.composites, |n| k(UnitKind::Composite, n)),
                    ranges: filter(&s.ranges, |n| k(UnitKind::Range, n)),
                },
            );
        }
        out
    }

    /// Replace the units `keys` of this model by those of `from`: each is taken from `from`
    /// when it has it and removed otherwise. Extensions and schema attributes are replaced
    /// only when listed too.
    pub fn replace_units(&mut self, keys: &HashSet<UnitKey>, from: &Model) {
        for key in keys {
            match key.kind {
                UnitKind::Extension => match from.extensions.get(&key.name) {
                    Some(e) => {
                        self.extensions.insert(key.name.clone(), e.clone());
                    }
                    None => {
                        self.extensions.shift_remove(&key.name);
                    }
                },
                UnitKind::Schema => match from.schemas.get(&key.name) {
                    Some(s) => {
                        let mine = self
                            .schemas
                            .entry(key.name.clone())
                            .or_insert_with(|| Schema {
                                name: key.name.clone(),
                                ..Schema::default()
                            });
                        mine.comment = s.comment.clone();
                        mine.grants = s.grants.clone();
                        mine.default_grants = s.default_grants.clone();
                    }
                    None => {
                        self.schemas.shift_remove(&key.name);
                    }
                },
                kind => {
                    let theirs = from.schemas.get(&key.schema);
                    let Some(mine) = self.schemas.get_mut(&key.schema) else {
                        // The schema itself is gone or new; its objects follow it.
                        if let Some(theirs) = theirs {
                            let mut s = Schema {
                                name: key.schema.clone(),
                                ..Schema::default()
                            };
                            copy_unit(&mut s, theirs, kind, &key.name);
                            self.schemas.insert(key.schema.clone(), s);
                        }
                        continue;
                    };
                    match theirs {
                        Some(theirs) => copy_unit(mine, theirs, kind, &key.name),
                        None => remove_unit(mine, kind, &key.name),
                    }
                }
            }
        }
    }
}

fn filter<T: Clone>(
    map: &indexmap::IndexMap<String, T>,
    keep: impl Fn(&String) -> bool,
) -> indexmap::IndexMap<String, T> {
    map.iter()
        .filter(|(n, _)| keep(n))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

fn copy_unit(mine: &mut Schema, theirs: &Schema, kind: UnitKind, name: &str) {
    fn put<T: Clone>(
        to: &mut indexmap::IndexMap<String, T>,
        from: &indexmap::IndexMap<String, T>,
        name: &str,
    ) {
        match from.get(name) {
            Some(v) => {
                to.insert(name.to_string(), v.clone());
            }
            None => {
                to.shift_remove(name);
            }
        }
    }
    match kind {
        UnitKind::Enum => put(&mut mine.enums, &theirs.enums, name),
        UnitKind::Sequence => put(&mut mine.sequences, &theirs.sequences, name),
        UnitKind::Table => put(&mut mine.tables, &theirs.tables, name),
        UnitKind::View => put(&mut mine.views, &theirs.views, name),
        UnitKind::Function => put(&mut mine.functions, &theirs.functions, name),
        UnitKind::MaterializedView => put(
            &mut mine.materialized_views,
            &theirs.materialized_views,
            name,
        ),
        UnitKind::Domain => put(&mut mine.domains, &theirs.domains, name),
        UnitKind::Composite => put(&mut mine.composites, &theirs.composites, name),
        UnitKind::Range => put(&mut mine.ranges, &theirs.ranges, name),
        UnitKind::Extension | UnitKind::Schema => {}
    }
}

fn remove_unit(mine: &mut Schema, kind: UnitKind, name: &str) {
    match kind {
        UnitKind::Enum => drop(mine.enums.shift_remove(name)),
        UnitKind::Sequence => drop(mine.sequences.shift_remove(name)),
        UnitKind::Table => drop(mine.tables.shift_remove(name)),
        UnitKind::View => drop(mine.views.shift_remove(name)),
        UnitKind::Function => drop(mine.functions.shift_remove(name)),
        UnitKind::MaterializedView => drop(mine.materialized_views.shift_remove(name)),
        UnitKind::Domain => drop(mine.domains.shift_remove(name)),
        UnitKind::Composite => drop(mine.composites.shift_remove(name)),
        UnitKind::Range => drop(mine.ranges.shift_remove(name)),
        UnitKind::Extension | UnitKind::Schema => {}
    }
}
