//! The three renderings of a plan: snapshots of a realistic plan and an empty one, colour only
//! when asked, Markdown that survives hostile names, and JSON that keeps the promises of
//! docs/plan-json.md.

mod render_support;

use formwork::render::{Format, render};
use render_support::{empty_plan, huge_plan, sample_plan};

#[test]
fn text_rendering_of_a_multi_step_plan() {
    insta::assert_snapshot!(render(&sample_plan(), Format::Text, false));
}

#[test]
fn markdown_rendering_of_a_multi_step_plan() {
    insta::assert_snapshot!(render(&sample_plan(), Format::Markdown, false));
}

#[test]
fn json_rendering_of_a_multi_step_plan() {
    insta::assert_snapshot!(render(&sample_plan(), Format::Json, false));
}

#[test]
fn text_rendering_of_an_empty_plan_says_no_changes_and_lists_unmanaged_objects() {
    let text = render(&empty_plan(), Format::Text, false);
    assert!(text.contains("No changes."), "{text}");
    assert!(text.contains("public.audit_trigger()"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn markdown_rendering_of_an_empty_plan() {
    insta::assert_snapshot!(render(&empty_plan(), Format::Markdown, false));
}

#[test]
fn json_rendering_of_an_empty_plan() {
    insta::assert_snapshot!(render(&empty_plan(), Format::Json, false));
}

#[test]
fn color_text_has_ansi_escapes_and_plain_text_has_none() {
    let plan = sample_plan();
    let colored = render(&plan, Format::Text, true);
    let plain = render(&plan, Format::Text, false);
    assert!(colored.contains("\u{1b}["), "{colored}");
    assert!(!plain.contains('\u{1b}'), "{plain}");
    for format in [Format::Markdown, Format::Json] {
        assert!(!render(&plan, format, true).contains('\u{1b}'));
    }
    // Colour only emphasises: without the escapes the words are the same.
    assert_eq!(strip_ansi(&colored), plain);
}

#[test]
fn every_rendering_names_the_full_plan_id() {
    let plan = sample_plan();
    for format in [Format::Text, Format::Markdown, Format::Json] {
        assert!(
            render(&plan, format, false).contains(&plan.id().to_hex()),
            "{format:?}"
        );
    }
}

#[test]
fn lock_hold_time_comes_from_the_estimates() {
    let plan = sample_plan();
    // Markdown escapes `~` (GitHub reads single tildes as strikethrough).
    for (format, tilde) in [(Format::Text, "~"), (Format::Markdown, "\\~")] {
        let out = render(&plan, format, false);
        assert!(out.contains("metadata only"), "{format:?}");
        assert!(
            out.contains(&format!(
                "scans public.users: {tilde}2.1M rows ({tilde}1.2 GB)"
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "rewrites public.events: {tilde}850 rows ({tilde}96 kB)"
            )),
            "{out}"
        );
        assert!(out.contains("size unknown"), "{format:?}");
    }
}

#[test]
fn markdown_tables_keep_their_columns_whatever_the_names_contain() {
    let md = render(&sample_plan(), Format::Markdown, false);
    let mut columns = None;
    for line in md.lines() {
        if line.is_empty() || !line.starts_with('|') {
            columns = None;
            continue;
        }
        let cells = unescaped_pipes(line);
        match columns {
            None => columns = Some(cells),
            Some(n) => assert_eq!(cells, n, "a row with a different column count: {line}"),
        }
    }
    // The hostile name never reaches the page as markup outside a code fence.
    let outside_fences: String = outside_code_fences(&md);
    assert!(!outside_fences.contains("<v2>"), "{outside_fences}");
    assert!(outside_fences.contains(r"audit\|log\<v2\>\*\`x\`"));
}

/// What a GFM parser makes of the Markdown: the only HTML is the handful of tags we write,
/// no emphasis, strikethrough, math or links come from names, every table row has its
/// header's cells, the hostile name reads back literally, and every step's SQL comes back
/// exactly from an `sql` code block.
#[test]
fn markdown_parses_as_intended_with_hostile_names() {
    use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

    let plan = sample_plan();
    let md = render(&plan, Format::Markdown, false);
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_MATH;
    let mut text = String::new();
    let mut sql_blocks: Vec<String> = Vec::new();
    let mut in_sql = false;
    let (mut head_cells, mut row_cells, mut in_head) = (0, 0, false);
    for event in Parser::new_ext(&md, options) {
        match event {
            Event::Html(html) | Event::InlineHtml(html) => {
                let mut rest = html.trim().to_string();
                for tag in [
                    "<details>",
                    "</details>",
                    "<summary>",
                    "</summary>",
                    "<code>",
                    "</code>",
                    "<br>",
                ] {
                    rest = rest.replace(tag, "");
                }
                // What remains is only the summary's own words.
                assert!(
                    !rest.contains('<') && !rest.contains('>'),
                    "unexpected HTML: {html}"
                );
                text.push_str(&rest);
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) => {
                assert_eq!(&*lang, "sql");
                in_sql = true;
                sql_blocks.push(String::new());
            }
            Event::End(TagEnd::CodeBlock) => in_sql = false,
            Event::Text(t) if in_sql => {
                if let Some(last) = sql_blocks.last_mut() {
                    last.push_str(&t);
                }
            }
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::Start(Tag::TableHead) => (in_head, head_cells) = (true, 0),
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableRow) => row_cells = 0,
            Event::End(TagEnd::TableRow) => {
                assert_eq!(row_cells, head_cells, "a table row lost or gained cells")
            }
            Event::Start(Tag::TableCell) if in_head => head_cells += 1,
            Event::Start(Tag::TableCell) => row_cells += 1,
            Event::Start(
                tag @ (Tag::Emphasis | Tag::Strikethrough | Tag::Link { .. } | Tag::Image { .. }),
            ) => panic!("markup the renderer never writes: {tag:?}"),
            Event::InlineMath(m) | Event::DisplayMath(m) => panic!("math from a name: {m}"),
            _ => {}
        }
    }
    assert!(text.contains("billing.audit|log<v2>*`x`"), "{text}");
    assert!(
        text.contains("scans public.users: ~2.1M rows (~1.2 GB)"),
        "{text}"
    );
    let expected: Vec<String> = plan
        .steps()
        .iter()
        .map(|s| format!("{}\n", s.sql.trim()))
        .collect();
    assert_eq!(sql_blocks, expected);
}

#[test]
fn markdown_sql_fence_is_longer_than_backticks_inside_the_sql() {
    let md = render(&sample_plan(), Format::Markdown, false);
    assert!(md.contains("````sql\nALTER TABLE billing."), "{md}");
}

#[test]
fn markdown_of_a_huge_plan_fits_in_one_github_comment_and_says_what_it_left_out() {
    let plan = huge_plan(250, 3_000);
    let md = render(&plan, Format::Markdown, false);
    assert!(
        md.chars().count() <= 65_536,
        "{} characters",
        md.chars().count()
    );
    // What a reviewer must always see survives: the id and the counts of every step.
    assert!(md.contains(&plan.id().to_hex()));
    assert!(md.contains("| steps | 250 | 0 | 250 |"), "{md}");
    assert!(md.contains("| scans-table | 250 | 0 | 250 |"));
    assert!(md.contains("left out"), "{md}");
    assert!(md.contains("`formwork show` on the plan file shows every step"));
    assert!(md.contains("3000 objects formwork does not manage"));
    // Nothing is cut in the middle: every fence and <details> that opens also closes.
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    assert_eq!(md.matches("```").count() % 2, 0);
    // A plan that fits is never shortened.
    assert!(!render(&sample_plan(), Format::Markdown, false).contains("left out"));
}

#[test]
fn json_has_every_top_level_and_step_field_docs_plan_json_md_documents() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/plan-json.md"))
        .expect("docs/plan-json.md exists");
    let fields = doc
        .split("\n## Fields\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("docs/plan-json.md has a Fields section");
    let documented: Vec<String> = fields
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    assert!(documented.len() > 20, "the field table was not found");

    let json: serde_json::Value =
        serde_json::from_str(&render(&sample_plan(), Format::Json, false)).expect("valid JSON");
    assert_eq!(json["format_version"], 1);
    for path in &documented {
        assert!(
            lookup(&json, path),
            "docs/plan-json.md documents `{path}` but the JSON has no such field"
        );
    }
    // The example in the documentation is valid JSON with documented fields only.
    let example = doc
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("docs/plan-json.md has a JSON example");
    let example: serde_json::Value =
        serde_json::from_str(example).expect("the documented example is valid JSON");
    let mut in_example = Vec::new();
    field_paths(&example, "", &mut in_example);
    for path in in_example {
        assert!(
            documented.contains(&path),
            "the example has undocumented `{path}`"
        );
    }
    // And the other way round: nothing in the JSON is undocumented.
    let mut found = Vec::new();
    field_paths(&json, "", &mut found);
    for path in found {
        assert!(
            documented.contains(&path),
            "the JSON has `{path}` but docs/plan-json.md does not document it"
        );
    }
}

#[test]
fn json_counts_every_phase_and_hazard_kind_even_when_zero() {
    let json: serde_json::Value =
        serde_json::from_str(&render(&empty_plan(), Format::Json, false)).expect("valid JSON");
    assert_eq!(json["summary"]["steps"], 0);
    assert_eq!(json["summary"]["by_phase"]["expand"], 0);
    for kind in formwork::plan::HazardKind::ALL {
        assert_eq!(json["summary"]["by_hazard"][kind.as_str()], 0, "{kind}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&render(&sample_plan(), Format::Json, false)).expect("valid JSON");
    assert_eq!(json["summary"]["by_phase"]["expand"], 7);
    assert_eq!(json["summary"]["by_phase"]["contract"], 1);
    assert_eq!(json["summary"]["by_hazard"]["scans-table"], 3);
    assert_eq!(json["steps"][0]["locks"][0]["mode"], "AccessExclusiveLock");
    assert_eq!(json["steps"][0]["locks"][0]["object"]["name"], "users");
    assert_eq!(json["steps"][0]["backfill"], serde_json::Value::Null);
    let backfill = &json["steps"][1]["backfill"];
    assert_eq!(backfill["key"], "columns");
    assert_eq!(backfill["key_columns"][0]["data_type"], "bigint");
    assert_eq!(backfill["set"][0]["column"], "email");
    assert_eq!(backfill["predicate"], "\"email\" IS NULL");
}

/// Whether a documented path such as `steps[].locks[].mode` or `summary.by_hazard.<kind>`
/// exists in the JSON (in at least one element of each array on the way).
fn lookup(json: &serde_json::Value, path: &str) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    exists(json, &parts)
}

fn exists(value: &serde_json::Value, parts: &[&str]) -> bool {
    let Some((part, rest)) = parts.split_first() else {
        return true;
    };
    let (key, array) = match part.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (*part, false),
    };
    let children: Vec<&serde_json::Value> = match value.as_object() {
        Some(object) if key.starts_with('<') => object.values().collect(),
        Some(object) => object.get(key).into_iter().collect(),
        None => Vec::new(),
    };
    children.into_iter().any(|child| {
        if array {
            child
                .as_array()
                .is_some_and(|items| items.iter().any(|item| exists(item, rest)))
        } else {
            exists(child, rest)
        }
    })
}

/// Every field path in the JSON, in the documentation's notation. Objects whose keys are data
/// (hazard kinds, phases) are written as `<phase>`/`<kind>` placeholders.
fn field_paths(json: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    let Some(object) = json.as_object() else {
        return;
    };
    for (key, value) in object {
        let key = match prefix {
            "summary.by_phase" => "<phase>",
            "summary.by_hazard" => "<kind>",
            _ => key.as_str(),
        };
        let path = if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        if !out.contains(&path) {
            out.push(path.clone());
        }
        match value.as_array() {
            Some(items) => {
                for item in items {
                    field_paths(item, &format!("{path}[]"), out);
                }
            }
            None => field_paths(value, &path, out),
        }
    }
}

fn unescaped_pipes(line: &str) -> usize {
    let mut count = 0;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => count += 1,
            _ => escaped = false,
        }
        if c != '\\' {
            escaped = false;
        }
    }
    count
}

fn outside_code_fences(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let ticks: String = line.chars().take_while(|&c| c == '`').collect();
        match &fence {
            Some(open) if ticks == *open && line.trim_end() == open => fence = None,
            Some(_) => {}
            None if ticks.len() >= 3 => fence = Some(ticks),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
