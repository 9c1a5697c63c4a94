//! Partitioned tables and partitions as DDL: the `PARTITION BY` and `PARTITION OF` forms of
//! `CREATE TABLE`, and the order that creates every parent before its partitions.
//!
//! A partition is created with `PARTITION OF`, so it takes its parent's columns, constraints
//! and indexes from PostgreSQL; only its own constraints are written. Attaching an existing
//! table online is the diff's business (`diff::partitions`), not this module's.

use crate::model::{Model, Schema, Table};
use crate::sql::qualified;

/// How many partition levels a table sits below its root (0 for a table that is not a
/// partition). Bounded, so a cycle in a broken model cannot loop.
pub(crate) fn depth(model: &Model, t: &Table) -> usize {
    let mut n = 0;
    let mut cur = t;
    while let Some(p) = &cur.partition_of {
        n += 1;
        match model.table(&p.parent) {
            Some(parent) if n < 32 => cur = parent,
            _ => break,
        }
    }
    n
}

/// Every table of `model`, parents before their partitions (otherwise in model order).
pub(crate) fn tables_in_order(model: &Model) -> Vec<(&Schema, &Table)> {
    let mut all: Vec<(usize, (&Schema, &Table))> = model
        .tables()
        .map(|(s, t)| (depth(model, t), (s, t)))
        .collect();
    all.sort_by_key(|(d, _)| *d);
    all.into_iter().map(|(_, st)| st).collect()
}

/// `CREATE TABLE` of a plain table (`items` are its column and constraint definitions) with
/// `PARTITION BY` for a partitioned table, or the `PARTITION OF` form for a partition.
pub(crate) fn create_statement(unlogged: &str, name: &str, t: &Table, items: &[String]) -> String {
    let body = |empty: &str| {
        if items.is_empty() {
            empty.to_string()
        } else {
            format!(" (\n    {}\n)", items.join(",\n    "))
        }
    };
    let mut s = match &t.partition_of {
        Some(p) => format!(
            "CREATE {unlogged}TABLE {name} PARTITION OF {}{} {}",
            qualified(&p.parent),
            body(""),
            p.bound
        ),
        None => format!("CREATE {unlogged}TABLE {name}{}", body(" ()")),
    };
    if let Some(key) = &t.partition_by {
        s.push_str(&format!(" PARTITION BY {key}"));
    }
    s
}
