//! One case, end to end: load both states, classify, then do what a user would do (dump the
//! to-state to KDL, plan the from-state toward those files, apply) and judge the result by
//! fingerprints.
//!
//! Every way a case can go wrong becomes an [`Outcome`] with a class and a signature (the
//! message with names and numbers blanked) so the report can group the same bug across
//! cases. Only failures of the run's own machinery (no database could be created) are
//! [`Outcome::Broken`].

use std::time::Duration;

use formwork::apply::execute_steps;
use formwork::catalog::fingerprint::fingerprint;
use formwork::catalog::{Catalog, introspect};
use formwork::kdl::diag::SourceFile;
use formwork::kdl::{load::load_sources, write::model_to_files};
use formwork::lint::Severity;
use formwork::model::{ObjectKind, Unmanaged};
use formwork::pg::scratch::{LazyScratch, ScratchDb};
use formwork::plan::planner::{PlanOptions, make_plan};

use super::corpus::Case;
use super::diff::{differences, render};
use super::load::{ensure_role, load_state, one_line, use_schema};

/// What happened to a case.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The server cannot run it (version, flavor).
    Skipped(String),
    /// A state is not valid SQL on this server.
    NotLoaded {
        side: &'static str,
        reason: String,
    },
    /// A state holds objects formwork does not manage; the kinds, sorted.
    OutOfScope(Vec<String>),
    Pass {
        steps: usize,
        /// Steps the plan gate flagged as blocking (accepted with `allow_blocking`).
        blocking: usize,
    },
    Fail(Failure),
    /// The run's own machinery failed (not a finding about formwork).
    Broken(String),
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub class: Class,
    /// What groups this failure with others of the same cause.
    pub signature: String,
    /// What a person needs to see for this case (error text, step SQL, diff).
    pub detail: String,
}

/// Failure classes, in the order the pipeline can hit them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Introspection failed on a state that loaded.
    Introspect,
    /// The KDL that `dump` would write does not load back.
    RoundTrip,
    /// The planner returned an error.
    Planner,
    /// A planned step failed on the from-state.
    Apply,
    /// After applying, the database still differs from the to-state.
    Residual,
    /// Planning again after applying still finds changes.
    NotIdempotent,
    /// The case did not finish within the time limit.
    Timeout,
    /// formwork panicked.
    Panic,
}

impl Class {
    pub fn title(self) -> &'static str {
        match self {
            Class::Introspect => "introspection error",
            Class::RoundTrip => "dump/load round trip",
            Class::Planner => "planner error",
            Class::Apply => "apply error",
            Class::Residual => "residual difference",
            Class::NotIdempotent => "second plan not empty",
            Class::Timeout => "timeout",
            Class::Panic => "panic",
        }
    }
}

fn fail(class: Class, signature: impl Into<String>, detail: impl Into<String>) -> Outcome {
    Outcome::Fail(Failure {
        class,
        signature: signature.into(),
        detail: detail.into(),
    })
}

/// Run one case on `scratch`, within `limit`.
pub async fn run(
    scratch: &LazyScratch,
    case: &Case,
    server_major: i32,
    limit: Duration,
) -> Outcome {
    if let Some(why) = case.requires.as_ref().and_then(|r| r.unmet(server_major)) {
        return Outcome::Skipped(why);
    }
    let server = match scratch.get().await {
        Ok(s) => s,
        Err(e) => return Outcome::Broken(format!("scratch server: {e}")),
    };
    let (a, b) = match (
        server.create_database().await,
        server.create_database().await,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Outcome::Broken(format!("create database: {e}")),
    };
    let outcome = match tokio::time::timeout(limit, pipeline(scratch, case, &a, &b)).await {
        Ok(o) => o,
        Err(_) => fail(
            Class::Timeout,
            "timeout",
            format!("did not finish within {} s", limit.as_secs()),
        ),
    };
    let _ = a.drop_now().await;
    let _ = b.drop_now().await;
    outcome
}

async fn pipeline(scratch: &LazyScratch, case: &Case, a: &ScratchDb, b: &ScratchDb) -> Outcome {
    // Load both states, each on its own session (search_path is per session).
    let mut catalogs = Vec::new();
    for (side, db, sql) in [("from", a, &case.from_sql), ("to", b, &case.to_sql)] {
        let client = match db.client().await {
            Ok(c) => c,
            Err(e) => return Outcome::Broken(format!("connect to {}: {e}", db.name())),
        };
        for role in &case.roles {
            if let Err(e) = ensure_role(&client, role).await {
                return Outcome::Broken(e);
            }
        }
        if let Some(schema) = &case.search_path
            && let Err(e) = use_schema(&client, schema).await
        {
            return Outcome::NotLoaded { side, reason: e };
        }
        if let Err(reason) = load_state(&client, sql).await {
            return Outcome::NotLoaded { side, reason };
        }
        match introspect(&client).await {
            Ok(c) => catalogs.push(c),
            Err(e) => return fail(Class::Introspect, signature(&e.to_string()), e.to_string()),
        }
    }
    let (Some(to), Some(mut from)) = (catalogs.pop(), catalogs.pop()) else {
        return Outcome::Broken("lost a catalog".into());
    };
    // Roles are server-wide and loading the to-state may have created some after the
    // from-state was read; a user's roles exist before they plan.
    from.roles.clone_from(&to.roles);
    let mut kinds: Vec<String> = from
        .unmanaged
        .iter()
        .chain(&to.unmanaged)
        .map(unmanaged_kind)
        .collect();
    kinds.sort();
    kinds.dedup();
    if !kinds.is_empty() {
        return Outcome::OutOfScope(kinds);
    }
    converge(scratch, a, from, to).await
}

/// The kind of an unmanaged object, made specific for the catch-all kind ("collation",
/// "inheritance", "storage options") from the leading words of its description.
fn unmanaged_kind(u: &Unmanaged) -> String {
    if u.kind != ObjectKind::Other {
        return u.kind.describe().to_string();
    }
    let words: Vec<&str> = u
        .name
        .split_whitespace()
        .take_while(|w| !w.contains(['.', '(', '"']) && !matches!(*w, "of" | "on" | "from"))
        .take(3)
        .collect();
    if words.is_empty() {
        u.kind.describe().to_string()
    } else {
        words.join(" ")
    }
}

/// The user's path: dump the to-state, load the files, plan, apply, check, plan again.
async fn converge(scratch: &LazyScratch, a: &ScratchDb, from: Catalog, to: Catalog) -> Outcome {
    let files = model_to_files(&to.model);
    let sources: Vec<SourceFile> = files
        .iter()
        .map(|(p, t)| SourceFile::new(p.display().to_string(), t.clone()))
        .collect();
    let declared = match load_sources(&sources) {
        Ok(m) => m,
        Err(e) => {
            let kdl: String = files.iter().map(|(_, t)| t.as_str()).collect();
            let problems: Vec<String> = e.problems.iter().map(|p| p.message.clone()).collect();
            return fail(
                Class::RoundTrip,
                signature(problems.first().map(String::as_str).unwrap_or("load error")),
                format!("{}\n\n{}", problems.join("\n"), excerpt(&kdl, 40)),
            );
        }
    };
    // Blocking steps (no online form yet) are accepted, as `--allow-blocking` would: the
    // question here is whether the plan converges; passes count how many they needed.
    let options = PlanOptions {
        allow_destructive: true,
        allow_blocking: true,
        ..PlanOptions::default()
    };
    let planned = match make_plan(&from, &declared, scratch, &options).await {
        Ok(p) => p,
        Err(e) => {
            let text = e.to_string();
            return fail(Class::Planner, signature(&text), text);
        }
    };
    // When the declaration, normalised by PostgreSQL, is not the to-state, any miss below is
    // the round trip's, not the plan's; say so in the detail.
    let declared_note = if fingerprint(&planned.desired) == fingerprint(&to.model) {
        String::new()
    } else {
        format!(
            "note: the declaration as PostgreSQL normalised it already differs from the to-state:\n{}\n",
            render(
                &differences(&to.model, &planned.desired),
                "to-state",
                "declared",
                6
            )
        )
    };
    let client = match a.client().await {
        Ok(c) => c,
        Err(e) => return Outcome::Broken(format!("connect to {}: {e}", a.name())),
    };
    let steps = planned.plan.steps().len();
    let blocking = planned
        .findings
        .iter()
        .filter(|(_, f)| f.severity == Severity::Error)
        .count();
    if let Err(e) = execute_steps(&client, &planned.plan).await {
        let text = e.to_string();
        return fail(
            Class::Apply,
            format!("{}: {}", words(&e.description), signature(&e.message)),
            format!("{text}\n\nplan:\n{}", plan_listing(&planned.plan)),
        );
    }
    let after = match introspect(&client).await {
        Ok(c) => c,
        Err(e) => return fail(Class::Introspect, signature(&e.to_string()), e.to_string()),
    };
    if fingerprint(&after.model) != fingerprint(&to.model) {
        let diffs = differences(&after.model, &to.model);
        let mut shapes: Vec<&str> = diffs.iter().map(|d| d.shape.as_str()).collect();
        shapes.sort();
        shapes.dedup();
        let origin = if declared_note.is_empty() {
            ""
        } else {
            "declaration: "
        };
        return fail(
            Class::Residual,
            format!("{origin}{}", shapes.join(", ")),
            format!(
                "{declared_note}{}\nplan:\n{}",
                render(&diffs, "from-state after apply", "to-state", 8),
                plan_listing(&planned.plan)
            ),
        );
    }
    match make_plan(&after, &declared, scratch, &options).await {
        Ok(again) if again.plan.steps().is_empty() => Outcome::Pass { steps, blocking },
        Ok(again) => {
            let mut descriptions: Vec<String> = again
                .plan
                .steps()
                .iter()
                .map(|s| words(&s.description))
                .collect();
            descriptions.dedup();
            fail(
                Class::NotIdempotent,
                descriptions.join("; "),
                format!(
                    "first plan:\n{}\nsecond plan:\n{}",
                    plan_listing(&planned.plan),
                    plan_listing(&again.plan)
                ),
            )
        }
        Err(e) => {
            let text = e.to_string();
            fail(
                Class::Planner,
                signature(&format!("second plan: {text}")),
                text,
            )
        }
    }
}

fn plan_listing(plan: &formwork::plan::Plan) -> String {
    let mut out = String::new();
    for (i, s) in plan.steps().iter().enumerate() {
        out.push_str(&format!("  {}. {}\n", i + 1, one_line(&s.sql, 200)));
    }
    if out.is_empty() {
        out.push_str("  (no steps)\n");
    }
    out
}

fn excerpt(text: &str, lines: usize) -> String {
    let mut out: Vec<&str> = text.lines().take(lines).collect();
    if text.lines().count() > lines {
        out.push("…");
    }
    out.join("\n")
}

/// `text` with quoted names, literals, dotted names and numbers blanked, so the same failure
/// on different objects groups together. The first line, and the next one when the first ends
/// in a colon (multi-line errors put the specific cause there).
pub fn signature(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut line = lines.next().unwrap_or("").to_string();
    if line.ends_with(':')
        && let Some(next) = lines.next()
    {
        line = format!("{line} {next}");
    }
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                out.push(c);
                out.push('…');
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
                out.push(c);
            }
            d if d.is_ascii_digit() => {
                while chars.peek().is_some_and(|n| n.is_ascii_digit()) {
                    chars.next();
                }
                out.push('N');
            }
            _ => out.push(c),
        }
    }
    // Unquoted names: dotted ones anywhere, plain ones after a word that introduces a name
    // ("foreign key fk_user", "cast type old_status"), and lists of enum values.
    let mut blanked: Vec<String> = Vec::new();
    let mut in_values = false;
    for w in out.split(' ') {
        let core = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '_' && c != '…');
        let after_name_word = blanked.last().is_some_and(|prev| {
            NAME_BEFORE.contains(&prev.trim_matches(|c: char| !c.is_alphanumeric()))
        });
        let dotted = core.contains('.') && !core.starts_with('.') && !core.ends_with('.');
        if in_values || (blanked.last().is_some_and(|p| p == "values") && w.starts_with('(')) {
            in_values = !w.ends_with(')') && !w.ends_with("):");
            if !in_values {
                blanked.push(format!("(…{}", &w[w.rfind(')').unwrap_or(w.len())..]));
            }
            continue;
        }
        let is_name = !core.is_empty()
            && core != "…"
            && (dotted || (after_name_word && !STOP.contains(&core)));
        blanked.push(if is_name {
            w.replace(core, "…")
        } else {
            w.to_string()
        });
    }
    one_line(&blanked.join(" "), 200)
}

/// Words after which an unquoted word is an object name.
const NAME_BEFORE: &[&str] = &[
    "key",
    "view",
    "index",
    "constraint",
    "sequence",
    "table",
    "column",
    "enum",
    "type",
    "schema",
    "extension",
    "relation",
    "from",
    "to",
    "of",
    "on",
];

/// Words that follow those above without being names.
const STOP: &[&str] = &[
    "from", "to", "of", "on", "is", "the", "a", "an", "and", "it", "not", "in", "table", "column",
    "type", "with", "without", "because", "as", "by", "cannot", "index",
];

/// The leading words of a step description, up to the first object name ("add column",
/// "create index concurrently").
fn words(description: &str) -> String {
    let w: Vec<&str> = description
        .split_whitespace()
        .take_while(|w| !w.contains(['.', '"', '(']))
        .take(5)
        .collect();
    w.join(" ")
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn signatures_blank_names_and_numbers_so_causes_group() {
        assert_eq!(
            signature("column \"email\" of relation \"users\" already exists"),
            signature("column \"name\" of relation \"t2\" already exists")
        );
        assert_eq!(signature("step 12 failed: x"), "step N failed: x");
        assert_eq!(
            signature("cannot plan:\n  - drop column public.users.name"),
            "cannot plan: - drop column …"
        );
        assert_ne!(signature("cannot drop `a`"), signature("cannot alter `a`"));
        assert_eq!(
            signature("step 2 (add foreign key fk_user from public.a to public.b) fails: x"),
            "step N (add foreign key … from … to …) fails: x"
        );
        assert_eq!(
            signature("cannot drop constraint users_pkey on table users because"),
            "cannot drop constraint … on table … because"
        );
        assert_eq!(
            signature("enum public.e: removing values (low, high) needs a new type"),
            "enum …: removing values (…) needs a new type"
        );
    }
}
