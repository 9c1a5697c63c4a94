//! Every diagnostic the KDL loader reports: its kind, its message and the exact byte span it
//! points at. No database involved.

use formwork::kdl::load::load_sources;
use formwork::kdl::{Problem, ProblemKind, SourceFile};

fn problems_of(files: &[(&str, &str)]) -> Vec<Problem> {
    let sources: Vec<SourceFile> = files.iter().map(|(n, t)| SourceFile::new(*n, *t)).collect();
    match load_sources(&sources) {
        Ok(m) => panic!("expected problems, the files loaded: {m:#?}"),
        Err(e) => e.problems,
    }
}

/// The single problem of one file.
fn only(src: &str) -> Problem {
    let mut ps = problems_of(&[("t.kdl", src)]);
    assert_eq!(ps.len(), 1, "expected one problem, got {ps:#?}");
    ps.remove(0)
}

/// Byte range of the `n`th (0-based) occurrence of `needle` in `src`.
fn at(src: &str, needle: &str, n: usize) -> Option<(usize, usize)> {
    let offset = src.match_indices(needle).nth(n).map(|(i, _)| i)?;
    Some((offset, needle.len()))
}

fn table(body: &str) -> String {
    format!(
        "schema \"public\" {{\n    table \"t\" {{\n        column \"id\" \"bigint\"\n{body}\n    }}\n}}\n"
    )
}

#[test]
fn syntax_error_points_at_the_broken_node() {
    let src = "schema \"public\" {\n    table \"t\" x=\n}\n";
    let p = only(src);
    assert_eq!(p.kind, ProblemKind::Syntax);
    assert!(p.message.starts_with("syntax error: "), "{}", p.message);
    // kdl reports from the start of the node it could not finish to where it gave up.
    assert_eq!(p.message, "syntax error: Expected property value");
    assert_eq!(p.range(), Some((0, 34)));
    assert!(p.snippet().unwrap().contains("x="), "{:?}", p.snippet());
}

#[test]
fn a_broken_file_does_not_make_references_into_it_dangle() {
    let a = "schema \"public\" {\n    table \"users\" {\n        column \"id\" \"bigint\"\n        column \"x\" x=\n    }\n}\n";
    let b = "schema \"public\" {\n    table \"t\" {\n        column \"u\" \"bigint\"\n        foreign-key \"t_u_fk\" \"u\" references=\"users(id)\"\n    }\n}\n";
    let ps = problems_of(&[("a.kdl", a), ("b.kdl", b)]);
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert_eq!(ps[0].kind, ProblemKind::Syntax);
    assert_eq!(ps[0].file, "a.kdl");
}

#[test]
fn binary_garbage_is_a_syntax_error_not_a_panic() {
    let src =
        String::from_utf8_lossy(&[0xff, 0x00, 0x7b, 0x22, 0xc3, 0x28, 0x7d, 0x7d]).into_owned();
    let ps = problems_of(&[("bin.kdl", &src)]);
    assert!(!ps.is_empty());
    assert!(
        ps.len() <= 3,
        "at most a few syntax errors per file: {ps:#?}"
    );
    assert!(ps.iter().all(|p| p.kind == ProblemKind::Syntax));
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    let src = "a {".repeat(10_000);
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::TooDeep);
    assert_eq!(
        p.message,
        "blocks or comments nested more than 64 levels deep"
    );
    assert_eq!(p.range(), Some((3 * 64 + 2, 1)));
}

#[test]
fn unknown_node_suggests_the_closest_name() {
    let src = table("        colum \"name\" \"text\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::UnknownNode);
    assert_eq!(p.message, "unknown node `colum` in a table block");
    assert_eq!(p.help.as_deref(), Some("did you mean `column`?"));
    assert_eq!(p.range(), at(&src, "colum ", 0).map(|(o, _)| (o, 5)));
}

#[test]
fn node_in_the_wrong_block_says_where_it_belongs() {
    let src = "schema \"public\" {\n    column \"id\" \"bigint\"\n}\n";
    let p = only(src);
    assert_eq!(p.kind, ProblemKind::UnknownNode);
    assert_eq!(p.message, "unknown node `column` in a schema block");
    assert_eq!(p.help.as_deref(), Some("`column` belongs in a table block"));
    assert_eq!(p.range(), Some((22, 6)));
}

#[test]
fn unknown_property_suggests_the_closest_name() {
    let src = table("        column \"bio\" \"text\" nulable=#true");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::UnknownProperty);
    assert_eq!(p.message, "`column` has no property `nulable`");
    assert_eq!(p.help.as_deref(), Some("did you mean `nullable`?"));
    assert_eq!(p.range(), at(&src, "nulable", 0));
}

#[test]
fn missing_arguments_point_at_the_node_name() {
    let src = table("        column \"bio\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::WrongArity);
    assert_eq!(p.message, "`column` takes 2 arguments, found 1");
    assert_eq!(p.help.as_deref(), Some("write it as: column <name> <type>"));
    assert_eq!(p.range(), at(&src, "column", 1));
}

#[test]
fn extra_arguments_point_at_the_first_extra() {
    let src = table("        check \"c\" \"id > 0\" \"extra\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::WrongArity);
    assert_eq!(p.message, "`check` takes 2 arguments, found 3");
    assert_eq!(p.range(), at(&src, "\"extra\"", 0));
}

#[test]
fn wrong_value_type_names_what_was_expected() {
    let src = table("        column \"bio\" \"text\" nullable=\"true\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::BadValue);
    assert_eq!(
        p.message,
        "`nullable` must be #true or #false, found a string"
    );
    assert_eq!(
        p.help.as_deref(),
        Some("booleans are written #true in KDL 2")
    );
    assert_eq!(p.range(), at(&src, "nullable=\"true\"", 0));
}

#[test]
fn a_choice_outside_the_list_gets_a_suggestion() {
    let src = table(
        "        column \"o\" \"bigint\"\n        foreign-key \"t_o_fk\" \"o\" references=\"t(id)\" on-delete=\"cascad\"",
    );
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::BadValue);
    assert_eq!(
        p.message,
        "`on-delete` must be one of \"no-action\", \"restrict\", \"cascade\", \"set-null\", \"set-default\", found \"cascad\""
    );
    assert_eq!(p.help.as_deref(), Some("did you mean `cascade`?"));
    assert_eq!(p.range(), at(&src, "on-delete=\"cascad\"", 0));
}

#[test]
fn integers_outside_64_bits_are_refused() {
    let src = "schema \"public\" {\n    sequence \"s\" start=99999999999999999999\n}\n";
    let p = only(src);
    assert_eq!(p.kind, ProblemKind::BadValue);
    assert_eq!(
        p.message,
        "`start` must be an integer, found an integer outside the 64-bit range"
    );
    assert_eq!(p.range(), at(src, "start=99999999999999999999", 0));
}

#[test]
fn a_property_given_twice_is_reported_at_the_second() {
    let src = table("        column \"bio\" \"text\" nullable=#true nullable=#false");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::DuplicateProperty);
    assert_eq!(p.message, "property `nullable` is given twice on `column`");
    assert_eq!(p.help.as_deref(), Some("first given on line 4; keep one"));
    assert_eq!(p.range(), at(&src, "nullable=#false", 0));
}

#[test]
fn a_required_property_that_is_missing_is_named() {
    let src = table("        column \"o\" \"bigint\"\n        foreign-key \"t_o_fk\" \"o\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::MissingProperty);
    assert_eq!(p.message, "`foreign-key` needs the property `references`");
    assert_eq!(p.range(), at(&src, "foreign-key", 0));
}

#[test]
fn a_column_declared_twice_is_a_duplicate_name() {
    let src = table("        column \"id\" \"integer\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::DuplicateName);
    assert_eq!(
        p.message,
        "column `id` of table `public.t` is declared twice"
    );
    assert_eq!(p.help.as_deref(), Some("first declared on line 3"));
    assert_eq!(p.range(), at(&src, "\"id\"", 1));
}

#[test]
fn an_index_cannot_take_a_table_name() {
    let src = table("        index \"t\" \"id\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::DuplicateName);
    assert_eq!(
        p.message,
        "index `t` on table `public.t` has the name of table `public.t` declared earlier"
    );
    assert_eq!(p.range(), at(&src, "\"t\"", 1));
}

#[test]
fn duplicate_enum_values_are_reported() {
    let src = "schema \"public\" {\n    enum \"e\" \"a\" \"b\" \"a\"\n}\n";
    let p = only(src);
    assert_eq!(p.kind, ProblemKind::DuplicateName);
    assert_eq!(
        p.message,
        "value \"a\" of enum `public.e` is declared twice"
    );
    assert_eq!(p.range(), at(src, "\"a\"", 1));
}

#[test]
fn two_files_declaring_one_table_are_both_named() {
    let a =
        "schema \"public\" {\n    table \"users\" {\n        column \"id\" \"bigint\"\n    }\n}\n";
    let b = "// second copy\nschema \"public\" {\n    table \"users\" {\n        column \"id\" \"bigint\"\n    }\n}\n";
    let ps = problems_of(&[("a.kdl", a), ("b.kdl", b)]);
    assert_eq!(ps.len(), 1, "{ps:#?}");
    let p = &ps[0];
    assert_eq!(p.kind, ProblemKind::DeclaredInTwoFiles);
    assert_eq!(p.message, "table `public.users` is declared in two files");
    assert_eq!(p.file, "b.kdl");
    assert_eq!(p.help.as_deref(), Some("also declared in a.kdl:2:11"));
    assert_eq!(p.range(), at(b, "\"users\"", 0));
}

#[test]
fn names_longer_than_63_bytes_are_refused() {
    let long = "x".repeat(64);
    let src = format!("schema \"public\" {{\n    table \"{long}\"\n}}\n");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::InvalidName);
    assert_eq!(
        p.message,
        "`xxxxxxxxxxxxxxxxxxxx...` is 64 bytes long; PostgreSQL truncates names to 63 bytes"
    );
    assert_eq!(p.range(), at(&src, &format!("\"{long}\""), 0));
    assert_eq!(p.range(), Some((28, 66)));
}

#[test]
fn foreign_key_to_a_missing_table_suggests_one() {
    let src = "schema \"public\" {\n    table \"users\" {\n        column \"id\" \"bigint\"\n        primary-key \"id\"\n    }\n    table \"t\" {\n        column \"u\" \"bigint\"\n        foreign-key \"t_u_fk\" \"u\" references=\"user(id)\"\n    }\n}\n";
    let p = only(src);
    assert_eq!(p.kind, ProblemKind::DanglingReference);
    assert_eq!(
        p.message,
        "foreign key `t_u_fk` references table `public.user`, which is not declared"
    );
    assert_eq!(p.help.as_deref(), Some("did you mean `users`?"));
    assert_eq!(p.range(), at(src, "references=\"user(id)\"", 0));
}

#[test]
fn foreign_key_to_a_missing_column_is_dangling() {
    let src = table(
        "        column \"p\" \"bigint\"\n        foreign-key \"t_p_fk\" \"p\" references=\"t(idd)\"",
    );
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::DanglingReference);
    assert_eq!(
        p.message,
        "foreign key `t_p_fk` references column `idd`, which table `public.t` does not have"
    );
    assert_eq!(p.help.as_deref(), Some("did you mean `id`?"));
    assert_eq!(p.range(), at(&src, "references=\"t(idd)\"", 0));
}

#[test]
fn foreign_key_without_columns_needs_a_primary_key_there() {
    let src = table(
        "        column \"p\" \"bigint\"\n        foreign-key \"t_p_fk\" \"p\" references=\"t\"",
    );
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::DanglingReference);
    assert_eq!(
        p.message,
        "foreign key `t_p_fk` references table `public.t`, which has no primary key"
    );
    assert_eq!(p.range(), at(&src, "references=\"t\"", 0));
}

#[test]
fn a_malformed_reference_says_what_is_expected() {
    let src = table(
        "        column \"p\" \"bigint\"\n        foreign-key \"t_p_fk\" \"p\" references=\"t(id\"",
    );
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::BadValue);
    assert_eq!(
        p.message,
        "`references` is not a table reference: expected `,` or `)`"
    );
    assert_eq!(p.range(), at(&src, "references=\"t(id\"", 0));
}

#[test]
fn a_column_of_an_unknown_type_is_dangling() {
    let src = table("        column \"at\" \"timestamptx\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::DanglingReference);
    assert_eq!(
        p.message,
        "unknown type `timestamptx`: not a built-in type, nor an enum declared in schema `public`"
    );
    assert_eq!(p.help.as_deref(), Some("did you mean `timestamptz`?"));
    assert_eq!(p.range(), at(&src, "\"timestamptx\"", 0));
}

#[test]
fn an_extension_type_needs_its_extension() {
    let src = table("        column \"email\" \"citext\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::DanglingReference);
    assert_eq!(
        p.message,
        "type `citext` comes from extension `citext`, which is not declared"
    );
    assert_eq!(p.range(), at(&src, "\"citext\"", 0));
}

#[test]
fn key_columns_must_exist() {
    let src = table("        primary-key \"idd\"\n        index \"t_x_idx\" \"x\"");
    let ps = problems_of(&[("t.kdl", &src)]);
    assert_eq!(ps.len(), 2, "{ps:#?}");
    assert_eq!(
        ps[0].message,
        "primary key column `idd` is not a column of table `public.t`"
    );
    assert_eq!(ps[0].help.as_deref(), Some("did you mean `id`?"));
    assert_eq!(ps[0].range(), at(&src, "\"idd\"", 0));
    assert_eq!(
        ps[1].message,
        "key column `x` is not a column of table `public.t`"
    );
    assert_eq!(ps[1].range(), at(&src, "\"x\"", 0));
}

#[test]
fn owned_by_must_name_a_declared_column() {
    let src = "schema \"public\" {\n    sequence \"s\" owned-by=\"t.nope\"\n    table \"t\" {\n        column \"id\" \"bigint\"\n    }\n}\n";
    let p = only(src);
    assert_eq!(p.kind, ProblemKind::DanglingReference);
    assert_eq!(
        p.message,
        "sequence `public.s` is owned by `public.t.nope`, which is not a column"
    );
    assert_eq!(p.range(), at(src, "owned-by=\"t.nope\"", 0));
}

#[test]
fn contradicting_options_are_a_conflict() {
    let src = table("        column \"n\" \"bigint\" default=\"0\" identity=\"always\"");
    let p = only(&src);
    assert_eq!(p.kind, ProblemKind::Conflict);
    assert_eq!(p.message, "column `n` has both a default and an identity");
    assert_eq!(p.range(), at(&src, "default=\"0\"", 0));
}

#[test]
fn children_on_a_leaf_and_type_annotations_are_refused() {
    let src = table(
        "        check \"c\" \"id > 0\" {\n            x\n        }\n        column \"n\" (t)\"int\"",
    );
    let ps = problems_of(&[("t.kdl", &src)]);
    assert_eq!(ps.len(), 2, "{ps:#?}");
    assert_eq!(ps[0].kind, ProblemKind::UnexpectedSyntax);
    assert_eq!(ps[0].message, "`check` takes no children block");
    assert_eq!(ps[0].range(), at(&src, "x\n", 0).map(|(o, _)| (o, 1)));
    assert_eq!(ps[1].message, "type annotation `(t)` has no meaning here");
    assert_eq!(ps[1].range(), at(&src, "t)", 0).map(|(o, _)| (o, 1)));
}

#[test]
fn every_problem_of_a_run_is_reported_at_once() {
    let src = table(
        "        colum \"a\" \"text\"\n        column \"b\" \"txt\"\n        column \"c\" \"text\" nulable=#true\n        index \"i\" \"zz\"",
    );
    let ps = problems_of(&[("t.kdl", &src)]);
    let kinds: Vec<ProblemKind> = ps.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ProblemKind::UnknownNode,
            ProblemKind::DanglingReference,
            ProblemKind::UnknownProperty,
            ProblemKind::DanglingReference,
        ]
    );
    // Sorted by position in the file.
    let offsets: Vec<usize> = ps.iter().map(|p| p.range().unwrap().0).collect();
    let mut sorted = offsets.clone();
    sorted.sort();
    assert_eq!(offsets, sorted);
}

#[test]
fn rendering_shows_file_line_and_help() {
    let src = table("        colum \"a\" \"text\"\n        column \"b\" \"text\" nulable=#true");
    let err = load_sources(&[SourceFile::new("schemas/app.kdl", src)]).unwrap_err();
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, &err)
        .unwrap();
    insta::assert_snapshot!(out);
}

#[test]
fn files_over_the_size_limit_are_refused_with_a_message() {
    let huge = format!("// {}\n", "x".repeat(formwork::kdl::load::MAX_FILE_BYTES));
    let p = only(&huge);
    assert_eq!(p.kind, ProblemKind::Io);
    assert!(p.message.contains("are refused"), "{}", p.message);
    assert_eq!(p.range(), None);
}

#[test]
fn every_truncation_of_a_real_file_loads_or_reports_without_panicking() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/public.kdl"))
        .unwrap();
    let mut cut = 0;
    while cut < text.len() {
        if text.is_char_boundary(cut) {
            let prefix = &text[..cut];
            let _ = load_sources(&[SourceFile::new("cut.kdl", prefix)]);
            let _ = formwork::kdl::format::format_source("cut.kdl", prefix);
        }
        cut += 61;
    }
}

#[test]
fn fuzz_regressions_load_without_panicking() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz_regressions");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let _ = load_sources(&[SourceFile::new("r.kdl", text.clone())]);
        if let Ok(out) = formwork::kdl::format::format_source("r.kdl", &text) {
            let again = formwork::kdl::format::format_source("r.kdl", &out).unwrap();
            assert_eq!(again, out, "{}", path.display());
        }
    }
}

#[test]
fn a_file_that_is_not_utf8_is_reported_at_the_first_bad_byte() {
    let dir = std::env::temp_dir().join(format!("formwork-kdl-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.kdl"), b"schema \"p\xffx\"\n").unwrap();
    let err = formwork::kdl::load::load_dir(&dir).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(err.problems.len(), 1);
    let p = &err.problems[0];
    assert_eq!(p.kind, ProblemKind::Io);
    assert!(
        p.message.ends_with("bad.kdl is not valid UTF-8"),
        "{}",
        p.message
    );
    // The replacement character that stands for the bad byte, whole.
    assert_eq!(p.range(), Some((9, 3)));
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, &err)
        .unwrap();
    assert!(out.contains("first invalid byte"), "{out}");
}

#[test]
fn an_extension_must_go_in_a_declared_schema() {
    let src = "extension \"pg_trgm\" schema=\"extensions\"\nschema \"extension\"\n";
    let p = only(src);
    assert_eq!(p.kind, ProblemKind::DanglingReference);
    assert_eq!(
        p.message,
        "extension `pg_trgm` goes in schema `extensions`, which is not declared"
    );
    assert_eq!(p.help.as_deref(), Some("did you mean `extension`?"));
    assert_eq!(p.range(), at(src, "schema=\"extensions\"", 0));
}
