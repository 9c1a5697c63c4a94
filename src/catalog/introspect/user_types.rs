//! Domains, composite types and range types from the rows of `types.sql` (the enum rows are
//! read by the caller). Kept apart so the assembly of the other kinds stays short.

use tokio_postgres::Row;

use super::get;
use crate::catalog::CatalogError;
use crate::model::{CompositeAttribute, CompositeType, Domain, DomainCheck, RangeType, Schema};

/// Add the domain, composite or range type of `row` (kind `d`, `c` or `r`) to `schema`.
pub(super) fn read(schema: &mut Schema, name: String, row: &Row) -> Result<(), CatalogError> {
    let comment: Option<String> = get(row, "comment")?;
    match get::<String>(row, "kind")?.as_str() {
        "d" => {
            let names: Vec<String> = get(row, "check_names")?;
            let exprs: Vec<Option<String>> = get(row, "check_exprs")?;
            let valid: Vec<bool> = get(row, "check_valid")?;
            let checks = names
                .into_iter()
                .zip(exprs)
                .zip(valid)
                .map(|((n, e), v)| {
                    (
                        n.clone(),
                        DomainCheck {
                            name: n,
                            expression: e.unwrap_or_default(),
                            valid: v,
                            renamed_from: None,
                        },
                    )
                })
                .collect();
            schema.domains.insert(
                name.clone(),
                Domain {
                    name,
                    base_type: get::<Option<String>>(row, "base_type")?.unwrap_or_default(),
                    collation: get(row, "collation")?,
                    default: get(row, "default_expr")?,
                    not_null: get(row, "not_null")?,
                    checks,
                    comment,
                    renamed_from: None,
                },
            );
        }
        "c" => {
            let names: Vec<String> = get(row, "attr_names")?;
            let types: Vec<String> = get(row, "attr_types")?;
            let collations: Vec<Option<String>> = get(row, "attr_collations")?;
            let attributes = names
                .into_iter()
                .zip(types)
                .zip(collations)
                .map(|((name, data_type), collation)| CompositeAttribute {
                    name,
                    data_type,
                    collation,
                    renamed_from: None,
                })
                .collect();
            schema.composites.insert(
                name.clone(),
                CompositeType {
                    name,
                    attributes,
                    comment,
                    renamed_from: None,
                },
            );
        }
        "r" => {
            schema.ranges.insert(
                name.clone(),
                RangeType {
                    name,
                    subtype: get::<Option<String>>(row, "subtype")?.unwrap_or_default(),
                    subtype_opclass: get(row, "subtype_opclass")?,
                    collation: get(row, "range_collation")?,
                    canonical: get(row, "canonical")?,
                    subtype_diff: get(row, "subtype_diff")?,
                    multirange: get(row, "multirange")?,
                    comment,
                    renamed_from: None,
                },
            );
        }
        _ => {}
    }
    Ok(())
}
