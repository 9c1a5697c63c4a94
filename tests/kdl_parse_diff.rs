//! The fast KDL parser against the `kdl` crate: on every KDL file of the repository, every
//! `kdl` block of the docs, and a generated set of tricky documents, the fast parser must
//! either build the same tree (names, values, spans) as the crate, or refuse; and it must
//! refuse whatever the crate rejects.

use std::path::{Path, PathBuf};

use formwork::kdl::parse::{Agreement, compare_with_kdl, parse};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kdl_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            kdl_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "kdl") {
            out.push(p);
        }
    }
}

/// The ```` ```kdl ```` blocks of a Markdown file.
fn kdl_blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        match &mut cur {
            None if line.trim_start().starts_with("```kdl") => cur = Some(String::new()),
            Some(block) if line.trim_start().starts_with("```") => {
                out.push(std::mem::take(block));
                cur = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn fast_parser_builds_the_kdl_crate_tree_for_every_repository_file() {
    let mut files = Vec::new();
    for dir in ["schemas", "examples", "tests", "docs"] {
        kdl_files(&root().join(dir), &mut files);
    }
    assert!(
        files.len() >= 5,
        "expected the repository's .kdl files, found {files:?}"
    );
    for f in &files {
        // Some fuzz regressions are deliberately not UTF-8: compare their lossy decoding.
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        let verdict = compare_with_kdl(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        // Files the crate accepts must take the fast path: they are what users write.
        assert_ne!(
            verdict,
            Agreement::LeftToKdl,
            "{} was refused by the fast parser: {:?}",
            f.display(),
            parse(&text).err()
        );
    }
}

#[test]
fn fast_parser_agrees_on_every_kdl_block_of_the_docs() {
    let mut n = 0;
    for md in ["docs/kdl.md", "README.md", "docs/dump-and-import.md"] {
        let Ok(text) = std::fs::read_to_string(root().join(md)) else {
            continue;
        };
        for block in kdl_blocks(&text) {
            n += 1;
            let verdict = compare_with_kdl(&block).unwrap_or_else(|e| panic!("{md}: {e}"));
            assert_ne!(verdict, Agreement::LeftToKdl, "{md}: refused {block}");
        }
    }
    assert!(n > 0, "no kdl blocks found in the docs");
}

/// Documents the fast parser must accept, with the same tree as the crate.
const VALID: &[&str] = &[
    "",
    "\u{FEFF}node",
    "node",
    "node;",
    "node\n",
    "a;b;c",
    "a; b\nc",
    "node 1 2 3",
    "node a b c",
    "node \"quoted\" #\"raw\"# ##\"r\"#aw\"##",
    "node key=value other=\"x\"",
    "node key = value",
    "node key  =  1",
    "node \"a b\"=1 #\"c\"#=2",
    "node key=(t)1",
    "node (t)1 (t)\"s\" (t)word",
    "(t)node",
    "( t )node",
    "(t) node",
    "(\"quoted type\")node (#\"raw\"#)2",
    "\"quoted name\" 1",
    "#\"raw name\"# 1",
    "node #true #false #null",
    "node #inf #-inf #nan",
    "node 1.5 -1.5 +1.5 1e10 1E10 1.5e-3 1_000.5_5e1_0 1_e5",
    "node 0x1F -0x1f 0o17 -0o7 0b101 +0b1_0 1_000_000 -0 +0 08",
    "node 170141183460469231731687303715884105727",
    "node -170141183460469231731687303715884105727",
    "node 1e400 -1e400",
    "node - + -- +- -a +a .a -.a +.a . .- +inf -true",
    "node a.b a-b a_b a:b a<b a>b a,b a'b a!b a?b a@b a$b a%b a^b a&b a*b a|b a~b a`b",
    "node über 日本 ñ é",
    "node \"\\n\\t\\r\\b\\f\\s\\\\\\\"\"",
    "node \"\\u{1F600}\\u{0}\\u{41}\\u{10FFFF}\"",
    "node \"a\\   b\"",
    "node \"a\\\n   b\"",
    "node \"a\\\n\n \t b\"",
    "node \"tab\there\"",
    "node \"\"",
    "node #\"\"#",
    "node #\"a \"quoted\" b\"#",
    "node #\"\"quoted\"\"#",
    "node ##\"a \"# b\"##",
    "node #\"back\\slash\"#",
    "node \"\"\"\n  line one\n    line two\n  \"\"\"",
    "node \"\"\"\n\"\"\"",
    "node \"\"\"\n\n\"\"\"",
    "node \"\"\"\n  a\n\n  b\n  \"\"\"",
    "node \"\"\"\n  a\n      \n  b\n  \"\"\"",
    "node \"\"\"\n\ta\n\t\"\"\"",
    "node \"\"\"\n  esc \\n \\\" \\u{41}\n  \"\"\"",
    "node \"\"\"\n  quotes \"\" and \" here\n  \"\"\"",
    "node \"\"\"\r\n  crlf\r\n  \"\"\"",
    "node #\"\"\"\n  raw \\n \"\"\" kept\n  \"\"\"#",
    "node ##\"\"\"\n  raw \"\"\"# kept\n  \"\"\"##",
    "node #\"\"\"\n\"\"\"#",
    "node \"\"\"\n  a\n  \"\"\" next",
    "node // comment\nother",
    "node /* inline */ 1 /* and */ 2",
    "node /* nested /* comments */ here */ 1",
    "/* before */ node",
    "// only a comment",
    "node /*/ odd */ 1",
    "node 1 \\\n  2",
    "node 1 \\ // comment\n  2",
    "node 1 \\   \n  2",
    "node \\\n 1",
    "node 1 \\",
    "\\\nnode",
    "/-node\nother",
    "/- node 1 2\nother",
    "/-\nnode\nother",
    "/- node { child }\nother",
    "/- node\n/- node2\nother",
    "node /-1 2",
    "node /- 1 2",
    "node /- key=1 2",
    "node /-\n 1 2",
    "node 1 /- 2",
    "node /- { child }",
    "node /- { child } { real }",
    "node { real } /- { child }",
    "node { real } /- { a } /- { b }",
    "node 1 /- 2 { child }",
    "node 1 /- 2 /- { x } { child }",
    "node { child }",
    "node{child}",
    "node 1{child}",
    "node \"s\"{child}",
    "node #true{child}",
    "node {\n  a\n  b 1\n  c { d }\n}",
    "node { a; b; }",
    "node {}",
    "node { }\n",
    "node {\n}\nnext",
    "node { /- a }",
    "node {\n  /- a\n}",
    "a\r\nb\r\n",
    "a\rb",
    "a\u{85}b\u{2028}c\u{2029}d\u{0B}e\u{0C}f",
    "node\u{A0}1\u{3000}2\u{2000}3\u{205F}4\u{1680}5\u{202F}6",
    "node\t1",
    "node 1;other 2",
    "node 1 // trailing\n",
    "node 1 /* c */ ;",
    "node a=1 a=2",
    "node x=#true y=#null z=(t)#false",
    "node (t)#nan",
    "node \"a\" = \"b\"",
    "node a /* c */ = /* d */ 1",
    "node a \\\n = 1",
    "parent {\n    child \"x\" {\n        grandchild 1\n    }\n}\n",
    "node 1\n\n\n// c\n\nother",
    "  \n  node  \n  ",
    "node 1 \n",
    "node 1 /-2\n",
];

/// Documents the crate rejects; the fast parser must too.
const INVALID: &[&str] = &[
    "node true",
    "node false",
    "node null",
    "node inf",
    "node nan",
    "node a=true",
    "true",
    "node #maybe",
    "node #True",
    "node 1.",
    "node .5",
    "node 1.e5",
    "node 1e",
    "node 1e_5",
    "node 0x",
    "node 0b2",
    "node 0o8",
    "node 0xg",
    "node 1a",
    "node 1.5.5",
    "node 170141183460469231731687303715884105728",
    "node -170141183460469231731687303715884105728",
    "node \"unterminated",
    "node \"new\nline\"",
    "node \"\\q\"",
    "node \"\\u{}\"",
    "node \"\\u{1234567}\"",
    "node \"\\u{D800}\"",
    "node \"\\u{110000}\"",
    "node \"a\"b",
    "node a\"b\"",
    "node a(t)",
    "node (t)(u)1",
    "node (t 1",
    "node ()1",
    "node (1)2",
    "node #\"unterminated",
    "node #\"a\"",
    "node #\"new\nline\"#",
    "node #\"\"\"#",
    "node \"\"\"no newline\"\"\"",
    "node \"\"\"\n  a\n b\n  \"\"\"",
    "node \"\"\"\n  a \"\"\" b\n  \"\"\"",
    "node \"\"\"\n  never closed",
    "node /* unterminated",
    "node /* /* */",
    "{ child }",
    "node { child",
    "node child }",
    "}",
    "node {a}{b}",
    "node { a } b",
    "node /- { a } b",
    "node 1 2/-3",
    "node #true#false",
    "node #truex",
    "node \\ x",
    "node a=",
    "node =1",
    "node a==1",
    "/- node; other",
    "/-",
    "node /-",
    "node 1 /-",
    "node [1]",
    "node a\u{200E}b",
    "node \"a\u{202A}b\"",
    "node \u{FEFF}",
    "node\u{1}",
    "node ;; other",
    "(t)",
    "node (t)",
    "node \"\u{2028}\"",
];

#[test]
fn fast_parser_accepts_tricky_valid_documents_with_the_crate_tree() {
    let mut refused = Vec::new();
    for doc in VALID {
        match compare_with_kdl(doc) {
            Ok(Agreement::BothAccept) => {}
            Ok(Agreement::LeftToKdl) => refused.push(*doc),
            Ok(Agreement::BothReject) => panic!("the kdl crate rejects {doc:?}: fix the test"),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        refused.is_empty(),
        "the fast parser refused valid documents: {refused:#?}"
    );
}

#[test]
fn fast_parser_rejects_what_the_crate_rejects() {
    for doc in INVALID {
        match compare_with_kdl(doc) {
            Ok(Agreement::BothReject) => {}
            Ok(other) => panic!("the kdl crate accepts {doc:?} ({other:?}): fix the test"),
            Err(e) => panic!("{e}"),
        }
    }
}

/// Exotic spellings the fast parser leaves to the crate (the loader's fallback covers them).
#[test]
fn exotic_valid_spellings_are_left_to_the_kdl_crate_not_misread() {
    for doc in [
        "node \"\"\"\n  a \\\n  b\n  \"\"\"",
        "node #\"\"\"\"#",
        "node 0X1F",
        "node 1 2/-3 4",
    ] {
        let verdict = compare_with_kdl(doc).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(
            verdict,
            Agreement::BothAccept,
            "{doc:?} was expected to be refused"
        );
    }
}

/// A deterministic generator of small documents from fragments, so that combinations of
/// the constructs above (spacing, slashdash, comments next to strings) are compared too.
#[test]
fn fast_parser_agrees_on_generated_combinations() {
    const PARTS: &[&str] = &[
        "node",
        "n2",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        ";",
        "{",
        "}",
        "/-",
        "//c\n",
        "/*c*/",
        "\\\n",
        "\\",
        "=",
        "(t)",
        "(",
        ")",
        "1",
        "-1",
        "1.5",
        "0x1f",
        "1e3",
        "#true",
        "#null",
        "#inf",
        "\"s\"",
        "\"a\\nb\"",
        "\"\\u{41}\"",
        "#\"r\"#",
        "##\"r\"#\"##",
        "a",
        "-",
        ".",
        "+x",
        "\"\"\"\n  m\n  \"\"\"",
        "#\"\"\"\n x\n \"\"\"#",
        "\u{A0}",
        "\u{2028}",
        "k=",
        "\"",
        "#",
        "e",
        "_",
        "0",
        "true",
        "\u{FEFF}",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut accepted, mut rejected, mut left) = (0, 0, 0);
    // FORMWORK_DIFF_ITERS runs it longer (a fuzzing run without cargo-fuzz).
    let iters: u64 = std::env::var("FORMWORK_DIFF_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    for _ in 0..iters {
        let len = 1 + (next() % 12) as usize;
        let mut doc = String::new();
        for _ in 0..len {
            doc.push_str(PARTS[(next() % PARTS.len() as u64) as usize]);
        }
        match compare_with_kdl(&doc) {
            Ok(Agreement::BothAccept) => accepted += 1,
            Ok(Agreement::BothReject) => rejected += 1,
            Ok(Agreement::LeftToKdl) => left += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        accepted > 300,
        "too few valid documents generated: {accepted}"
    );
    assert!(
        rejected > 300,
        "too few invalid documents generated: {rejected}"
    );
    // Refusals are allowed but must stay the exception.
    assert!(
        left < accepted / 10,
        "fast parser refused {left} valid documents"
    );
    println!("{iters} documents: {accepted} accepted, {rejected} rejected, {left} left to kdl");
}

/// Timing of the loader on a large declaration: `FORMWORK_LOAD_BENCH=dir cargo test --release
/// --test kdl_parse_diff -- --ignored --nocapture load_bench`.
#[test]
#[ignore]
fn load_bench() {
    let Ok(dir) = std::env::var("FORMWORK_LOAD_BENCH") else {
        panic!("set FORMWORK_LOAD_BENCH to a directory of .kdl files");
    };
    let sources = formwork::kdl::load::read_dir_sources(Path::new(&dir)).unwrap();
    for s in &sources {
        let t = std::time::Instant::now();
        let doc = parse(&s.text);
        println!(
            "{}: {} bytes, fast parse {:?} ({})",
            s.name,
            s.text.len(),
            t.elapsed(),
            if doc.is_ok() { "accepted" } else { "refused" }
        );
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let model = formwork::kdl::load::load_sources(&sources).unwrap();
        times.push(t.elapsed());
        std::hint::black_box(model);
    }
    times.sort();
    println!("load_sources: runs {times:?}, median {:?}", times[2]);
}
