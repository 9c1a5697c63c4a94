//! What a backfill step is, as plan data, and the statements one batch of it sends.
//!
//! A backfill fills columns of one table for every row that matches a predicate, in many small
//! transactions instead of one long `UPDATE`, so that no transaction holds row locks for long
//! and an interrupted backfill can resume where it stopped. Rows are walked in the order of a
//! batch key: the primary key, else a unique key over NOT NULL columns, else the physical
//! position (`ctid`, block by block). Key values travel as text and are cast back with the
//! column's own type, so keys of any type work without formwork knowing the type.
//!
//! The statements are built here, once, so that what a reviewer reads in the plan (the step's
//! `sql` is [`Backfill::batch_sql`]) and what the engine in `apply::backfill` sends come from
//! the same text. This module runs nothing and decides no batch sizes.

use serde::{Deserialize, Serialize};

use crate::model::QualifiedName;
use crate::sql::{qualified, quote_ident};

/// Fill `set` in every row of `table` that matches `predicate`, batch by batch along `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    pub table: QualifiedName,
    pub key: BatchKey,
    /// Each column and the SQL expression it is set to (evaluated per row, so a volatile
    /// expression gives each row its own value).
    pub set: Vec<Assignment>,
    /// A SQL condition selecting the rows still to fill (e.g. `"c" IS NULL`). It makes every
    /// batch idempotent: a batch that runs twice changes nothing the second time.
    pub predicate: Option<String>,
}

/// One `column = expression` of a backfill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub column: String,
    pub expression: String,
}

/// The order a backfill walks the table in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchKey {
    /// A primary key, or a unique key whose columns are all NOT NULL, in key order.
    Columns(Vec<KeyColumn>),
    /// No usable key: block ranges of the heap (`ctid`), swept again until a pass fills
    /// nothing, because an update moves a row to any block, including one already passed.
    Ctid,
}

/// A key column and its type as the catalog prints it (`bigint`, `character varying(20)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyColumn {
    pub name: String,
    pub data_type: String,
}

/// Which key bounds a batch statement has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub lower: bool,
    pub upper: bool,
}

impl Bounds {
    pub const BOTH: Bounds = Bounds {
        lower: true,
        upper: true,
    };
}

impl Backfill {
    /// The batch statement with both bounds, as shown in the plan: `$1..$n` is the last key of
    /// the previous batch (exclusive), `$n+1..$2n` the last key of this one (inclusive), each a
    /// text value cast to its column's type. For a `ctid` walk they are block boundaries.
    pub fn batch_sql(&self) -> String {
        self.update_sql(Bounds::BOTH)
    }

    /// The key columns as a row (`("a", "b")`); `ctid` for a physical walk.
    pub fn key_row(&self) -> String {
        match &self.key {
            BatchKey::Columns(cols) => {
                let names: Vec<String> = cols.iter().map(|c| quote_ident(&c.name)).collect();
                format!("({})", names.join(", "))
            }
            BatchKey::Ctid => "ctid".to_string(),
        }
    }

    /// How many text parameters one key takes.
    pub fn key_width(&self) -> usize {
        match &self.key {
            BatchKey::Columns(cols) => cols.len(),
            BatchKey::Ctid => 1,
        }
    }

    /// A key as parameters `$first..`, each cast from text to its column's type.
    fn key_params(&self, first: usize) -> String {
        match &self.key {
            BatchKey::Columns(cols) => {
                let ps: Vec<String> = cols
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("${}::text::{}", first + i, c.data_type))
                    .collect();
                format!("({})", ps.join(", "))
            }
            // Block numbers: the batch covers tuples from the start of one block to the start
            // of another.
            BatchKey::Ctid => format!("format('(%s,0)', ${first}::text)::tid"),
        }
    }

    /// The conditions of a batch with these bounds, joined with AND (`TRUE` when none).
    fn conditions(&self, bounds: Bounds) -> String {
        let row = self.key_row();
        let n = self.key_width();
        let mut conds = Vec::new();
        let ctid = matches!(self.key, BatchKey::Ctid);
        if bounds.lower {
            let op = if ctid { ">=" } else { ">" };
            conds.push(format!("{row} {op} {}", self.key_params(1)));
        }
        if bounds.upper {
            let first = if bounds.lower { n + 1 } else { 1 };
            let op = if ctid { "<" } else { "<=" };
            conds.push(format!("{row} {op} {}", self.key_params(first)));
        }
        if let Some(p) = &self.predicate {
            conds.push(format!("({p})"));
        }
        if conds.is_empty() {
            "TRUE".to_string()
        } else {
            conds.join(" AND ")
        }
    }

    /// The `UPDATE` of one batch. Lower-bound parameters come first.
    pub fn update_sql(&self, bounds: Bounds) -> String {
        let set: Vec<String> = self
            .set
            .iter()
            .map(|a| format!("{} = {}", quote_ident(&a.column), a.expression))
            .collect();
        format!(
            "UPDATE {} SET {} WHERE {}",
            qualified(&self.table),
            set.join(", "),
            self.conditions(bounds)
        )
    }

    /// The key of the row `$k` rows after the lower bound (`$1..$n`, absent for the first
    /// batch), as text: the inclusive upper bound of the next batch. Key walks only.
    pub fn boundary_sql(&self, lower: bool) -> String {
        self.boundary(lower, false)
    }

    /// [`Backfill::boundary_sql`] returning the key as one `text[]` value.
    pub fn boundary_array_sql(&self, lower: bool) -> String {
        self.boundary(lower, true)
    }

    fn boundary(&self, lower: bool, array: bool) -> String {
        let BatchKey::Columns(cols) = &self.key else {
            return String::new();
        };
        let texts: Vec<String> = cols
            .iter()
            .map(|c| format!("{}::text", quote_ident(&c.name)))
            .collect();
        let texts = if array {
            vec![format!("ARRAY[{}]", texts.join(", "))]
        } else {
            texts
        };
        // Qualified, so that ORDER BY means the key column and not the text column of the
        // same name in the select list (which would sort numbers as text).
        let order: Vec<String> = cols
            .iter()
            .map(|c| format!("b.{}", quote_ident(&c.name)))
            .collect();
        let (cond, offset) = if lower {
            (
                format!(" WHERE {} > {}", self.key_row(), self.key_params(1)),
                cols.len() + 1,
            )
        } else {
            (String::new(), 1)
        };
        format!(
            "SELECT {} FROM {} AS b{cond} ORDER BY {} OFFSET ${offset}::int8 LIMIT 1",
            texts.join(", "),
            qualified(&self.table),
            order.join(", ")
        )
    }

    /// How many rows lie after the lower bound (`$1..$n`): the size of the last batch.
    pub fn tail_count_sql(&self) -> String {
        format!(
            "SELECT count(*) FROM {} WHERE {} > {}",
            qualified(&self.table),
            self.key_row(),
            self.key_params(1)
        )
    }

    /// What the backfill does, in words, for plan renderings.
    pub fn summary(&self) -> String {
        let cols: Vec<&str> = self.set.iter().map(|a| a.column.as_str()).collect();
        let key = match &self.key {
            BatchKey::Columns(cols) => {
                let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
                format!("key ({})", names.join(", "))
            }
            BatchKey::Ctid => "physical position (ctid; the table has no usable key)".into(),
        };
        format!(
            "backfill of {} in {}, in batches by {key}{}",
            cols.join(", "),
            self.table,
            self.predicate
                .as_ref()
                .map_or(String::new(), |p| format!(", rows where {p}"))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bf(key: BatchKey) -> Backfill {
        Backfill {
            table: QualifiedName::new("app", "Items"),
            key,
            set: vec![Assignment {
                column: "token".into(),
                expression: "gen_random_uuid()".into(),
            }],
            predicate: Some("\"token\" IS NULL".into()),
        }
    }

    #[test]
    fn composite_keys_compare_as_rows_with_typed_text_parameters() {
        let b = bf(BatchKey::Columns(vec![
            KeyColumn {
                name: "tenant".into(),
                data_type: "integer".into(),
            },
            KeyColumn {
                name: "Code".into(),
                data_type: "text".into(),
            },
        ]));
        assert_eq!(
            b.batch_sql(),
            "UPDATE \"app\".\"Items\" SET \"token\" = gen_random_uuid() WHERE (\"tenant\", \"Code\") > ($1::text::integer, $2::text::text) AND (\"tenant\", \"Code\") <= ($3::text::integer, $4::text::text) AND (\"token\" IS NULL)"
        );
        assert_eq!(
            b.boundary_sql(false),
            "SELECT \"tenant\"::text, \"Code\"::text FROM \"app\".\"Items\" AS b ORDER BY b.\"tenant\", b.\"Code\" OFFSET $1::int8 LIMIT 1"
        );
        assert!(b.boundary_sql(true).contains("OFFSET $3::int8"));
        let last = b.update_sql(Bounds {
            lower: true,
            upper: false,
        });
        assert!(last.ends_with("($1::text::integer, $2::text::text) AND (\"token\" IS NULL)"));
    }

    #[test]
    fn a_table_without_a_key_is_walked_by_block_ranges() {
        let b = bf(BatchKey::Ctid);
        assert_eq!(
            b.batch_sql(),
            "UPDATE \"app\".\"Items\" SET \"token\" = gen_random_uuid() WHERE ctid >= format('(%s,0)', $1::text)::tid AND ctid < format('(%s,0)', $2::text)::tid AND (\"token\" IS NULL)"
        );
    }
}
