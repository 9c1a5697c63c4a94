//! The plan as GitHub-flavoured Markdown, for a pull-request comment: the plan id, a summary
//! table by phase and hazard kind, an overview table of the steps, then each step with its
//! lock, how long it is held, its hazards and its SQL folded in a `<details>` block.
//!
//! Names and SQL come from databases and declarations and may contain anything (`|`, `<`,
//! `*`, backticks, `$`). Outside code fences every such character is backslash-escaped, and
//! names are set in `<code>` elements rather than backtick spans, because a code span cannot
//! hold an escaped `|` outside a table nor an unescaped one inside it. SQL goes in a fence
//! longer than any run of backticks in it, so no statement can close its own fence.

use std::fmt::Write;

use super::{Summary, duration, held, multi_line, one_line, tables_of, title, transaction_mode};
use crate::model::QualifiedName;
use crate::plan::{LockTaken, Phase, Plan};

pub(super) fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let summary = Summary::of(plan);
    let id = plan.id();
    let target = plan.target();

    let _ = writeln!(out, "## formwork plan `{}`\n", id.short());
    let _ = writeln!(out, "- **Plan id:** `{id}`");
    let cluster = if target.system_identifier.is_empty() {
        "an unknown cluster (system identifier not readable)".to_string()
    } else {
        format!("cluster {}", code(&target.system_identifier))
    };
    let _ = writeln!(
        out,
        "- **Target:** database {} on {cluster}, PostgreSQL {}",
        code(&target.database),
        plan.server_major_version()
    );
    let _ = writeln!(
        out,
        "- **Catalog:** from `{}` to `{}` (planned by formwork {})",
        plan.source_fingerprint()
            .to_hex()
            .get(..12)
            .unwrap_or_default(),
        plan.desired_fingerprint()
            .to_hex()
            .get(..12)
            .unwrap_or_default(),
        escape(plan.formwork_version())
    );

    if plan.steps().is_empty() {
        let _ = writeln!(
            out,
            "\n**No changes.** The database already matches the declaration."
        );
    } else {
        summary_table(&mut out, plan, &summary);
        let total = plan.steps().len();
        let _ = writeln!(out, "\n| # | phase | step | lock | held |");
        let _ = writeln!(out, "|---:|---|---|---|---|");
        let left_out = |out: &mut String, shown: usize, what: &str| {
            if shown < total {
                let _ = writeln!(
                    out,
                    "\n_{what} of steps {} to {total} are left out: {TOO_LONG}_",
                    shown + 1
                );
            }
        };
        let rows = push_within(&mut out, overview_rows(plan));
        left_out(&mut out, rows, "The table rows");
        let sections = push_within(&mut out, step_sections(plan));
        left_out(&mut out, sections, "The details");
    }

    if !plan.unmanaged().is_empty() {
        let n = plan.unmanaged().len();
        let _ = writeln!(
            out,
            "\n<details><summary>{n} object{} formwork does not manage (left alone)</summary>\n",
            if n == 1 { "" } else { "s" }
        );
        let items = plan
            .unmanaged()
            .iter()
            .map(|u| format!("- {} {}\n", u.kind.describe(), code(&u.name)));
        let listed = push_within(&mut out, items);
        if listed < n {
            let _ = writeln!(
                out,
                "- ... and {} more (`formwork show` lists them all)",
                n - listed
            );
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}

/// GitHub refuses comments longer than 65,536 characters. A rendering stays below this many
/// bytes (bytes are never fewer than characters), leaving room for the notes that say what was
/// left out and for whatever a bot wraps around it.
const MAX_LEN: usize = 60_000;

/// Room kept for the closing notes and lines after a list.
const RESERVE: usize = 1_000;

const TOO_LONG: &str = "the plan is too long for one comment. \
    `formwork show` on the plan file shows every step.";

/// Append `parts` in order while the whole stays within [`MAX_LEN`]; the number appended.
fn push_within(out: &mut String, parts: impl IntoIterator<Item = String>) -> usize {
    let mut n = 0;
    for part in parts {
        if out.len() + part.len() + RESERVE > MAX_LEN {
            break;
        }
        out.push_str(&part);
        n += 1;
    }
    n
}

/// Steps per phase, and for each hazard kind present, how many steps of each phase carry it.
fn summary_table(out: &mut String, plan: &Plan, summary: &Summary) {
    let _ = writeln!(out, "\n**{}**\n", summary.headline());
    let _ = writeln!(out, "| | expand | contract | total |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    let per_phase = |phase| summary.by_phase.get(&phase).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "| steps | {} | {} | {} |",
        per_phase(Phase::Expand),
        per_phase(Phase::Contract),
        summary.steps
    );
    for (kind, total) in summary.hazards_present() {
        let count = |phase| {
            plan.steps()
                .iter()
                .filter(|s| s.phase == phase && s.hazards.iter().any(|h| h.kind == kind))
                .count()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {total} |",
            kind.as_str(),
            count(Phase::Expand),
            count(Phase::Contract)
        );
    }
}

/// One table row per step: what it does, the locks it takes and how long they are held.
fn overview_rows(plan: &Plan) -> impl Iterator<Item = String> + '_ {
    plan.steps().iter().enumerate().map(move |(i, step)| {
        let locks: Vec<String> = step
            .locks
            .iter()
            .map(|l| format!("{} on {}", l.mode.name(), code(&l.object.to_string())))
            .collect();
        let held: Vec<String> = held(plan, step).iter().map(|h| escape(h)).collect();
        format!(
            "| {} | {} | {} | {} | {} |\n",
            i + 1,
            step.phase,
            escape(&title(step)),
            if locks.is_empty() {
                "none".to_string()
            } else {
                locks.join("<br>")
            },
            held.join("<br>")
        )
    })
}

/// One section per step: heading, tables, locks, hold time, timeouts, hazards, folded SQL.
fn step_sections(plan: &Plan) -> impl Iterator<Item = String> + '_ {
    let total = plan.steps().len();
    plan.steps().iter().enumerate().map(move |(i, step)| {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n### Step {} of {total} · {} · {}\n",
            i + 1,
            step.phase,
            escape(&title(step))
        );
        let tables: Vec<String> = tables_of(step).into_iter().map(table).collect();
        if !tables.is_empty() {
            let _ = writeln!(out, "- **Tables:** {}", tables.join(", "));
        }
        let lock_line = |lock: &LockTaken| {
            format!(
                "{} on {}, blocks {}",
                lock.mode.name(),
                table(&lock.object),
                escape(lock.mode.blocks())
            )
        };
        match step.locks.as_slice() {
            [] => {
                let _ = writeln!(out, "- **Lock:** none on tables");
            }
            [lock] => {
                let _ = writeln!(out, "- **Lock:** {}", lock_line(lock));
            }
            locks => {
                let _ = writeln!(out, "- **Locks:**");
                for lock in locks {
                    let _ = writeln!(out, "  - {}", lock_line(lock));
                }
            }
        }
        let held: Vec<String> = held(plan, step).iter().map(|h| escape(h)).collect();
        let _ = writeln!(out, "- **Held:** {}", held.join("; "));
        let _ = writeln!(
            out,
            "- **Runs:** {}, `lock_timeout` {}, `statement_timeout` {}",
            transaction_mode(step),
            duration(step.lock_timeout_ms),
            duration(step.statement_timeout_ms)
        );
        if let Some(b) = step.as_backfill() {
            let _ = writeln!(out, "- **Backfill:** {}", escape(&b.summary()));
        }
        if !step.hazards.is_empty() {
            let _ = writeln!(out, "- **Hazards:**");
            for hazard in &step.hazards {
                let _ = writeln!(
                    out,
                    "  - `{}`: {}",
                    hazard.kind.as_str(),
                    escape(&hazard.message)
                );
            }
        }
        let sql = multi_line(step.sql.trim());
        let fence = "`".repeat(longest_backtick_run(&sql).max(2) + 1);
        let _ = writeln!(
            out,
            "\n<details><summary>SQL</summary>\n\n{fence}sql\n{sql}\n{fence}\n\n</details>"
        );
        out
    })
}

fn table(name: &QualifiedName) -> String {
    code(&name.to_string())
}

/// A name in a `<code>` element, escaped.
fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

/// `text` on one line with every character that Markdown emphasis, code spans, links, GFM
/// tables and strikethrough, HTML, entities, headings or GitHub's math could read
/// backslash-escaped (CommonMark allows escaping any ASCII punctuation, so an escape never
/// shows). Escaped text is only ever placed mid-line, so characters that matter only at the
/// start of a line (`-`, `+`, `1.`) need nothing.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in one_line(text).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '$' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markdown_and_html() {
        assert_eq!(escape("a|b<c>*d*`e`"), "a\\|b\\<c\\>\\*d\\*\\`e\\`");
        assert_eq!(escape("line\nbreak"), "line break");
        assert_eq!(code("x|y"), "<code>x\\|y</code>");
    }

    #[test]
    fn a_fence_is_longer_than_any_backtick_run_in_the_sql() {
        assert_eq!(longest_backtick_run("SELECT '````'"), 4);
        assert_eq!(longest_backtick_run("SELECT 1"), 0);
    }
}
