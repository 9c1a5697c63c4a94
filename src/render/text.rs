//! The plan for a terminal: a header, then one block per step with its lock, how long the
//! lock is held, its hazards and its SQL indented.
//!
//! Colour is ANSI escapes from `anstyle`, used only when the caller asks; without colour the
//! output is plain text with the same layout, so it reads the same in a log file. Colour only
//! emphasises: nothing is said by colour alone.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::{Summary, duration, held, multi_line, one_line, tables_of, title, transaction_mode};
use crate::plan::{HazardKind, Phase, Plan};

/// The styles in use, or all plain.
struct Theme {
    heading: Style,
    label: Style,
    expand: Style,
    contract: Style,
    danger: Style,
    caution: Style,
    sql: Style,
}

impl Theme {
    fn new(color: bool) -> Theme {
        if !color {
            let plain = Style::new();
            return Theme {
                heading: plain,
                label: plain,
                expand: plain,
                contract: plain,
                danger: plain,
                caution: plain,
                sql: plain,
            };
        }
        Theme {
            heading: Style::new().bold(),
            label: Style::new().dimmed(),
            expand: AnsiColor::Green.on_default().bold(),
            contract: AnsiColor::Magenta.on_default().bold(),
            danger: AnsiColor::Red.on_default().bold(),
            caution: AnsiColor::Yellow.on_default(),
            sql: AnsiColor::Cyan.on_default(),
        }
    }

    /// `text` in `style` (nothing added for a plain style).
    fn paint(&self, style: Style, text: &str) -> String {
        if style == Style::new() {
            text.to_string()
        } else {
            format!("{style}{text}{style:#}")
        }
    }

    fn phase(&self, phase: Phase) -> String {
        let style = match phase {
            Phase::Expand => self.expand,
            Phase::Contract => self.contract,
        };
        self.paint(style, phase.as_str())
    }

    fn hazard(&self, kind: HazardKind) -> String {
        let style = match kind {
            HazardKind::DeletesData
            | HazardKind::AccessExclusive
            | HazardKind::BreaksCompatibility
            | HazardKind::RewritesTable => self.danger,
            _ => self.caution,
        };
        self.paint(style, kind.as_str())
    }
}

/// Width of the labels in a step block, so values line up.
const LABEL: usize = 9;

pub(super) fn render(plan: &Plan, color: bool) -> String {
    let t = Theme::new(color);
    let mut out = String::new();
    let summary = Summary::of(plan);
    let label = |name: &str| t.paint(t.label, &format!("{name:<LABEL$}"));

    let _ = writeln!(
        out,
        "{}",
        t.paint(t.heading, &format!("Plan {}", plan.id().short()))
    );
    let _ = writeln!(out, "  {} {}", label("id"), plan.id());
    let _ = writeln!(
        out,
        "  {} {}, PostgreSQL {}",
        label("target"),
        one_line(&plan.target().to_string()),
        plan.server_major_version()
    );
    let _ = writeln!(
        out,
        "  {} from {} to {} (planned by formwork {})",
        label("catalog"),
        short_hex(&plan.source_fingerprint().to_hex()),
        short_hex(&plan.desired_fingerprint().to_hex()),
        one_line(plan.formwork_version())
    );
    if plan.steps().is_empty() {
        let _ = writeln!(out, "\nNo changes.");
    } else {
        let _ = writeln!(out, "  {} {}", label("plan"), summary.headline());
        let hazards: Vec<String> = summary
            .hazards_present()
            .map(|(kind, n)| format!("{} ({n})", t.hazard(kind)))
            .collect();
        if !hazards.is_empty() {
            let _ = writeln!(out, "  {} {}", label("hazards"), hazards.join(", "));
        }
    }

    let total = plan.steps().len();
    for (i, step) in plan.steps().iter().enumerate() {
        let _ = writeln!(
            out,
            "\n{} ({}): {}",
            t.paint(t.heading, &format!("Step {} of {total}", i + 1)),
            t.phase(step.phase),
            t.paint(t.heading, &title(step))
        );
        let tables: Vec<String> = tables_of(step)
            .iter()
            .map(|q| one_line(&q.to_string()))
            .collect();
        if !tables.is_empty() {
            let _ = writeln!(out, "  {} {}", label("tables"), tables.join(", "));
        }
        for (n, lock) in step.locks.iter().enumerate() {
            let style = if lock.mode.blocks_traffic() {
                t.danger
            } else {
                t.caution
            };
            let _ = writeln!(
                out,
                "  {} {} on {}: blocks {}",
                label(if n == 0 { "lock" } else { "" }),
                t.paint(style, lock.mode.name()),
                one_line(&lock.object.to_string()),
                lock.mode.blocks()
            );
        }
        if step.locks.is_empty() {
            let _ = writeln!(out, "  {} none on tables", label("lock"));
        }
        for (n, line) in held(plan, step).iter().enumerate() {
            let _ = writeln!(
                out,
                "  {} {}",
                label(if n == 0 { "held" } else { "" }),
                one_line(line)
            );
        }
        let _ = writeln!(
            out,
            "  {} {}, lock_timeout {}, statement_timeout {}",
            label("runs"),
            transaction_mode(step),
            duration(step.lock_timeout_ms),
            duration(step.statement_timeout_ms)
        );
        for (n, hazard) in step.hazards.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                label(if n == 0 { "hazards" } else { "" }),
                t.hazard(hazard.kind),
                one_line(&hazard.message)
            );
        }
        if let Some(b) = step.as_backfill() {
            let _ = writeln!(out, "  {} {}", label("backfill"), one_line(&b.summary()));
        }
        let _ = writeln!(out, "  {}", t.paint(t.label, "sql"));
        for line in multi_line(step.sql.trim()).lines() {
            let _ = writeln!(out, "    {}", t.paint(t.sql, line));
        }
    }

    if !plan.unmanaged().is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            t.paint(
                t.heading,
                "Not managed by formwork (this plan leaves them alone):"
            )
        );
        for u in plan.unmanaged() {
            let _ = writeln!(out, "  {} {}", u.kind.describe(), one_line(&u.name));
        }
    }
    out
}

/// The first 12 hex digits of a fingerprint, for people; the JSON rendering has them in full.
fn short_hex(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}
