//! `formwork lint`: check SQL migrations for operations that lock tables unsafely.

use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use miette::{IntoDiagnostic, Report};

use crate::lint::config::LintConfig;
use crate::lint::output::Format;
use crate::lint::output::json::{JsonWriter, Summary};
use crate::lint::output::{github, human, sarif::SarifLog};
use crate::lint::{self, LintOptions, PgVersion};

/// Check SQL migrations for statements that lock tables unsafely (and suggest the safe way).
///
/// Each statement is classified by the locks it takes, whether it scans or rewrites the table,
/// and whether it may run in a transaction; rules flag the hazards. Exit status: 0 when no
/// error-level finding, 1 when there is one, 2 on bad usage (unknown option, missing file).
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  formwork lint migrations/*.sql
  alembic upgrade head --sql | formwork lint --stdin-name upgrade.sql -
  formwork lint --format sarif migrations/ > lint.sarif
  formwork lint --plan plans/plan.bin
  formwork lint --pg-version 12 --assume-in-transaction 'db/migrate/**/*.sql'

Suppress one statement's finding with a comment before it:
  -- formwork-ignore: create-index-non-concurrent
and a rule for a whole file with `-- formwork-ignore-file: rule-id` before its first statement.
`formwork explain RULE` documents each rule.")]
pub struct Args {
    /// SQL files, directories (every `*.sql` below them), or glob patterns; `-` reads stdin.
    #[arg(required_unless_present = "plan", value_name = "PATH")]
    paths: Vec<String>,

    /// Lint a plan file: its steps as the session that applies them runs them (each step's
    /// timeouts, a transaction around transactional steps). The file's hash is checked first.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,

    /// PostgreSQL version the migrations will run on, e.g. `15` or `14.3` (default: the
    /// server's with `--db`, else the config's, else 15).
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pg_version: Option<PgVersion>,

    /// Treat each file as running inside one transaction, as most migration tools run it.
    #[arg(long)]
    assume_in_transaction: bool,

    /// Project config with a `lint { ... }` section (default: `./formwork.kdl` if present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Read facts from this database (libpq URL or keyword string): which tables exist and
    /// their row estimates, column types, columns already proven NOT NULL, partitioned tables,
    /// function volatility, and the server version. Read-only.
    #[arg(long, value_name = "URL", env = "FORMWORK_LINT_DB")]
    db: Option<String>,

    /// Name to report for standard input.
    #[arg(long, value_name = "NAME", default_value = "stdin")]
    stdin_name: String,
}

fn parse_version(s: &str) -> Result<PgVersion, String> {
    PgVersion::parse(s).ok_or_else(|| format!("`{s}` is not a PostgreSQL version (try 15 or 14.3)"))
}

pub fn run(args: Args) -> miette::Result<ExitCode> {
    let config = match load_config(args.config.as_deref()) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let (db, server_version) = match &args.db {
        Some(url) => {
            let (facts, version) = read_db(url)?;
            (Some(facts), Some(version))
        }
        None => (None, None),
    };
    let opts = LintOptions {
        pg_version: args
            .pg_version
            .or(server_version)
            .or(config.pg_version)
            .unwrap_or(PgVersion::DEFAULT),
        assume_in_transaction: args.assume_in_transaction
            || config.assume_in_transaction.unwrap_or(false),
        levels: config.levels.clone(),
        db,
    };

    let mut inputs = match expand(&args.paths, &config) {
        Ok(i) => i,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(path) = &args.plan {
        match crate::plan::file::read(path) {
            Ok(plan) => inputs.push(Input::Plan {
                name: format!("{} (plan {})", path.display(), plan.id().short()),
                script: plan.session_script(),
            }),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return Ok(ExitCode::from(2));
            }
        }
    }

    let stdout = std::io::stdout();
    let color = stdout.is_terminal();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut summary = Summary::default();
    let mut json = match args.format {
        Format::Json => Some(JsonWriter::begin(&mut out).into_diagnostic()?),
        _ => None,
    };
    let mut sarif = SarifLog::default();
    let mut io_error = None;

    for input in &inputs {
        let name = match input {
            Input::Stdin => args.stdin_name.clone(),
            Input::File(p) => p.display().to_string(),
            Input::Plan { name, .. } => name.clone(),
        };
        let mut reader: Box<dyn Read> = match input {
            Input::Stdin => Box::new(std::io::stdin().lock()),
            Input::Plan { script, .. } => Box::new(script.as_bytes()),
            Input::File(p) => match std::fs::File::open(p) {
                Ok(f) => Box::new(f),
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", p.display());
                    return Ok(ExitCode::from(2));
                }
            },
        };
        summary.files += 1;
        // Human output quotes source lines, so it reads the whole file; the machine formats
        // stream it in chunks and keep memory flat however large the file is.
        let text = match args.format {
            Format::Human => {
                let mut bytes = Vec::new();
                reader.read_to_end(&mut bytes).into_diagnostic()?;
                Some(lint::decode(bytes))
            }
            _ => None,
        };
        let mut sink = |f: lint::Finding| {
            summary.count(&f);
            let r = match args.format {
                Format::Human => {
                    let source = text.as_ref().map_or("", |t| t.text.as_str());
                    out.write_all(human::render(&name, source, &f, color).as_bytes())
                }
                Format::Json => match json.as_mut() {
                    Some(j) => j.finding(&mut out, &name, &f),
                    None => Ok(()),
                },
                Format::Sarif => {
                    sarif.add(&name, &f);
                    Ok(())
                }
                Format::Github => writeln!(out, "{}", github::line(&name, &f)),
            };
            if let Err(e) = r {
                io_error.get_or_insert(e);
            }
        };
        match &text {
            Some(decoded) => {
                if let Some(f) = decoded.problem.clone() {
                    sink(f);
                }
                lint::lint_source_with(&decoded.text, &opts, &mut sink);
            }
            None => {
                if let Err(e) = lint::lint_reader_with(&mut reader, &opts, &mut sink) {
                    eprintln!("error: cannot read {name}: {e}");
                    return Ok(ExitCode::from(2));
                }
            }
        }
        if io_error.is_some() {
            break;
        }
    }

    match args.format {
        Format::Json => {
            if let Some(j) = json {
                j.end(&mut out, &summary).into_diagnostic()?;
            }
        }
        Format::Sarif => sarif.write(&mut out).into_diagnostic()?,
        Format::Human => {
            writeln!(
                out,
                "{} file(s) checked: {} error(s), {} warning(s), {} notice(s)",
                summary.files, summary.errors, summary.warnings, summary.notices
            )
            .into_diagnostic()?;
        }
        Format::Github => {}
    }
    if let Some(e) = io_error {
        // A closed pipe (`formwork lint ... | head`) is not a lint failure worth a trace.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e).into_diagnostic();
        }
    }
    let _ = out.flush();
    Ok(if summary.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Connect and read the lint facts. Messages never contain the password.
fn read_db(url: &str) -> miette::Result<(lint::DbFacts, PgVersion)> {
    let info =
        crate::pg::connect::ConnInfo::parse(url).map_err(|e| miette::miette!("--db: {e}"))?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let client = info
            .connect()
            .await
            .map_err(|e| miette::miette!("--db: {e}"))?;
        lint::db::facts(&client)
            .await
            .map_err(|e| miette::miette!("--db: reading the catalog of {info} failed: {e}"))
    })
}

fn load_config(path: Option<&Path>) -> Result<LintConfig, ExitCode> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from("formwork.kdl"), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) if !required => return Ok(LintConfig::default()),
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return Err(ExitCode::from(2));
        }
    };
    LintConfig::parse(&path.display().to_string(), &text).map_err(|d| {
        eprintln!("{:?}", Report::new_boxed(d));
        ExitCode::from(2)
    })
}

enum Input {
    Stdin,
    File(PathBuf),
    /// A verified plan file, as the SQL session that applies it.
    Plan {
        name: String,
        script: String,
    },
}

/// Paths, directories and globs to the files to lint, in a stable order.
fn expand(args: &[String], config: &LintConfig) -> Result<Vec<Input>, String> {
    let mut out = Vec::new();
    for a in args {
        if a == "-" {
            out.push(Input::Stdin);
            continue;
        }
        let p = Path::new(a);
        let mut found: Vec<PathBuf> = Vec::new();
        if p.is_dir() {
            let pattern = format!("{}/**/*.sql", a.trim_end_matches('/'));
            found.extend(
                glob::glob(&pattern)
                    .map_err(|e| e.to_string())?
                    .filter_map(Result::ok),
            );
        } else if p.exists() {
            found.push(p.to_path_buf());
        } else if a.contains(['*', '?', '[']) {
            found.extend(
                glob::glob(a)
                    .map_err(|e| format!("invalid pattern `{a}`: {e}"))?
                    .filter_map(Result::ok),
            );
            if found.is_empty() {
                return Err(format!("no file matches `{a}`"));
            }
        } else {
            return Err(format!("{a}: no such file or directory"));
        }
        found.sort();
        out.extend(
            found
                .into_iter()
                .filter(|f| !config.excluded(&f.display().to_string()))
                .map(Input::File),
        );
    }
    Ok(out)
}
