//! EQL operators and functions evaluated over small events, with Elasticsearch's semantics
//! (expectations worked out by hand from its EQL syntax and function references).

use serde_json::{json, Value};
use spawnguard_event::Event;
use spawnguard_query::{compile, CompileOptions, Language, Pred, QueryKind};

fn pred(q: &str) -> Pred {
    let query = compile(Language::Eql, q, &CompileOptions::default())
        .unwrap_or_else(|e| panic!("{q}\n{e}"));
    match query.kind {
        QueryKind::Event(p) => p,
        other => panic!("{q}: not an event query: {other:?}"),
    }
}

/// Three-valued result of `any where cond` on `doc`.
fn eval(cond: &str, doc: Value) -> Option<bool> {
    pred(&format!("any where {cond}")).eval(&Event::new(doc))
}

/// Asserts the three-valued result of each condition on one document.
fn check(doc: Value, cases: &[(&str, Option<bool>)]) {
    let mut bad = Vec::new();
    for (cond, want) in cases {
        let got = eval(cond, doc.clone());
        if got != *want {
            bad.push(format!("  {cond}: got {got:?}, want {want:?}"));
        }
    }
    assert!(bad.is_empty(), "on {doc}:\n{}", bad.join("\n"));
}

const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);
const N: Option<bool> = None;

#[test]
fn equality_is_case_sensitive_and_literal() {
    check(
        json!({"process": {"name": "bash", "title": "a*b"}}),
        &[
            (r#"process.name == "bash""#, T),
            (r#"process.name == "Bash""#, F),
            (r#"process.name == "ba*""#, F),
            (r#"process.title == "a*b""#, T),
            (r#"process.name != "bash""#, F),
            (r#"process.name != "Bash""#, T),
            (r#""bash" == process.name"#, T),
            (r#"process.missing == "bash""#, N),
            (r#"process.missing != "bash""#, N),
        ],
    );
}

#[test]
fn colon_is_case_insensitive_with_wildcards() {
    check(
        json!({"process": {"name": "BASH", "title": "a*b", "cmd": "C:\\x"}}),
        &[
            (r#"process.name : "bash""#, T),
            (r#"process.name : "ba*""#, T),
            (r#"process.name : "*SH""#, T),
            (r#"process.name : "b?sh""#, T),
            (r#"process.name : "b?h""#, F),
            (r#"process.name : "ba""#, F),
            (r#"process.name : ("zsh", "b*")"#, T),
            (r#"process.name : ("zsh", "fish")"#, F),
            (r#"process.title : "a\\*b""#, T),
            (r#"process.title : "a\\*c""#, F),
            (r#"process.cmd : """c:\\x""""#, T),
            (r#"process.missing : "*""#, N),
            (r#"not process.name : "ba*""#, F),
        ],
    );
}

#[test]
fn like_and_regex() {
    check(
        json!({"process": {"name": "Python3.11", "args": ["-c", "import pty"]}}),
        &[
            (r#"process.name like "Python*""#, T),
            (r#"process.name like "python*""#, F),
            (r#"process.name like~ "python*""#, T),
            (r#"process.name like ("perl*", "Py?hon3.1?")"#, T),
            (r#"process.name like~ ("PERL", "RUBY")"#, F),
            (r#"process.name regex "Py[a-z]+[0-9.]+""#, T),
            (r#"process.name regex "py[a-z]+[0-9.]+""#, F),
            (r#"process.name regex~ "py[a-z]+[0-9.]+""#, T),
            (r#"process.name regex "thon""#, F), // the whole string must match
            (r#"process.name regex ("x", "P.*1")"#, T),
            (r#"process.args regex "import .*""#, T),
            (r#"process.args like "-c""#, T),
            (r#"process.missing like "*""#, N),
            (r#"process.missing regex ".*""#, N),
        ],
    );
    // `.` matches a newline; `$` and `^` are ordinary characters in Lucene's syntax.
    check(
        json!({"a": "x\ny", "b": "cost$5"}),
        &[
            (r#"a regex "x.y""#, T),
            (r#"b regex "cost\\$5""#, T),
            (r#"b regex "cost$5""#, T),
            // an unknown escape passes through: the regex sees `\$` and `\d`
            (r#"b regex "cost\$\d""#, T),
            (r#"b regex "cost\$\D""#, F),
        ],
    );
}

#[test]
fn in_lists() {
    check(
        json!({"process": {"name": "Bash", "pid": 42, "code": "4624"}}),
        &[
            (r#"process.name in ("sh", "Bash")"#, T),
            (r#"process.name in ("sh", "bash")"#, F),
            (r#"process.name in~ ("sh", "bash")"#, T),
            (r#"process.name not in ("sh", "bash")"#, T),
            (r#"process.name not in~ ("sh", "bash")"#, F),
            (r#"process.name in ("b*")"#, F), // no wildcards in `in`
            (r#"process.pid in (1, 42)"#, T),
            (r#"process.pid in (1, "42")"#, T),
            (r#"process.code in (4624, 4625)"#, T),
            (r#"process.missing in ("a", "b")"#, N),
            (r#"process.missing not in ("a", "b")"#, N),
            (r#"process.name in ("sh", null)"#, N),
            (r#"process.name in ("Bash", null)"#, T),
        ],
    );
}

#[test]
fn arrays_match_on_any_element() {
    check(
        json!({"process": {"args": ["python3", "-c", "X"], "n": [1, 5]}}),
        &[
            (r#"process.args == "-c""#, T),
            (r#"process.args : "PYTHON*""#, T),
            (r#"process.args != "-c""#, F),
            (r#"process.args in ("x", "X")"#, T),
            (r#"process.n > 4"#, T),
            (r#"process.n < 1"#, F),
            (r#"process.n == 5"#, T),
            (r#"startsWith(process.args, "pyth")"#, T),
            (r#"endsWith~(process.args, "x")"#, T),
            (r#"endsWith(process.args, "x")"#, F),
        ],
    );
}

#[test]
fn numbers_and_numeric_strings() {
    check(
        json!({"a": 4, "s": "4", "f": 2.5, "neg": -3}),
        &[
            ("a == 4", T),
            ("a == 4.0", T),
            ("a != 4", F),
            (r#"a == "4""#, T),
            ("s == 4", T),
            ("a >= 3 and a <= 4 and a > 3.5 and a < 4.5", T),
            ("a > 4", F),
            ("f > 2 and f < 3", T),
            ("neg == -3", T),
            ("neg < -2", T),
            ("1.5e0 < f", T),
            ("3 < a", T),
            ("3 > a", F),
        ],
    );
}

#[test]
fn string_ordering_is_case_sensitive() {
    check(
        json!({"a": "b"}),
        &[
            (r#"a > "a""#, T),
            (r#"a < "c""#, T),
            (r#"a > "B""#, T), // "B" (0x42) sorts before "b" (0x62)
            (r#"a <= "b""#, T),
            (r#"a >= "c""#, F),
        ],
    );
}

#[test]
fn arithmetic() {
    check(
        json!({"n": 3, "m": 10, "f": 0.5}),
        &[
            ("n + 1 == 4", T),
            ("n - 5 == -2", T),
            ("n * 2 == 6", T),
            ("4 / n == 1", T), // integers divide to an integer
            ("4.0 / n == 1", F),
            ("m % n == 1", T),
            ("-n == -3", T),
            ("n + f == 3.5", T),
            ("2 + n * 2 == 8", T), // precedence: * before +
            ("(2 + n) * 2 == 10", T),
            ("missing + 1 == 1", N),
            ("m / 0 == 1", N),
        ],
    );
}

#[test]
fn logic_and_nulls() {
    let doc = json!({"a": "x", "b": "y"});
    check(
        doc,
        &[
            (r#"a == "x" and b == "y""#, T),
            (r#"a == "x" and b == "z""#, F),
            (r#"missing == "x" or b == "y""#, T),
            (r#"missing == "x" or b == "z""#, N),
            (r#"missing == "x" and b == "z""#, F),
            (r#"missing == "x" and b == "y""#, N),
            (r#"not missing == "x""#, N),
            (r#"not (missing == "x" or b == "z")"#, N),
            (r#"not a == "z""#, T),
            (r#"not not a == "x""#, T),
            // not > and > or
            (r#"not a == "x" and b == "y""#, F),
            (r#"a == "z" and b == "z" or a == "x""#, T),
            (r#"a == "x" or b == "z" and a == "z""#, T),
            ("true", T),
            ("false", F),
            ("null", N),
            ("not null", N),
        ],
    );
}

#[test]
fn null_checks_and_optional_fields() {
    check(
        json!({"a": "x", "z": null, "e": []}),
        &[
            ("a != null", T),
            ("a == null", F),
            ("missing == null", T),
            ("missing != null", F),
            ("z == null", T),
            ("e == null", T),
            ("null == missing", T),
            ("?a != null", T),
            ("?missing == null", T),
            (r#"?missing == "x""#, N),
            (r#"?a : "X""#, T),
        ],
    );
}

#[test]
fn nested_dotted_and_escaped_names() {
    for doc in [
        json!({"process": {"parent": {"name": "python"}}}),
        json!({"process.parent.name": "python"}),
        json!({"process": {"parent.name": "python"}}),
    ] {
        check(
            doc,
            &[
                (r#"process.parent.name == "python""#, T),
                (r#"process.parent.name : "PY*""#, T),
                ("process.parent.name != null", T),
            ],
        );
    }
    check(
        json!({"my field": "v", "@timestamp": "2026-01-01T00:00:00Z", "a1": {"b_2": 1}}),
        &[
            (r#"`my field` == "v""#, T),
            ("@timestamp != null", T),
            ("a1.b_2 == 1", T),
        ],
    );
}

#[test]
fn event_category_test() {
    let p = pred("process where true");
    let on = |doc: Value| p.eval(&Event::new(doc));
    assert_eq!(on(json!({"event": {"category": "process"}})), T);
    assert_eq!(
        on(json!({"event": {"category": ["network", "process"]}})),
        T
    );
    assert_eq!(on(json!({"event": {"category": "Process"}})), F);
    assert_eq!(on(json!({"event": {"category": "file"}})), F);
    assert_eq!(on(json!({"x": 1})), N);
    assert_eq!(pred("any where true").eval(&Event::new(json!({}))), T);
    let quoted = pred(r#""my-cat" where a == 1"#);
    assert!(quoted.matches(&Event::new(
        json!({"event": {"category": "my-cat"}, "a": 1})
    )));
    // The configured category field is used.
    let opts = CompileOptions {
        event_category_field: "kind".into(),
        ..CompileOptions::default()
    };
    let q = compile(Language::Eql, "file where true", &opts).unwrap();
    let p = q.event_pred().unwrap();
    assert!(p.matches(&Event::new(json!({"kind": "file"}))));
    assert!(!p.matches(&Event::new(json!({"event": {"category": "file"}}))));
}

// ---- functions (examples from Elasticsearch's EQL function reference) ----

#[test]
fn fn_add_subtract_multiply_divide_modulo() {
    check(
        json!({"c": 4, "p": 2, "ten": 10}),
        &[
            ("add(4, 5) == 9", T),
            ("add(4, 0.5) == 4.5", T),
            ("add(c, p) == 6", T),
            ("add(null, 4) == 4", N),
            ("add(c, missing) == 4", N),
            ("subtract(10.5, 0.5) == 10", T),
            ("subtract(ten, 6) == 4", T),
            ("subtract(-2, -4) == 2", T),
            ("multiply(0.5, 2) == 1", T),
            ("multiply(c, p) == 8", T),
            ("multiply(null, 2) == 0", N),
            ("divide(4, 3) == 1", T),
            ("divide(4, 3.0) == 1", F),
            ("divide(0.5, 4) == 0.125", T),
            ("divide(-4, -2) == 2", T),
            ("divide(c, 0) == 0", N),
            ("divide(12, c) == 3", T),
            ("modulo(10, 6) == 4", T),
            ("modulo(10, -6) == 4", T),
            ("modulo(-10, -6) == -4", T),
            ("modulo(10, 0.5) == 0", T),
            ("modulo(106, ten) == 6", T),
            ("modulo(7, null) == 7", N),
        ],
    );
}

#[test]
fn fn_between() {
    check(
        json!({"file": {"path": "C:\\Windows\\System32\\cmd.exe"}, "e": ""}),
        &[
            (r#"between(file.path, """System32\""", ".exe") == "cmd""#, T),
            (r#"between(file.path, """system32\""", ".exe") == """#, T),
            (
                r#"between~(file.path, """system32\""", ".exe") == "cmd""#,
                T,
            ),
            (r#"between(file.path, """workspace\""", ".exe") == """#, T),
            (
                r#"between(file.path, """\""", """\""", false) == "Windows""#,
                T,
            ),
            (r#"between(file.path, """\""", """\""") == "Windows""#, T),
            (
                r#"between(file.path, """\""", """\""", true) == """Windows\System32""""#,
                T,
            ),
            (r#"between(e, "a", "b") == """#, T),
            (r#"between("", "", "") == """#, T),
            (r#"between(missing, "a", "b") == """#, N),
        ],
    );
    // Case-insensitive positions map back to the original text, even across non-ASCII.
    check(
        json!({"s": "ÀB[Çd]É"}),
        &[(r#"between~(s, "àb[", "]é") == "Çd""#, T)],
    );
}

#[test]
fn fn_cidr_match() {
    check(
        json!({"source": {"address": "192.168.152.12", "v6": "2001:db8::1", "many": ["8.8.8.8", "10.1.2.3"]}}),
        &[
            (r#"cidrMatch(source.address, "192.168.0.0/16")"#, T),
            (
                r#"cidrMatch(source.address, "192.168.0.0/16", "10.0.0.0/8")"#,
                T,
            ),
            (r#"cidrMatch(source.address, "10.0.0.0/8")"#, F),
            (
                r#"cidrMatch(source.address, "10.0.0.0/8", "10.128.0.0/9")"#,
                F,
            ),
            (r#"cidrmatch(source.address, "192.168.152.12")"#, T),
            (r#"cidrMatch(source.v6, "2001:db8::/32")"#, T),
            (r#"cidrMatch(source.v6, "10.0.0.0/8")"#, F),
            (r#"cidrMatch(source.many, "10.0.0.0/8")"#, T),
            (r#"cidrMatch(missing, "10.0.0.0/8")"#, N),
            (r#"cidrMatch(source.address, null)"#, N),
            (r#"not cidrMatch(source.address, "10.0.0.0/8")"#, T),
        ],
    );
}

#[test]
fn fn_concat_and_string() {
    check(
        json!({"process": {"name": "regsvr32.exe", "arg_count": 4}}),
        &[
            (
                r#"concat("process is ", process.name) == "process is regsvr32.exe""#,
                T,
            ),
            (r#"concat(process.name, " ", 42) == "regsvr32.exe 42""#, T),
            (
                r#"concat(process.name, " ", 42.5) == "regsvr32.exe 42.5""#,
                T,
            ),
            (
                r#"concat(process.name, " ", true) == "regsvr32.exe true""#,
                T,
            ),
            (
                r#"concat(process.name, " ", process.arg_count) == "regsvr32.exe 4""#,
                T,
            ),
            (r#"concat(process.name) == "regsvr32.exe""#, T),
            (r#"concat(process.name, null) == "regsvr32.exe""#, N),
            (r#"concat(missing, "x") == "x""#, N),
            (r#"string(42) == "42""#, T),
            (r#"string(42.5) == "42.5""#, T),
            (r#"string(true) == "true""#, T),
            (r#"string(process.arg_count) == "4""#, T),
            (r#"string(null) == "null""#, N),
        ],
    );
}

#[test]
fn fn_starts_ends_contains() {
    check(
        json!({"process": {"name": "regsvr32.exe", "cl": "start regsvr32.exe"}, "e": ""}),
        &[
            (r#"startsWith(process.name, "regsvr32")"#, T),
            (r#"startsWith(process.name, "Regsvr32")"#, F),
            (r#"startsWith~(process.name, "Regsvr32")"#, T),
            (r#"startsWith("regsvr32.exe", process.name)"#, T),
            (r#"startsWith(e, "")"#, T),
            (r#"startsWith(process.name, null)"#, N),
            (r#"startswith(process.name, "reg")"#, T),
            (r#"endsWith(process.name, ".exe")"#, T),
            (r#"endsWith(process.name, ".EXE")"#, F),
            (r#"endsWith~(process.name, ".EXE")"#, T),
            (r#"endsWith(missing, ".exe")"#, N),
            (r#"stringContains(process.cl, "regsvr32")"#, T),
            (r#"stringContains(process.cl, "Regsvr32")"#, F),
            (r#"stringContains~(process.cl, "Regsvr32")"#, T),
            (r#"stringContains(process.cl, process.name)"#, T),
            (r#"stringcontains(process.name, process.cl)"#, F),
            (r#"stringContains(process.cl, "")"#, F),
            (r#"stringContains(e, "")"#, F),
            (r#"stringContains(missing, "x")"#, N),
        ],
    );
}

#[test]
fn fn_index_of_and_length() {
    check(
        json!({"url": {"domain": "subdomain.example.com"}, "name": "regsvr32.exe"}),
        &[
            (r#"indexOf(url.domain, "d") == 3"#, T),
            (r#"indexOf(url.domain, "D") >= 0"#, N),
            (r#"indexOf~(url.domain, "D") == 3"#, T),
            (r#"indexOf(url.domain, ".") == 9"#, T),
            (r#"indexOf(url.domain, ".", 9) == 9"#, T),
            (r#"indexOf(url.domain, ".", 10) == 17"#, T),
            (r#"indexOf(url.domain, ".", -6) == 9"#, T),
            (r#"indexOf("", "") == 0"#, T),
            (r#"indexOf(url.domain, "") == 0"#, T),
            (r#"indexOf(url.domain, "", 10) == 10"#, T),
            (r#"indexOf(url.domain, "", -6) == 0"#, T),
            (r#"indexOf(url.domain, "z") >= 0"#, N),
            (r#"indexOf(url.domain, "z", 9) >= 0"#, N),
            (r#"indexOf(url.domain, ".", 30) >= 0"#, N),
            (r#"indexOf(url.domain, ".", null) >= 0"#, N),
            (r#"indexOf(null, ".", 9) >= 0"#, N),
            (r#"length(name) == 12"#, T),
            (r#"length("start explorer.exe") == 18"#, T),
            (r#"length("") == 0"#, T),
            (r#"length("héllo") == 5"#, T),
            (r#"length(missing) == 0"#, N),
        ],
    );
}

#[test]
fn fn_number() {
    check(
        json!({"process": {"pid": "1337", "hex": "0x1F"}}),
        &[
            (r#"number("1337") == 1337"#, T),
            (r#"number("42.5") == 42.5"#, T),
            (r#"number("deadbeef", 16) == 3735928559"#, T),
            (r#"number("0xdeadbeef") == 3735928559"#, T),
            (r#"number("0xdeadbeef", 16) == 3735928559"#, T),
            (r#"number("0xdeadbeef", null) == 3735928559"#, T),
            (r#"number("+1337") == 1337"#, T),
            (r#"number("-1337") == -1337"#, T),
            (r#"number("  1337  ") == 1337"#, T),
            (r#"number("1337", null) == 1337"#, T),
            (r#"number("1337", 16) == 4919"#, T),
            (r#"number(process.pid) == 1337"#, T),
            (r#"number(process.hex) == 31"#, T),
            (r#"number(process.pid) > 1000"#, T),
            (r#"number(null) == 1"#, N),
            (r#"number("") == 0"#, N),
            (r#"number("12abc") == 12"#, N),
            (r#"number("ff", 10) == 255"#, N),
        ],
    );
}

#[test]
fn fn_substring() {
    check(
        json!({"s": "start regsvr32.exe"}),
        &[
            (r#"substring(s, 6) == "regsvr32.exe""#, T),
            (r#"substring(s, 0, 5) == "start""#, T),
            (r#"substring(s, 6, 14) == "regsvr32""#, T),
            (r#"substring(s, -4) == ".exe""#, T),
            (r#"substring(s, -4, -1) == ".ex""#, T),
            (r#"substring(s, 10, 5) == """#, T),
            (r#"substring(s, 30) == """#, T),
            (r#"substring(missing, 1) == """#, N),
        ],
    );
}

#[test]
fn functions_are_values_and_conditions() {
    check(
        json!({"a": "python3", "b": "python3", "c": "perl"}),
        &[
            // comparisons of two fields or of functions compile to general comparisons
            ("a == b", T),
            ("a == c", F),
            ("a != c", T),
            ("length(a) > length(c)", T),
            (r#"length(a) in (7, 8)"#, T),
            (r#"substring(a, 0, 2) : "PY""#, T),
            (r#"substring(a, 0, 2) : ("x", "py")"#, T),
            (r#"startsWith(a, "py") == true"#, T),
            (r#"startsWith(a, "py") and not endsWith(a, "x")"#, T),
        ],
    );
}

#[test]
fn string_tests_of_one_field_under_or_are_merged() {
    let p = pred(r#"any where a : "x" or a : "Y*" or a regex~ "z[0-9]""#);
    assert!(
        matches!(p, Pred::Str { .. }),
        "not merged into one test: {p:?}"
    );
    for (doc, want) in [
        (json!({"a": "X"}), T),
        (json!({"a": "y1"}), T),
        (json!({"a": "Z7"}), T),
        (json!({"a": "w"}), F),
        (json!({"b": "x"}), N),
    ] {
        assert_eq!(p.eval(&Event::new(doc.clone())), want, "{doc}");
    }
    // Different case sensitivity stays apart, with the same results.
    check(
        json!({"a": "Ab"}),
        &[
            (r#"a == "ab" or a : "AB""#, T),
            (r#"a == "ab" or a like "ab""#, F),
            (r#"a == "ab" or missing == "x""#, N),
        ],
    );
}
