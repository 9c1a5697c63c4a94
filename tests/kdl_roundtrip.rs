//! Model -> files -> model is the identity for every field of the model, including names that
//! need quoting; `fmt` is idempotent, keeps comments and agrees with the writer; the
//! `validate` and `fmt` commands report through their exit codes. No database involved.

use std::path::{Path, PathBuf};
use std::process::Command;

use formwork::kdl::SourceFile;
use formwork::kdl::format::format_source;
use formwork::kdl::load::{load_dir, load_sources};
use formwork::kdl::write::model_to_files;
use formwork::model::*;
use indexmap::IndexMap;

fn map<T>(items: Vec<(&str, T)>) -> IndexMap<String, T> {
    items.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn col(name: &str, ty: &str) -> Column {
    Column {
        grants: Vec::new(),
        name: name.into(),
        data_type: ty.into(),
        not_null: true,
        default: None,
        identity: None,
        generated: None,
        collation: None,
        comment: None,
        renamed_from: None,
    }
}

fn key(col: &str) -> IndexKey {
    IndexKey {
        target: IndexKeyTarget::Column(col.into()),
        collation: None,
        opclass: None,
        descending: false,
        nulls_first: None,
    }
}

/// 63 bytes exactly, with multi-byte characters.
fn name63() -> String {
    let n = format!("{}x", "é".repeat(31));
    assert_eq!(n.len(), 63);
    n
}

const WEIRD_SCHEMA: &str = "My \"Odd\" Schema";
const WEIRD_TABLE: &str = "Order Lines.v2 (old), \"draft\"";

/// A model that uses every field the language can express.
fn rich_model() -> Model {
    let long = name63();
    let mut public = Schema {
        name: "public".into(),
        comment: Some("the main schema\nwith a second line and \"quotes\"".into()),
        ..Schema::default()
    };
    public.enums.insert(
        "event_type".into(),
        Enum {
            name: "event_type".into(),
            values: ["lecture", "party", "sports", "Two Words", "ünï"]
                .iter()
                .map(|v| EnumValue {
                    name: v.to_string(),
                    renamed_from: None,
                })
                .collect(),
            comment: Some("kinds of event".into()),
            renamed_from: None,
        },
    );
    public.enums.insert(
        "order".into(),
        Enum {
            name: "order".into(),
            values: vec![
                EnumValue {
                    name: "new".into(),
                    renamed_from: None,
                },
                EnumValue {
                    name: "paid".into(),
                    renamed_from: Some("completed".into()),
                },
            ],
            comment: None,
            renamed_from: Some("order_state".into()),
        },
    );
    public.sequences.insert(
        "ticket_no".into(),
        Sequence {
            grants: Vec::new(),
            name: "ticket_no".into(),
            options: SequenceOptions {
                data_type: Some("integer".into()),
                start: Some(1000),
                increment: Some(-2),
                min_value: Some(-9_223_372_036_854_775_808),
                max_value: Some(9_223_372_036_854_775_807),
                cache: Some(20),
                cycle: true,
            },
            owned_by: Some(ColumnRef {
                table: QualifiedName::new(WEIRD_SCHEMA, WEIRD_TABLE),
                column: "Line No".into(),
            }),
            comment: Some("numbers on tickets".into()),
            renamed_from: Some("old_ticket_no".into()),
        },
    );
    let mut events = Table {
        name: "Events".into(),
        persistence: Persistence::Permanent,
        comment: Some("it's a table".into()),
        renamed_from: Some("happenings".into()),
        ..Table::default()
    };
    let mut id = col("id", "bigint");
    id.identity = Some(Identity {
        kind: IdentityKind::Always,
        options: SequenceOptions::default(),
    });
    let mut title = col("select", "character varying(200)");
    title.collation = Some("C".into());
    title.comment = Some("reserved word as a name".into());
    title.renamed_from = Some("name".into());
    let mut kind = col("kind", "public.event_type");
    kind.default = Some("'lecture'::public.event_type".into());
    let mut starts = col("starts_at", "timestamp with time zone");
    starts.not_null = false;
    let mut ends = col("ends_at", "timestamp(3) with time zone");
    ends.not_null = false;
    let mut during = col("during", "tstzrange");
    during.not_null = false;
    during.generated = Some(Generated {
        expression: "tstzrange(starts_at, ends_at)".into(),
        kind: GeneratedKind::Stored,
    });
    let mut virt = col("title_len", "integer");
    virt.not_null = false;
    virt.generated = Some(Generated {
        expression: "length(\"select\")".into(),
        kind: GeneratedKind::Virtual,
    });
    let tags = col("tags", "text[]");
    let price = col("price", "numeric(10,2)");
    let mut room = col(&long, "integer");
    room.comment = Some("a 63-byte column name".into());
    let mut st = col("state", "public.\"order\"");
    st.not_null = false;
    for c in [
        id, title, kind, starts, ends, during, virt, tags, price, room, st,
    ] {
        events.columns.insert(c.name.clone(), c);
    }
    events.primary_key = Some(PrimaryKey {
        name: "Events_pkey".into(),
        columns: vec!["id".into()],
        include: vec![],
        deferrable: Deferrable::NotDeferrable,
        comment: None,
        renamed_from: None,
    });
    events.uniques.insert(
        "events_title_key".into(),
        Unique {
            name: "events_title_key".into(),
            columns: vec!["select".into(), "kind".into()],
            include: vec!["price".into()],
            nulls_not_distinct: true,
            deferrable: Deferrable::InitiallyDeferred,
            comment: Some("one title per kind".into()),
            renamed_from: Some("events_name_key".into()),
        },
    );
    events.checks.insert(
        "events_price_check".into(),
        Check {
            name: "events_price_check".into(),
            expression: "price >= 0 AND \"select\" <> ''".into(),
            no_inherit: true,
            valid: false,
            comment: Some("no free lunch".into()),
            renamed_from: Some("price_ok".into()),
        },
    );
    events.exclusions.insert(
        "events_no_overlap".into(),
        Exclusion {
            name: "events_no_overlap".into(),
            method: "gist".into(),
            elements: vec![
                ExclusionElement {
                    key: IndexKey {
                        target: IndexKeyTarget::Column(long.clone()),
                        collation: None,
                        opclass: Some("gist_int4_ops".into()),
                        descending: false,
                        nulls_first: None,
                    },
                    operator: "=".into(),
                },
                ExclusionElement {
                    key: IndexKey {
                        target: IndexKeyTarget::Expression("tstzrange(starts_at, ends_at)".into()),
                        collation: None,
                        opclass: None,
                        descending: true,
                        nulls_first: Some(false),
                    },
                    operator: "&&".into(),
                },
            ],
            include: vec!["kind".into()],
            predicate: Some("kind <> 'party'::public.event_type".into()),
            deferrable: Deferrable::InitiallyImmediate,
            comment: Some("one event per room at a time".into()),
            renamed_from: Some("no_overlap".into()),
        },
    );
    events.exclusions.insert(
        "events_btree_excl".into(),
        Exclusion {
            name: "events_btree_excl".into(),
            method: "btree".into(),
            elements: vec![ExclusionElement {
                key: key("price"),
                operator: "=".into(),
            }],
            include: vec![],
            predicate: None,
            deferrable: Deferrable::NotDeferrable,
            comment: None,
            renamed_from: None,
        },
    );
    events.indexes.insert(
        "events_starts_idx".into(),
        Index {
            name: "events_starts_idx".into(),
            unique: false,
            method: "btree".into(),
            keys: vec![key("starts_at"), key("kind")],
            include: vec![],
            predicate: None,
            nulls_not_distinct: false,
            valid: true,
            comment: None,
            renamed_from: None,
        },
    );
    events.indexes.insert(
        "events_lower_title_idx".into(),
        Index {
            name: "events_lower_title_idx".into(),
            unique: true,
            method: "btree".into(),
            keys: vec![
                IndexKey {
                    target: IndexKeyTarget::Expression("lower((\"select\")::text)".into()),
                    collation: Some("C".into()),
                    opclass: Some("text_pattern_ops".into()),
                    descending: true,
                    nulls_first: Some(true),
                },
                IndexKey {
                    target: IndexKeyTarget::Column("kind".into()),
                    collation: None,
                    opclass: None,
                    descending: false,
                    nulls_first: Some(false),
                },
            ],
            include: vec!["price".into(), "tags".into()],
            predicate: Some("starts_at IS NOT NULL".into()),
            nulls_not_distinct: true,
            valid: true,
            comment: Some("search by title".into()),
            renamed_from: Some("events_title_idx".into()),
        },
    );
    events.indexes.insert(
        "events_tags_idx".into(),
        Index {
            name: "events_tags_idx".into(),
            unique: false,
            method: "gin".into(),
            keys: vec![key("tags")],
            include: vec![],
            predicate: None,
            nulls_not_distinct: false,
            valid: true,
            comment: None,
            renamed_from: None,
        },
    );
    public.tables.insert(events.name.clone(), events);
    public.views.insert(
        "upcoming".into(),
        View {
            grants: Vec::new(),
            name: "upcoming".into(),
            query: " SELECT e.id,\n    e.\"select\" AS title\n   FROM public.\"Events\" e\n  WHERE (e.starts_at > now())".into(),
            options: map(vec![
                ("security_barrier", "true".to_string()),
                ("check_option", "local".to_string()),
            ]),
            comment: Some("front page".into()),
            renamed_from: Some("soon".into()),
            triggers: Default::default(),
        },
    );
    public.views.insert(
        "trailing space view".into(),
        View {
            grants: Vec::new(),
            name: "trailing space view".into(),
            query: "SELECT 1 AS one  \n   \nUNION ALL SELECT 2\\".into(),
            options: IndexMap::new(),
            comment: None,
            renamed_from: None,
            triggers: Default::default(),
        },
    );

    let mut odd = Schema {
        name: WEIRD_SCHEMA.into(),
        comment: None,
        ..Schema::default()
    };
    let mut lines = Table {
        name: WEIRD_TABLE.into(),
        persistence: Persistence::Unlogged,
        ..Table::default()
    };
    let mut line_no = col("Line No", "integer");
    line_no.identity = Some(Identity {
        kind: IdentityKind::ByDefault,
        options: SequenceOptions {
            data_type: Some("integer".into()),
            start: Some(5),
            increment: Some(5),
            min_value: Some(5),
            max_value: Some(500_000),
            cache: Some(10),
            cycle: true,
        },
    });
    let event_id = col("event id", "bigint");
    let mut state = col("State", "\"My \"\"Odd\"\" Schema\".\"Mood\"");
    state.not_null = false;
    let mut room = col(&long, "integer");
    room.not_null = false;
    for c in [line_no, event_id, state, room] {
        lines.columns.insert(c.name.clone(), c);
    }
    lines.primary_key = Some(PrimaryKey {
        name: "lines pk".into(),
        columns: vec!["Line No".into(), "event id".into()],
        include: vec!["State".into()],
        deferrable: Deferrable::InitiallyImmediate,
        comment: Some("composite".into()),
        renamed_from: Some("lines_pkey".into()),
    });
    lines.foreign_keys.insert(
        "lines_event_fk".into(),
        ForeignKey {
            name: "lines_event_fk".into(),
            columns: vec!["event id".into(), long.clone()],
            references: QualifiedName::new("public", "Events"),
            referenced_columns: vec!["id".into(), long.clone()],
            on_delete: FkAction::Cascade,
            on_update: FkAction::SetNull,
            match_type: FkMatch::Full,
            deferrable: Deferrable::InitiallyDeferred,
            valid: false,
            comment: Some("cross-schema, composite".into()),
            renamed_from: Some("lines_fk".into()),
        },
    );
    for (n, a) in [
        ("fk_restrict", FkAction::Restrict),
        ("fk_set_default", FkAction::SetDefault),
        ("fk_no_action", FkAction::NoAction),
    ] {
        lines.foreign_keys.insert(
            n.into(),
            ForeignKey {
                name: n.into(),
                columns: vec!["Line No".into(), "event id".into()],
                references: QualifiedName::new(WEIRD_SCHEMA, WEIRD_TABLE),
                referenced_columns: vec!["Line No".into(), "event id".into()],
                on_delete: a,
                on_update: a,
                match_type: FkMatch::Simple,
                deferrable: Deferrable::NotDeferrable,
                valid: true,
                comment: None,
                renamed_from: None,
            },
        );
    }
    odd.tables.insert(lines.name.clone(), lines);
    odd.enums.insert(
        "Mood".into(),
        Enum {
            name: "Mood".into(),
            values: vec![],
            comment: None,
            renamed_from: None,
        },
    );
    let empty = Schema {
        name: "extensions".into(),
        comment: Some("a schema named like the extensions file".into()),
        ..Schema::default()
    };

    let mut model = Model::default();
    model.extensions.insert(
        "citext".into(),
        Extension {
            name: "citext".into(),
            schema: "public".into(),
            version: Some("1.6".into()),
            comment: Some("case-insensitive text".into()),
        },
    );
    model.extensions.insert(
        "pg_trgm".into(),
        Extension {
            name: "pg_trgm".into(),
            schema: "extensions".into(),
            version: None,
            comment: None,
        },
    );
    for s in [public, odd, empty] {
        model.schemas.insert(s.name.clone(), s);
    }
    model
}

fn sources(files: &[(PathBuf, String)]) -> Vec<SourceFile> {
    files
        .iter()
        .map(|(p, t)| SourceFile::new(p.display().to_string(), t.clone()))
        .collect()
}

#[test]
fn every_field_survives_write_then_load() {
    let model = rich_model();
    let files = model_to_files(&model);
    let loaded = match load_sources(&sources(&files)) {
        Ok(m) => m,
        Err(e) => panic!("{e:?}\n{files:#?}"),
    };
    assert_eq!(loaded, model);
}

#[test]
fn writing_is_deterministic_and_already_formatted() {
    let model = rich_model();
    let files = model_to_files(&model);
    assert_eq!(files, model_to_files(&model));
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    assert_eq!(
        names,
        vec![
            "extensions.kdl",
            "public.kdl",
            "%4Dy%20%22%4Fdd%22%20%53chema.kdl",
            "%65xtensions.kdl"
        ]
    );
    for (path, text) in &files {
        let formatted = format_source(&path.display().to_string(), text).unwrap();
        assert_eq!(&formatted, text, "{} is not in fmt form", path.display());
    }
}

#[test]
fn files_can_be_split_any_way() {
    // The same declaration cut into one file per table, schema blocks repeated.
    let model = rich_model();
    let files = model_to_files(&model);
    let loaded_once = load_sources(&sources(&files)).unwrap();
    let mut split = Vec::new();
    for (i, (p, text)) in files.iter().enumerate() {
        split.push(SourceFile::new(
            format!("{i}-{}", p.display()),
            text.clone(),
        ));
    }
    split.reverse();
    assert_eq!(load_sources(&split).unwrap(), loaded_once);
}

#[test]
fn catalog_spellings_load_cleanly() {
    let src = r#"
schema "public" {
    enum "event_type" "a" "b"
    table "t" {
        column "a" "integer"
        column "b" "character varying(20)"
        column "c" "timestamp with time zone"
        column "d" "numeric(10,2)"
        column "e" "text[]"
        column "f" "public.event_type"
        column "g" "double precision"
        column "h" "timestamp without time zone"
        column "i" "bit varying(8)"
        column "j" "event_type[]"
        column "k" "interval year to month"
    }
}
"#;
    let m = load_sources(&[SourceFile::new("t.kdl", src)]).unwrap();
    let t = &m.schemas["public"].tables["t"];
    assert_eq!(t.columns["b"].data_type, "character varying(20)");
    // An unqualified enum is qualified with the schema it resolved in.
    assert_eq!(t.columns["j"].data_type, "public.event_type[]");
}

#[test]
fn defaults_of_the_language() {
    let src = r#"
schema "public" {
    table "users" {
        column "id" "bigint" identity="always"
        column "bio" "text" nullable=#true
        primary-key "id"
        index "users_bio_idx" "bio"
    }
    table "posts" {
        column "id" "bigint"
        column "author" "bigint"
        foreign-key "posts_author_fk" "author" references="users"
    }
}
"#;
    let m = load_sources(&[SourceFile::new("t.kdl", src)]).unwrap();
    let users = &m.schemas["public"].tables["users"];
    assert!(
        users.columns["id"].not_null,
        "columns are NOT NULL by default"
    );
    assert!(!users.columns["bio"].not_null);
    assert_eq!(users.primary_key.as_ref().unwrap().name, "users_pkey");
    assert_eq!(users.indexes["users_bio_idx"].method, "btree");
    let fk = &m.schemas["public"].tables["posts"].foreign_keys["posts_author_fk"];
    assert_eq!(fk.references, QualifiedName::new("public", "users"));
    assert_eq!(
        fk.referenced_columns,
        vec!["id".to_string()],
        "the primary key is referenced"
    );
    assert_eq!(fk.on_delete, FkAction::NoAction);
}

const MESSY: &str = "// Header comment.\n\n\n/* block\n   comment */\nschema public comment=\"c\" { // on the brace line\n  enum kind a b   c\n\n\n  // the users table\n  table users renamed-from=people unlogged=#true {\n    column id bigint ; column name text /* inline */ nullable=#true\n    /-column gone text\n    primary-key id // trailing\n  } // after the table\n\n  // last words\n}\n";

#[test]
fn fmt_is_idempotent_and_keeps_every_comment() {
    let once = format_source("m.kdl", MESSY).unwrap();
    let twice = format_source("m.kdl", &once).unwrap();
    assert_eq!(once, twice);
    for c in [
        "// Header comment.",
        "/* block\n   comment */",
        "// on the brace line",
        "// the users table",
        "/* inline */",
        "/-column gone text",
        "// trailing",
        "// after the table",
        "// last words",
    ] {
        assert!(once.contains(c), "lost {c:?}:\n{once}");
    }
    insta::assert_snapshot!(once);
    // Same meaning as before.
    let a = load_sources(&[SourceFile::new("m.kdl", MESSY)]).unwrap();
    let b = load_sources(&[SourceFile::new("m.kdl", once)]).unwrap();
    assert_eq!(a, b);
}

#[test]
fn fmt_refuses_text_that_does_not_parse() {
    let e = format_source("bad.kdl", "schema \"x\" {").unwrap_err();
    assert_eq!(e.problems[0].kind, formwork::kdl::ProblemKind::Syntax);
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("formwork-kdl-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn formwork(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn fmt_check_lists_files_that_would_change_and_fmt_fixes_them() {
    let dir = temp_dir("fmt");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let messy = dir.join("sub/messy.kdl");
    let clean = dir.join("clean.kdl");
    std::fs::write(&messy, MESSY).unwrap();
    std::fs::write(&clean, format_source("c", "schema \"other\"\n").unwrap()).unwrap();

    let (code, stdout, _) = formwork(&["fmt", "--check"], &dir);
    assert_eq!(code, 1);
    assert!(stdout.contains("messy.kdl"), "{stdout}");
    assert!(!stdout.contains("clean.kdl"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&messy).unwrap(),
        MESSY,
        "--check writes nothing"
    );

    let (code, _, stderr) = formwork(&["fmt"], &dir);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&messy).unwrap(),
        format_source("m", MESSY).unwrap()
    );
    let (code, stdout, _) = formwork(&["fmt", "--check"], &dir);
    assert_eq!(code, 0, "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validate_accepts_the_example_and_rejects_a_broken_declaration() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let (code, stdout, stderr) = formwork(&["validate"], &example);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("no problems"), "{stdout}");
    let model = load_dir(&example).unwrap();
    assert!(model.tables().count() >= 6);

    let dir = temp_dir("validate");
    std::fs::write(
        dir.join("a.kdl"),
        "schema \"public\" {\n    tabel \"t\"\n}\n",
    )
    .unwrap();
    let (code, _, stderr) = formwork(&["validate"], &dir);
    assert_eq!(code, 1);
    assert!(stderr.contains("did you mean `table`?"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_example_schemas_are_formatted() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    for entry in std::fs::read_dir(example).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            format_source("x", &text).unwrap(),
            text,
            "{}",
            path.display()
        );
    }
}

#[test]
fn the_language_reference_in_docs_is_generated_from_the_spec() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/kdl.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = "<!-- reference:start -->\n";
    let end = "<!-- reference:end -->";
    let from = doc.find(start).expect("reference start marker") + start.len();
    let to = doc.find(end).expect("reference end marker");
    let generated = formwork::kdl::spec::reference_markdown();
    if std::env::var_os("FORMWORK_BLESS_DOCS").is_some() {
        std::fs::write(&path, format!("{}{generated}{}", &doc[..from], &doc[to..])).unwrap();
        return;
    }
    assert_eq!(
        &doc[from..to],
        generated,
        "docs/kdl.md is out of date: run this test with FORMWORK_BLESS_DOCS=1"
    );
}

#[test]
fn every_kdl_example_in_the_docs_is_valid_and_formatted() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/kdl.md")).unwrap();
    let mut count = 0;
    for block in doc.split("```kdl\n").skip(1) {
        let example = block.split("```").next().unwrap();
        let example = example
            .lines()
            .map(|l| l.strip_prefix("  ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        if let Err(e) = format_source("docs example", &example) {
            panic!("{e:?}\n{example}");
        }
        count += 1;
    }
    assert!(count >= 15, "only {count} examples found");
}
