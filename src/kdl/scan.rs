//! A small lexical scan of KDL text that knows strings and comments but not grammar.
//!
//! Two uses: refusing input nested deeper than any declaration needs before the recursive
//! parser sees it (so hostile input cannot exhaust the stack), and splitting the whitespace
//! and comment text the parser keeps between tokens into separate comments for `fmt`.
//!
//! It is deliberately approximate about everything except where strings and comments begin
//! and end; `fmt` re-parses its own output and refuses to write anything that changed meaning
//! or lost a comment, so an approximation here can only cause a refusal, never damage.

/// Deeper than this many nested `{` blocks or `/* */` comments is refused. Declarations use
/// five levels at most (file, schema, table, index, key).
pub const MAX_DEPTH: usize = 64;

/// The byte offset where nesting first goes past [`MAX_DEPTH`], if it does.
pub fn too_deep(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'"' | b'#' => i = skip_string(b, i).unwrap_or(i + 1),
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut d = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        d += 1;
                        if depth + d > MAX_DEPTH {
                            return Some(i);
                        }
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        d -= 1;
                        i += 2;
                        if d == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
                i += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// If a string starts at `i` (`"..."`, `"""..."""`, `#"..."#`, `##"""..."""##`), the offset
/// just past its end (or the end of the text when unterminated).
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    let mut hashes = 0;
    while b.get(j) == Some(&b'#') {
        hashes += 1;
        j += 1;
    }
    if b.get(j) != Some(&b'"') {
        return None;
    }
    if hashes > 0 {
        // Raw: ends at `"` followed by the same number of `#`.
        let mut k = j + 1;
        while k < b.len() {
            if b[k] == b'"'
                && b[k + 1..]
                    .iter()
                    .take(hashes)
                    .filter(|c| **c == b'#')
                    .count()
                    == hashes
            {
                return Some(k + 1 + hashes);
            }
            k += 1;
        }
        return Some(b.len());
    }
    let multi = b.get(j + 1) == Some(&b'"') && b.get(j + 2) == Some(&b'"');
    let mut k = if multi { j + 3 } else { j + 1 };
    while k < b.len() {
        match b[k] {
            b'\\' => k += 2,
            b'"' if !multi => return Some(k + 1),
            b'"' if b.get(k + 1) == Some(&b'"') && b.get(k + 2) == Some(&b'"') => {
                return Some(k + 3);
            }
            _ => k += 1,
        }
    }
    Some(b.len())
}

/// The offset of the `}` that closes the first block opened at or after `start`, skipping
/// strings, comments and slashdashed blocks.
pub fn closing_brace(text: &str, start: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = start;
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'"' | b'#' => {
                i = skip_string(b, i).unwrap_or(i + 1);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(b, i);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'-') && depth == 0 => {
                let mut j = i + 2;
                while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                    j += 1;
                }
                if b.get(j) == Some(&b'{') {
                    i = skip_slashdash(b, j, false);
                    continue;
                }
            }
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Comments on the rest of a line from `start` (after a closing `}`): their texts, and
/// whether the line ended there (a line break or the end of the text followed them).
pub fn rest_of_line(text: &str, start: usize) -> (Vec<String>, bool) {
    let b = text.as_bytes();
    let mut i = start;
    let mut out = Vec::new();
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b';' => i += 1,
            b'\r' | b'\n' => return (out, true),
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let s = i;
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
                out.push(text.get(s..i).unwrap_or("").trim_end().to_string());
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let s = i;
                i = skip_block_comment(b, i);
                out.push(text.get(s..i).unwrap_or("").to_string());
            }
            _ => return (out, false),
        }
    }
    (out, true)
}

/// Every `//` and `/* */` comment of a text (strings skipped), with white space collapsed,
/// and the number of slashdashes: what `fmt` must keep.
pub fn all_comments(text: &str) -> (Vec<String>, usize) {
    let b = text.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let mut slashdashes = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'#' => {
                i = skip_string(b, i).unwrap_or(i + 1);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let s = i;
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
                out.push(collapse(text.get(s..i).unwrap_or("")));
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let s = i;
                i = skip_block_comment(b, i);
                out.push(collapse(text.get(s..i).unwrap_or("")));
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'-') => slashdashes += 1,
            _ => {}
        }
        i += 1;
    }
    (out, slashdashes)
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A comment found in whitespace the parser kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub text: String,
    /// Line breaks between the previous item (or the start) and this one.
    pub newlines_before: usize,
    pub kind: ItemKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// `// ...` (without the line break).
    Line,
    /// `/* ... */`.
    Block,
    /// `/-` and whatever it comments out.
    Slashdash,
}

/// Split whitespace-and-comment text into comments. `node_level`: a slashdash here comments
/// out a whole node (it runs to the end of its line), else a single entry or block.
/// Returns the items and the line breaks after the last one.
pub fn items(s: &str, node_level: bool) -> (Vec<Item>, usize) {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut newlines = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => {
                newlines += 1;
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let start = i;
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
                out.push(item(s, start, i, newlines, ItemKind::Line));
                newlines = 0;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = i;
                i = skip_block_comment(b, i);
                out.push(item(s, start, i, newlines, ItemKind::Block));
                newlines = 0;
            }
            b'/' if b.get(i + 1) == Some(&b'-') => {
                let start = i;
                i = skip_slashdash(b, i + 2, node_level);
                out.push(item(s, start, i, newlines, ItemKind::Slashdash));
                newlines = 0;
            }
            _ => i += 1,
        }
    }
    (out, newlines)
}

fn item(s: &str, start: usize, end: usize, newlines: usize, kind: ItemKind) -> Item {
    let end = end.min(s.len());
    let text = s.get(start..end).unwrap_or("").trim_end().to_string();
    Item {
        text,
        newlines_before: newlines,
        kind,
    }
}

fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut d = 0usize;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            d += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            d = d.saturating_sub(1);
            i += 2;
            if d == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// From just after `/-`: one unit (a `{}` block, or an entry), or for a node the rest of its
/// line including any blocks.
fn skip_slashdash(b: &[u8], mut i: usize, node_level: bool) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    let mut depth = 0usize;
    let mut consumed = false;
    while i < b.len() {
        match b[i] {
            b'"' | b'#' => {
                i = skip_string(b, i).unwrap_or(i + 1);
                consumed = true;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(b, i);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') && depth > 0 => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'{' => {
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && !node_level {
                    return i + 1;
                }
            }
            b'\n' | b'\r' | b';' if depth == 0 => return i,
            b'/' if depth == 0 && b.get(i + 1) == Some(&b'/') => return i,
            b' ' | b'\t' if depth == 0 && !node_level && consumed => return i,
            _ => {}
        }
        consumed = true;
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_outside_strings_and_comments() {
        assert_eq!(too_deep(&"a {".repeat(10)), None);
        let deep = "a {".repeat(MAX_DEPTH + 1);
        assert_eq!(too_deep(&deep), Some(3 * MAX_DEPTH + 2));
        let in_string = format!("a \"{}\"", "{".repeat(500));
        assert_eq!(too_deep(&in_string), None);
        let comments = "/*".repeat(MAX_DEPTH + 5);
        assert!(too_deep(&comments).is_some());
    }

    #[test]
    fn whitespace_splits_into_comments_with_line_counts() {
        let (items, trailing) = items(" // one\n\n  /* two */ /-x=1\n", false);
        let texts: Vec<_> = items
            .iter()
            .map(|i| (i.text.as_str(), i.newlines_before, i.kind))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("// one", 0, ItemKind::Line),
                ("/* two */", 2, ItemKind::Block),
                ("/-x=1", 0, ItemKind::Slashdash)
            ]
        );
        assert_eq!(trailing, 1);
    }

    #[test]
    fn slashdashed_nodes_run_to_the_end_of_their_line() {
        let (items, _) = items("/-table \"t\" {\n  column \"a\" \"b\"\n}\n// after\n", true);
        assert_eq!(items[0].text, "/-table \"t\" {\n  column \"a\" \"b\"\n}");
        assert_eq!(items[1].text, "// after");
        assert_eq!(items[1].newlines_before, 1);
    }
}
