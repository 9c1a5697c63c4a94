//! Counting outcomes and writing them down: the summary table printed at the end of a run and
//! the markdown report (`--report`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::case::{Class, Outcome};
use super::corpus::Set;

/// A finished case.
pub struct Result {
    pub set: Set,
    pub name: String,
    pub source_error: Option<String>,
    pub outcome: Outcome,
    pub seconds: f64,
}

/// Counts for one set.
#[derive(Default, Clone, Copy)]
pub struct Counts {
    pub cases: usize,
    pub skipped: usize,
    pub not_loaded: usize,
    pub out_of_scope: usize,
    pub pass: usize,
    pub fail: usize,
    pub broken: usize,
}

impl Counts {
    pub fn in_scope(&self) -> usize {
        self.pass + self.fail
    }

    /// Pass rate over in-scope cases, in percent; `None` when none was in scope.
    pub fn pass_rate(&self) -> Option<f64> {
        (self.in_scope() > 0).then(|| 100.0 * self.pass as f64 / self.in_scope() as f64)
    }

    /// Pass rate over every case of the set, in percent: what a user with that set's schemas
    /// would see, since a case set aside (not managed, needs another server, does not load)
    /// is one formwork did not handle.
    pub fn overall_rate(&self) -> Option<f64> {
        (self.cases > 0).then(|| 100.0 * self.pass as f64 / self.cases as f64)
    }

    fn add(&mut self, o: &Counts) {
        self.cases += o.cases;
        self.skipped += o.skipped;
        self.not_loaded += o.not_loaded;
        self.out_of_scope += o.out_of_scope;
        self.pass += o.pass;
        self.fail += o.fail;
        self.broken += o.broken;
    }
}

pub fn counts(results: &[Result], set: Set) -> Counts {
    let mut c = Counts::default();
    for r in results.iter().filter(|r| r.set == set) {
        c.cases += 1;
        match r.outcome {
            Outcome::Skipped(_) => c.skipped += 1,
            Outcome::NotLoaded { .. } => c.not_loaded += 1,
            Outcome::OutOfScope(_) => c.out_of_scope += 1,
            Outcome::Pass { .. } => c.pass += 1,
            Outcome::Fail(_) => c.fail += 1,
            Outcome::Broken(_) => c.broken += 1,
        }
    }
    c
}

fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{r:.1}%"),
        None => "–".into(),
    }
}

/// The summary as a markdown table (readable in a terminal too).
pub fn summary_table(results: &[Result], sets: &[Set]) -> String {
    let mut out = String::from(
        "| set | cases | skipped | does not load | out of scope | in scope | pass | fail | pass rate (in scope) | pass rate (all cases) |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut total = Counts::default();
    let mut rows: Vec<(&str, Counts)> = Vec::new();
    for &set in sets {
        let c = counts(results, set);
        total.add(&c);
        rows.push((set.name(), c));
    }
    if rows.len() > 1 {
        rows.push(("all", total));
    }
    for (name, c) in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            name,
            c.cases,
            c.skipped,
            c.not_loaded,
            c.out_of_scope,
            c.in_scope(),
            c.pass,
            c.fail,
            percent(c.pass_rate()),
            percent(c.overall_rate())
        );
    }
    out
}

/// Failures by class, then by signature, with the cases of each.
fn failure_groups(results: &[Result]) -> BTreeMap<Class, BTreeMap<String, Vec<&Result>>> {
    let mut groups: BTreeMap<Class, BTreeMap<String, Vec<&Result>>> = BTreeMap::new();
    for r in results {
        if let Outcome::Fail(f) = &r.outcome {
            groups
                .entry(f.class)
                .or_default()
                .entry(f.signature.clone())
                .or_default()
                .push(r);
        }
    }
    groups
}

/// Failure counts per class, for the terminal.
pub fn failure_table(results: &[Result]) -> String {
    let mut out = String::new();
    for (class, sigs) in failure_groups(results) {
        let n: usize = sigs.values().map(Vec::len).sum();
        let _ = writeln!(out, "{n:4}  {}", class.title());
        let mut sigs: Vec<_> = sigs.into_iter().collect();
        sigs.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        for (sig, cases) in sigs {
            let _ = writeln!(out, "      {:4}  {sig}", cases.len());
        }
    }
    out
}

fn case_label(r: &Result) -> String {
    format!("{}/{}", r.set.name(), r.name)
}

fn list(cases: &[&Result], max: usize) -> String {
    let mut names: Vec<String> = cases
        .iter()
        .take(max)
        .map(|r| format!("`{}`", case_label(r)))
        .collect();
    if cases.len() > max {
        names.push(format!("and {} more", cases.len() - max));
    }
    names.join(", ")
}

/// The markdown report.
pub fn markdown(results: &[Result], sets: &[Set], header: &str) -> String {
    let mut out = String::from("# Conformance report\n\n");
    out.push_str(header);
    out.push_str("\n## Summary\n\n");
    out.push_str(&summary_table(results, sets));
    out.push_str(
        "\nIn scope: both states load and hold only objects formwork manages. A pass means: \
         the to-state dumped to KDL and loaded back, planned from the from-state with \
         destructive changes allowed, applied, leaves a database whose fingerprint equals the \
         to-state's, and planning again finds no change.\n",
    );

    out.push_str("\n## Out of scope, by kind of unmanaged object\n\n");
    out.push_str("A case counts under every kind it holds (in either state).\n\n");
    out.push_str("| set | kind | cases |\n|---|---|---|\n");
    for &set in sets {
        let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for r in results.iter().filter(|r| r.set == set) {
            if let Outcome::OutOfScope(kinds) = &r.outcome {
                for k in kinds {
                    *by_kind.entry(k.as_str()).or_default() += 1;
                }
            }
        }
        let mut rows: Vec<_> = by_kind.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (kind, n) in rows {
            let _ = writeln!(out, "| {} | {kind} | {n} |", set.name());
        }
    }

    out.push_str("\n## Skipped on this server\n\n");
    let mut skipped: BTreeMap<&str, Vec<&Result>> = BTreeMap::new();
    for r in results {
        if let Outcome::Skipped(why) = &r.outcome {
            skipped.entry(why.as_str()).or_default().push(r);
        }
    }
    if skipped.is_empty() {
        out.push_str("None.\n");
    }
    for (why, cases) in skipped {
        let _ = writeln!(out, "- {why} ({}): {}", cases.len(), list(&cases, 8));
    }

    out.push_str("\n## Fixtures that do not load\n\n");
    out.push_str(
        "The state is not valid SQL on this server (another server flavor, a newer syntax, \
         or a fixture that tests the other tool's parser).\n\n",
    );
    let mut not_loaded: BTreeMap<String, Vec<(&Result, &str)>> = BTreeMap::new();
    for r in results {
        if let Outcome::NotLoaded { side, reason } = &r.outcome {
            let msg = reason.split_once(": ").map(|x| x.1).unwrap_or(reason);
            let msg = msg.split(" (statement:").next().unwrap_or(msg);
            not_loaded
                .entry(super::case::signature(msg))
                .or_default()
                .push((r, side));
        }
    }
    if not_loaded.is_empty() {
        out.push_str("None.\n");
    }
    let mut rows: Vec<_> = not_loaded.into_iter().collect();
    rows.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    for (sig, cases) in rows {
        let names: Vec<&Result> = cases.iter().map(|(r, _)| *r).collect();
        let _ = writeln!(out, "- {} × `{sig}`: {}", cases.len(), list(&names, 6));
    }

    out.push_str("\n## Failures\n\n");
    let groups = failure_groups(results);
    if groups.is_empty() {
        out.push_str("None.\n");
    }
    for (class, sigs) in groups {
        let n: usize = sigs.values().map(Vec::len).sum();
        let _ = writeln!(out, "### {} ({n})\n", class.title());
        let mut sigs: Vec<_> = sigs.into_iter().collect();
        sigs.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        for (sig, cases) in sigs {
            let _ = writeln!(
                out,
                "- **{}** × `{sig}`: {}\n",
                cases.len(),
                list(&cases, 10)
            );
            if let Some(first) = cases.first()
                && let Outcome::Fail(f) = &first.outcome
            {
                let _ = writeln!(
                    out,
                    "  Example `{}`:\n\n  ```text\n{}\n  ```\n",
                    case_label(first),
                    indent(&f.detail, "  ")
                );
            }
        }
    }

    let notes: Vec<&Result> = results
        .iter()
        .filter(|r| r.source_error.is_some())
        .collect();
    if !notes.is_empty() {
        out.push_str("\n## Cases the source tool expects to refuse\n\n");
        out.push_str(
            "psqldef expects an error for these (its own limits); the states are valid, so \
             they run like any other case.\n\n",
        );
        for r in notes {
            let _ = writeln!(
                out,
                "- `{}` ({}): psqldef says “{}”",
                case_label(r),
                outcome_word(&r.outcome),
                r.source_error.as_deref().unwrap_or("")
            );
        }
    }

    out.push_str("\n## Every case\n\n<details><summary>outcome per case</summary>\n\n");
    out.push_str("| case | outcome | seconds |\n|---|---|---|\n");
    for r in results {
        let _ = writeln!(
            out,
            "| `{}` | {} | {:.1} |",
            case_label(r),
            outcome_word(&r.outcome),
            r.seconds
        );
    }
    out.push_str("\n</details>\n");
    out
}

/// A few words for one outcome.
pub fn outcome_word(o: &Outcome) -> String {
    match o {
        Outcome::Skipped(why) => format!("skipped: {why}"),
        Outcome::NotLoaded { side, .. } => format!("{side}-state does not load"),
        Outcome::OutOfScope(kinds) => format!("out of scope: {}", kinds.join(", ")),
        Outcome::Pass { steps, blocking: 0 } => format!("pass ({steps} steps)"),
        Outcome::Pass { steps, blocking } => {
            format!("pass ({steps} steps, {blocking} blocking)")
        }
        Outcome::Fail(f) => format!("FAIL: {}", f.class.title()),
        Outcome::Broken(e) => format!("runner error: {e}"),
    }
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{}", l.replace("```", "'''")))
        .collect::<Vec<_>>()
        .join("\n")
}
