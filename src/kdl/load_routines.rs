//! The meaning of `function`, `procedure` and `trigger` nodes (their shape is in
//! `spec::ROUTINE_NODES` and was checked already).
//!
//! Overloads are declared as separate nodes and told apart by their input argument types as
//! written; two declarations with the same name and the same types written the same way are a
//! duplicate. Types written differently but meaning the same (`int` and `integer`) are caught by
//! PostgreSQL when the declaration is read back. Bodies are never parsed here.

use miette::SourceSpan;

use super::{Checked, Key, Loader};
use crate::kdl::diag::{FileCtx, Problem, ProblemKind};
use crate::model::*;

impl Loader {
    pub(super) fn routine(&mut self, f: &FileCtx, schema: &str, c: &Checked<'_>) {
        let Some((name, span)) = self.name_arg(f, c, 0) else {
            return;
        };
        let kind = if c.spec.name == "procedure" {
            RoutineKind::Procedure
        } else {
            RoutineKind::Function
        };
        let mut arguments = Vec::new();
        let mut body: Option<(String, SourceSpan)> = None;
        let mut config = indexmap::IndexMap::new();
        let mut grants = Vec::new();
        for ch in self.children(f, c) {
            match ch.spec.name {
                "grant" => {
                    let Some(g) = self.grant(f, &ch, super::GrantOn::Function) else {
                        continue;
                    };
                    if g.grantee == Grantee::Public && c.prop_bool("public-execute") == Some(false)
                    {
                        self.conflict(
                            f,
                            ch.name_span(),
                            format!("`{schema}.{name}` grants to public and withholds it"),
                            "remove this grant, or `public-execute=#false`",
                        );
                        continue;
                    }
                    grants.push(g);
                }
                "argument" => {
                    let Some((arg_name, arg_span)) = ch.arg_str(0) else {
                        continue;
                    };
                    if !arg_name.is_empty() && !self.valid_name(f, arg_name, arg_span) {
                        continue;
                    }
                    let mode = match ch.prop_str("mode") {
                        Some("out") => ArgMode::Out,
                        Some("inout") => ArgMode::InOut,
                        Some("variadic") => ArgMode::Variadic,
                        _ => ArgMode::In,
                    };
                    arguments.push(FunctionArg {
                        name: (!arg_name.is_empty()).then(|| arg_name.to_string()),
                        mode,
                        data_type: ch
                            .arg_str(1)
                            .map(|(t, _)| t.to_string())
                            .unwrap_or_default(),
                        default: ch.prop_string("default"),
                    });
                }
                "body" => {
                    if let Some((prev_text, prev)) = &body {
                        let _ = prev_text;
                        let line = super::line_col(&f.text, prev.offset()).0;
                        self.push(
                            Problem::new(
                                ProblemKind::DuplicateName,
                                f,
                                ch.name_span(),
                                format!("`{schema}.{name}` has two bodies"),
                            )
                            .label("second body")
                            .help(format!("the first is on line {line}")),
                        );
                        continue;
                    }
                    if let Some((b, _)) = ch.arg_str(0) {
                        body = Some((b.to_string(), ch.name_span()));
                    }
                }
                "set" => {
                    if let (Some((k, kspan)), Some((v, _))) = (ch.arg_str(0), ch.arg_str(1)) {
                        if config.contains_key(k) {
                            self.push(
                                Problem::new(
                                    ProblemKind::DuplicateName,
                                    f,
                                    kspan,
                                    format!("setting `{k}` of `{schema}.{name}` is set twice"),
                                )
                                .label("set again here"),
                            );
                            continue;
                        }
                        config.insert(k.to_string(), v.to_string());
                    }
                }
                _ => {}
            }
        }
        let Some((body, _)) = body else {
            self.push(
                Problem::new(
                    ProblemKind::MissingProperty,
                    f,
                    span,
                    format!("{} `{schema}.{name}` has no body", c.spec.name),
                )
                .label("no `body` child")
                .help("add `body #\"...\"#` inside the block"),
            );
            return;
        };
        let mut func = Function {
            name: name.clone(),
            kind,
            arguments,
            returns: c.prop_string("returns"),
            language: c.prop_string("language").unwrap_or_default(),
            body,
            volatility: match c.prop_str("volatility") {
                Some("immutable") => Volatility::Immutable,
                Some("stable") => Volatility::Stable,
                _ => Volatility::Volatile,
            },
            strict: c.flag("strict"),
            security_definer: c.flag("security-definer"),
            leakproof: c.flag("leakproof"),
            parallel: match c.prop_str("parallel") {
                Some("safe") => Parallel::Safe,
                Some("restricted") => Parallel::Restricted,
                _ => Parallel::Unsafe,
            },
            cost: c.prop_int("cost"),
            rows: c.prop_int("rows"),
            config,
            comment: c.prop_string("comment"),
            grants,
            renamed_from: c.prop_string("renamed-from"),
        };
        // PUBLIC's EXECUTE is PostgreSQL's default: declared by leaving it alone.
        if c.prop_bool("public-execute") != Some(false) {
            func.grants.extend(Function::default_grants());
        }
        normalize_grants(&mut func.grants);
        if kind == RoutineKind::Procedure {
            func.returns = None;
        }
        let key = func.key();
        if !self.declare(
            Key::Function(schema.into(), key.clone()),
            f,
            span,
            format!("{} `{schema}.{key}`", c.spec.name),
        ) {
            return;
        }
        if let Some(s) = self.schema_mut(schema) {
            s.functions.insert(key, func);
        }
    }

    pub(super) fn trigger(
        &mut self,
        f: &FileCtx,
        table: &QualifiedName,
        c: &Checked<'_>,
    ) -> Option<Trigger> {
        let (name, span) = self.name_arg(f, c, 0)?;
        if !self.declare(
            Key::Trigger(table.schema.clone(), table.name.clone(), name.clone()),
            f,
            span,
            format!("trigger `{name}` on `{table}`"),
        ) {
            return None;
        }
        let timings: Vec<(&str, TriggerTiming)> = [
            ("before", TriggerTiming::Before),
            ("after", TriggerTiming::After),
            ("instead-of", TriggerTiming::InsteadOf),
        ]
        .into_iter()
        .filter(|(p, _)| c.prop(p).is_some())
        .collect();
        let (prop, timing) = match timings.as_slice() {
            [one] => *one,
            [] => {
                self.push(
                    Problem::new(
                        ProblemKind::MissingProperty,
                        f,
                        span,
                        format!(
                            "trigger `{name}` on `{table}` says neither when nor on what it fires"
                        ),
                    )
                    .label("no before=, after= or instead-of=")
                    .help("for example after=\"insert or update\""),
                );
                return None;
            }
            [_, second, ..] => {
                self.push(
                    Problem::new(
                        ProblemKind::Conflict,
                        f,
                        c.prop_span(second.0),
                        format!("trigger `{name}` on `{table}` has more than one timing"),
                    )
                    .label("second timing")
                    .help("a trigger fires before, after or instead of its events: keep one"),
                );
                return None;
            }
        };
        let mut events = Vec::new();
        for word in c
            .prop_str(prop)
            .unwrap_or_default()
            .split(|ch: char| ch == ',' || ch.is_whitespace())
            .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("or"))
        {
            let event = TriggerEvent::ALL
                .into_iter()
                .find(|e| e.word().eq_ignore_ascii_case(word));
            match event {
                Some(e) => events.push(e),
                None => {
                    self.push(
                        Problem::new(
                            ProblemKind::BadValue,
                            f,
                            c.prop_span(prop),
                            format!("`{word}` is not a trigger event"),
                        )
                        .label("unknown event")
                        .help("events are insert, update, delete and truncate"),
                    );
                    return None;
                }
            }
        }
        if events.is_empty() {
            self.push(
                Problem::new(
                    ProblemKind::BadValue,
                    f,
                    c.prop_span(prop),
                    format!("trigger `{name}` on `{table}` names no event"),
                )
                .label("no event")
                .help("events are insert, update, delete and truncate"),
            );
            return None;
        }
        events.sort();
        events.dedup();
        let mut update_of = Vec::new();
        let mut arguments = Vec::new();
        for ch in self.children(f, c) {
            match ch.spec.name {
                "update-of" => {
                    update_of.extend(ch.rest_strs(0).into_iter().map(|(s, _)| s.to_string()))
                }
                "arguments" => {
                    arguments.extend(ch.rest_strs(0).into_iter().map(|(s, _)| s.to_string()))
                }
                _ => {}
            }
        }
        let function_text = c.prop_str("function").unwrap_or_default();
        let function = match crate::kdl::names::parse_table_ref(function_text) {
            Ok(r) if r.columns.is_none() => {
                QualifiedName::new(r.schema.unwrap_or_else(|| table.schema.clone()), r.table)
            }
            Ok(_) | Err(_) => {
                self.push(
                    Problem::new(
                        ProblemKind::BadValue,
                        f,
                        c.prop_span("function"),
                        format!("`{function_text}` is not a function name"),
                    )
                    .label("expected `name` or `schema.name`")
                    .help("name the trigger function without arguments: function=\"touch\""),
                );
                return None;
            }
        };
        let constraint = c.flag("constraint");
        Some(Trigger {
            name,
            timing,
            events,
            update_of,
            for_each_row: c.prop_str("for-each") == Some("row") || constraint,
            when: c.prop_string("when"),
            function,
            arguments,
            state: match c.prop_str("state") {
                Some("disabled") => TriggerState::Disabled,
                Some("replica") => TriggerState::Replica,
                Some("always") => TriggerState::Always,
                _ => TriggerState::Enabled,
            },
            constraint,
            deferrable: super::deferrable(c),
            old_table: c.prop_string("old-table"),
            new_table: c.prop_string("new-table"),
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        })
    }
}
