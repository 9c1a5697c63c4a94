//! Names inside formwork's own reference strings (`references="billing.accounts(id, region)"`,
//! `owned-by="tickets.number"`) and the names PostgreSQL would give on its own.
//!
//! Reference strings are not SQL: names are exact, never case-folded, and reserved words need
//! no quoting. A name is double-quoted (SQL style, `""` for a quote) only when it contains a
//! character that the syntax itself uses: `.`, `(`, `)`, `,`, `"` or white space. SQL text
//! (types, defaults, expressions) is a different thing and is passed to PostgreSQL untouched.

/// The longest name PostgreSQL keeps (NAMEDATALEN - 1 bytes).
pub const MAX_NAME_BYTES: usize = 63;

/// Why a reference string does not parse, with the byte offset inside the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError {
    pub offset: usize,
    pub message: String,
}

/// `[schema.]table[(col, ...)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    pub schema: Option<String>,
    pub table: String,
    pub columns: Option<Vec<String>>,
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, RefError> {
        Err(RefError {
            offset: self.pos,
            message: message.into(),
        })
    }

    fn name(&mut self) -> Result<String, RefError> {
        self.skip_ws();
        match self.peek() {
            Some('"') => {
                self.pos += 1;
                let mut out = String::new();
                loop {
                    match self.peek() {
                        None => return self.err("unterminated quoted name"),
                        Some('"') => {
                            self.pos += 1;
                            if self.peek() == Some('"') {
                                self.pos += 1;
                                out.push('"');
                            } else {
                                break;
                            }
                        }
                        Some(c) => {
                            self.pos += c.len_utf8();
                            out.push(c);
                        }
                    }
                }
                Ok(out)
            }
            Some(c) if !is_syntax(c) => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if is_syntax(c) {
                        break;
                    }
                    self.pos += c.len_utf8();
                }
                Ok(self.s[start..self.pos].to_string())
            }
            Some(c) => self.err(format!("expected a name, found `{c}`")),
            None => self.err("expected a name"),
        }
    }

    fn end(&mut self) -> Result<(), RefError> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(c) => self.err(format!("unexpected `{c}`")),
        }
    }
}

fn is_syntax(c: char) -> bool {
    matches!(c, '.' | '(' | ')' | ',' | '"') || c.is_whitespace()
}

/// Parse `[schema.]table[(col, ...)]`.
pub fn parse_table_ref(s: &str) -> Result<TableRef, RefError> {
    let mut c = Cursor { s, pos: 0 };
    let first = c.name()?;
    let (schema, table) = if c.eat('.') {
        (Some(first), c.name()?)
    } else {
        (None, first)
    };
    let columns = if c.eat('(') {
        let mut cols = vec![c.name()?];
        while c.eat(',') {
            cols.push(c.name()?);
        }
        if !c.eat(')') {
            return c.err("expected `,` or `)`");
        }
        Some(cols)
    } else {
        None
    };
    c.end()?;
    Ok(TableRef {
        schema,
        table,
        columns,
    })
}

/// Parse `table.column` or `schema.table.column`.
pub fn parse_column_ref(s: &str) -> Result<(Option<String>, String, String), RefError> {
    let mut c = Cursor { s, pos: 0 };
    let mut parts = vec![c.name()?];
    while c.eat('.') {
        parts.push(c.name()?);
    }
    c.end()?;
    let mut it = parts.into_iter();
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(t), Some(col), None, None) => Ok((None, t, col)),
        (Some(sc), Some(t), Some(col), None) => Ok((Some(sc), t, col)),
        _ => Err(RefError {
            offset: 0,
            message: "expected `table.column` or `schema.table.column`".into(),
        }),
    }
}

/// A name as written in a reference string: bare unless it contains syntax characters.
pub fn quote_ref_name(name: &str) -> String {
    if !name.is_empty() && !name.chars().any(is_syntax) {
        return name.to_string();
    }
    crate::sql::quote_ident(name)
}

/// What is wrong with a name PostgreSQL would reject or truncate, if anything.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("a name cannot be empty".into())
    } else if name.contains('\0') {
        Some("a name cannot contain a NUL character".into())
    } else if name.len() > MAX_NAME_BYTES {
        Some(format!(
            "`{}` is {} bytes long; PostgreSQL truncates names to {MAX_NAME_BYTES} bytes",
            short(name),
            name.len()
        ))
    } else {
        None
    }
}

fn short(name: &str) -> String {
    if name.chars().count() > 24 {
        let head: String = name.chars().take(20).collect();
        format!("{head}...")
    } else {
        name.to_string()
    }
}

/// The name PostgreSQL gives a primary key declared without one: `<table>_pkey`, with the
/// table name cut (on a character boundary) so the whole fits in 63 bytes, as
/// `makeObjectName` does.
pub fn default_pkey_name(table: &str) -> String {
    let label = "pkey";
    let avail = MAX_NAME_BYTES - label.len() - 1;
    let mut cut = table.len().min(avail);
    while !table.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{label}", &table[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_refs_take_schema_table_and_columns() {
        assert_eq!(
            parse_table_ref("billing.accounts(id, region)").unwrap(),
            TableRef {
                schema: Some("billing".into()),
                table: "accounts".into(),
                columns: Some(vec!["id".into(), "region".into()])
            }
        );
        assert_eq!(
            parse_table_ref("Users").unwrap(),
            TableRef {
                schema: None,
                table: "Users".into(),
                columns: None
            }
        );
        let r = parse_table_ref(r#""my.schema"."a ""b"""("x,y")"#).unwrap();
        assert_eq!(r.schema.as_deref(), Some("my.schema"));
        assert_eq!(r.table, "a \"b\"");
        assert_eq!(r.columns, Some(vec!["x,y".to_string()]));
    }

    #[test]
    fn malformed_refs_say_where() {
        let e = parse_table_ref("users(id").unwrap_err();
        assert_eq!(e.offset, 8);
        assert!(parse_table_ref("users(id) x").is_err());
        assert!(parse_table_ref("").is_err());
        assert!(parse_column_ref("a.b.c.d").is_err());
    }

    #[test]
    fn quoting_round_trips_every_name() {
        for name in [
            "plain",
            "Mixed",
            "with space",
            "a.b",
            "q\"uote",
            "",
            "ünï",
            "select",
        ] {
            let s = format!("{}.{}", quote_ref_name(name), quote_ref_name("t"));
            let r = parse_table_ref(&s).unwrap();
            assert_eq!(r.schema.as_deref(), Some(name));
        }
    }

    #[test]
    fn default_pkey_name_fits_in_63_bytes_on_a_char_boundary() {
        assert_eq!(default_pkey_name("events"), "events_pkey");
        let long = "é".repeat(40);
        let n = default_pkey_name(&long);
        assert!(n.len() <= 63);
        assert!(n.ends_with("_pkey"));
    }
}
