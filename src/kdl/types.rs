//! Does a column's type exist? Built-in PostgreSQL types, enums declared anywhere, and types
//! that come with a declared extension.
//!
//! The type stays SQL text: formwork does not normalise spellings (`int` stays `int`; the
//! catalog of the scratch database decides what it is). The one rewrite is that an unqualified
//! enum name is qualified with the schema it resolved to, so the meaning does not depend on a
//! `search_path` at apply time; that is also how the catalog prints user types.
//!
//! Not done here: checking type modifiers (`varchar(0)`), domains, composite and range types
//! declared outside formwork (those are not part of the language yet).

use std::collections::BTreeMap;

/// Base names of built-in types, as `format_type` prints them and as people write them,
/// modifiers and array brackets removed, lower case, single spaces.
const BUILTIN: &[&str] = &[
    "bigint",
    "int8",
    "integer",
    "int",
    "int4",
    "smallint",
    "int2",
    "numeric",
    "decimal",
    "real",
    "float4",
    "double precision",
    "float8",
    "float",
    "money",
    "text",
    "character varying",
    "varchar",
    "character",
    "char",
    "bpchar",
    "\"char\"",
    "name",
    "bytea",
    "boolean",
    "bool",
    "date",
    "time",
    "time without time zone",
    "time with time zone",
    "timetz",
    "timestamp",
    "timestamp without time zone",
    "timestamp with time zone",
    "timestamptz",
    "interval",
    "uuid",
    "json",
    "jsonb",
    "jsonpath",
    "xml",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "bit",
    "bit varying",
    "varbit",
    "tsvector",
    "tsquery",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
    "int4multirange",
    "int8multirange",
    "nummultirange",
    "tsmultirange",
    "tstzmultirange",
    "datemultirange",
    "oid",
    "regclass",
    "regtype",
    "regproc",
    "regprocedure",
    "regoper",
    "regoperator",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regrole",
    "regcollation",
    "xid",
    "xid8",
    "cid",
    "tid",
    "pg_lsn",
    "pg_snapshot",
    "txid_snapshot",
];

const INTERVAL_FIELDS: &[&str] = &[
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "year to month",
    "day to hour",
    "day to minute",
    "day to second",
    "hour to minute",
    "hour to second",
    "minute to second",
];

/// Types that well-known extensions add, with the extension that adds them.
pub const EXTENSION_TYPES: &[(&str, &str)] = &[
    ("citext", "citext"),
    ("hstore", "hstore"),
    ("ltree", "ltree"),
    ("lquery", "ltree"),
    ("ltxtquery", "ltree"),
    ("vector", "vector"),
    ("halfvec", "vector"),
    ("sparsevec", "vector"),
    ("geometry", "postgis"),
    ("geography", "postgis"),
    ("box2d", "postgis"),
    ("box3d", "postgis"),
    ("cube", "cube"),
    ("seg", "seg"),
    ("isbn", "isn"),
    ("isbn13", "isn"),
    ("issn", "isn"),
    ("ean13", "isn"),
    ("upc", "isn"),
];

/// What the resolver may look at.
pub struct TypeEnv<'a> {
    /// Enum names by schema.
    pub enums: &'a BTreeMap<String, Vec<String>>,
    /// Declared extensions: name to schema.
    pub extensions: &'a BTreeMap<String, String>,
}

/// Why a type does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError {
    pub message: String,
    pub help: Option<String>,
}

/// Check `ty` as written on a column of a table in `schema`; returns the text to store.
pub fn resolve(ty: &str, schema: &str, env: &TypeEnv<'_>) -> Result<String, TypeError> {
    let trimmed = ty.trim();
    let (base, suffix) = split_array_suffix(trimmed).ok_or_else(|| TypeError {
        message: format!("`{ty}` is not a type: unbalanced `[`"),
        help: None,
    })?;
    let (base_no_mods, mods) = split_modifiers(base).ok_or_else(|| TypeError {
        message: format!("`{ty}` is not a type: unbalanced parentheses"),
        help: None,
    })?;
    if base_no_mods.is_empty() {
        return Err(TypeError {
            message: "a column type cannot be empty".into(),
            help: Some("write the type as SQL, e.g. \"text\" or \"numeric(10,2)\"".into()),
        });
    }
    let parts = split_qualified(&base_no_mods).ok_or_else(|| TypeError {
        message: format!("`{ty}` is not a type name"),
        help: None,
    })?;
    match parts.as_slice() {
        [only] => resolve_unqualified(ty, only, &mods, suffix, schema, env),
        [sch, name] => resolve_qualified(ty, sch, name, env).map(|()| trimmed.to_string()),
        _ => Err(TypeError {
            message: format!("`{ty}` has too many dots for a type name"),
            help: None,
        }),
    }
}

fn resolve_unqualified(
    ty: &str,
    name: &Part,
    mods: &str,
    suffix: &str,
    schema: &str,
    env: &TypeEnv<'_>,
) -> Result<String, TypeError> {
    if !name.quoted {
        let words = normalise_words(&name.text);
        if is_builtin(&words) {
            return Ok(ty.trim().to_string());
        }
        if matches!(
            words.as_str(),
            "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2"
        ) {
            return Err(TypeError {
                message: format!("`{}` is not a type but a shorthand of CREATE TABLE", name.text),
                help: Some(
                    "declare the column as an identity (`identity=\"by-default\"`), or as an integer with a `sequence` owned by it and `default=\"nextval('...')\"`".into(),
                ),
            });
        }
    }
    let lookup = name.folded();
    for candidate_schema in [schema, "public"] {
        if env
            .enums
            .get(candidate_schema)
            .is_some_and(|e| e.contains(&lookup))
        {
            return Ok(format!(
                "{}.{}{mods}{suffix}",
                sql_ident(candidate_schema),
                sql_ident(&lookup)
            ));
        }
    }
    if let Some((_, ext)) = EXTENSION_TYPES.iter().find(|(t, _)| *t == lookup) {
        if env.extensions.contains_key(*ext) {
            return Ok(ty.trim().to_string());
        }
        return Err(TypeError {
            message: format!("type `{lookup}` comes from extension `{ext}`, which is not declared"),
            help: Some(format!(
                "declare it at the top of a file: extension \"{ext}\""
            )),
        });
    }
    let mut candidates: Vec<String> = BUILTIN.iter().map(|s| s.to_string()).collect();
    for s in [schema, "public"] {
        if let Some(e) = env.enums.get(s) {
            candidates.extend(e.iter().map(|n| sql_ident(n)));
        }
    }
    let help = crate::kdl::diag::closest(&lookup, candidates.iter().map(String::as_str))
        .map(|c| format!("did you mean `{c}`?"))
        .or_else(|| {
            // A declared enum whose name differs only in case needs SQL quotes.
            env.enums
                .values()
                .flatten()
                .find(|e| e.to_lowercase() == lookup.to_lowercase() && **e != lookup)
                .map(|e| {
                    format!(
                        "type names are SQL: write {} for the enum `{e}`",
                        sql_ident(e)
                    )
                })
        });
    let where_ = if schema == "public" {
        "schema `public`".to_string()
    } else {
        format!("schema `{schema}` or `public`")
    };
    Err(TypeError {
        message: format!(
            "unknown type `{}`: not a built-in type, nor an enum declared in {where_}",
            ty.trim()
        ),
        help,
    })
}

fn resolve_qualified(
    ty: &str,
    schema: &Part,
    name: &Part,
    env: &TypeEnv<'_>,
) -> Result<(), TypeError> {
    let sch = schema.folded();
    let n = name.folded();
    if sch == "pg_catalog" && (is_builtin(&normalise_words(&n)) || !name.quoted) {
        return Ok(());
    }
    if env.enums.get(&sch).is_some_and(|e| e.contains(&n)) {
        return Ok(());
    }
    if env.extensions.values().any(|s| *s == sch) {
        // Extensions add types formwork cannot list; trust a name in their schema.
        return Ok(());
    }
    let help = env
        .enums
        .get(&sch)
        .and_then(|e| crate::kdl::diag::did_you_mean(&n, e.iter().map(String::as_str)))
        .or_else(|| {
            env.extensions
                .is_empty()
                .then(|| "types from an extension need the extension declared: extension \"<name>\" schema=\"<schema>\"".to_string())
        });
    Err(TypeError {
        message: format!(
            "unknown type `{}`: no enum `{n}` is declared in schema `{sch}`, and no extension lives there",
            ty.trim()
        ),
        help,
    })
}

fn is_builtin(words: &str) -> bool {
    if BUILTIN.contains(&words) {
        return true;
    }
    if let Some(fields) = words.strip_prefix("interval ") {
        return INTERVAL_FIELDS.contains(&fields);
    }
    false
}

/// Lower-cased, modifiers gone, single spaces: `Character  Varying` -> `character varying`.
fn normalise_words(s: &str) -> String {
    s.split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text[]`, `int[3][]`: the base and the bracket suffix.
fn split_array_suffix(s: &str) -> Option<(&str, &str)> {
    let mut end = s.len();
    loop {
        let head = s[..end].trim_end();
        if let Some(h) = head.strip_suffix(']') {
            let open = h.rfind('[')?;
            if !h[open + 1..].trim().chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            end = open;
        } else {
            let base = head;
            return Some((base, &s[base.len()..]));
        }
    }
}

/// Remove `(...)` groups outside double quotes: `timestamp(3) with time zone` ->
/// (`timestamp  with time zone`, `(3)`). Returns the last group for re-attachment to a
/// qualified enum (enums take none, but extension types such as `vector(3)` do).
fn split_modifiers(s: &str) -> Option<(String, String)> {
    let mut base = String::new();
    let mut mods = String::new();
    let mut depth = 0usize;
    let mut in_quotes = false;
    for c in s.chars() {
        if in_quotes {
            base.push(c);
            if c == '"' {
                in_quotes = false;
            }
            continue;
        }
        match c {
            '"' if depth == 0 => {
                in_quotes = true;
                base.push(c);
            }
            '(' => {
                if depth == 0 {
                    mods.clear();
                }
                depth += 1;
                mods.push(c);
            }
            ')' => {
                depth = depth.checked_sub(1)?;
                mods.push(c);
            }
            c if depth > 0 => mods.push(c),
            c => base.push(c),
        }
    }
    if depth != 0 || in_quotes {
        return None;
    }
    Some((base.trim().to_string(), mods))
}

#[derive(Debug)]
struct Part {
    text: String,
    quoted: bool,
}

impl Part {
    /// SQL folding: unquoted names are lower-cased (ASCII only, as PostgreSQL does).
    fn folded(&self) -> String {
        if self.quoted {
            self.text.clone()
        } else {
            self.text.to_ascii_lowercase()
        }
    }
}

/// Split `a.b`, `"A b".c` at dots outside quotes. Bare parts may contain spaces
/// (`double precision`).
fn split_qualified(s: &str) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    None => return None,
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        text.push('"');
                    }
                    Some('"') => break,
                    Some(c) => text.push(c),
                }
            }
            // The internal single-byte type is spelled with quotes.
            let quoted = text != "char";
            parts.push(Part {
                text: if quoted { text } else { "\"char\"".into() },
                quoted,
            });
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            let mut text = String::new();
            while let Some(&c) = chars.peek() {
                if c == '.' || c == '"' {
                    break;
                }
                text.push(c);
                chars.next();
            }
            let text = text.trim().to_string();
            if text.is_empty() {
                return None;
            }
            parts.push(Part {
                text,
                quoted: false,
            });
        }
        match chars.next() {
            None => return Some(parts),
            Some('.') => continue,
            Some(_) => return None,
        }
    }
}

/// PostgreSQL's reserved and type/function-name keywords: as a schema name in a type they
/// must be quoted (quoting them elsewhere is harmless).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// A name as SQL needs it in a type: bare when lower-case simple, else double-quoted.
pub fn sql_ident(name: &str) -> String {
    let simple = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if simple && !is_builtin(name) && !RESERVED.contains(&name) {
        name.to_string()
    } else {
        crate::sql::quote_ident(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(
        enums: &[(&str, &str)],
        exts: &[(&str, &str)],
    ) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, String>) {
        let mut e: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (s, n) in enums {
            e.entry(s.to_string()).or_default().push(n.to_string());
        }
        let x = exts
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        (e, x)
    }

    fn check(
        ty: &str,
        schema: &str,
        enums: &[(&str, &str)],
        exts: &[(&str, &str)],
    ) -> Result<String, TypeError> {
        let (e, x) = env_with(enums, exts);
        resolve(
            ty,
            schema,
            &TypeEnv {
                enums: &e,
                extensions: &x,
            },
        )
    }

    #[test]
    fn catalog_spellings_of_builtins_resolve() {
        for ty in [
            "integer",
            "character varying(20)",
            "timestamp with time zone",
            "timestamp(3) without time zone",
            "numeric(10,2)",
            "text[]",
            "integer[][]",
            "double precision",
            "interval day to second(3)",
            "bit varying(5)",
            "\"char\"",
            "pg_catalog.int4",
            "VARCHAR(3)",
            "int4[3]",
        ] {
            assert_eq!(check(ty, "public", &[], &[]).as_deref(), Ok(ty), "{ty}");
        }
    }

    #[test]
    fn enums_resolve_in_own_schema_then_public_and_get_qualified() {
        let enums = [("public", "kind"), ("app", "state"), ("app", "Mood")];
        assert_eq!(check("kind", "app", &enums, &[]).unwrap(), "public.kind");
        let reserved = [("user", "order")];
        assert_eq!(
            check("order", "user", &reserved, &[]).unwrap(),
            "\"user\".\"order\""
        );
        assert_eq!(check("state[]", "app", &enums, &[]).unwrap(), "app.state[]");
        assert_eq!(
            check("public.kind", "x", &enums, &[]).unwrap(),
            "public.kind"
        );
        assert_eq!(
            check("\"Mood\"", "app", &enums, &[]).unwrap(),
            "app.\"Mood\""
        );
        let e = check("mood", "app", &enums, &[]).unwrap_err();
        assert!(e.help.unwrap().contains("\"Mood\""));
        assert!(check("state", "public", &enums, &[]).is_err());
    }

    #[test]
    fn extension_types_need_their_extension() {
        let e = check("citext", "public", &[], &[]).unwrap_err();
        assert!(e.message.contains("extension `citext`"));
        assert!(check("citext", "public", &[], &[("citext", "public")]).is_ok());
        assert!(check("public.citext", "public", &[], &[("citext", "public")]).is_ok());
        assert!(check("ext.whatever(3)", "public", &[], &[("x", "ext")]).is_ok());
        assert!(check("other.whatever", "public", &[], &[("x", "ext")]).is_err());
    }

    #[test]
    fn serial_is_refused_with_advice() {
        let e = check("bigserial", "public", &[], &[]).unwrap_err();
        assert!(e.help.unwrap().contains("identity"));
    }

    #[test]
    fn typos_get_a_suggestion() {
        let e = check("timestamptx", "public", &[], &[]).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `timestamptz`?"));
    }
}
