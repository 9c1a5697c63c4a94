//! Loading the partitioning properties of `table` (`partition-by`, `partition-of`, `bound`),
//! kept beside the loader so `table` stays short. The key and the bound are SQL text that
//! PostgreSQL reads back in the scratch database; only their presence and the parent are
//! checked here.

use miette::SourceSpan;

use super::{Checked, FileCtx, Loader, Pending};
use crate::kdl::diag::{Problem, ProblemKind};
use crate::kdl::names;
use crate::model::{Model, Partition, QualifiedName, Table};

/// The table whose columns `t` has: `t` itself, or for a partition its topmost declared
/// parent (a partition declares no columns of its own).
pub(super) fn root<'m>(model: &'m Model, t: &'m Table) -> &'m Table {
    let mut t = t;
    // Bounded so that a declared cycle (rejected elsewhere) cannot loop forever.
    for _ in 0..32 {
        match t.partition_of.as_ref().and_then(|p| model.table(&p.parent)) {
            Some(parent) => t = parent,
            None => break,
        }
    }
    t
}

impl Loader {
    pub(super) fn partition_of(
        &mut self,
        f: &FileCtx,
        schema: &str,
        c: &Checked<'_>,
    ) -> Option<Partition> {
        let parent = c.prop_str("partition-of");
        let bound = c.prop_string("bound");
        let table = c.arg_str(0).map(|(t, _)| t).unwrap_or_default();
        match (parent, bound) {
            (None, None) => None,
            (None, Some(_)) => {
                self.push(
                    Problem::new(
                        ProblemKind::Conflict,
                        f,
                        c.prop_span("bound"),
                        format!("table `{table}` has a bound but is not a partition"),
                    )
                    .label("bound without partition-of")
                    .help("add partition-of=\"parent\", or remove the bound"),
                );
                None
            }
            (Some(_), None) => {
                self.push(
                    Problem::new(
                        ProblemKind::MissingProperty,
                        f,
                        c.prop_span("partition-of"),
                        format!("partition `{table}` has no bound"),
                    )
                    .label("partition without bound")
                    .help("add bound=\"FOR VALUES FROM (...) TO (...)\", \"FOR VALUES IN (...)\", \"FOR VALUES WITH (modulus m, remainder r)\" or \"DEFAULT\""),
                );
                None
            }
            (Some(text), Some(bound)) => {
                let span = c.prop_span("partition-of");
                let target = match names::parse_table_ref(text) {
                    Ok(t) if t.columns.is_none() => t,
                    _ => {
                        self.push(
                            Problem::new(
                                ProblemKind::BadValue,
                                f,
                                span,
                                format!("`partition-of` is not a table name: {text}"),
                            )
                            .label("expected `table` or `schema.table`"),
                        );
                        return None;
                    }
                };
                let parent =
                    QualifiedName::new(target.schema.as_deref().unwrap_or(schema), &target.table);
                self.pending.push(Pending::PartitionParent {
                    file: f.index,
                    span,
                    table: QualifiedName::new(schema, table),
                });
                Some(Partition {
                    parent,
                    bound: bound.trim().to_string(),
                })
            }
        }
    }

    /// A partition has its parent's columns: declaring any is a mistake.
    pub(super) fn partition_columns(&mut self, f: &FileCtx, c: &Checked<'_>, t: &Table) {
        if t.partition_of.is_none() || t.columns.is_empty() {
            return;
        }
        self.push(
            Problem::new(
                ProblemKind::Conflict,
                f,
                c.prop_span("partition-of"),
                format!(
                    "partition `{}` declares columns; a partition has its parent's columns",
                    t.name
                ),
            )
            .label("partition with columns")
            .help("declare the columns on the partitioned table only"),
        );
    }

    pub(super) fn resolve_partition_parent(
        &mut self,
        file: usize,
        span: SourceSpan,
        table: &QualifiedName,
    ) {
        let Some(p) = self.model.table(table).and_then(|t| t.partition_of.clone()) else {
            return;
        };
        let message = match self.model.table(&p.parent) {
            None => format!(
                "partition `{table}` is a partition of `{}`, which is not declared",
                p.parent
            ),
            Some(parent) if parent.partition_by.is_none() => format!(
                "partition `{table}` is a partition of `{}`, which has no partition-by",
                p.parent
            ),
            Some(_) => return,
        };
        let f = self.file(file);
        self.push(
            Problem::new(ProblemKind::DanglingReference, &f, span, message)
                .label("not a partitioned table"),
        );
    }
}
