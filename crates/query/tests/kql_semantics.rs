//! KQL semantics, construct by construct, with expectations worked out by hand from
//! Kibana's behaviour on `keyword` fields.

use serde_json::{json, Value};
use spawnguard_event::Event;
use spawnguard_query::prefilter::{Prefilter, Req, Scratch};
use spawnguard_query::{compile, CompileOptions, Language, ParseError, Pred};

fn q(text: &str) -> Pred {
    match compile(Language::Kql, text, &CompileOptions::default()) {
        Ok(query) => query
            .event_pred()
            .cloned()
            .unwrap_or_else(|| panic!("`{text}` is not an event query")),
        Err(e) => panic!("`{text}` failed to compile:\n{e}"),
    }
}

fn err(text: &str) -> ParseError {
    match compile(Language::Kql, text, &CompileOptions::default()) {
        Ok(query) => panic!("`{text}` should fail, compiled to {:?}", query.kind),
        Err(e) => e,
    }
}

fn m(text: &str, doc: Value) -> bool {
    q(text).matches(&Event::new(doc))
}

/// Asserts which of `docs` the query matches (by index).
fn check(text: &str, docs: &[Value], expect: &[bool]) {
    assert_eq!(docs.len(), expect.len());
    let pred = q(text);
    for (doc, want) in docs.iter().zip(expect) {
        let got = pred.matches(&Event::new(doc.clone()));
        assert_eq!(got, *want, "`{text}` on {doc}: got {got}, want {want}");
        // KQL is two-valued: never null.
        assert!(
            pred.eval(&Event::new(doc.clone())).is_some(),
            "`{text}` on {doc} evaluated to null"
        );
    }
}

#[test]
fn exact_values_are_case_sensitive() {
    let docs = [
        json!({"process": {"name": "bash"}}),
        json!({"process": {"name": "Bash"}}),
        json!({"process": {"name": "bash2"}}),
        json!({"process.name": "bash"}),
        json!({"process": {"name": ["zsh", "bash"]}}),
        json!({}),
    ];
    check(
        "process.name:bash",
        &docs,
        &[true, false, false, true, true, false],
    );
    check(
        "process.name:\"bash\"",
        &docs,
        &[true, false, false, true, true, false],
    );
    check(
        "process.name : bash",
        &docs,
        &[true, false, false, true, true, false],
    );
    check(
        "process.name:Bash",
        &docs,
        &[false, true, false, false, false, false],
    );
}

#[test]
fn wildcards_star_only_and_question_mark_is_literal() {
    let docs = [
        json!({"f": "python3"}),
        json!({"f": "Python3"}),
        json!({"f": "xpython"}),
        json!({"f": "python"}),
    ];
    check("f:python*", &docs, &[true, false, false, true]);
    check("f:*python", &docs, &[false, false, true, true]);
    check("f:*yth*", &docs, &[true, true, true, true]);
    check("f:p*3", &docs, &[true, false, false, false]);
    let q_docs = [
        json!({"f": "a?c"}),
        json!({"f": "abc"}),
        json!({"f": "a?cd"}),
    ];
    check("f:a?c", &q_docs, &[true, false, false]);
    check("f:a?c*", &q_docs, &[true, false, true]);
}

#[test]
fn quoted_values_are_literal() {
    let docs = [
        json!({"f": "ba*h"}),
        json!({"f": "bash"}),
        json!({"f": "a b"}),
        json!({"f": "a  b"}),
    ];
    check("f:\"ba*h\"", &docs, &[true, false, false, false]);
    check("f:ba\\*h", &docs, &[true, false, false, false]);
    check("f:\"a b\"", &docs, &[false, false, true, false]);
    // An unquoted value may contain spaces; they are kept inside, trimmed outside.
    check("f:a b", &docs, &[false, false, true, false]);
    check("f:(  a b  )", &docs, &[false, false, true, false]);
}

#[test]
fn exists_and_missing_fields() {
    let docs = [
        json!({"f": "x"}),
        json!({"f": "y"}),
        json!({}),
        json!({"f": null}),
        json!({"f": []}),
        json!({"f": ["y", "x"]}),
        json!({"f": ""}),
    ];
    check(
        "f:x",
        &docs,
        &[true, false, false, false, false, true, false],
    );
    check(
        "not f:x",
        &docs,
        &[false, true, true, true, true, false, true],
    );
    check("f:*", &docs, &[true, true, false, false, false, true, true]);
    check(
        "not f:*",
        &docs,
        &[false, false, true, true, true, false, false],
    );
    check(
        "f:(* and not x)",
        &docs,
        &[false, true, false, false, false, false, true],
    );
    check(
        "f:(not x)",
        &docs,
        &[false, true, true, true, true, false, true],
    );
    check(
        "not not f:x",
        &docs,
        &[true, false, false, false, false, true, false],
    );
}

#[test]
fn value_list_precedence() {
    let docs = [
        json!({"f": "a"}),
        json!({"f": "b"}),
        json!({"f": ["b", "c"]}),
        json!({"f": "c"}),
        json!({}),
    ];
    // and binds tighter than or: a or (b and c).
    check(
        "f:(a or b and c)",
        &docs,
        &[true, false, true, false, false],
    );
    check(
        "f:((a or b) and c)",
        &docs,
        &[false, false, true, false, false],
    );
    check("f:(a OR b)", &docs, &[true, true, true, false, false]);
    check(
        "f:(b and not c)",
        &docs,
        &[false, true, false, false, false],
    );
    check(
        "f:(not a and not b)",
        &docs,
        &[false, false, false, true, true],
    );
}

#[test]
fn boolean_precedence_and_parentheses() {
    let docs = [
        json!({"a": 1}),
        json!({"b": 1}),
        json!({"b": 1, "c": 1}),
        json!({"c": 1}),
    ];
    check("a:1 or b:1 and c:1", &docs, &[true, false, true, false]);
    check("(a:1 or b:1) and c:1", &docs, &[false, false, true, false]);
    check("a:1 OR b:1 AND c:1", &docs, &[true, false, true, false]);
    check("NOT a:1 And Not c:1", &docs, &[false, true, false, false]);
    check("not (a:1 or c:1)", &docs, &[false, true, false, false]);
    check("not(a:1 or c:1)", &docs, &[false, true, false, false]);
    check("not a:1 and b:1", &docs, &[false, true, true, false]);
    check(
        "\n  a:1\n\tor\r\n  (b:1 and\n c:1)  \n",
        &docs,
        &[true, false, true, false],
    );
}

#[test]
fn keywords_inside_values() {
    let docs = [
        json!({"f": "cannot"}),
        json!({"f": "android"}),
        json!({"f": "or"}),
        json!({"f": "foo or bar"}),
        json!({"f": "not"}),
    ];
    check("f:cannot", &docs, &[true, false, false, false, false]);
    check("f:android", &docs, &[false, true, false, false, false]);
    check("f:or", &docs, &[false, false, true, false, false]);
    check("f:foo \\or bar", &docs, &[false, false, false, true, false]);
    check(
        "f:\"foo or bar\"",
        &docs,
        &[false, false, false, true, false],
    );
    // As in Kibana's grammar, `\n` (newline) is read before the escaped keyword `\not`:
    // `\not` is a newline followed by `ot`, while `\NOT` is the word.
    check(
        "f:\\NOT",
        &[json!({"f": "NOT"}), json!({"f": "\not"})],
        &[true, false],
    );
    check(
        "f:\\not",
        &[json!({"f": "\not"}), json!({"f": "not"})],
        &[true, false],
    );
    check("f:not", &docs, &[false, false, false, false, true]);
}

#[test]
fn escapes() {
    let cases: &[(&str, &str)] = &[
        (r"f:a\:b", "a:b"),
        (r"f:\(x\)", "(x)"),
        (r"f:a\\b", r"a\b"),
        (r#"f:\"q\""#, r#""q""#),
        (r"f:a\*", "a*"),
        (r"f:\<\>", "<>"),
        (r"f:\{\}", "{}"),
        (r"f:\and", "and"),
        (r"f:\AND", "AND"),
        (r"f:a\tb", "a\tb"),
        (r"f:a\nb", "a\nb"),
        (r"f:\u0041b", "Ab"),
        (r#"f:"a\"b""#, r#"a"b"#),
        (r#"f:"a\\b""#, r"a\b"),
        (r#"f:"a\qb""#, r"a\qb"),
        (r#"f:"a\tb""#, "a\tb"),
        (r#"f:"\u00e9""#, "é"),
        (r#"f:"(x) and :<>{}*""#, "(x) and :<>{}*"),
    ];
    for (query, value) in cases {
        assert!(
            m(query, json!({ "f": value })),
            "`{query}` should match {value:?}"
        );
        assert!(
            !m(query, json!({ "f": format!("{value}x") })),
            "`{query}` should not match {value:?}+x"
        );
    }
    // An escaped star is literal, not a wildcard.
    assert!(!m(r"f:a\*", json!({"f": "ab"})));
    // Leading and trailing escaped whitespace is kept.
    assert!(m(r"f:\ta", json!({"f": "\ta"})));
}

#[test]
fn numbers_match_numeric_and_text_values() {
    let docs = [
        json!({"n": 3}),
        json!({"n": 3.0}),
        json!({"n": "3"}),
        json!({"n": 4}),
        json!({"n": "03"}),
        json!({"n": [1, 3]}),
        json!({"n": 3.5}),
    ];
    check("n:3", &docs, &[true, true, true, false, false, true, false]);
    // A numeric value also matches numeric-looking text equal to it (`"3"` for `3.0`): a
    // superset of Kibana on keyword fields, where only the text as written would match.
    check(
        "n:3.0",
        &docs,
        &[true, true, true, false, false, true, false],
    );
    check(
        "n:3.5",
        &docs,
        &[false, false, false, false, false, false, true],
    );
    check(
        "n:(3 or 4)",
        &docs,
        &[true, true, true, true, false, true, false],
    );
    check(
        "n:\"3\"",
        &docs,
        &[true, true, true, false, false, true, false],
    );
    let b = [
        json!({"b": true}),
        json!({"b": false}),
        json!({"b": "true"}),
    ];
    check("b:true", &b, &[true, false, true]);
    check("b:false", &b, &[false, true, false]);
}

#[test]
fn ranges_on_numbers() {
    let docs = [
        json!({"n": 2}),
        json!({"n": 3}),
        json!({"n": 10}),
        json!({"n": "10"}),
        json!({"n": 2.5}),
        json!({"n": [1, 20]}),
        json!({}),
        json!({"n": "abc"}),
    ];
    check(
        "n > 2",
        &docs,
        &[false, true, true, true, true, true, false, false],
    );
    check(
        "n>=3",
        &docs,
        &[false, true, true, true, false, true, false, false],
    );
    check(
        "n < 3",
        &docs,
        &[true, false, false, false, true, true, false, false],
    );
    check(
        "n <= 2.5",
        &docs,
        &[true, false, false, false, true, true, false, false],
    );
    check("n < -1", &docs, &[false; 8]);
    // A missing field or one that does not compare: `not` makes it true.
    check(
        "not n > 2",
        &docs,
        &[true, false, false, false, false, false, true, true],
    );
    // Numbers compare numerically, not as text ("10" > "9" only numerically).
    check(
        "n > 9",
        &docs,
        &[false, false, true, true, false, true, false, false],
    );
}

#[test]
fn ranges_on_strings_and_dates() {
    let docs = [
        json!({"s": "apple"}),
        json!({"s": "melon"}),
        json!({"s": "Zebra"}),
    ];
    check("s > m", &docs, &[false, true, false]);
    check("s >= \"melon\"", &docs, &[false, true, false]);
    check("s < b", &docs, &[true, false, true]);
    let t = [
        json!({"@timestamp": "2024-05-01T10:00:00Z"}),
        json!({"@timestamp": "2024-04-30T23:59:59Z"}),
        json!({"@timestamp": 1_714_557_600_000u64}),
    ];
    check("@timestamp >= \"2024-05-01\"", &t, &[true, false, true]);
    check("@timestamp < 2024-05-01", &t, &[false, true, false]);
}

#[test]
fn nested_queries_prefix_their_fields() {
    let docs = [
        json!({"a": {"b": "c"}}),
        json!({"a.b": "c"}),
        json!({"a": {"b": "x"}}),
        json!({"b": "c"}),
        json!({"a": {"b": "c", "d": 1}}),
        json!({"a": {"x": {"y": "z"}}}),
    ];
    check("a:{ b:c }", &docs, &[true, true, false, false, true, false]);
    check(
        "a:{b:c and d:1}",
        &docs,
        &[false, false, false, false, true, false],
    );
    check(
        "a:{ x:{ y:z } }",
        &docs,
        &[false, false, false, false, false, true],
    );
    check(
        "not a:{ b:c }",
        &docs,
        &[false, false, true, true, false, true],
    );
    check(
        "a:{ b:(c or x) }",
        &docs,
        &[true, true, true, false, true, false],
    );
}

#[test]
fn ip_addresses_and_cidr_blocks() {
    let docs = [
        json!({"ip": "10.1.2.3"}),
        json!({"ip": "11.0.0.1"}),
        json!({"ip": "::1"}),
        json!({"ip": "10.0.0.0/8"}),
        json!({}),
        json!({"ip": ["8.8.8.8", "10.9.9.9"]}),
    ];
    check(
        "ip:10.0.0.0/8",
        &docs,
        &[true, false, false, true, false, true],
    );
    check(
        "ip:\"::1\"",
        &docs,
        &[false, false, true, false, false, false],
    );
    check(
        "not ip:(10.0.0.0/8 or \"::1\")",
        &docs,
        &[false, true, false, false, true, false],
    );
}

#[test]
fn empty_query_matches_everything() {
    assert!(m("", json!({})));
    assert!(m("  \n ", json!({"a": 1})));
}

#[test]
fn errors_are_precise() {
    let e = err("(a:1 or b:2");
    assert_eq!((e.line, e.column), (1, 12), "{e}");
    assert!(e.message.contains("not closed"), "{e}");
    assert!(e.expected.iter().any(|x| x.contains(')')), "{e}");

    let e = err("a:1)");
    assert_eq!((e.line, e.column, e.found.as_str()), (1, 4, ")"), "{e}");
    assert!(e.message.contains("unbalanced"), "{e}");

    let e = err("process.name:");
    assert_eq!((e.line, e.column), (1, 14), "{e}");
    assert!(e.message.contains("process.name"), "{e}");
    assert!(e.expected.iter().any(|x| x.contains("value")), "{e}");

    let e = err("a:1 and");
    assert_eq!((e.line, e.column), (1, 8), "{e}");
    assert!(e.message.contains("and"), "{e}");

    let e = err("a:1 and\n  ");
    assert_eq!((e.line, e.column), (2, 3), "{e}");

    let e = err("f:\"abc");
    assert_eq!((e.line, e.column, e.found.as_str()), (1, 3, "\"abc"), "{e}");
    assert!(e.message.contains("unterminated"), "{e}");

    let e = err("n < 1*");
    assert_eq!((e.line, e.column, e.found.as_str()), (1, 6, "*"), "{e}");
    assert!(e.message.contains("wildcard"), "{e}");

    let e = err("n <");
    assert_eq!((e.line, e.column), (1, 4), "{e}");

    let e = err("a:1 and\n  mimikatz");
    assert_eq!(
        (e.line, e.column, e.found.as_str()),
        (2, 3, "mimikatz"),
        "{e}"
    );
    assert!(e.message.contains("no field"), "{e}");

    let e = err("process.*:x");
    assert_eq!((e.line, e.column, e.found.as_str()), (1, 9, "*"), "{e}");
    assert!(e.message.contains("field names"), "{e}");

    let e = err("f:(a or)");
    assert_eq!((e.line, e.column, e.found.as_str()), (1, 8, ")"), "{e}");

    let e = err("f:()");
    assert_eq!((e.line, e.column), (1, 4), "{e}");

    let e = err("()");
    assert_eq!((e.line, e.column), (1, 2), "{e}");

    let e = err(r"f:a\qb");
    assert_eq!((e.line, e.column, e.found.as_str()), (1, 4, r"\q"), "{e}");
    assert!(e.message.contains("escape"), "{e}");

    let e = err(r"f:\u12");
    assert_eq!((e.line, e.column), (1, 3), "{e}");

    let e = err("a:1 b:2");
    assert!(
        e.message.contains("after") || e.message.contains("no field"),
        "{e}"
    );

    let e = err("a:{ b:c");
    assert!(e.message.contains("`{`"), "{e}");
    assert_eq!((e.line, e.column), (1, 8), "{e}");

    let e = err("and a:1");
    assert_eq!((e.line, e.column, e.found.as_str()), (1, 1, "and"), "{e}");

    let e = err("a:1 or or b:1");
    assert_eq!((e.line, e.column), (1, 8), "{e}");

    // The display shows the line and a caret under the token.
    let shown = err("a:1 and\n   b:(x or").to_string();
    assert!(shown.contains("line 2"), "{shown}");
    assert!(shown.contains('^'), "{shown}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = format!("{}a:1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(err(&text).message.contains("nested too deeply"));
    let text = format!("{}a:1", "not ".repeat(5000));
    assert!(err(&text).message.contains("nested too deeply"));
    let text = format!("f:{}a{}", "(".repeat(5000), ")".repeat(5000));
    assert!(err(&text).message.contains("nested too deeply"));
    // Moderate nesting is fine.
    let text = format!("{}a:1{}", "(".repeat(50), ")".repeat(50));
    assert!(m(&text, json!({"a": 1})));
}

/// Whenever a query matches an event, the prefilter must let the event's bytes through.
#[test]
fn prefilter_is_sound_for_kql() {
    let queries = [
        "process.name:bash",
        "process.name:(bash or sh or zsh) and process.parent.name:python*",
        "process.args:*pty.spawn* or process.command_line:\"import pty\"",
        "not process.name:bash",
        "process.name:* and not process.args:(-c or -i)",
        "process.executable:(/tmp/* or /dev/shm/*) and event.type:start",
        "n:3 or n > 10",
        "ip:10.0.0.0/8",
        "a:{ b:c } and f:\"ba*h\"",
        "f:a\\*b or f:x?y",
        "user.name:(root and not admin)",
        "f:\"é\" or f:\"a\\\"b\"",
        "process.name:Bash",
    ];
    let docs = [
        json!({"process": {"name": "bash", "parent": {"name": "python3"}, "args": ["-c", "id"]}}),
        json!({"process.name": "sh", "process.parent.name": "python", "event.type": "start"}),
        json!({"process": {"name": "zsh", "args": ["import pty;pty.spawn('/bin/sh')"]}}),
        json!({"process": {"command_line": "import pty", "executable": "/tmp/x"}, "event": {"type": "start"}}),
        json!({"process": {"name": "BASH", "executable": "/dev/shm/a"}}),
        json!({"n": 3}),
        json!({"n": "3"}),
        json!({"n": 11.5}),
        json!({"ip": "10.2.3.4"}),
        json!({"a": {"b": "c"}, "f": "ba*h"}),
        json!({"a.b": "c", "f": "a*b"}),
        json!({"f": "x?y"}),
        json!({"user": {"name": ["root", "toor"]}}),
        json!({"f": "é"}),
        json!({"f": "a\"b"}),
        json!({}),
    ];
    let mut matched = 0;
    let mut scratch = Scratch::default();
    for text in queries {
        let pred = q(text);
        let pf = Prefilter::new(&[Req::of(&pred)]);
        for doc in &docs {
            if pred.matches(&Event::new(doc.clone())) {
                matched += 1;
                let bytes = serde_json::to_vec(doc).expect("serialize");
                assert!(
                    pf.may_match(&bytes, &mut scratch),
                    "prefilter rejected a matching event: `{text}` on {doc} (req {:?})",
                    Req::of(&pred)
                );
            }
        }
    }
    // The check above is only meaningful if plenty of pairs matched.
    assert!(matched >= 25, "only {matched} query/event pairs matched");
}

/// The same on raw input lines, where numbers may be spelled unlike their text form.
#[test]
fn prefilter_is_sound_on_raw_lines() {
    let cases: &[(&str, &str)] = &[
        ("n:100", r#"{"n":1E2}"#),
        ("n:100.0", r#"{"n":1e2}"#),
        ("n:100000000000000000000", r#"{"n":1e20}"#),
        ("n:10*", r#"{"n":1.0e1}"#),
        ("n:(1.5 or x)", r#"{"n":15e-1}"#),
        ("f:\"/bin/sh\"", r#"{"f":"\/bin\/sh"}"#),
        ("f:bash", r#"{"f":"b\u0061sh"}"#),
        ("f:é*", r#"{"f":"\u00e9t\u00e9"}"#),
    ];
    let mut scratch = Scratch::default();
    for (text, line) in cases {
        let pred = q(text);
        let ev = Event::from_slice(line.as_bytes()).expect("valid JSON");
        assert!(pred.matches(&ev), "`{text}` should match {line}");
        let pf = Prefilter::new(&[Req::of(&pred)]);
        assert!(
            pf.may_match(line.as_bytes(), &mut scratch),
            "prefilter rejected a matching line: `{text}` on {line} (req {:?})",
            Req::of(&pred)
        );
    }
}
