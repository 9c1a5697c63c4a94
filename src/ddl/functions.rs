//! `CREATE FUNCTION`, `CREATE PROCEDURE` and `CREATE TRIGGER` from the model, shared by the
//! create-from-nothing script and the diff.
//!
//! Bodies are dollar-quoted with a tag that does not occur in them; SQL-standard bodies
//! (`BEGIN ATOMIC`, `RETURN`) are written as they are. Setting values are quoted as
//! literals; list settings (`search_path` and the like) element by element, as pg_dump does,
//! so that PostgreSQL stores the same text it printed. This module renders text only.

use crate::model::{
    ArgMode, Deferrable, Function, QualifiedName, RoutineKind, Trigger, TriggerEvent, TriggerState,
    TriggerTiming,
};
use crate::sql::{qualified, quote_ident, quote_literal};

/// `"schema"."name"(type, ...)`: how ALTER, DROP and COMMENT name a function.
pub fn signature(schema: &str, f: &Function) -> String {
    format!(
        "{}({})",
        qualified(&QualifiedName::new(schema, &f.name)),
        f.identity_types()
    )
}

/// `FUNCTION` or `PROCEDURE`.
pub fn keyword(f: &Function) -> &'static str {
    match f.kind {
        RoutineKind::Function => "FUNCTION",
        RoutineKind::Procedure => "PROCEDURE",
    }
}

/// `CREATE [OR REPLACE] FUNCTION ...`.
pub fn create_function(schema: &str, f: &Function, or_replace: bool) -> String {
    let args: Vec<String> = f
        .arguments
        .iter()
        .map(|a| {
            let mut s = String::new();
            if a.mode != ArgMode::In {
                s.push_str(a.mode.sql());
                s.push(' ');
            }
            if let Some(n) = &a.name {
                s.push_str(&quote_ident(n));
                s.push(' ');
            }
            s.push_str(&a.data_type);
            if let Some(d) = &a.default {
                s.push_str(" DEFAULT ");
                s.push_str(d);
            }
            s
        })
        .collect();
    let mut out = format!(
        "CREATE {}{} {}({})",
        if or_replace { "OR REPLACE " } else { "" },
        keyword(f),
        qualified(&QualifiedName::new(schema, &f.name)),
        args.join(", ")
    );
    if let Some(r) = &f.returns {
        out.push_str(&format!("\n RETURNS {r}"));
    }
    out.push_str(&format!("\n LANGUAGE {}", quote_ident(&f.language)));
    if f.kind == RoutineKind::Function {
        out.push_str(&format!("\n {}", f.volatility.sql()));
        if f.strict {
            out.push_str(" STRICT");
        }
        if f.leakproof {
            out.push_str(" LEAKPROOF");
        }
        out.push_str(&format!(" PARALLEL {}", f.parallel.sql()));
        if let Some(c) = f.cost {
            out.push_str(&format!(" COST {c}"));
        }
        if let Some(r) = f.rows {
            out.push_str(&format!(" ROWS {r}"));
        }
    }
    if f.security_definer {
        out.push_str("\n SECURITY DEFINER");
    }
    for (name, value) in &f.config {
        let name_sql: Vec<String> = name.split('.').map(quote_ident).collect();
        out.push_str(&format!(
            "\n SET {} TO {}",
            name_sql.join("."),
            setting(name, value)
        ));
    }
    if f.has_sql_standard_body() {
        out.push('\n');
        out.push_str(f.body.trim());
    } else {
        out.push_str("\nAS ");
        out.push_str(&dollar_quote(&f.body));
    }
    out
}

/// The settings whose value is a list PostgreSQL stores element by element.
const LIST_SETTINGS: &[&str] = &[
    "search_path",
    "temp_tablespaces",
    "session_preload_libraries",
    "shared_preload_libraries",
    "local_preload_libraries",
];

/// A setting's value as SQL: one literal, or one literal per element of a list setting.
pub fn setting(name: &str, value: &str) -> String {
    if !LIST_SETTINGS.contains(&name.to_ascii_lowercase().as_str()) {
        return quote_literal(value);
    }
    let elements = split_list(value);
    if elements.is_empty() {
        return quote_literal("");
    }
    elements
        .iter()
        .map(|e| quote_literal(e))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The elements of a list setting as stored (`"$user", public`): separated by commas,
/// double-quoted where needed.
fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut it = value.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '"' if quoted && it.peek() == Some(&'"') => {
                it.next();
                cur.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            c if !quoted && c.is_whitespace() && cur.trim().is_empty() => {}
            c => cur.push(c),
        }
    }
    let last = cur.trim().to_string();
    if !last.is_empty() || !out.is_empty() {
        out.push(last);
    }
    out
}

/// `$tag$text$tag$` with a tag that does not occur in `text`.
pub fn dollar_quote(text: &str) -> String {
    let mut tag = String::from("$body$");
    let mut n = 0;
    while text.contains(&tag) {
        n += 1;
        tag = format!("$body{n}$");
    }
    format!("{tag}{text}{tag}")
}

/// `CREATE [OR REPLACE] [CONSTRAINT] TRIGGER ...` (the enabled state is separate: see
/// [`trigger_state`]).
pub fn create_trigger(table: &QualifiedName, t: &Trigger, or_replace: bool) -> String {
    let mut out = String::from("CREATE ");
    if or_replace {
        out.push_str("OR REPLACE ");
    }
    if t.constraint {
        out.push_str("CONSTRAINT ");
    }
    out.push_str("TRIGGER ");
    out.push_str(&quote_ident(&t.name));
    out.push_str(match t.timing {
        TriggerTiming::Before => " BEFORE ",
        TriggerTiming::After => " AFTER ",
        TriggerTiming::InsteadOf => " INSTEAD OF ",
    });
    let events: Vec<String> = t
        .events
        .iter()
        .map(|e| match e {
            TriggerEvent::Update if !t.update_of.is_empty() => format!(
                "UPDATE OF {}",
                t.update_of
                    .iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            e => e.word().to_ascii_uppercase(),
        })
        .collect();
    out.push_str(&events.join(" OR "));
    out.push_str(" ON ");
    out.push_str(&qualified(table));
    if t.constraint {
        out.push_str(match t.deferrable {
            Deferrable::NotDeferrable => " NOT DEFERRABLE",
            Deferrable::InitiallyImmediate => " DEFERRABLE INITIALLY IMMEDIATE",
            Deferrable::InitiallyDeferred => " DEFERRABLE INITIALLY DEFERRED",
        });
    }
    if t.old_table.is_some() || t.new_table.is_some() {
        out.push_str(" REFERENCING");
        if let Some(o) = &t.old_table {
            out.push_str(&format!(" OLD TABLE AS {}", quote_ident(o)));
        }
        if let Some(n) = &t.new_table {
            out.push_str(&format!(" NEW TABLE AS {}", quote_ident(n)));
        }
    }
    out.push_str(if t.for_each_row {
        " FOR EACH ROW"
    } else {
        " FOR EACH STATEMENT"
    });
    if let Some(w) = &t.when {
        out.push_str(&format!(" WHEN ({w})"));
    }
    let args: Vec<String> = t.arguments.iter().map(|a| quote_literal(a)).collect();
    out.push_str(&format!(
        " EXECUTE FUNCTION {}({})",
        qualified(&t.function),
        args.join(", ")
    ));
    out
}

/// `ALTER TABLE ... ENABLE/DISABLE [REPLICA | ALWAYS] TRIGGER ...`.
pub fn trigger_state(table: &QualifiedName, t: &Trigger) -> String {
    let action = match t.state {
        TriggerState::Enabled => "ENABLE",
        TriggerState::Disabled => "DISABLE",
        TriggerState::Replica => "ENABLE REPLICA",
        TriggerState::Always => "ENABLE ALWAYS",
    };
    format!(
        "ALTER TABLE {} {action} TRIGGER {}",
        qualified(table),
        quote_ident(&t.name)
    )
}

/// Whether a function must be created after the tables: its body is parsed at creation
/// (SQL-standard bodies), or its signature names a relation's row type.
pub fn needs_tables(f: &Function, relations: &[QualifiedName]) -> bool {
    if f.has_sql_standard_body() {
        return true;
    }
    let types = f
        .arguments
        .iter()
        .map(|a| a.data_type.as_str())
        .chain(f.returns.as_deref());
    types.into_iter().any(|ty| {
        relations.iter().any(|r| {
            let bare = ty
                .trim_start_matches("SETOF ")
                .trim_end_matches("[]")
                .trim();
            bare == qualified(r) || bare == format!("{}.{}", r.schema, r.name) || bare == r.name
        })
    })
}

#[cfg(test)]
mod tests {
    use super::{dollar_quote, setting};

    #[test]
    fn list_settings_are_quoted_element_by_element() {
        assert_eq!(
            setting("search_path", "\"$user\", public"),
            "'$user', 'public'"
        );
        assert_eq!(setting("search_path", "pg_catalog"), "'pg_catalog'");
        assert_eq!(setting("work_mem", "64MB"), "'64MB'");
    }

    #[test]
    fn dollar_quotes_avoid_tags_in_the_body() {
        assert_eq!(dollar_quote("select 1"), "$body$select 1$body$");
        assert_eq!(dollar_quote("a $body$ b"), "$body1$a $body$ b$body1$");
    }
}
