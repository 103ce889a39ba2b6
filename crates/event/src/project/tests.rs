use super::*;
use crate::{Event, FieldPath};

/// The projection gives every field exactly the full parse's values, or hands the record
/// over; `must` records are ones it has to project.
fn check(doc: &str, fields: &[&str], must: bool) {
    let p = Projection::new(fields.iter().copied());
    let full = Event::new(serde_json::from_str(doc).unwrap());
    let Some(proj) = p.project(doc.as_bytes()) else {
        assert!(!must, "not projected: {doc}");
        return;
    };
    assert!(proj.is_flat());
    for f in fields {
        let fp = FieldPath::new(f);
        assert_eq!(proj.values(&fp), full.values(&fp), "{f} in {doc}");
        assert_eq!(proj.first(&fp), full.first(&fp), "{f} in {doc}");
    }
}

const FIELDS: &[&str] = &[
    "process.name",
    "process.args",
    "process.parent.name",
    "process.pid",
    "event.category",
    "dll.name",
    "a.b.c",
    "a..b",
    "x",
    "f",
    "neg",
    "big",
];

#[test]
fn projected_values_equal_full_values() {
    let must = [
        r#"{"process":{"name":"sh","args":["sh","-c","id"],"pid":12,"parent":{"name":"python3","pid":1}},"event":{"category":["process"]},"agent":{"id":"x"}}"#,
        r#"{"process.name":"sh","process.parent.name":"py","process":{"parent.name":"py2"}}"#,
        r#"{"process":{"parent.name":"py2"},"process.parent":{"name":"py3"},"process.parent.name":"py"}"#,
        r#"{"process":[{"name":"a"},{"name":["b",null,"c"]},3,"s"],"dll":[{"name":"k"},{"other":1}]}"#,
        r#"{"a":{"b":{"c":1},"b.c":2},"a.b":{"c":3},"a.b.c":4,"a..b":10,"a.":{".b":11}}"#,
        r#"{"a":[{"b.c":[6,null,7]},{"b":{"c":8}}],"a.b":[{"c":9}],"a.b.c":[[5]]}"#,
        r#"{"x":{"nested":[1,2,{"y":null}]},"f":1.5e3,"neg":-42,"big":123456789012345678901234}"#,
        r#"{ "process" : { "name" : "s\u00e9\"q\\" } , "x" : "tab\tin\nescape" }"#,
        r#"{"x":-0,"neg":-0.0,"f":0}"#,
        r#"{"process":{"name":"sh"},"agent":{"id":1},"agent":{"id":2}}"#,
        r#"{}"#,
    ];
    for d in must {
        check(d, FIELDS, true);
    }
    // Duplicate keys on the way to a wanted field: the later one replaces the earlier in
    // the full parse; these are handed over (or, if projected, must agree).
    for d in [
        r#"{"process":{"name":"first"},"process":{"name":"second"}}"#,
        r#"{"process":{"name":"first"},"process":5}"#,
        r#"{"a":{"b":{"c":1}},"a":{"":{"b":12}}}"#,
    ] {
        check(d, FIELDS, false);
    }
}

#[test]
fn a_field_that_is_also_the_way_to_another_keeps_both() {
    let fields = ["process.parent", "process.parent.name", "process"];
    for d in [
        r#"{"process":{"parent":{"name":"py","pid":3},"name":"sh"}}"#,
        r#"{"process.parent":[{"name":"py"},{"name":"q"}],"process":{"parent.name":"r"}}"#,
    ] {
        check(d, &fields, true);
    }
}

#[test]
fn plain_objects_are_told_from_everything_else() {
    assert!(is_plain_object(
        br#"{"a":[1,{"b":"c\"d"}],"e":null,"f":-1.5e3}"#
    ));
    assert!(is_plain_object(b" {} "));
    for bad in [
        &br#"{"a":1"#[..],
        br#"{"a":1}}"#,
        br#"{"a" 1}"#,
        br#"{"a":[1 2]}"#,
        br#"{"a":.5}"#,
        br#""text""#,
        b"{\"a\":\"\x01\"}",
    ] {
        assert!(!is_plain_object(bad), "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn unwanted_fields_are_not_built() {
    let p = Projection::new(["process.name"]);
    let v = p
        .project(br#"{"agent":{"id":"x"},"process":{"name":"sh","pid":3},"host":{"name":"h"}}"#)
        .unwrap();
    assert_eq!(v.into_doc(), serde_json::json!({"process.name": "sh"}));
}

#[test]
fn what_the_full_parser_must_judge_is_handed_over() {
    let p = Projection::new(["a"]);
    for bad in [
        &br#"{"a":1"#[..],
        br#"{"a":1}x"#,
        br#"{"a":01}"#,
        br#"{"a":[1,]}"#,
        br#"{"a":"x\qy"}"#,
        b"{\"a\":\"tab\there\"}",
        br#"[1,2]"#,
        br#"{"_source":{"a":1},"_id":"q"}"#,
        br#"{"b":tru}"#,
        b"{\"a\":\"\xff\"}",
    ] {
        assert!(p.project(bad).is_none(), "{}", String::from_utf8_lossy(bad));
    }
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert!(p.project(format!("{{\"a\":{deep}}}").as_bytes()).is_none());
    assert!(p.project(format!("{{\"b\":{deep}}}").as_bytes()).is_none());
}

/// Keys of every length up to past two vector blocks, with a dot (or an escaped one) at
/// each place or none, as the record's last key or followed by more bytes: the key scan's
/// 16-byte block, its 8-byte word and its byte-by-byte tail all see every case.
#[test]
fn keys_of_every_length_and_dot_position_are_read_as_the_full_parser_does() {
    for len in 1..=36usize {
        for dot in std::iter::once(None).chain((0..len).map(Some)) {
            let key: String = (0..len)
                .map(|i| {
                    if Some(i) == dot {
                        '.'
                    } else {
                        (b'a' + (i % 26) as u8) as char
                    }
                })
                .collect();
            let escaped = key.replacen('.', "\\u002e", 1);
            for k in [&key, &escaped] {
                for doc in [
                    format!(r#"{{"{k}":"v"}}"#),
                    format!(r#"{{"{k}":1,"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz":2}}"#),
                    format!(r#"{{"p":{{"{k}":[1,2]}},"q":"{k}"}}"#),
                ] {
                    let fields = [key.as_str(), "p", "q"];
                    let nested = format!("p.{key}");
                    check(&doc, &fields, true);
                    check(&doc, &[nested.as_str()], true);
                }
            }
        }
    }
}

#[test]
fn duplicate_keys_are_told_per_object() {
    let p = Projection::new(["a.b", "c"]);
    // The same key in different objects (array elements, nested and dotted spellings, or
    // the same record again) is no duplicate, however often the record is projected.
    for _ in 0..3 {
        for d in [
            r#"{"a":[{"b":1},{"b":2}],"c":3}"#,
            r#"{"a":{"b":1},"c":{"b":2}}"#,
        ] {
            assert!(p.project(d.as_bytes()).is_some(), "{d}");
            check(d, &["a.b", "c"], true);
        }
    }
    for d in [r#"{"a":{"b":1,"b":2}}"#, r#"{"c":1,"a":{},"c":2}"#] {
        assert!(p.project(d.as_bytes()).is_none(), "{d}");
    }
}

#[test]
fn object_numbers_wrapping_forget_old_stamps() {
    let mut st = Stamps::new();
    let a = st.enter(4);
    assert!(st.first_time(2, a));
    assert!(!st.first_time(2, a), "the same node twice in one object");
    st.last = u32::MAX - 1;
    let b = st.enter(4);
    assert!(st.first_time(2, b));
    assert_eq!(st.enter(4), 1, "wrapped");
    assert!(st.by_node.iter().all(|&s| s == 0), "stamps forgotten");
    assert!(st.first_time(2, 1));
}

/// Keys among many siblings (a node's child index) and few (a node's list) give what the
/// full parse gives.
#[test]
fn keys_found_by_their_head_among_many_siblings() {
    let names: Vec<String> = (0..40)
        .map(|i| format!("{}{i}", "k".repeat(i % 17)))
        .collect();
    let fields: Vec<String> = names.iter().map(|n| format!("p.{n}")).collect();
    let wanted: Vec<&str> = fields.iter().map(String::as_str).step_by(2).collect();
    let doc = format!(
        "{{\"p\":{{{}}},\"x\":1}}",
        names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("\"{n}\":{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    check(&doc, &wanted, true);
    let all: Vec<&str> = fields.iter().map(String::as_str).collect();
    check(&doc, &all, true);
}

/// One projection over a stream of records whose objects change shape from one record to
/// the next (keys moved, swapped for look-alikes, dotted or nested, escaped), interleaved
/// with a second projection on the same thread: every record gives the full parse's values.
/// The memory of where the last record's keys led (`shapes`) must never answer for a
/// different key, or for the other projection's trie.
#[test]
fn changing_record_shapes_give_the_full_parse_values() {
    let fields = [
        "process.name",
        "process.parent.name",
        "process.pid",
        "event.action",
        "x",
    ];
    let other_fields = ["process.pid", "event.kind", "process.name.x"];
    let p = Projection::new(fields);
    let q = Projection::new(other_fields);
    // Keys that lead somewhere, nowhere, or elsewhere, several of equal length.
    let keys = [
        "\"process\"",
        "\"procesz\"",
        "\"event\"",
        "\"x\"",
        "\"xxx\"",
        "\"y\"",
        "\"process.name\"",
        "\"process.namf\"",
        "\"process.pid\"",
        "\"process.pie\"",
        "\"process.parent\"",
        "\"proc\\u0065ss\"",
    ];
    let inner = [
        "{\"name\":\"a\",\"pid\":1,\"parent\":{\"name\":\"b\"}}",
        "{\"pid\":2,\"name\":[\"c\",\"d\"]}",
        "{\"action\":\"exec\",\"kind\":\"event\"}",
        "\"text\"",
        "{\"parent\":{\"pid\":7,\"name\":\"e\"},\"namf\":\"no\"}",
        "{\"name\":{\"x\":5}}",
    ];
    let mut x: u64 = 0x2545f4914f6cdd1d;
    let mut next = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let mut projected = 0;
    for _ in 0..3000 {
        // Distinct keys per object (duplicates go to the full parser, tested elsewhere).
        let mut used = Vec::new();
        let mut parts = Vec::new();
        for _ in 0..1 + next(6) {
            let k = keys[next(keys.len())];
            if used.contains(&k) {
                continue;
            }
            used.push(k);
            parts.push(format!("{k}:{}", inner[next(inner.len())]));
        }
        let doc = format!("{{{}}}", parts.join(","));
        let full = Event::new(serde_json::from_str(&doc).unwrap());
        // Mostly one projection, record after record; now and then the other.
        let both = [(&p, &fields[..]), (&q, &other_fields[..])];
        let now = if next(8) == 0 { &both[..] } else { &both[..1] };
        for &(proj, fs) in now {
            let Some(ev) = proj.project(doc.as_bytes()) else {
                continue;
            };
            projected += 1;
            for f in fs {
                let fp = FieldPath::new(f);
                assert_eq!(ev.values(&fp), full.values(&fp), "{f} in {doc}");
            }
        }
    }
    assert!(projected > 2000, "{projected}");
}

/// String values of every length, copied whole whatever is left of the record after them
/// (short ones are copied sixteen bytes at a time when the record has that many left).
#[test]
fn string_values_of_every_length_are_copied_whole() {
    for len in 0..=40 {
        let v: String = (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        for doc in [
            format!(r#"{{"x":"{v}"}}"#),
            format!(r#"{{"x":"{v}","y":"{}"}}"#, "z".repeat(20)),
            format!(r#"{{"process":{{"name":"{v}"}},"x":["{v}","é{v}"]}}"#),
        ] {
            check(&doc, &["x", "process.name"], true);
        }
    }
}

/// Events projected after others were dropped take over their buffers (see
/// `crate::flat::Spare`): whatever mix of kept and dropped events, of short, long and
/// escaped strings, every event holds exactly its own record's values, also after later
/// events reused the buffers of earlier ones.
#[test]
fn reused_buffers_never_leak_between_events() {
    let p = Projection::new(["x", "y", "z.w"]);
    let fields = [
        FieldPath::new("x"),
        FieldPath::new("y"),
        FieldPath::new("z.w"),
    ];
    let mut kept: Vec<(Event, Event)> = Vec::new();
    let mut x: u64 = 7;
    let mut next = |n: u64| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % n
    };
    let mut reused = 0;
    for i in 0..3000 {
        let text = |len: u64, c: u64| -> String {
            (0..len)
                .map(|k| char::from(b'a' + ((k + c) % 26) as u8))
                .collect()
        };
        let (a, b) = (next(40), next(40));
        let doc = match next(4) {
            0 => format!(r#"{{"x":"{}","y":["{}","{i}"]}}"#, text(a, 1), text(b, 2)),
            1 => format!(r#"{{"z":{{"w":"{}\n"}},"x":{i}}}"#, text(a, 3)),
            2 => format!(r#"{{"y":"{}","x":"é{}"}}"#, text(a, 4), text(b, 5)),
            _ => format!(r#"{{"x":["{}","{}"],"z.w":true}}"#, text(a, 6), text(b, 7)),
        };
        let before = crate::flat::SPARE.with(|s| s.borrow().strings.len());
        let proj = p.project(doc.as_bytes()).unwrap();
        let after = crate::flat::SPARE.with(|s| s.borrow().strings.len());
        reused += before.saturating_sub(after);
        let full = Event::new(serde_json::from_str(&doc).unwrap());
        for f in &fields {
            assert_eq!(proj.values(f), full.values(f), "{doc}");
        }
        match next(3) {
            0 => kept.push((proj, full)),
            1 if !kept.is_empty() => {
                let k = next(kept.len() as u64) as usize;
                kept.swap_remove(k);
            }
            _ => {}
        }
    }
    for (proj, full) in &kept {
        for f in &fields {
            assert_eq!(proj.values(f), full.values(f));
        }
    }
    assert!(reused > 1000, "{reused} strings reused");
    // Short and long strings alike take spare ones: none is allocated while spares last.
    for doc in [
        r#"{"x":["ab","cd"],"y":"ef"}"#,
        r#"{"x":"a long string of many more than sixteen bytes","y":"ef"}"#,
    ] {
        drop(p.project(doc.as_bytes()));
        let before = crate::flat::SPARE.with(|s| s.borrow().strings.len());
        let ev = p.project(doc.as_bytes()).unwrap();
        let after = crate::flat::SPARE.with(|s| s.borrow().strings.len());
        assert_eq!(before - after, ev.values(&fields[0]).len() + 1, "{doc}");
    }
    // A huge value is not held on to once its event is gone.
    drop(p.project(format!(r#"{{"x":"{}"}}"#, "h".repeat(5000)).as_bytes()));
    let largest = crate::flat::SPARE.with(|s| {
        let s = s.borrow();
        s.strings.iter().map(String::capacity).max().unwrap_or(0)
    });
    assert!(largest <= 1024, "{largest}");
}
