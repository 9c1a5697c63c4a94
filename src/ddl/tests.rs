//! Rendered text for the cases that are easy to get wrong. That the output runs and reproduces
//! the model on a real server is proven by `tests/roundtrip.rs`.

use indexmap::IndexMap;

use super::*;
use crate::model::*;

fn col(name: &str, ty: &str) -> Column {
    Column {
        grants: Vec::new(),
        name: name.into(),
        data_type: ty.into(),
        not_null: false,
        default: None,
        identity: None,
        generated: None,
        collation: None,
        comment: None,
        renamed_from: None,
    }
}

fn table(name: &str, cols: Vec<Column>) -> Table {
    Table {
        name: name.into(),
        columns: cols.into_iter().map(|c| (c.name.clone(), c)).collect(),
        ..Table::default()
    }
}

fn fk(name: &str, col: &str, to: QualifiedName, to_col: &str) -> ForeignKey {
    ForeignKey {
        name: name.into(),
        columns: vec![col.into()],
        references: to,
        referenced_columns: vec![to_col.into()],
        on_delete: FkAction::NoAction,
        on_update: FkAction::NoAction,
        match_type: FkMatch::Simple,
        deferrable: Deferrable::NotDeferrable,
        valid: true,
        comment: None,
        renamed_from: None,
    }
}

fn key(target: IndexKeyTarget) -> IndexKey {
    IndexKey {
        target,
        collation: None,
        opclass: None,
        descending: false,
        nulls_first: None,
    }
}

fn view(name: &str, query: &str) -> View {
    View {
        grants: Vec::new(),
        name: name.into(),
        query: query.into(),
        options: IndexMap::new(),
        comment: None,
        renamed_from: None,
        triggers: IndexMap::new(),
    }
}

fn schema(name: &str) -> Schema {
    Schema {
        name: name.into(),
        ..Schema::default()
    }
}

fn model_with(schema: Schema) -> Model {
    let mut m = Model::default();
    m.schemas.insert(schema.name.clone(), schema);
    m
}

fn position(stmts: &[String], needle: &str) -> usize {
    stmts
        .iter()
        .position(|s| s.contains(needle))
        .unwrap_or_else(|| panic!("no statement contains {needle:?} in {stmts:#?}"))
}

#[test]
fn foreign_key_cycle_is_added_after_both_tables_exist() {
    let mut a = table("a", vec![col("id", "integer"), col("b_id", "integer")]);
    let mut b = table("b", vec![col("id", "integer"), col("a_id", "integer")]);
    a.foreign_keys.insert(
        "a_b".into(),
        fk("a_b", "b_id", QualifiedName::new("app", "b"), "id"),
    );
    b.foreign_keys.insert(
        "b_a".into(),
        fk("b_a", "a_id", QualifiedName::new("app", "a"), "id"),
    );
    let mut s = schema("app");
    s.tables.insert("a".into(), a);
    s.tables.insert("b".into(), b);
    let stmts = render(&model_with(s));

    let create_b = position(&stmts, "CREATE TABLE \"app\".\"b\"");
    let fk_a = position(&stmts, "CONSTRAINT \"a_b\" FOREIGN KEY");
    let fk_b = position(&stmts, "CONSTRAINT \"b_a\" FOREIGN KEY");
    assert!(create_b < fk_a && create_b < fk_b);
    assert_eq!(
        stmts[fk_a],
        "ALTER TABLE \"app\".\"a\" ADD CONSTRAINT \"a_b\" FOREIGN KEY (\"b_id\") \
         REFERENCES \"app\".\"b\" (\"id\")"
    );
    assert_eq!(stmts[0], "CREATE SCHEMA \"app\"");
}

#[test]
fn foreign_key_options_render_in_grammar_order() {
    let mut k = fk("x", "a", QualifiedName::new("other", "T"), "id");
    k.columns = vec!["a".into(), "b".into()];
    k.referenced_columns = vec!["id".into(), "v".into()];
    k.match_type = FkMatch::Full;
    k.on_update = FkAction::Cascade;
    k.on_delete = FkAction::SetNull;
    k.deferrable = Deferrable::InitiallyDeferred;
    k.valid = false;
    assert_eq!(
        table::foreign_key_for_test(&k),
        "CONSTRAINT \"x\" FOREIGN KEY (\"a\", \"b\") REFERENCES \"other\".\"T\" (\"id\", \"v\") \
         MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED NOT VALID"
    );
}

#[test]
fn awkward_identifiers_are_quoted_everywhere() {
    let name = "Weird \"quoted\" name";
    let mut t = table(
        name,
        vec![col("select", "text"), col("Ünïcode col", "text")],
    );
    t.comment = Some("it's a \\ comment".into());
    t.primary_key = Some(PrimaryKey {
        name: "pk \"x\"".into(),
        columns: vec!["select".into()],
        include: vec!["Ünïcode col".into()],
        deferrable: Deferrable::NotDeferrable,
        comment: None,
        renamed_from: None,
    });
    let mut s = schema("My Schema");
    s.tables.insert(name.into(), t);
    let stmts = render(&model_with(s));
    assert_eq!(
        stmts[1],
        "CREATE TABLE \"My Schema\".\"Weird \"\"quoted\"\" name\" (\n    \
         \"select\" text,\n    \"Ünïcode col\" text,\n    \
         CONSTRAINT \"pk \"\"x\"\"\" PRIMARY KEY (\"select\") INCLUDE (\"Ünïcode col\")\n)"
    );
    assert!(stmts.contains(
        &"COMMENT ON TABLE \"My Schema\".\"Weird \"\"quoted\"\" name\" IS E'it''s a \\\\ comment'"
            .to_string()
    ));
}

#[test]
fn not_valid_check_is_an_alter_and_valid_check_is_inline() {
    let mut t = table("t", vec![col("n", "integer")]);
    for (name, valid, no_inherit) in [("pos", true, true), ("small", false, false)] {
        t.checks.insert(
            name.into(),
            Check {
                name: name.into(),
                expression: "n > 0".into(),
                no_inherit,
                valid,
                comment: None,
                renamed_from: None,
            },
        );
    }
    let mut s = schema("public");
    s.tables.insert("t".into(), t);
    let stmts = render(&model_with(s));
    assert_eq!(
        stmts[0],
        "CREATE TABLE \"public\".\"t\" (\n    \"n\" integer,\n    \
         CONSTRAINT \"pos\" CHECK (n > 0) NO INHERIT\n)"
    );
    assert_eq!(
        stmts[1],
        "ALTER TABLE \"public\".\"t\" ADD CONSTRAINT \"small\" CHECK (n > 0) NOT VALID"
    );
    // `public` is never created, and its stock comment is cleared.
    assert_eq!(stmts[2], "COMMENT ON SCHEMA \"public\" IS NULL");
}

#[test]
fn columns_render_identity_generated_collation_and_default() {
    let mut id = col("id", "bigint");
    id.not_null = true;
    id.identity = Some(Identity {
        kind: IdentityKind::ByDefault,
        options: SequenceOptions {
            data_type: Some("bigint".into()),
            start: Some(100),
            increment: Some(-5),
            min_value: Some(-1000),
            max_value: Some(1000),
            cache: Some(10),
            cycle: true,
        },
    });
    let mut g = col("total", "numeric(12,2)");
    g.generated = Some(Generated {
        expression: "price * qty".into(),
        kind: GeneratedKind::Stored,
    });
    let mut c = col("code", "character varying(20)");
    c.collation = Some("C".into());
    c.default = Some("'x'::character varying".into());
    c.not_null = true;
    let mut q = col("name", "text");
    q.collation = Some("pg_catalog.\"en-x-icu\"".into());
    assert_eq!(
        table::column_for_test(&id),
        "\"id\" bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY (INCREMENT BY -5 \
         MINVALUE -1000 MAXVALUE 1000 START WITH 100 CACHE 10 CYCLE)"
    );
    assert_eq!(
        table::column_for_test(&g),
        "\"total\" numeric(12,2) GENERATED ALWAYS AS (price * qty) STORED"
    );
    assert_eq!(
        table::column_for_test(&c),
        "\"code\" character varying(20) COLLATE \"C\" DEFAULT 'x'::character varying NOT NULL"
    );
    assert_eq!(
        table::column_for_test(&q),
        "\"name\" text COLLATE pg_catalog.\"en-x-icu\""
    );
}

#[test]
fn index_renders_every_key_option_include_nulls_and_predicate() {
    let mut k1 = key(IndexKeyTarget::Column("Name".into()));
    k1.collation = Some("C".into());
    k1.opclass = Some("text_pattern_ops".into());
    k1.descending = true;
    k1.nulls_first = Some(false);
    let mut k2 = key(IndexKeyTarget::Expression("lower(email)".into()));
    k2.nulls_first = Some(true);
    // `schema.name` when the schema is the model's; a dotted pg_catalog name stays one name.
    let mut k3 = key(IndexKeyTarget::Column("code".into()));
    k3.collation = Some("en_US.utf8".into());
    k3.opclass = Some("ext.my_ops".into());
    let idx = Index {
        name: "idx".into(),
        unique: true,
        method: "btree".into(),
        keys: vec![k1, k2, k3],
        include: vec!["id".into()],
        predicate: Some("deleted_at IS NULL".into()),
        nulls_not_distinct: true,
        valid: true,
        comment: None,
        renamed_from: None,
    };
    let s = schema("s");
    let t = table("t", vec![]);
    assert_eq!(
        table::create_index(&table::Names::of(&model_with(schema("ext"))), &s, &t, &idx),
        "CREATE UNIQUE INDEX \"idx\" ON \"s\".\"t\" USING \"btree\" (\"Name\" COLLATE \"C\" \
         \"text_pattern_ops\" DESC NULLS LAST, (lower(email)) NULLS FIRST, \"code\" COLLATE \
         \"en_US.utf8\" \"ext\".\"my_ops\") INCLUDE (\"id\") \
         NULLS NOT DISTINCT WHERE (deleted_at IS NULL)"
    );
}

#[test]
fn unique_and_exclusion_constraints_are_inline() {
    let mut t = table(
        "booking",
        vec![col("room", "integer"), col("during", "tstzrange")],
    );
    t.uniques.insert(
        "u".into(),
        Unique {
            name: "u".into(),
            columns: vec!["room".into()],
            include: vec![],
            nulls_not_distinct: true,
            deferrable: Deferrable::InitiallyImmediate,
            comment: Some("one per room".into()),
            renamed_from: None,
        },
    );
    t.exclusions.insert(
        "no_overlap".into(),
        Exclusion {
            name: "no_overlap".into(),
            method: "gist".into(),
            elements: vec![
                ExclusionElement {
                    key: key(IndexKeyTarget::Column("room".into())),
                    operator: "=".into(),
                },
                ExclusionElement {
                    key: key(IndexKeyTarget::Column("during".into())),
                    operator: "&&".into(),
                },
            ],
            include: vec![],
            predicate: Some("room > 0".into()),
            deferrable: Deferrable::InitiallyDeferred,
            comment: None,
            renamed_from: None,
        },
    );
    let s = schema("s");
    let sql = table::create_table(&table::Names::of(&Model::default()), &s, &t);
    assert!(sql.contains(
        "CONSTRAINT \"u\" UNIQUE NULLS NOT DISTINCT (\"room\") DEFERRABLE INITIALLY IMMEDIATE"
    ));
    assert!(sql.contains(
        "CONSTRAINT \"no_overlap\" EXCLUDE USING \"gist\" (\"room\" WITH =, \"during\" WITH &&) \
         WHERE (room > 0) DEFERRABLE INITIALLY DEFERRED"
    ));
    assert_eq!(
        table::comments(&s, &t),
        vec!["COMMENT ON CONSTRAINT \"u\" ON \"s\".\"booking\" IS 'one per room'".to_string()]
    );
}

#[test]
fn sequences_come_before_tables_and_ownership_after() {
    let mut s = schema("public");
    s.sequences.insert(
        "t_id_seq".into(),
        Sequence {
            grants: Vec::new(),
            name: "t_id_seq".into(),
            options: SequenceOptions {
                data_type: Some("integer".into()),
                ..SequenceOptions::default()
            },
            owned_by: Some(ColumnRef {
                table: QualifiedName::new("public", "t"),
                column: "id".into(),
            }),
            comment: None,
            renamed_from: None,
        },
    );
    let mut id = col("id", "integer");
    id.default = Some("nextval('t_id_seq'::regclass)".into());
    s.tables.insert("t".into(), table("t", vec![id]));
    let stmts = render(&model_with(s));
    assert_eq!(
        stmts[0],
        "CREATE SEQUENCE \"public\".\"t_id_seq\" AS integer"
    );
    assert!(stmts[1].starts_with("CREATE TABLE"));
    assert_eq!(
        stmts[2],
        "ALTER SEQUENCE \"public\".\"t_id_seq\" OWNED BY \"public\".\"t\".\"id\""
    );
}

#[test]
fn views_come_after_the_views_they_read_whatever_the_declaration_order() {
    let mut s = schema("r");
    // Declared (and sorted by name, as the catalog would) before the views they read.
    s.views.insert(
        "a_top".into(),
        view(
            "a_top",
            " SELECT x FROM r.\"B mid\" JOIN public.base USING (x);",
        ),
    );
    s.views
        .insert("B mid".into(), view("B mid", "SELECT x FROM c_low"));
    s.views
        .insert("c_low".into(), view("c_low", "SELECT 1 AS x"));
    let mut opts = IndexMap::new();
    opts.insert("check_option".to_string(), "local".to_string());
    let mut p = Schema {
        name: "public".into(),
        comment: Some("standard public schema".into()),
        ..Schema::default()
    };
    p.views.insert(
        "base".into(),
        View {
            options: opts,
            ..view("base", "SELECT 1 AS x")
        },
    );
    let mut m = Model::default();
    m.schemas.insert("r".into(), s);
    m.schemas.insert("public".into(), p);
    let stmts = render(&m);
    let views: Vec<&String> = stmts
        .iter()
        .filter(|s| s.starts_with("CREATE VIEW"))
        .collect();
    assert_eq!(views.len(), 4);
    assert!(views[0].starts_with("CREATE VIEW \"r\".\"c_low\""));
    assert!(views[1].starts_with("CREATE VIEW \"r\".\"B mid\""));
    assert_eq!(
        views[2].as_str(),
        "CREATE VIEW \"public\".\"base\" WITH (\"check_option\"='local') AS\nSELECT 1 AS x"
    );
    assert_eq!(
        views[3].as_str(),
        "CREATE VIEW \"r\".\"a_top\" AS\nSELECT x FROM r.\"B mid\" JOIN public.base USING (x)"
    );
    assert!(stmts.contains(&"COMMENT ON SCHEMA \"public\" IS 'standard public schema'".into()));
}

#[test]
fn view_cycle_or_unparsable_query_falls_back_to_declaration_order() {
    let mut s = schema("public");
    s.views.insert("x".into(), view("x", "SELECT * FROM y"));
    s.views.insert("y".into(), view("y", "SELECT * FROM x"));
    s.views.insert("z".into(), view("z", "this is not sql"));
    let stmts = render(&model_with(s));
    let names: Vec<&str> = stmts
        .iter()
        .filter(|s| s.starts_with("CREATE VIEW"))
        .map(|s| &s[12..24])
        .collect();
    // `z` reads nothing it can be shown to need, so it is ready first; the cycle is then broken
    // in declaration order.
    assert_eq!(names.len(), 3);
    assert!(names[0].contains("\"z\""), "{names:?}");
    assert!(names[1].contains("\"x\""), "{names:?}");
    assert!(names[2].contains("\"y\""), "{names:?}");
}

#[test]
fn extensions_follow_schemas_and_enums_precede_tables() {
    let mut m = Model::default();
    m.extensions.insert(
        "citext".into(),
        Extension {
            name: "citext".into(),
            schema: "ext".into(),
            version: Some("1.6".into()),
            comment: None,
        },
    );
    let mut s = schema("ext");
    s.enums.insert(
        "mood".into(),
        Enum {
            name: "mood".into(),
            values: vec![
                EnumValue {
                    name: "it's ok".into(),
                    renamed_from: None,
                },
                EnumValue {
                    name: "happy".into(),
                    renamed_from: None,
                },
            ],
            comment: None,
            renamed_from: None,
        },
    );
    s.tables
        .insert("t".into(), table("t", vec![col("m", "ext.mood")]));
    m.schemas.insert("ext".into(), s);
    let stmts = render(&m);
    assert_eq!(
        &stmts[..3],
        &[
            "CREATE SCHEMA \"ext\"".to_string(),
            "CREATE EXTENSION IF NOT EXISTS \"citext\" WITH SCHEMA \"ext\" VERSION '1.6'".into(),
            "CREATE TYPE \"ext\".\"mood\" AS ENUM ('it''s ok', 'happy')".into(),
        ]
    );
    assert!(stmts[3].starts_with("CREATE TABLE \"ext\".\"t\""));
    assert!(render_script(&m).ends_with(";\n\n"));
}
