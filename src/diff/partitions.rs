//! Partitioned tables and partitions: what `tables` hands over once a table is a partition or
//! its partitioning changes.
//!
//! A partition of a parent the plan creates is created with `CREATE TABLE ... PARTITION OF`
//! like any new table. A new partition of an existing (busy) parent is created on its own as
//! `CREATE TABLE new (LIKE parent INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING
//! GENERATED)` with its own constraints and indexes, then attached with `ALTER TABLE parent
//! ATTACH PARTITION`, which takes SHARE UPDATE EXCLUSIVE on the parent instead of the ACCESS
//! EXCLUSIVE that `PARTITION OF` takes. ATTACH checks the bound by scanning the new table,
//! which is empty, so no CHECK is needed to prove the bound; a DEFAULT partition, though, is
//! scanned (and locked ACCESS EXCLUSIVE) for rows the new bound takes over, and that lock is
//! declared.
//!
//! A dropped partition is detached first, `CONCURRENTLY` on PostgreSQL 14+ when its parent
//! has no DEFAULT partition (PostgreSQL refuses it otherwise), then dropped. A partition whose
//! parent goes too goes with the parent.
//!
//! Indexes of an existing partitioned table are built the online way: `CREATE INDEX ... ON
//! ONLY parent` (an invalid parent index), `CREATE INDEX CONCURRENTLY` on each partition, then
//! `ALTER INDEX ... ATTACH PARTITION` for each, after which PostgreSQL marks the parent index
//! valid.
//!
//! Refused with a reason, since PostgreSQL cannot do them in place: turning a table into a
//! partitioned one or back, changing a partition key, turning a table into a partition or
//! back, moving a partition to another parent, and changing a bound (detaching and attaching
//! again would hide the partition's rows from the parent in between).

use super::{Ctx, Draft, Stage, display, loss};
use crate::ddl::table::{self as ddl, Names};
use crate::locks::LockMode;
use crate::model::{DataLossKind, Index, QualifiedName, Schema, Table};
use crate::plan::HazardKind;
use crate::sql::qualified;

/// Whether a table the plan creates is a partition of a table that already exists (and so
/// must be attached the online way rather than created with `PARTITION OF`).
pub(super) fn attaches(ctx: &Ctx, t: &Table) -> bool {
    t.partition_of.as_ref().is_some_and(|p| {
        !ctx.new_tables.contains(&p.parent) && ctx.current.table(&p.parent).is_some()
    })
}

/// A new partition of an existing parent: created alone, then attached.
pub(super) fn create_attached(ctx: &mut Ctx, names: &Names, schema: &Schema, t: &Table) {
    let Some(p) = &t.partition_of else { return };
    let q = display(&schema.name, &t.name);
    let tq = QualifiedName::new(&schema.name, &t.name);
    let mut items = vec![format!(
        "LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED",
        qualified(&p.parent)
    )];
    let own = Table {
        columns: Default::default(),
        ..t.clone()
    };
    items.extend(ddl::table_items(names, &own));
    let unlogged = match t.persistence {
        crate::model::Persistence::Permanent => "",
        crate::model::Persistence::Unlogged => "UNLOGGED ",
    };
    ctx.push(
        Draft::new(
            Stage::CreateTable,
            format!(
                "create table {q} with the columns of {} to attach it as a partition",
                p.parent
            ),
            format!(
                "CREATE {unlogged}TABLE {} (\n    {}\n)",
                qualified(&tq),
                items.join(",\n    ")
            ),
        )
        .also_locks(LockMode::AccessShare, p.parent.clone()),
    );
    for idx in t.indexes.values() {
        ctx.push(Draft::new(
            Stage::CreateTable,
            format!("create index {} on {q} before it is attached", idx.name),
            ddl::create_index(names, schema, t, idx),
        ));
    }
    let mut attach = Draft::new(
        Stage::CreateTable,
        format!(
            "attach {q} to {} {} (SHARE UPDATE EXCLUSIVE on the parent; the new table is \
             empty, so checking its bound scans nothing)",
            p.parent, p.bound
        ),
        format!(
            "ALTER TABLE {} ATTACH PARTITION {} {}",
            qualified(&p.parent),
            qualified(&tq),
            p.bound
        ),
    );
    if let Some(default) = default_partition(ctx.current, &p.parent) {
        attach = attach
            .also_locks(LockMode::AccessExclusive, default.clone())
            .hazard(
                HazardKind::AccessExclusive,
                format!(
                    "the DEFAULT partition {default} is locked ACCESS EXCLUSIVE and scanned \
                     for rows that belong to {q}"
                ),
            );
    }
    ctx.push(attach);
    for sql in ddl::deferred_constraints(schema, t) {
        ctx.push(Draft::new(
            Stage::AddForeignKey,
            format!("add a constraint to new partition {q}"),
            sql,
        ));
    }
    for sql in ddl::comments(schema, t) {
        ctx.push(Draft::new(
            Stage::Comment,
            format!("comment on new partition {q}"),
            sql,
        ));
    }
}

/// The DEFAULT partition of `parent` in `model`, if it has one.
fn default_partition(model: &crate::model::Model, parent: &QualifiedName) -> Option<QualifiedName> {
    model.tables().find_map(|(s, t)| {
        t.partition_of
            .as_ref()
            .filter(|p| &p.parent == parent && p.bound.eq_ignore_ascii_case("DEFAULT"))
            .map(|_| QualifiedName::new(&s.name, &t.name))
    })
}

/// A dropped partition: detached (concurrently where PostgreSQL allows it), then dropped.
/// Returns false when the table is not a partition of a parent that stays, for `tables` to
/// drop it as usual (or let its parent take it).
pub(super) fn drop_partition(ctx: &mut Ctx, schema: &str, t: &Table) -> bool {
    let Some(p) = &t.partition_of else {
        return false;
    };
    let q = display(schema, &t.name);
    let tq = QualifiedName::new(schema, &t.name);
    if ctx.desired.table(&p.parent).is_none() {
        // `DROP TABLE parent` takes its partitions with it.
        return true;
    }
    let concurrently = ctx.pg_major >= 14 && default_partition(ctx.current, &p.parent).is_none();
    let detach = format!(
        "ALTER TABLE {} DETACH PARTITION {}",
        qualified(&p.parent),
        qualified(&tq)
    );
    if concurrently {
        ctx.push(
            Draft::new(
                Stage::DropTable,
                format!(
                    "detach partition {q} from {} without blocking its readers and writers",
                    p.parent
                ),
                format!("{detach} CONCURRENTLY"),
            )
            .outside_transaction(),
        );
    } else {
        let why = if ctx.pg_major < 14 {
            "before PostgreSQL 14 DETACH cannot be CONCURRENTLY"
        } else {
            "DETACH CONCURRENTLY is not allowed while the parent has a DEFAULT partition"
        };
        let mut draft = Draft::new(
            Stage::DropTable,
            format!("detach partition {q} from {} ({why})", p.parent),
            detach,
        )
        .hazard(
            HazardKind::AccessExclusive,
            format!(
                "ACCESS EXCLUSIVE on {} while the partition is detached",
                p.parent
            ),
        );
        // PostgreSQL also locks the DEFAULT partition, whose implicit bound changes.
        if let Some(default) = default_partition(ctx.current, &p.parent).filter(|d| *d != tq) {
            draft = draft.also_locks(LockMode::AccessExclusive, default);
        }
        ctx.push(draft);
    }
    ctx.push(
        Draft::new(
            Stage::DropTable,
            format!("drop detached partition {q}"),
            format!("DROP TABLE {}", qualified(&tq)),
        )
        .loses(
            loss(DataLossKind::Table, schema, &t.name, None),
            format!("drops partition {q} and every row in it"),
        )
        .hazard(
            HazardKind::BreaksCompatibility,
            format!("rows of {q} are no longer in {}", p.parent),
        ),
    );
    true
}

/// Refuse what PostgreSQL cannot change in place; returns whether the table can be altered.
pub(super) fn check_alter(ctx: &mut Ctx, schema: &str, c: &Table, d: &Table) -> bool {
    let q = display(schema, &d.name);
    let reason = if c.partition_by != d.partition_by {
        Some(match (&c.partition_by, &d.partition_by) {
            (None, Some(_)) => "it would become a partitioned table, which needs a new table and \
                                its rows copied"
                .to_string(),
            (Some(_), None) => "it would stop being a partitioned table, which needs a new table \
                                and its rows copied"
                .to_string(),
            _ => "its partition key changes, which needs a new partitioned table and its rows \
                  copied"
                .to_string(),
        })
    } else {
        match (&c.partition_of, &d.partition_of) {
            (None, Some(p)) => Some(format!(
                "it would become a partition of {}; declare a new partition and move the rows",
                p.parent
            )),
            (Some(p), None) => Some(format!(
                "it would stop being a partition of {}; detaching it hides its rows from the \
                 parent",
                p.parent
            )),
            (Some(a), Some(b)) if a.parent != b.parent => Some(format!(
                "it would move from partition of {} to partition of {}",
                a.parent, b.parent
            )),
            (Some(a), Some(b)) if a.bound != b.bound => Some(format!(
                "its bound changes from {} to {}; detaching and attaching again would hide its \
                 rows from {} in between",
                a.bound, b.bound, a.parent
            )),
            _ => None,
        }
    };
    match reason {
        Some(r) => {
            ctx.unsupported
                .push(format!("table {q} cannot be changed in place: {r}"));
            false
        }
        None => true,
    }
}

/// The partitions `desired` gives `parent`.
fn partitions_of<'m>(
    model: &'m crate::model::Model,
    parent: &QualifiedName,
) -> Vec<(&'m Schema, &'m Table)> {
    model
        .tables()
        .filter(|(_, t)| t.partition_of.as_ref().is_some_and(|p| &p.parent == parent))
        .collect()
}

/// A new index on an existing partitioned table, built without blocking writes: the parent
/// index `ON ONLY` the parent, each partition's index concurrently, then attached. Returns
/// false when a partition is itself partitioned (not handled: the caller builds the index the
/// blocking way).
pub(super) fn create_index(
    ctx: &mut Ctx,
    names: &Names,
    schema: &Schema,
    t: &Table,
    idx: &Index,
) -> bool {
    let tq = QualifiedName::new(&schema.name, &t.name);
    let parts = partitions_of(ctx.desired, &tq);
    if parts.iter().any(|(_, p)| p.partition_by.is_some()) {
        return false;
    }
    let q = display(&schema.name, &t.name);
    let parent_sql = ddl::create_index_with(names, schema, t, idx, false);
    let on = format!(" ON {} USING ", qualified(&tq));
    let only = format!(" ON ONLY {} USING ", qualified(&tq));
    ctx.push(
        Draft::new(
            Stage::CreateIndex,
            format!(
                "create index {} on {q} only (invalid until every partition has its index)",
                idx.name
            ),
            parent_sql.replacen(&on, &only, 1),
        )
        .without_scan(),
    );
    let parent_idx = QualifiedName::new(&schema.name, &idx.name);
    for (ps, p) in parts {
        let name = ctx.fresh_name("pidx", &ps.name, &[&ps.name, &p.name, &idx.name]);
        let mut child = idx.clone();
        child.name.clone_from(&name);
        let pq = display(&ps.name, &p.name);
        ctx.push(
            Draft::new(
                Stage::CreateIndex,
                format!("build index {name} on partition {pq} without blocking writes"),
                ddl::create_index_with(names, ps, p, &child, true),
            )
            .outside_transaction(),
        );
        ctx.push(Draft::new(
            Stage::CreateIndex,
            format!("attach index {name} of {pq} to {}", idx.name),
            format!(
                "ALTER INDEX {} ATTACH PARTITION {}",
                qualified(&parent_idx),
                qualified(&QualifiedName::new(&ps.name, &name))
            ),
        ));
    }
    if idx.comment.is_some() {
        ctx.push(super::comment_on(
            format!("INDEX {}", super::qn(&schema.name, &idx.name)),
            format!("index {}", display(&schema.name, &idx.name)),
            idx.comment.as_deref(),
        ));
    }
    true
}

/// `DROP INDEX` of an index of a partitioned table: PostgreSQL refuses `CONCURRENTLY` there.
fn drop_index_sql(schema: &str, name: &str) -> String {
    format!(
        "DROP INDEX {}",
        qualified(&QualifiedName::new(schema, name))
    )
}

/// Add to `locks` what a statement on a partitioned table also takes on its partitions:
/// `ALTER TABLE` (but not `ONLY`, `ATTACH`/`DETACH PARTITION` or renaming the table) and
/// `DROP TABLE` recurse, taking the parent's lock mode on every partition of `current`, at
/// every level. The classifier reads SQL alone and cannot know which tables are partitioned.
pub fn partition_locks(
    pg_major: u32,
    sql: &str,
    locks: &mut Vec<crate::plan::LockTaken>,
    current: &crate::model::Model,
) {
    let upper = sql.trim_start().to_ascii_uppercase();
    let recurses = (upper.starts_with("ALTER TABLE ")
        && !upper.starts_with("ALTER TABLE ONLY ")
        && !upper.contains(" ATTACH PARTITION ")
        && !upper.contains(" DETACH PARTITION ")
        && !upper.contains(" RENAME TO "))
        || upper.starts_with("DROP TABLE ");
    if !recurses {
        return;
    }
    // Adding a key builds its index on each partition, which takes SHARE there before
    // PostgreSQL 18 (18 locks each partition ACCESS EXCLUSIVE, as it does the parent).
    let builds_index = pg_major < 18
        && upper.contains(" ADD CONSTRAINT ")
        && (upper.contains(" UNIQUE") || upper.contains(" PRIMARY KEY"));
    let mut pending: Vec<(LockMode, QualifiedName)> = locks
        .iter()
        .filter(|l| {
            current
                .table(&l.object)
                .is_some_and(|t| t.partition_by.is_some())
        })
        .map(|l| {
            let mode = if builds_index {
                LockMode::Share
            } else {
                l.mode
            };
            (mode, l.object.clone())
        })
        .collect();
    let mut guard = 0;
    while let Some((mode, parent)) = pending.pop() {
        guard += 1;
        if guard > 10_000 {
            break;
        }
        for (s, t) in partitions_of(current, &parent) {
            let q = QualifiedName::new(&s.name, &t.name);
            match locks.iter_mut().find(|l| l.object == q) {
                Some(l) => l.mode = l.mode.max(mode),
                None => locks.push(crate::plan::LockTaken {
                    mode,
                    object: q.clone(),
                }),
            }
            if t.partition_by.is_some() {
                pending.push((mode, q));
            }
        }
    }
}

/// Whether a foreign key added to `tq` must be added valid at once: PostgreSQL before 18
/// refuses `NOT VALID` foreign keys on partitioned tables.
pub(super) fn fk_valid_at_once(ctx: &Ctx, tq: &QualifiedName) -> bool {
    ctx.pg_major < 18
        && ctx
            .current
            .table(tq)
            .is_some_and(|t| t.partition_by.is_some())
}

/// A primary key or unique constraint added to an existing partitioned table: PostgreSQL has
/// no `ADD CONSTRAINT ... USING INDEX` there, so the index is built under the constraint's
/// lock on the parent and every partition.
pub(super) fn blocking_key(tq: &QualifiedName, name: &str, sql: String) -> Draft {
    Draft::new(
        Stage::AddConstraint,
        format!(
            "add {name} to partitioned table {tq}, building its index on every partition \
             (PostgreSQL cannot attach a prebuilt index as a constraint of a partitioned table)"
        ),
        sql,
    )
}

/// `DROP INDEX` of an index of a partitioned table: not concurrently (PostgreSQL refuses),
/// and ACCESS EXCLUSIVE on the parent and every partition.
pub(super) fn drop_index(ctx: &Ctx, tq: &QualifiedName, name: &str) -> Draft {
    let mut d = Draft::new(
        Stage::DropIndex,
        format!("drop index {name} of partitioned table {tq} (not concurrently: PostgreSQL refuses it there)"),
        drop_index_sql(&tq.schema, name),
    )
    .also_locks(LockMode::AccessExclusive, tq.clone());
    let mut pending = vec![tq.clone()];
    while let Some(parent) = pending.pop() {
        for (s, t) in partitions_of(ctx.current, &parent) {
            let q = QualifiedName::new(&s.name, &t.name);
            if t.partition_by.is_some() {
                pending.push(q.clone());
            }
            d = d.also_locks(LockMode::AccessExclusive, q);
        }
    }
    d
}
