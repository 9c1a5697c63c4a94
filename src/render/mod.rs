//! Renderings of a plan for the people and programs that review it: `text` for a terminal,
//! `markdown` for a pull-request comment, `json` for bots and policy checks
//! (`docs/plan-json.md`).
//!
//! Every rendering says the same things: the plan id, the target, each step's lock and on
//! what, how long that lock is held (a metadata change, or a scan or rewrite of a table whose
//! size the planner estimated), its hazards and its SQL. The wording of those facts is decided
//! once, here, and shared by the text and markdown renderers.
//!
//! Rendering only reads a [`Plan`]; it never changes one, reads a file or talks to a database.
//! Choosing colour is the caller's business ([`color_wanted`]); the renderers only obey it.

mod json;
mod markdown;
mod text;

use std::collections::BTreeMap;
use std::io::IsTerminal;

use crate::model::QualifiedName;
use crate::plan::{HazardKind, Phase, Plan, Step, TableEstimate};

/// How to render a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a terminal: one block per step, coloured when the output is a terminal.
    Text,
    /// For a GitHub pull-request comment: a summary table, then each step with its SQL folded.
    Markdown,
    /// For programs: a versioned document described in docs/plan-json.md.
    Json,
}

/// Render `plan` in `format`. `color` only affects `text`; the other formats never contain
/// terminal escapes.
pub fn render(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(plan, color),
        Format::Markdown => markdown::render(plan),
        Format::Json => json::render(plan),
    }
}

/// Whether to colour output written to `stream`: only on a terminal, and never when
/// `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
pub fn color_for(stream: &impl IsTerminal) -> bool {
    color_wanted(
        stream.is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// The rule behind [`color_for`], without the environment, so it can be tested.
pub fn color_wanted(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// The tables a step touches (locked, scanned or rewritten), each once, in the order the step
/// names them.
pub(crate) fn tables_of(step: &Step) -> Vec<&QualifiedName> {
    let mut out: Vec<&QualifiedName> = Vec::new();
    let named = step
        .locks
        .iter()
        .map(|l| &l.object)
        .chain(&step.scans)
        .chain(&step.rewrites);
    for table in named {
        if !out.contains(&table) {
            out.push(table);
        }
    }
    out
}

/// What a step does to table data, which is how long its locks are held: "metadata only", or
/// one entry per scanned or rewritten table ("rewrites public.users: ~2.1M rows (~1.2 GB)").
pub(crate) fn held(plan: &Plan, step: &Step) -> Vec<String> {
    if let Some(b) = step.as_backfill() {
        return vec![format!(
            "one short batch at a time (about 50 ms each by default, see `formwork apply \
             --backfill-target-ms`), over {}: {}",
            b.table,
            size(plan.estimate(&b.table))
        )];
    }
    if step.scans.is_empty() && step.rewrites.is_empty() {
        return vec!["metadata only".to_string()];
    }
    let rewrites = step.rewrites.iter().map(|t| ("rewrites", t));
    let scans = step
        .scans
        .iter()
        .filter(|t| !step.rewrites.contains(t))
        .map(|t| ("scans", t));
    rewrites
        .chain(scans)
        .map(|(verb, table)| format!("{verb} {table}: {}", size(plan.estimate(table))))
        .collect()
}

/// "~2.1M rows (~1.2 GB)", "~850 rows", or "size unknown" when the planner had no estimate or
/// the table was never analyzed.
pub(crate) fn size(estimate: Option<&TableEstimate>) -> String {
    match estimate {
        Some(e) if e.rows >= 0 => {
            let rows = format!(
                "~{} row{}",
                approx_count(e.rows),
                if e.rows == 1 { "" } else { "s" }
            );
            if e.pages > 0 {
                format!(
                    "{rows} (~{})",
                    approx_bytes(e.pages.saturating_mul(PAGE_BYTES))
                )
            } else {
                rows
            }
        }
        _ => "size unknown".to_string(),
    }
}

/// PostgreSQL's default block size; `relpages` counts blocks of it.
const PAGE_BYTES: i64 = 8192;

/// A count in at most three significant digits: 850, 12K, 2.1M, 3.4B.
pub(crate) fn approx_count(n: i64) -> String {
    scaled(n as f64, 1000.0, &["", "K", "M", "B", "T"], "")
}

/// A byte size in binary units with PostgreSQL's `pg_size_pretty` labels: 512 bytes, 8 kB,
/// 1.2 GB.
pub(crate) fn approx_bytes(n: i64) -> String {
    if n < 1024 {
        return format!("{n} bytes");
    }
    scaled(
        n as f64,
        1024.0,
        &["bytes", "kB", "MB", "GB", "TB", "PB"],
        " ",
    )
}

/// `value` in the largest unit that keeps it at or above 1: one decimal below 10, whole
/// numbers above (1.2 GB, 45 GB, 850 GB), moving up a unit when rounding reaches `base`.
fn scaled(value: f64, base: f64, units: &[&str], sep: &str) -> String {
    let mut v = value.max(0.0);
    let mut unit = 0;
    while unit + 1 < units.len() && v >= base {
        v /= base;
        unit += 1;
    }
    let mut text = if unit > 0 && v < 9.95 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    };
    if unit + 1 < units.len() && text.parse::<f64>().is_ok_and(|r| r >= base) {
        unit += 1;
        text = "1.0".to_string();
    }
    let text = text.strip_suffix(".0").unwrap_or(&text).to_string();
    if units[unit].is_empty() {
        text
    } else {
        format!("{text}{sep}{}", units[unit])
    }
}

/// A timeout as PostgreSQL accepts it in `SET`, exactly: 500ms, 5s, 10min, 2h; "none" for 0.
pub(crate) fn duration(ms: u64) -> String {
    match ms {
        0 => "none".to_string(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}min", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

/// Steps per phase and per hazard kind (a step counts once per kind it carries), every phase
/// and kind present with zeros, in a fixed order.
pub(crate) struct Summary {
    pub steps: usize,
    pub by_phase: BTreeMap<Phase, usize>,
    pub by_hazard: Vec<(HazardKind, usize)>,
}

impl Summary {
    pub fn of(plan: &Plan) -> Summary {
        let mut by_phase = BTreeMap::from([(Phase::Expand, 0), (Phase::Contract, 0)]);
        let mut by_hazard: Vec<(HazardKind, usize)> =
            HazardKind::ALL.iter().map(|&k| (k, 0)).collect();
        for step in plan.steps() {
            *by_phase.entry(step.phase).or_default() += 1;
            for (kind, count) in &mut by_hazard {
                if step.hazards.iter().any(|h| h.kind == *kind) {
                    *count += 1;
                }
            }
        }
        Summary {
            steps: plan.steps().len(),
            by_phase,
            by_hazard,
        }
    }

    /// "5 steps: 4 expand, 1 contract"
    pub fn headline(&self) -> String {
        let phases: Vec<String> = self
            .by_phase
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(p, n)| format!("{n} {p}"))
            .collect();
        format!(
            "{} step{}: {}",
            self.steps,
            if self.steps == 1 { "" } else { "s" },
            phases.join(", ")
        )
    }

    /// The hazard kinds some step carries, with their step counts.
    pub fn hazards_present(&self) -> impl Iterator<Item = (HazardKind, usize)> + '_ {
        self.by_hazard.iter().copied().filter(|(_, n)| *n > 0)
    }
}

/// What a step is called in headings: its description, or the start of its SQL when the
/// planner gave none.
pub(crate) fn title(step: &Step) -> String {
    let text = step.description.trim();
    if !text.is_empty() {
        return one_line(text);
    }
    let first = step.sql.trim().lines().next().unwrap_or_default();
    let mut out: String = first.chars().take(60).collect();
    if out.len() < first.len() || step.sql.trim().lines().nth(1).is_some() {
        out.push_str(" ...");
    }
    one_line(&out)
}

/// `text` with no control characters: names and SQL come from databases and files, and an
/// escape sequence in a table name must not reach a terminal or break a table row. Line breaks
/// and tabs become spaces; other control characters are shown as `\u{..}`.
pub(crate) fn one_line(text: &str) -> String {
    visible(text, false)
}

/// As [`one_line`], keeping line breaks and tabs (for SQL).
pub(crate) fn multi_line(text: &str) -> String {
    visible(text, true)
}

fn visible(text: &str, keep_lines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' if keep_lines => out.push(c),
            '\r' if keep_lines => {}
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// "in a transaction" or "outside a transaction" (a backfill: one transaction per batch).
pub(crate) fn transaction_mode(step: &Step) -> &'static str {
    if step.as_backfill().is_some() {
        "in batches, one transaction each (the SQL below runs once per batch)"
    } else if step.transactional {
        "in a transaction"
    } else {
        "outside a transaction"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_people_say_them() {
        assert_eq!(approx_count(0), "0");
        assert_eq!(approx_count(850), "850");
        assert_eq!(approx_count(12_345), "12K");
        assert_eq!(approx_count(1_500), "1.5K");
        assert_eq!(approx_count(2_100_000), "2.1M");
        assert_eq!(approx_count(999_999), "1M");
        assert_eq!(approx_count(45_000_000_000), "45B");
    }

    #[test]
    fn sizes_use_pg_size_pretty_units() {
        assert_eq!(approx_bytes(512), "512 bytes");
        assert_eq!(approx_bytes(8192), "8 kB");
        assert_eq!(approx_bytes(1_288_490_189), "1.2 GB");
        assert_eq!(approx_bytes(1024 * 1024 * 1023 + 1024 * 1000), "1 GB");
        let est = |rows, pages| TableEstimate {
            table: QualifiedName::new("public", "t"),
            rows,
            pages,
        };
        assert_eq!(size(Some(&est(2_100_000, 157_286))), "~2.1M rows (~1.2 GB)");
        assert_eq!(size(Some(&est(850, 0))), "~850 rows");
        assert_eq!(size(Some(&est(-1, 10))), "size unknown");
        assert_eq!(size(None), "size unknown");
    }

    #[test]
    fn durations_are_exact_and_valid_in_set() {
        assert_eq!(duration(0), "none");
        assert_eq!(duration(250), "250ms");
        assert_eq!(duration(1_500), "1500ms");
        assert_eq!(duration(5_000), "5s");
        assert_eq!(duration(600_000), "10min");
        assert_eq!(duration(7_200_000), "2h");
    }

    #[test]
    fn control_characters_from_names_never_reach_the_output() {
        assert_eq!(one_line("evil\u{1b}[2Jname\nx"), "evil\\u{1b}[2Jname x");
        assert_eq!(
            multi_line("SELECT 1\r\n  FROM t\u{7}"),
            "SELECT 1\n  FROM t\\u{7}"
        );
    }

    #[test]
    fn a_step_without_description_is_titled_by_its_sql() {
        use crate::catalog::fingerprint::Fingerprint;
        let step = |sql: &str| Step::new(sql, Phase::Expand, Fingerprint([0; 32]));
        assert_eq!(
            title(&step("DROP INDEX i").description("  ")),
            "DROP INDEX i"
        );
        assert_eq!(
            title(&step("CREATE VIEW v AS\nSELECT 1")),
            "CREATE VIEW v AS ..."
        );
        assert_eq!(title(&step("x").description("add\ncolumn")), "add column");
    }

    #[test]
    fn color_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(color_wanted(true, None));
        assert!(color_wanted(true, Some(OsStr::new(""))));
        assert!(!color_wanted(true, Some(OsStr::new("1"))));
        assert!(!color_wanted(false, None));
    }
}
