//! `formwork explain`: print a lint rule's documentation.

use std::process::ExitCode;

use crate::lint::rules;

/// Explain a lint rule: what it flags, the lock it takes and what that blocks, what to do
/// instead, and which PostgreSQL versions it concerns.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  formwork explain set-not-null-scan
  formwork explain --all
  formwork explain --all --markdown > docs/lint-rules.md")]
pub struct Args {
    /// The rule id, as shown in lint output.
    #[arg(required_unless_present = "all", value_name = "RULE")]
    rule: Option<String>,

    /// List every rule (with `--markdown`: the full documentation, as in docs/lint-rules.md).
    #[arg(long, conflicts_with = "rule")]
    all: bool,

    /// With `--all`, print the complete rules document in Markdown.
    #[arg(long, requires = "all")]
    markdown: bool,
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    if args.all {
        if args.markdown {
            print!("{}", rules::markdown());
        } else {
            for r in rules::all() {
                println!("{:<45} {:<8} {}", r.id, r.level.as_str(), r.summary);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let id = args.rule.unwrap_or_default();
    match rules::find(&id) {
        Some(r) => {
            print!("{}", rules::explain(r));
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let best = rules::all()
                .iter()
                .map(|r| (strsim::jaro_winkler(r.id, &id), r.id))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .filter(|(s, _)| *s > 0.8)
                .map(|(_, r)| format!(" Did you mean `{r}`?"))
                .unwrap_or_default();
            eprintln!(
                "error: `{id}` is not a lint rule.{best} `formwork explain --all` lists them."
            );
            Ok(ExitCode::from(2))
        }
    }
}
