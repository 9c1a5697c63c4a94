//! Schemas and extensions.
//!
//! A schema is dropped last, after everything in it, and never with `CASCADE`: if something
//! unmanaged still lives in it, PostgreSQL refuses and nothing is lost. Extensions are created
//! before the types that may come from them and dropped (with permission: they own objects)
//! after the tables that may use them.

use super::{Ctx, Draft, Stage};
use crate::model::{DataLoss, DataLossKind};
use crate::plan::HazardKind;
use crate::sql::{quote_ident, quote_literal};

pub(super) fn diff(ctx: &mut Ctx) {
    let (current, desired) = (ctx.current, ctx.desired);
    for (name, d) in &desired.schemas {
        match current.schemas.get(name) {
            None => {
                ctx.push(Draft::new(
                    Stage::CreateSchema,
                    format!("create schema {name}"),
                    format!("CREATE SCHEMA {}", quote_ident(name)),
                ));
                if let Some(c) = &d.comment {
                    ctx.push(comment(name, Some(c)));
                }
            }
            Some(c) if c.comment != d.comment => ctx.push(comment(name, d.comment.as_deref())),
            Some(_) => {}
        }
    }
    for name in current.schemas.keys() {
        if !desired.schemas.contains_key(name) {
            ctx.push(
                Draft::new(
                    Stage::DropSchema,
                    format!("drop schema {name}"),
                    format!("DROP SCHEMA {}", quote_ident(name)),
                )
                .hazard(
                    HazardKind::BreaksCompatibility,
                    format!("schema {name} goes away"),
                ),
            );
        }
    }

    for (name, d) in &desired.extensions {
        match current.extensions.get(name) {
            None => {
                let mut sql = format!(
                    "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}",
                    quote_ident(name),
                    quote_ident(&d.schema)
                );
                if let Some(v) = &d.version {
                    sql.push_str(&format!(" VERSION {}", quote_literal(v)));
                }
                ctx.push(Draft::new(
                    Stage::Extension,
                    format!("create extension {name}"),
                    sql,
                ));
                if let Some(c) = &d.comment {
                    ctx.push(extension_comment(name, Some(c)));
                }
            }
            Some(c) => {
                if c.schema != d.schema {
                    ctx.push(Draft::new(
                        Stage::Extension,
                        format!("move extension {name} to schema {}", d.schema),
                        format!(
                            "ALTER EXTENSION {} SET SCHEMA {}",
                            quote_ident(name),
                            quote_ident(&d.schema)
                        ),
                    ));
                }
                if let Some(v) = &d.version {
                    if c.version.as_ref() != Some(v) {
                        ctx.push(Draft::new(
                            Stage::Extension,
                            format!("update extension {name} to version {v}"),
                            format!(
                                "ALTER EXTENSION {} UPDATE TO {}",
                                quote_ident(name),
                                quote_literal(v)
                            ),
                        ));
                    }
                }
                if c.comment != d.comment {
                    ctx.push(extension_comment(name, d.comment.as_deref()));
                }
            }
        }
    }
    for name in current.extensions.keys() {
        if !desired.extensions.contains_key(name) {
            ctx.push(
                Draft::new(
                    Stage::DropExtension,
                    format!("drop extension {name}"),
                    format!("DROP EXTENSION {}", quote_ident(name)),
                )
                .loses(
                    DataLoss {
                        kind: DataLossKind::Extension,
                        schema: None,
                        name: name.clone(),
                        member: None,
                    },
                    format!("drops extension {name} and every object it owns"),
                ),
            );
        }
    }
}

fn comment(schema: &str, text: Option<&str>) -> Draft {
    super::comment_on(
        format!("SCHEMA {}", quote_ident(schema)),
        format!("schema {schema}"),
        text,
    )
}

fn extension_comment(name: &str, text: Option<&str>) -> Draft {
    super::comment_on(
        format!("EXTENSION {}", quote_ident(name)),
        format!("extension {name}"),
        text,
    )
}
