//! A short, readable difference between two models' canonical encodings.
//!
//! The canonical encoding (`catalog::fingerprint::canonical_encoding`) is the exact text the
//! fingerprint hashes, as one line of JSON. Comparing it as a tree gives each difference a path
//! (`schemas.public.tables.users.columns.name.data_type`) and, with the object names replaced by
//! `*`, a shape (`schemas.*.tables.*.columns.*.data_type`) that groups the same kind of miss
//! across cases.

use formwork::catalog::fingerprint::canonical_encoding;
use formwork::model::Model;
use serde_json::Value;

/// Model fields whose JSON objects are keyed by object names rather than field names.
const NAME_KEYED: &[&str] = &[
    "extensions",
    "schemas",
    "enums",
    "sequences",
    "tables",
    "views",
    "columns",
    "uniques",
    "foreign_keys",
    "checks",
    "exclusions",
    "indexes",
];

/// One place where the two models differ.
#[derive(Debug, Clone)]
pub struct Difference {
    pub path: String,
    pub shape: String,
    /// Value on the left (`None` = absent), compact JSON.
    pub left: Option<String>,
    pub right: Option<String>,
}

/// Every difference between `left` and `right`, in a stable order.
pub fn differences(left: &Model, right: &Model) -> Vec<Difference> {
    let parse = |m: &Model| serde_json::from_str(&canonical_encoding(m)).unwrap_or(Value::Null);
    let mut out = Vec::new();
    walk(
        &parse(left),
        &parse(right),
        &mut Vec::new(),
        &mut Vec::new(),
        &mut out,
    );
    out
}

fn walk(
    l: &Value,
    r: &Value,
    path: &mut Vec<String>,
    shape: &mut Vec<String>,
    out: &mut Vec<Difference>,
) {
    if l == r {
        return;
    }
    match (l, r) {
        (Value::Object(lm), Value::Object(rm)) => {
            let name_keyed = path
                .last()
                .is_some_and(|k| NAME_KEYED.contains(&k.as_str()))
                && shape.last().is_some_and(|s| s != "*");
            let mut keys: Vec<&String> = lm.keys().chain(rm.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                path.push(k.clone());
                shape.push(if name_keyed { "*".into() } else { k.clone() });
                match (lm.get(k), rm.get(k)) {
                    (Some(a), Some(b)) => walk(a, b, path, shape, out),
                    (a, b) => out.push(difference(path, shape, a, b)),
                }
                path.pop();
                shape.pop();
            }
        }
        (Value::Array(la), Value::Array(ra)) if la.len() == ra.len() => {
            for (i, (a, b)) in la.iter().zip(ra).enumerate() {
                path.push(i.to_string());
                shape.push("[]".into());
                walk(a, b, path, shape, out);
                path.pop();
                shape.pop();
            }
        }
        _ => out.push(difference(path, shape, Some(l), Some(r))),
    }
}

fn difference(
    path: &[String],
    shape: &[String],
    l: Option<&Value>,
    r: Option<&Value>,
) -> Difference {
    Difference {
        path: path.join("."),
        shape: shape.join("."),
        left: l.map(|v| v.to_string()),
        right: r.map(|v| v.to_string()),
    }
}

/// The differences as `-`/`+` lines, at most `max` of them, long values cut.
pub fn render(diffs: &[Difference], left_name: &str, right_name: &str, max: usize) -> String {
    let cut = |v: &Option<String>| match v {
        None => "(absent)".to_string(),
        Some(s) => super::load::one_line(s, 160),
    };
    let mut out = format!("--- {left_name}\n+++ {right_name}\n");
    for d in diffs.iter().take(max) {
        out.push_str(&format!(
            "@ {}\n- {}\n+ {}\n",
            d.path,
            cut(&d.left),
            cut(&d.right)
        ));
    }
    if diffs.len() > max {
        out.push_str(&format!("… {} more\n", diffs.len() - max));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use formwork::kdl::diag::SourceFile;
    use formwork::kdl::load::load_sources;

    fn model(column_type: &str, extra_table: bool) -> Model {
        let extra = if extra_table {
            r#"table "tables" {}"#
        } else {
            ""
        };
        let kdl = format!(
            r#"schema "public" {{
                table "users" {{ column "name" "{column_type}" }}
                {extra}
            }}"#
        );
        load_sources(&[SourceFile::new("test.kdl", kdl)]).unwrap()
    }

    #[test]
    fn a_changed_attribute_is_reported_with_its_path_and_a_name_free_shape() {
        let d = differences(&model("text", false), &model("varchar(40)", false));
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].path,
            "schemas.public.tables.users.columns.name.data_type"
        );
        assert_eq!(d[0].shape, "schemas.*.tables.*.columns.*.data_type");
        assert_eq!(d[0].left.as_deref(), Some("\"text\""));
    }

    #[test]
    fn a_missing_object_named_like_a_field_is_one_absent_entry() {
        let d = differences(&model("text", false), &model("text", true));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].shape, "schemas.*.tables.*");
        assert_eq!(d[0].left, None);
        assert!(render(&d, "a", "b", 5).contains("(absent)"));
    }

    #[test]
    fn equal_models_have_no_differences() {
        assert!(differences(&model("text", true), &model("text", true)).is_empty());
    }
}
