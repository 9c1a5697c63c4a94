//! formwork's own transitional objects: the temporary objects a plan creates and removes again
//! before it ends, recognized when an interrupted apply left them behind.
//!
//! [`KINDS`] is the one list of those objects: each kind's purpose word (the name is
//! `formwork_<purpose>_<16 lowercase hex digits>`, see [`super::temp_name`]), what kind of
//! object carries it, and what removes it. A strategy that adds a transitional object adds its
//! kind here, and [`separate`] learns to finish or clean it up.
//!
//! What an interrupted apply leaves, and what the next `formwork plan` does about it:
//!
//! `SET NOT NULL` sequence on `t.c` (check `formwork_notnull_<h>`):
//! 1. killed after `ADD CONSTRAINT ... NOT VALID`: an unvalidated check. Declared NOT NULL: the
//!    plan validates it, runs `SET NOT NULL` (no scan) and drops it; otherwise it drops it.
//! 2. killed after `VALIDATE`: the same without the validation.
//! 3. killed after `SET NOT NULL`: the column is NOT NULL; the plan drops the check.
//!
//! Index replacement of `t.i` (index `formwork_idx_<h>`):
//! 1. killed during `CREATE INDEX CONCURRENTLY`: an INVALID index; the plan drops it
//!    concurrently, then replaces `i` as any changed index.
//! 2. killed after the build: a valid index next to the old `i`; the plan drops the old `i`
//!    concurrently and renames the new one (a later difference is then diffed as usual).
//! 3. killed after dropping the old `i`: the plan renames the new index to `i`.
//!
//! Query change of materialized view `m` (`matviews`, `formwork_mv_<h>` with indexes
//! `formwork_mvidx_<h>`): killed before the swap (one transaction), the new definition exists
//! beside `m`; the plan drops it and builds it again. After the swap nothing is left.
//!
//! Rename of table `t` (see `renames`): after the expand, a view under the old name; the plan
//! made then has its contract, `DROP VIEW`, left. Rename of column `t.c` to `d`: the table has
//! both columns (and maybe `formwork_idx_` indexes on `d`, left in place for `renames`, which
//! builds only the missing ones); the plan finishes the expand and plans the contract.
//!
//! Type change of `t.c` by expand and contract (`retype`: shadow column `formwork_new_<h>`,
//! trigger and function `formwork_sync_<h>`, retired column `formwork_old_<h>`, its indexes
//! `formwork_oldidx_<h>`):
//! 1. killed anywhere before the swap (after `ADD COLUMN`, during the backfill, the NOT NULL
//!    sequence or an index build): the shadow column exists. When the declaration still asks
//!    for that type, the plan resumes the change with it: the function and trigger are created
//!    again idempotently (triggers are not in the model, so whether they exist is not known),
//!    the backfill converts the rows not converted yet, a leftover NOT NULL check is continued,
//!    valid indexes already built on the shadow are kept (INVALID ones dropped concurrently and
//!    built again), then the swap and the contract follow. Otherwise the plan drops the
//!    trigger, the function and the shadow column in one short transaction.
//! 2. killed after the swap (the swap is one transaction), or `apply --phase expand` only: the
//!    retired column and its indexes remain; the plan drops the column (and with it the
//!    indexes) in the contract phase.
//!
//! Apart from a rename's view, old column and trigger (what the running application uses
//! until the contract) and the retired column of a type change, `apply --phase expand` leaves
//! no transitional object (every other sequence finishes inside the expand phase); the
//! contract steps stay in the journal (`formwork status`). The journal itself (schema
//! `formwork`, with `formwork.backfills`) is never introspected, so never drift.
//!
//! An object is transitional only when its name matches the pattern exactly, its hash is the
//! one formwork gives that object (salts 0 to [`MAX_SALT`], see `Ctx::fresh_name`) where the
//! hash can be checked, and the declaration does not declare that name: a user object named
//! `formwork_...` is a user object. This module does not read a catalog: it works on the
//! current model like the rest of the diff.

use std::collections::{BTreeMap, HashMap};

use super::{Draft, Stage, qn, temp_name};
use crate::model::{Index, IndexKeyTarget, Model, QualifiedName, Table};
use crate::sql::{qualified, quote_ident};

/// The kinds of object a transitional object can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    Index,
    CheckConstraint,
    Enum,
    /// The view a table rename leaves under the old name (named as the user's table was).
    View,
    /// The old column of a column rename (named as the user's column was).
    Column,
    /// A trigger and its function (not in the model: listed for documentation only).
    Trigger,
    MaterializedView,
}

impl std::fmt::Display for ObjectType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ObjectType::Index => "index",
            ObjectType::CheckConstraint => "check",
            ObjectType::Enum => "enum",
            ObjectType::View => "view",
            ObjectType::Column => "column",
            ObjectType::Trigger => "trigger",
            ObjectType::MaterializedView => "materialized view",
        })
    }
}

/// One kind of transitional object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The word in `formwork_<purpose>_<hash>`.
    pub purpose: &'static str,
    pub object: ObjectType,
    /// What it is for, in words.
    pub what: &'static str,
    /// What removes a leftover one.
    pub removal: &'static str,
}

/// Every kind of transitional object formwork creates.
pub const KINDS: &[Kind] = &[
    Kind {
        purpose: "notnull",
        object: ObjectType::CheckConstraint,
        what: "temporary check proving a column holds no NULL before SET NOT NULL",
        removal: "the next plan completes SET NOT NULL when declared, then drops the check",
    },
    Kind {
        purpose: "idx",
        object: ObjectType::Index,
        what: "replacement index built under a temporary name",
        removal: "the next plan renames it into place, or drops it concurrently when INVALID",
    },
    Kind {
        purpose: "enum",
        object: ObjectType::Enum,
        what: "copy of an enum being rebuilt without removed values (or in a new order)",
        removal: "the contract phase of the plan that made it drops the old type and renames \
                  it into place; resume that plan with `formwork apply`",
    },
    Kind {
        purpose: "rename",
        object: ObjectType::View,
        what: "view keeping the old name of a renamed table for the running application",
        removal: "the contract phase drops it",
    },
    Kind {
        purpose: "rename",
        object: ObjectType::Column,
        what: "old column of a renamed column, kept equal to the new one by a sync trigger",
        removal: "the next plan finishes the expand; the contract phase drops it with the trigger",
    },
    Kind {
        purpose: "rename",
        object: ObjectType::Trigger,
        what: "trigger and function keeping a renamed column and its old name equal",
        removal: "the contract phase drops them with the old column",
    },
    Kind {
        purpose: "new",
        object: ObjectType::Column,
        what: "shadow column of a type change being built, kept in step by the trigger \
               formwork_sync_<hash>",
        removal: "the next plan resumes the type change with it, or drops it with its trigger \
                  when the change is no longer declared",
    },
    Kind {
        purpose: "sync",
        object: ObjectType::Trigger,
        what: "trigger and function keeping the shadow column of a type change in step",
        removal: "dropped by the swap, or with the shadow column when the change is abandoned",
    },
    Kind {
        purpose: "old",
        object: ObjectType::Column,
        what: "column retired by the swap of a type change",
        removal: "the next plan drops it in the contract phase",
    },
    Kind {
        purpose: "mv",
        object: ObjectType::MaterializedView,
        what: "new definition of a materialized view whose query changes, built beside the old one",
        removal: "the next plan drops it (with its indexes) and builds the new definition again",
    },
    Kind {
        purpose: "mvidx",
        object: ObjectType::Index,
        what: "index of the new definition of a materialized view, renamed into place by the swap",
        removal: "dropped with the materialized view it belongs to",
    },
    Kind {
        purpose: "oldidx",
        object: ObjectType::Index,
        what: "index of a column retired by the swap of a type change",
        removal: "dropped with its retired column in the contract phase",
    },
];

/// The kind of a transitional object a rename leaves (named as the user's object was, so not
/// recognized by name).
fn rename_kind(object: ObjectType) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.purpose == "rename" && k.object == object)
}

/// How many salted names `Ctx::fresh_name` is assumed to have tried.
pub const MAX_SALT: u32 = 8;

/// The kind of `name` when it has the exact shape of a transitional name of `object`.
pub fn recognize(name: &str, object: ObjectType) -> Option<&'static Kind> {
    let rest = name.strip_prefix("formwork_")?;
    let (purpose, hash) = rest.rsplit_once('_')?;
    if hash.len() != 16 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    KINDS
        .iter()
        .find(|k| k.purpose == purpose && k.object == object)
}

/// Whether `name` is the name formwork gives the `purpose` object for `parts`.
pub(crate) fn hash_matches(name: &str, purpose: &str, parts: &[&str]) -> bool {
    (0..=MAX_SALT).any(|n| {
        let salt = n.to_string();
        let mut salted = parts.to_vec();
        if n > 0 {
            salted.push(&salt);
        }
        temp_name(purpose, &salted) == name
    })
}

/// A transitional object found in a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: &'static Kind,
    /// The table it belongs to; for an enum, the declared enum it rebuilds.
    pub table: QualifiedName,
    pub name: String,
}

/// Every transitional object of `current` that `desired` does not declare.
pub fn find(current: &Model, desired: &Model) -> Vec<Found> {
    let mut out = Vec::new();
    for s in current.schemas.values() {
        let declared_enums = desired.schemas.get(&s.name).map(|d| &d.enums);
        for e in s.enums.keys() {
            if declared_enums.is_some_and(|d| d.contains_key(e)) {
                continue;
            }
            let Some(kind) = recognize(e, ObjectType::Enum) else {
                continue;
            };
            // Shown against the declared enum it rebuilds, when its hash says which.
            let rebuilds = declared_enums
                .and_then(|d| d.keys().find(|n| hash_matches(e, "enum", &[&s.name, n])));
            out.push(Found {
                kind,
                table: QualifiedName::new(&s.name, rebuilds.unwrap_or(e)),
                name: e.clone(),
            });
        }
        for v in s.views.values() {
            if let (Some(table), Some(kind)) = (
                super::renames::transitional_view(current, desired, &s.name, v),
                rename_kind(ObjectType::View),
            ) {
                out.push(Found {
                    kind,
                    table,
                    name: v.name.clone(),
                });
            }
        }
        let declared_mvs = desired.schemas.get(&s.name).map(|d| &d.materialized_views);
        for m in s.materialized_views.keys() {
            if declared_mvs.is_some_and(|d| d.contains_key(m)) {
                continue;
            }
            let Some(kind) = recognize(m, ObjectType::MaterializedView) else {
                continue;
            };
            let rebuilds =
                declared_mvs.and_then(|d| d.keys().find(|n| hash_matches(m, "mv", &[&s.name, n])));
            out.push(Found {
                kind,
                table: QualifiedName::new(&s.name, rebuilds.unwrap_or(m)),
                name: m.clone(),
            });
        }
        for t in s.tables.values() {
            let declared = desired
                .schemas
                .get(&s.name)
                .and_then(|d| d.tables.get(&t.name));
            let tq = QualifiedName::new(&s.name, &t.name);
            for old in declared
                .into_iter()
                .flat_map(|d| d.columns.values())
                .filter(|dc| t.columns.contains_key(&dc.name))
                .filter_map(|dc| dc.renamed_from.as_ref())
                .filter(|old| t.columns.contains_key(*old))
                .filter(|old| declared.is_some_and(|d| !d.columns.contains_key(*old)))
            {
                if let Some(kind) = rename_kind(ObjectType::Column) {
                    out.push(Found {
                        kind,
                        table: tq.clone(),
                        name: old.clone(),
                    });
                }
            }
            for c in t.checks.values() {
                if declared.is_some_and(|d| d.checks.contains_key(&c.name)) {
                    continue;
                }
                let Some(kind) = recognize(&c.name, ObjectType::CheckConstraint) else {
                    continue;
                };
                if notnull_column(&tq, t, &c.name).is_some() {
                    out.push(Found {
                        kind,
                        table: tq.clone(),
                        name: c.name.clone(),
                    });
                }
            }
            for i in t.indexes.values() {
                if declared.is_some_and(|d| d.indexes.contains_key(&i.name)) {
                    continue;
                }
                let Some(kind) = recognize(&i.name, ObjectType::Index) else {
                    continue;
                };
                // A retired index's hash is that of the index whose name its twin took.
                let retired = || {
                    t.indexes
                        .keys()
                        .chain(declared.iter().flat_map(|d| d.indexes.keys()))
                        .any(|n| hash_matches(&i.name, "oldidx", &[&tq.schema, &tq.name, n]))
                };
                if kind.purpose != "oldidx" || retired() {
                    out.push(Found {
                        kind,
                        table: tq.clone(),
                        name: i.name.clone(),
                    });
                }
            }
            for c in t.columns.values() {
                if declared.is_some_and(|d| d.columns.contains_key(&c.name)) {
                    continue;
                }
                let Some(kind) = recognize(&c.name, ObjectType::Column) else {
                    continue;
                };
                if retyped_column(&tq, t, declared, kind.purpose, &c.name).is_some() {
                    out.push(Found {
                        kind,
                        table: tq.clone(),
                        name: c.name.clone(),
                    });
                }
            }
        }
    }
    out
}

/// The column a `formwork_new_*` or `formwork_old_*` column of `t` was made for: its hash is
/// the one formwork gives that column's shadow (or retired) column. The column is looked for
/// under its current and its declared names.
fn retyped_column(
    tq: &QualifiedName,
    t: &Table,
    declared: Option<&Table>,
    purpose: &str,
    name: &str,
) -> Option<String> {
    t.columns
        .keys()
        .chain(declared.iter().flat_map(|d| d.columns.keys()))
        .find(|c| *c != name && hash_matches(name, purpose, &[&tq.schema, &tq.name, c]))
        .cloned()
}

/// Whether `index` names `column` as a key or an included column.
pub(crate) fn index_uses(index: &Index, column: &str) -> bool {
    index.include.iter().any(|n| n == column)
        || index
            .keys
            .iter()
            .any(|k| matches!(&k.target, IndexKeyTarget::Column(n) if n == column))
}

/// The column a `formwork_notnull_*` check of `t` was made for: its hash must be the one
/// formwork gives that column's check, and its expression `col IS NOT NULL`.
fn notnull_column<'t>(
    tq: &QualifiedName,
    t: &'t crate::model::Table,
    check: &str,
) -> Option<&'t str> {
    let expr = &t.checks.get(check)?.expression;
    t.columns
        .keys()
        .find(|c| {
            hash_matches(check, "notnull", &[&tq.schema, &tq.name, c]) && proves_not_null(expr, c)
        })
        .map(String::as_str)
}

/// Whether a check expression (as the catalog prints it) is `column IS NOT NULL`, which a
/// validated check lets `SET NOT NULL` skip its scan with.
pub fn proves_not_null(expression: &str, column: &str) -> bool {
    let bare = expression.replace(['(', ')', '"'], "");
    bare.trim()
        .eq_ignore_ascii_case(&format!("{column} IS NOT NULL"))
}

/// A leftover `formwork_notnull_*` check that the `SET NOT NULL` sequence picks up where it
/// stopped: (table, column) -> (check name, validated).
pub(crate) type Resumed = HashMap<(QualifiedName, String), (String, bool)>;

/// The shadow column of an interrupted type change that the change resumes with (see
/// `retype::expand_contract`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shadow {
    pub name: String,
    /// NOT NULL already set on it.
    pub not_null: bool,
    /// The default already set on it.
    pub default: Option<String>,
    /// Valid indexes already built on it (under their temporary names).
    pub indexes: Vec<Index>,
}

/// Type changes to resume: (table, declared column) -> its shadow column.
pub(crate) type Retypes = BTreeMap<(QualifiedName, String), Shadow>;

/// What [`separate`] collects besides the model.
#[derive(Default)]
struct Leftovers {
    drafts: Vec<Draft>,
    not_null: Resumed,
    retypes: Retypes,
}

/// What [`separate`] found an interrupted apply left.
pub(crate) struct Separated {
    /// The current model without the transitional objects (and with a finished index
    /// replacement renamed into place): what the rest of the diff compares.
    pub model: Model,
    /// Cleanup and finishing drafts.
    pub drafts: Vec<Draft>,
    /// `SET NOT NULL` sequences to resume.
    pub not_null: Resumed,
    /// Type changes to resume; those the diff does not resume are [`abandon`]ed.
    pub retypes: Retypes,
}

/// Drop the shadow column `shadow` of a type change of `tq.column` that is not resumed, with
/// its trigger and function, in one short transaction: the trigger names the shadow, so it
/// must not outlive it. The trigger is dropped first (it takes ACCESS EXCLUSIVE, which covers
/// the rest); both may be missing (the apply may have been killed before creating them).
pub(crate) fn abandon(tq: &QualifiedName, column: &str, shadow: &str) -> Draft {
    let sync = temp_name("sync", &[&tq.schema, &tq.name, column]);
    let t = qualified(tq);
    Draft::new(
        Stage::Relax,
        format!(
            "clean up shadow column {shadow} of {tq} and its trigger {sync} (left by an \
             interrupted change of the type of {tq}.{column}, no longer declared)"
        ),
        format!(
            "DROP TRIGGER IF EXISTS {} ON {t};\nDROP FUNCTION IF EXISTS {}();\n\
             ALTER TABLE {t} DROP COLUMN {}",
            quote_ident(&sync),
            qn(&tq.schema, &sync),
            quote_ident(shadow)
        ),
    )
}

/// Take the shadow column `f` (of `table`, current) off the model, with its indexes and its
/// NOT NULL check; resume the type change with it when the declaration still asks for it,
/// otherwise drop it.
fn separate_shadow(
    f: &Found,
    table: &mut Table,
    declared: Option<&Table>,
    out: &mut Leftovers,
) -> Option<()> {
    let column = retyped_column(&f.table, table, declared, "new", &f.name)?;
    let shadow = table.columns.shift_remove(&f.name)?;
    let target = declared.and_then(|d| d.columns.get(&column));
    let resumable = target.is_some_and(|d| {
        d.data_type == shadow.data_type
            && d.collation == shadow.collation
            && table
                .columns
                .get(&column)
                .is_some_and(|c| c.data_type != d.data_type)
    });
    let on_shadow: Vec<String> = table
        .indexes
        .values()
        .filter(|i| index_uses(i, &f.name))
        .map(|i| i.name.clone())
        .collect();
    let mut built = Vec::new();
    for n in on_shadow {
        let Some(index) = table.indexes.shift_remove(&n) else {
            continue;
        };
        if !resumable {
            // Goes with the column.
        } else if index.valid {
            built.push(index);
        } else {
            out.drafts.push(
                Draft::new(
                    Stage::Relax,
                    format!(
                        "clean up index {n} of {}, INVALID, left by an interrupted build on \
                         shadow column {} (built again below)",
                        f.table, f.name
                    ),
                    format!("DROP INDEX CONCURRENTLY {}", qn(&f.table.schema, &n)),
                )
                .outside_transaction(),
            );
        }
    }
    let checks: Vec<String> = table
        .checks
        .values()
        .filter(|k| {
            hash_matches(
                &k.name,
                "notnull",
                &[&f.table.schema, &f.table.name, &f.name],
            ) && proves_not_null(&k.expression, &f.name)
        })
        .map(|k| k.name.clone())
        .collect();
    for name in checks {
        let Some(check) = table.checks.shift_remove(&name) else {
            continue;
        };
        if !resumable {
            continue;
        }
        if target.is_some_and(|d| d.not_null) && !shadow.not_null {
            out.not_null
                .insert((f.table.clone(), f.name.clone()), (name, check.valid));
        } else {
            out.drafts.push(drop_check(&f.table, &f.name, &name));
        }
    }
    if resumable {
        out.retypes.insert(
            (f.table.clone(), column),
            Shadow {
                name: f.name.clone(),
                not_null: shadow.not_null,
                default: shadow.default.clone(),
                indexes: built,
            },
        );
    } else {
        out.drafts.push(abandon(&f.table, &column, &f.name));
    }
    Some(())
}

/// Take the retired column `f` of `table` off the model, with the indexes on it, and drop it
/// in the contract phase (its indexes go with it).
fn separate_retired(f: &Found, table: &mut Table, drafts: &mut Vec<Draft>) -> Option<()> {
    let column = retyped_column(&f.table, table, None, "old", &f.name)?;
    table.columns.shift_remove(&f.name)?;
    table.indexes.retain(|_, i| !index_uses(i, &f.name));
    drafts.push(Draft::new(
        Stage::DropColumn,
        format!(
            "drop the retired column {} of {} (the old {}.{column}, retired by the swap of a \
             type change), and its indexes",
            f.name, f.table, f.table
        ),
        format!(
            "ALTER TABLE {} DROP COLUMN {}",
            qualified(&f.table),
            quote_ident(&f.name)
        ),
    ));
    Some(())
}

fn drop_check(tq: &QualifiedName, column: &str, check: &str) -> Draft {
    Draft::new(
        Stage::Relax,
        format!(
            "clean up transitional check {check} on {tq}.{column} (left by an interrupted apply)"
        ),
        format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            qualified(tq),
            quote_ident(check)
        ),
    )
}

/// Split the transitional objects off `current` (see [`Separated`]).
pub(crate) fn separate(current: &Model, desired: &Model) -> Separated {
    let mut model = current.clone();
    let mut out = Leftovers::default();
    let mut found = find(current, desired);
    // Columns first: whether a shadow column is resumed decides what becomes of its indexes
    // and checks.
    found.sort_by_key(|f| f.kind.object != ObjectType::Column);
    for f in found {
        let (drafts, resumed) = (&mut out.drafts, &mut out.not_null);
        // The plan that made the copy of an enum finishes it (its contract renames it).
        if f.kind.object == ObjectType::Enum {
            continue;
        }
        if f.kind.object == ObjectType::MaterializedView {
            // Built but not swapped in: the plan starts the rebuild over.
            if let Some(s) = model.schemas.get_mut(&f.table.schema) {
                s.materialized_views.shift_remove(&f.name);
            }
            drafts.push(Draft::new(
                Stage::Relax,
                format!(
                    "clean up {} {} (the new definition of {} an interrupted apply built)",
                    f.kind.object, f.name, f.table
                ),
                format!("DROP MATERIALIZED VIEW {}", qn(&f.table.schema, &f.name)),
            ));
            continue;
        }
        if f.kind.object == ObjectType::View {
            // The table rename is done: its contract is what remains.
            if let Some(s) = model.schemas.get_mut(&f.table.schema) {
                s.views.shift_remove(&f.name);
            }
            drafts.push(super::renames::contract_view(
                &f.table.schema,
                &f.name,
                &f.table.name,
            ));
            continue;
        }
        let Some(table) = model
            .schemas
            .get_mut(&f.table.schema)
            .and_then(|s| s.tables.get_mut(&f.table.name))
        else {
            continue;
        };
        let declared = desired
            .schemas
            .get(&f.table.schema)
            .and_then(|s| s.tables.get(&f.table.name));
        match f.kind.object {
            ObjectType::View | ObjectType::Enum | ObjectType::MaterializedView => {}
            // `renames` finishes a column rename from where it is.
            ObjectType::Trigger => {}
            ObjectType::Column if f.kind.purpose == "rename" => {}
            ObjectType::Index
                if super::renames::is_rename_index(desired, &f.table, table, &f.name) => {}
            ObjectType::CheckConstraint => {
                let Some(column) = notnull_column(&f.table, table, &f.name).map(str::to_string)
                else {
                    continue;
                };
                let Some(check) = table.checks.shift_remove(&f.name) else {
                    continue;
                };
                let now_not_null = table.columns.get(&column).is_some_and(|c| c.not_null);
                let wanted = declared
                    .and_then(|d| d.columns.get(&column))
                    .is_some_and(|c| c.not_null);
                if wanted && !now_not_null {
                    // The sequence in `tables::set_not_null` continues with this check.
                    resumed.insert((f.table.clone(), column), (f.name.clone(), check.valid));
                } else {
                    drafts.push(drop_check(&f.table, &column, &f.name));
                }
            }
            ObjectType::Column => {
                if f.kind.purpose == "new" {
                    separate_shadow(&f, table, declared, &mut out);
                } else {
                    separate_retired(&f, table, &mut out.drafts);
                }
            }
            ObjectType::Index => {
                let Some(leftover) = table.indexes.shift_remove(&f.name) else {
                    continue;
                };
                let replaces = declared.and_then(|d| {
                    d.indexes.keys().find(|n| {
                        hash_matches(&f.name, "idx", &[&f.table.schema, &f.table.name, n])
                    })
                });
                match replaces {
                    Some(target) if leftover.valid => {
                        if table.indexes.shift_remove(target).is_some() {
                            drafts.push(
                                Draft::new(
                                    Stage::Relax,
                                    format!(
                                        "finish replacing index {target} of {}: drop the old \
                                         index without blocking writes ({} is built)",
                                        f.table, f.name
                                    ),
                                    format!(
                                        "DROP INDEX CONCURRENTLY {}",
                                        qn(&f.table.schema, target)
                                    ),
                                )
                                .outside_transaction(),
                            );
                        }
                        drafts.push(Draft::new(
                            Stage::Relax,
                            format!(
                                "finish replacing index {target} of {}: rename transitional \
                                 index {} to {target}",
                                f.table, f.name
                            ),
                            format!(
                                "ALTER INDEX {} RENAME TO {}",
                                qn(&f.table.schema, &f.name),
                                quote_ident(target)
                            ),
                        ));
                        let mut renamed = leftover;
                        renamed.name.clone_from(target);
                        table.indexes.insert(target.clone(), renamed);
                    }
                    _ => drafts.push(
                        Draft::new(
                            Stage::Relax,
                            format!(
                                "clean up transitional index {} of {} without blocking writes \
                                 ({})",
                                f.name,
                                f.table,
                                if leftover.valid {
                                    "no declared index is built through it"
                                } else {
                                    "INVALID, left by an interrupted build"
                                }
                            ),
                            format!("DROP INDEX CONCURRENTLY {}", qn(&f.table.schema, &f.name)),
                        )
                        .outside_transaction(),
                    ),
                }
            }
        }
    }
    Separated {
        model,
        drafts: out.drafts,
        not_null: out.not_null,
        retypes: out.retypes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_names_of_a_known_kind_are_recognized() {
        let idx = temp_name("idx", &["public", "t", "i"]);
        assert!(recognize(&idx, ObjectType::Index).is_some());
        assert!(recognize(&idx, ObjectType::CheckConstraint).is_none());
        assert!(recognize("formwork_idx_custom", ObjectType::Index).is_none());
        assert!(recognize("formwork_idx_0123456789ABCDEF", ObjectType::Index).is_none());
        assert!(recognize("formwork_idx_0123456789abcdef0", ObjectType::Index).is_none());
        assert!(recognize("formwork_shadow_0123456789abcdef", ObjectType::Index).is_none());
    }

    #[test]
    fn type_change_kinds_are_recognized_on_their_own_object_type_only() {
        let shadow = temp_name("new", &["public", "t", "c"]);
        let kind = recognize(&shadow, ObjectType::Column).map(|k| k.purpose);
        assert_eq!(kind, Some("new"));
        assert!(recognize(&shadow, ObjectType::Index).is_none());
        let retired = temp_name("old", &["public", "t", "c"]);
        let kind = recognize(&retired, ObjectType::Column).map(|k| k.purpose);
        assert_eq!(kind, Some("old"));
        let oldidx = temp_name("oldidx", &["public", "t", "i"]);
        let kind = recognize(&oldidx, ObjectType::Index).map(|k| k.purpose);
        assert_eq!(kind, Some("oldidx"));
        assert!(recognize(&oldidx, ObjectType::Column).is_none());
    }

    #[test]
    fn salted_names_hash_back_to_their_object() {
        let salted = temp_name("notnull", &["public", "t", "c", "2"]);
        assert!(hash_matches(&salted, "notnull", &["public", "t", "c"]));
        assert!(!hash_matches(&salted, "notnull", &["public", "t", "d"]));
    }
}
