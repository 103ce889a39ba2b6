//! EQL errors: each kind names the line, column and offending token, and says what was
//! expected; plus the structure of compiled sequences and samples.

use spawnguard_query::query::Pipe;
use spawnguard_query::{compile, CompileOptions, Language, ParseError, QueryKind};

fn err(q: &str) -> ParseError {
    match compile(Language::Eql, q, &CompileOptions::default()) {
        Ok(c) => panic!("expected an error for {q:?}, got {:?}", c.kind),
        Err(e) => e,
    }
}

/// Asserts line, column, the offending token and a fragment of the message.
fn assert_err(q: &str, line: usize, column: usize, found: &str, msg: &str) -> ParseError {
    let e = err(q);
    let shown = e.to_string();
    assert_eq!(
        (e.line, e.column, e.found.as_str()),
        (line, column, found),
        "position/token for {q:?}:\n{shown}"
    );
    assert!(
        e.message.contains(msg) || shown.contains(msg),
        "message for {q:?} lacks {msg:?}:\n{shown}"
    );
    e
}

#[test]
fn single_equals_names_the_alternatives() {
    let e = assert_err(
        "process where\n  process.name = \"x\"",
        2,
        16,
        "=",
        "use `==`",
    );
    assert!(e.expected.iter().any(|x| x == "==") && e.expected.iter().any(|x| x == "like"));
    assert!(e.to_string().contains("line 2, column 16"));
}

#[test]
fn string_errors() {
    assert_err(
        "process where a == \"abc",
        1,
        20,
        "\"abc",
        "unterminated string",
    );
    assert_err(
        "process where a == \"ab\nc\"",
        1,
        20,
        "\"ab",
        "unterminated string",
    );
    assert_err(
        "process where a == 'abc'",
        1,
        20,
        "'",
        "single-quoted strings",
    );
    assert_err(
        r#"process where a == "ab\"#,
        1,
        20,
        r#""ab\"#,
        "unterminated string",
    );
    assert_err(
        r#"process where a == "\u{zz}""#,
        1,
        21,
        r"\u{zz}",
        "hexadecimal",
    );
    assert_err(
        r#"process where a == """abc"#,
        1,
        20,
        r#"""""#,
        "unterminated raw string",
    );
    assert_err(r#"process where a == ?"x""#, 1, 20, "?\"", "raw strings");
    assert_err(
        "process where `abc == 1",
        1,
        15,
        "`",
        "unterminated backquoted",
    );
    assert_err(
        "process where a == 1 /* x",
        1,
        22,
        "/*",
        "unterminated comment",
    );
}

#[test]
fn unbalanced_parentheses_and_brackets() {
    let e = assert_err(
        "process where (a == 1 or b == 2",
        1,
        32,
        "",
        "unexpected end of query",
    );
    assert!(e.expected.iter().any(|x| x == "`)`"), "{e}");
    assert_err("process where a == 1)", 1, 21, ")", "unexpected `)`");
    let e = assert_err(
        "sequence\n  [process where a == 1]\n  [file where b == 2",
        3,
        21,
        "",
        "end of query",
    );
    assert!(e.expected.iter().any(|x| x == "`]`"), "{e}");
    assert_err("process where a in (1, 2", 1, 25, "", "end of query");
    assert_err("process where length(a == 1", 1, 28, "", "end of query");
}

#[test]
fn function_errors() {
    let e = assert_err(
        "process where foo(a) == 1",
        1,
        15,
        "foo",
        "unknown function `foo`",
    );
    assert!(e.expected.iter().any(|x| x == "startsWith"));
    assert_err(
        "process where length(a, b) == 1",
        1,
        25,
        "b",
        "takes 1 arguments, but 2",
    );
    assert_err(
        "process where between(a, \"x\") == \"\"",
        1,
        15,
        "between(a, \"x\")",
        "takes 3 to 4",
    );
    assert_err(
        "process where length~(a) == 1",
        1,
        15,
        "length~",
        "no case-insensitive `~` form",
    );
    assert_err(
        "process where cidrMatch~(a, \"1.2.3.4\")",
        1,
        15,
        "cidrMatch~",
        "no case-insensitive",
    );
    assert_err(
        "process where number(a, b) == 1",
        1,
        25,
        "b",
        "base of `number`",
    );
    assert_err(
        "process where between(a, \"x\", \"y\", c) == \"\"",
        1,
        36,
        "c",
        "greedy",
    );
    assert_err(
        "process where cidrMatch(a, \"10.0.0.0/99\")",
        1,
        28,
        "\"10.0.0.0/99\"",
        "CIDR",
    );
    assert_err(
        "process where length(a)",
        1,
        15,
        "length(a)",
        "not a condition",
    );
    assert_err(
        "process where length(a) == null",
        1,
        15,
        "length(a) == null",
        "compared with null",
    );
}

#[test]
fn operator_errors() {
    assert_err(
        "process where a == 1 == 2",
        1,
        22,
        "==",
        "cannot be chained",
    );
    assert_err(
        "process where a not like \"x\"",
        1,
        21,
        "like",
        "unexpected `like`",
    );
    assert_err("process where a == 1 b", 1, 22, "b", "unexpected `b`");
    assert_err("process where a : b", 1, 19, "b", "unexpected `b`");
    assert_err(
        "process where a regex \"(\"",
        1,
        23,
        "\"(\"",
        "invalid regular expression",
    );
    assert_err("process where a like~~ \"x\"", 1, 22, "~", "unexpected `~`");
    assert_err("process where a[0] == 1", 1, 16, "[", "array indexes");
    assert_err("process where a == 1 && b == 2", 1, 22, "&", "use `and`");
    assert_err("process where a ! b", 1, 17, "!", "unexpected `!`");
    assert_err("process where a == 1 || b == 2", 1, 22, "||", "use `or`");
    assert_err("process where 5", 1, 15, "5", "not a condition");
    assert_err("process a == 1", 1, 9, "a", "unexpected `a`");
    assert_err("where a == 1", 1, 1, "where", "unexpected `where`");
    assert_err("", 1, 1, "", "end of query");
    let deep = format!("process where {}a == 1{}", "(".repeat(40), ")".repeat(40));
    assert_err(&deep, 1, 47, "(", "nests deeper than 32");
    assert_err(
        "process where a == 99999999999999999999",
        1,
        20,
        "99999999999999999999",
        "too large",
    );
}

#[test]
fn sequence_errors() {
    let two = "[process where true] [file where true]";
    assert_err(
        &format!("sequence with maxspam=5s {two}"),
        1,
        15,
        "maxspam",
        "unknown keyword `maxspam` after `with`",
    );
    assert_err(
        &format!("sequence with maxspan=5x {two}"),
        1,
        24,
        "x",
        "unknown time unit",
    );
    assert_err(
        &format!("sequence with maxspan=5 {two}"),
        1,
        23,
        "5",
        "needs a time unit",
    );
    assert_err(
        &format!("sequence with maxspan=0s {two}"),
        1,
        23,
        "0",
        "must be positive",
    );
    assert_err(
        &format!("sequence with maxspan=1.5s {two}"),
        1,
        23,
        "1.5",
        "decimal",
    );
    assert_err(
        &format!("sequence with maxspan=5s by a {two}"),
        1,
        26,
        "by",
        "before `with maxspan",
    );
    assert_err(
        "sequence [process where true]",
        1,
        1,
        "sequence",
        "at least 2",
    );
    assert_err(
        "sequence [process where true] with runs=2 [file where true] with runs=101",
        1,
        71,
        "101",
        "between 1 and 100",
    );
    assert_err(
        "sequence [process where true] with runs=0 [file where true]",
        1,
        41,
        "0",
        "between 1",
    );
    assert_err(
        "sequence [process where true] with run=2 [file where true]",
        1,
        36,
        "run",
        "unknown keyword `run` after `with`",
    );
    let e = assert_err(
        "sequence by h\n  [process where true] by a, b\n  [file where true] by c",
        3,
        21,
        "by c",
        "inconsistent number of join keys",
    );
    assert!(
        e.message.contains("expected 2") && e.message.contains("found 1"),
        "{e}"
    );
    assert_err(
        "sequence [process where true] by a [file where true] by b until [x where true]",
        1,
        65,
        "[x where true]",
        "inconsistent number of join keys",
    );
    assert_err(
        "sequence [process where true] ![file where true]",
        1,
        31,
        "![",
        "needs `with maxspan",
    );
    assert_err(
        "sequence with maxspan=1m ![process where true] ![file where true]",
        1,
        1,
        "sequence",
        "not a missing event",
    );
    assert_err(
        "sequence [process where true] [f where true] until ![g where true]",
        1,
        52,
        "![",
        "unexpected `![`",
    );
    assert_err(
        "sequence by length(a) [p where true] [q where true]",
        1,
        19,
        "(",
        "must be a field",
    );
    assert_err(
        "join [p where true] [q where true]",
        1,
        1,
        "join",
        "not supported",
    );
}

#[test]
fn sample_and_pipe_errors() {
    assert_err("sample by h [p where true]", 1, 1, "sample", "at least 2");
    assert_err(
        "sample by h [p where true] ![q where true]",
        1,
        28,
        "![",
        "only supported in sequences",
    );
    assert_err(
        "sample by h [p where true] [q where true] until [r where true]",
        1,
        43,
        "until",
        "not supported",
    );
    assert_err(
        "sample by h with maxspan=1s [p where true] [q where true]",
        1,
        13,
        "with",
        "not supported",
    );
    assert_err(
        "sample by h [p where true] by a [q where true]",
        1,
        33,
        "[q where true]",
        "inconsistent",
    );
    let e = assert_err(
        "process where true | count",
        1,
        22,
        "count",
        "`count` pipe is not supported",
    );
    assert!(e.expected.iter().any(|x| x == "head"));
    assert_err(
        "process where true | head 0",
        1,
        27,
        "0",
        "positive integer",
    );
    assert_err(
        "process where true | tail x",
        1,
        27,
        "x",
        "positive integer",
    );
}

#[test]
fn sequences_compile_to_stages() {
    let q = compile(
        Language::Eql,
        r#"sequence by host.id, ?user.id with maxspan=30s
             [process where process.name : "python*"] by process.pid
             ![file where true] by process.parent.pid
             [network where true] by process.pid with runs=3
           until [process where event.type == "end"] by process.pid
           | head 5 | tail 2"#,
        &CompileOptions::default(),
    )
    .unwrap();
    let QueryKind::Sequence(s) = &q.kind else {
        panic!("not a sequence: {:?}", q.kind)
    };
    let names = |v: &[spawnguard_event::FieldPath]| -> Vec<String> {
        v.iter().map(|f| f.as_str().to_string()).collect()
    };
    assert_eq!(names(&s.by), ["host.id", "user.id"]);
    assert_eq!(s.maxspan_ns, Some(30_000_000_000));
    assert_eq!(s.stages.len(), 3);
    assert_eq!(
        s.stages
            .iter()
            .map(|st| (st.runs, st.missing))
            .collect::<Vec<_>>(),
        [(1, false), (1, true), (3, false)]
    );
    assert_eq!(names(&s.stages[1].by), ["process.parent.pid"]);
    let until = s.until.as_ref().expect("until");
    assert_eq!(names(&until.by), ["process.pid"]);
    assert_eq!(q.pipes, [Pipe::Head(5), Pipe::Tail(2)]);
    let ev = spawnguard_event::Event::new(serde_json::json!({
        "event": {"category": "process"}, "process": {"name": "Python3"}
    }));
    assert!(s.stages[0].pred.matches(&ev));
    assert!(!s.stages[2].pred.matches(&ev));

    for (text, ns) in [
        ("1ms", 1_000_000i64),
        ("2s", 2_000_000_000),
        ("3m", 180_000_000_000),
        ("1h", 3_600_000_000_000),
        ("1d", 86_400_000_000_000),
    ] {
        let q = compile(
            Language::Eql,
            &format!("sequence with maxspan={text} [a where true] [b where true]"),
            &CompileOptions::default(),
        )
        .unwrap();
        let QueryKind::Sequence(s) = q.kind else {
            panic!()
        };
        assert_eq!(s.maxspan_ns, Some(ns), "{text}");
    }
    // One query with runs=2 is two queries.
    assert!(compile(
        Language::Eql,
        "sequence [a where true] with runs=2",
        &CompileOptions::default()
    )
    .is_ok());
}

#[test]
fn samples_compile() {
    let q = compile(
        Language::Eql,
        "sample by host.id [process where true] by process.pid [network where true] by source.port",
        &CompileOptions::default(),
    )
    .unwrap();
    let QueryKind::Sample(s) = &q.kind else {
        panic!("{:?}", q.kind)
    };
    assert_eq!(s.by.len(), 1);
    assert_eq!(s.stages.len(), 2);
    assert_eq!(s.stages[1].by[0].as_str(), "source.port");
}
