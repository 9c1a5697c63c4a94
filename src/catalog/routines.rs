//! Functions, procedures and triggers: their catalog rows (`queries/functions.sql`,
//! `queries/triggers.sql`) assembled into the model.
//!
//! Defaults are stored as `None` (cost, rows), so a declaration that omits them equals a
//! catalog that has them. formwork's own transitional functions and triggers (the
//! `formwork_sync_<hash>` and `formwork_rename_<hash>` pairs of `diff::retype` and
//! `diff::renames`) are left out of the model entirely: they are not drift, and the diff
//! cleans them up itself. Triggers on anything but an ordinary table or a view are listed as
//! unmanaged.
//! This module reads rows; it sends no query.

use tokio_postgres::Row;

use super::CatalogError;
use crate::diff::transitional::{ObjectType, recognize};
use crate::model::*;

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    idx: &str,
) -> Result<T, CatalogError> {
    row.try_get(idx)
        .map_err(|e| CatalogError::Unexpected(format!("column {idx}: {e}")))
}

/// Whether a function or trigger name is one of formwork's transitional ones.
pub fn is_transitional(name: &str) -> bool {
    recognize(name, ObjectType::Trigger).is_some()
}

/// Add the functions of `rows` (from `functions.sql`) to their schemas.
pub(super) fn functions(model: &mut Model, rows: Vec<Row>) -> Result<(), CatalogError> {
    for row in rows {
        let schema: String = get(&row, "schema")?;
        let name: String = get(&row, "name")?;
        if is_transitional(&name) {
            continue;
        }
        let Some(s) = model.schemas.get_mut(&schema) else {
            continue;
        };
        let names: Vec<String> = get(&row, "arg_names")?;
        let modes: Vec<String> = get(&row, "arg_modes")?;
        let types: Vec<String> = get(&row, "arg_types")?;
        let defaults: Vec<Option<String>> = get(&row, "arg_defaults")?;
        let mut arguments = Vec::with_capacity(types.len());
        for (i, data_type) in types.into_iter().enumerate() {
            let mode = match modes.get(i).map(String::as_str) {
                Some("o") => ArgMode::Out,
                Some("b") => ArgMode::InOut,
                Some("v") => ArgMode::Variadic,
                _ => ArgMode::In,
            };
            arguments.push(FunctionArg {
                name: names.get(i).filter(|n| !n.is_empty()).cloned(),
                mode,
                data_type,
                default: defaults.get(i).cloned().flatten(),
            });
        }
        let kind = match get::<String>(&row, "kind")?.as_str() {
            "p" => RoutineKind::Procedure,
            _ => RoutineKind::Function,
        };
        let language: String = get(&row, "language")?;
        let default_cost = if matches!(language.as_str(), "c" | "internal") {
            1.0
        } else {
            100.0
        };
        let cost: f64 = get(&row, "cost")?;
        let rows_estimate: f64 = get(&row, "rows")?;
        let returns_set: bool = get(&row, "returns_set")?;
        let default_rows = if returns_set { 1000.0 } else { 0.0 };
        let config: Vec<String> = get(&row, "config")?;
        let config = config
            .iter()
            .map(|c| match c.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (c.clone(), String::new()),
            })
            .collect();
        let f = Function {
            name,
            kind,
            arguments,
            returns: match kind {
                RoutineKind::Procedure => None,
                RoutineKind::Function => get(&row, "returns")?,
            },
            language,
            body: get::<Option<String>>(&row, "body")?.unwrap_or_default(),
            volatility: match get::<String>(&row, "volatility")?.as_str() {
                "i" => Volatility::Immutable,
                "s" => Volatility::Stable,
                _ => Volatility::Volatile,
            },
            strict: get(&row, "strict")?,
            security_definer: get(&row, "security_definer")?,
            leakproof: get(&row, "leakproof")?,
            parallel: match get::<String>(&row, "parallel")?.as_str() {
                "s" => Parallel::Safe,
                "r" => Parallel::Restricted,
                _ => Parallel::Unsafe,
            },
            cost: (cost != default_cost).then_some(cost.round() as i64),
            rows: (rows_estimate != default_rows).then_some(rows_estimate.round() as i64),
            config,
            comment: get(&row, "comment")?,
            // Attached from privileges.sql, which reads a NULL access list as the default.
            grants: Vec::new(),
            renamed_from: None,
        };
        s.functions.insert(f.key(), f);
    }
    Ok(())
}

/// Add the triggers of `rows` (from `triggers.sql`) to their tables; `note` lists the ones
/// formwork does not manage.
pub(super) fn triggers(
    model: &mut Model,
    rows: Vec<Row>,
    note: &mut impl FnMut(ObjectKind, String),
) -> Result<(), CatalogError> {
    for row in rows {
        let schema: String = get(&row, "schema")?;
        let table: String = get(&row, "table_name")?;
        let name: String = get(&row, "name")?;
        if is_transitional(&name) {
            continue;
        }
        let relkind: String = get(&row, "relkind")?;
        let s = model.schemas.get_mut(&schema);
        let triggers = match (relkind.as_str(), s) {
            ("r", Some(s)) => s.tables.get_mut(&table).map(|t| &mut t.triggers),
            ("v", Some(s)) => s.views.get_mut(&table).map(|v| &mut v.triggers),
            _ => None,
        };
        let Some(t) = triggers else {
            note(
                ObjectKind::Trigger,
                format!("trigger {name} on {schema}.{table}"),
            );
            continue;
        };
        let tgtype: i32 = get(&row, "tgtype")?;
        let timing = if tgtype & 64 != 0 {
            TriggerTiming::InsteadOf
        } else if tgtype & 2 != 0 {
            TriggerTiming::Before
        } else {
            TriggerTiming::After
        };
        let events: Vec<TriggerEvent> = [
            (4, TriggerEvent::Insert),
            (16, TriggerEvent::Update),
            (8, TriggerEvent::Delete),
            (32, TriggerEvent::Truncate),
        ]
        .into_iter()
        .filter(|(bit, _)| tgtype & bit != 0)
        .map(|(_, e)| e)
        .collect();
        let nargs: i32 = get(&row, "nargs")?;
        let raw: Vec<u8> = get(&row, "args")?;
        let arguments: Vec<String> = raw
            .split(|b| *b == 0)
            .take(nargs.max(0) as usize)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let definition: String = get(&row, "definition")?;
        let deferrable = match (
            get::<bool>(&row, "is_deferrable")?,
            get::<bool>(&row, "initially_deferred")?,
        ) {
            (false, _) => Deferrable::NotDeferrable,
            (true, false) => Deferrable::InitiallyImmediate,
            (true, true) => Deferrable::InitiallyDeferred,
        };
        let trigger = Trigger {
            name: name.clone(),
            timing,
            events,
            update_of: get(&row, "update_of")?,
            for_each_row: tgtype & 1 != 0,
            when: when_clause(&definition),
            function: QualifiedName::new(
                get::<String>(&row, "function_schema")?,
                get::<String>(&row, "function_name")?,
            ),
            arguments,
            state: match get::<String>(&row, "enabled")?.as_str() {
                "D" => TriggerState::Disabled,
                "R" => TriggerState::Replica,
                "A" => TriggerState::Always,
                _ => TriggerState::Enabled,
            },
            constraint: get(&row, "is_constraint")?,
            deferrable,
            old_table: get(&row, "old_table")?,
            new_table: get(&row, "new_table")?,
            comment: get(&row, "comment")?,
            renamed_from: None,
        };
        t.insert(name, trigger);
    }
    Ok(())
}

/// The `WHEN (...)` condition of a trigger definition as `pg_get_triggerdef` prints it,
/// without the parentheses. The condition is everything between the first ` WHEN (` and the
/// last `) EXECUTE FUNCTION `: the trigger's own name comes before, its arguments after.
fn when_clause(definition: &str) -> Option<String> {
    let start = definition.find(" WHEN (")? + " WHEN (".len();
    let end = definition.rfind(") EXECUTE FUNCTION ")?;
    (end > start).then(|| definition[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::when_clause;

    #[test]
    fn when_conditions_are_cut_out_of_the_definition() {
        assert_eq!(
            when_clause(
                "CREATE TRIGGER t BEFORE UPDATE ON public.x FOR EACH ROW WHEN ((old.a IS DISTINCT FROM new.a)) EXECUTE FUNCTION public.f('a')"
            )
            .as_deref(),
            Some("(old.a IS DISTINCT FROM new.a)")
        );
        assert_eq!(
            when_clause(
                "CREATE TRIGGER t BEFORE UPDATE ON public.x FOR EACH ROW EXECUTE FUNCTION public.f()"
            ),
            None
        );
    }
}
