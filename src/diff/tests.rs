use super::*;
use crate::model::{Column, Schema, Table};

fn column(name: &str, ty: &str) -> Column {
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

fn model(tables: Vec<Table>) -> Model {
    let mut s = Schema {
        name: "public".into(),
        ..Schema::default()
    };
    for t in tables {
        s.tables.insert(t.name.clone(), t);
    }
    let mut m = Model::default();
    m.schemas.insert("public".into(), s);
    m
}

fn table(name: &str, cols: &[(&str, &str)]) -> Table {
    let mut t = Table {
        name: name.into(),
        ..Table::default()
    };
    for (c, ty) in cols {
        t.columns.insert(c.to_string(), column(c, ty));
    }
    t
}

#[test]
fn widening_is_not_narrowing_and_the_reverse_is() {
    use super::tables::narrows;
    for (old, new) in [
        ("integer", "bigint"),
        ("smallint", "integer"),
        ("integer", "numeric"),
        ("character varying(20)", "character varying(40)"),
        ("character varying(20)", "text"),
        ("character varying(20)", "character varying"),
        ("numeric(10,2)", "numeric(12,2)"),
        ("real", "double precision"),
        ("integer", "text"),
    ] {
        assert!(!narrows(old, new), "{old} -> {new}");
    }
    for (old, new) in [
        ("bigint", "integer"),
        ("character varying(40)", "character varying(20)"),
        ("text", "character varying(20)"),
        ("numeric(12,2)", "numeric(12,1)"),
        ("text", "integer"),
        ("double precision", "real"),
        ("integer[]", "integer"),
    ] {
        assert!(narrows(old, new), "{old} -> {new}");
    }
}

#[test]
fn a_rename_is_only_taken_from_renamed_from_and_never_guessed() {
    let current = model(vec![table("users", &[("id", "bigint")])]);
    // Same shape, new name, no renamed_from: a drop and a create.
    let desired = model(vec![table("customers", &[("id", "bigint")])]);
    let d = diff(&current, &desired, 15).unwrap();
    assert!(d.drafts.iter().any(|x| x.sql.starts_with("CREATE TABLE")));
    assert!(d.drafts.iter().any(|x| x.sql.starts_with("DROP TABLE")));
    assert_eq!(d.losses().count(), 1);

    let mut renamed = desired.clone();
    renamed.schemas["public"].tables["customers"].renamed_from = Some("users".into());
    let d = diff(&current, &renamed, 15).unwrap();
    // Expand and contract: the old name stays a view until the contract phase.
    assert_eq!(d.drafts.len(), 2, "{:?}", d.drafts);
    assert_eq!(
        d.drafts[0].sql,
        "ALTER TABLE \"public\".\"users\" RENAME TO \"customers\";\n\
         CREATE VIEW \"public\".\"users\" AS SELECT \"id\" FROM \"public\".\"customers\""
    );
    assert_eq!(d.drafts[1].sql, "DROP VIEW \"public\".\"users\"");
    assert_eq!(d.drafts[1].stage.phase(), Phase::Contract);
    assert_eq!(d.losses().count(), 0);
}

#[test]
fn drafts_come_out_in_stage_order_with_every_drop_of_data_in_contract() {
    let current = model(vec![
        table("old", &[("id", "bigint")]),
        table("kept", &[("id", "bigint"), ("gone", "text")]),
    ]);
    let desired = model(vec![
        table("kept", &[("id", "bigint"), ("added", "text")]),
        table("new", &[("id", "bigint")]),
    ]);
    let d = diff(&current, &desired, 15).unwrap();
    let stages: Vec<Stage> = d.drafts.iter().map(|x| x.stage).collect();
    let mut sorted = stages.clone();
    sorted.sort();
    assert_eq!(stages, sorted);
    for draft in &d.drafts {
        if draft.loss.is_some() {
            assert_eq!(draft.stage.phase(), Phase::Contract, "{}", draft.sql);
        }
    }
    assert_eq!(d.losses().count(), 2);
}

#[test]
fn temporary_names_are_stable_distinct_and_fit_postgresql_names() {
    let a = temp_name("notnull", &["public", "users", "email"]);
    let b = temp_name("notnull", &["public", "users", "name"]);
    assert_ne!(a, b);
    assert_eq!(a, temp_name("notnull", &["public", "users", "email"]));
    assert!(a.len() <= 63);
    // Parts are delimited: moving a character between parts changes the name.
    assert_ne!(temp_name("x", &["ab", "c"]), temp_name("x", &["a", "bc"]));
}
