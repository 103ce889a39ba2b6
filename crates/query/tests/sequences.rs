//! Sequence and sample semantics, each on a small timeline whose expected matches are worked
//! out by hand in the comments. Events are `(id, second, tag, key)`; items are the ids.

use serde_json::json;
use spawnguard_event::{Event, FieldPath};
use spawnguard_query::matcher::{PatternKind, StrMatcher};
use spawnguard_query::query::{Sample, Sequence, Stage};
use spawnguard_query::sequence::{
    KeyValue, SampleConfig, SampleMatcher, SequenceConfig, SequenceMatcher,
};
use spawnguard_query::Pred;

const S: i64 = 1_000_000_000;

fn tag(tags: &[&str]) -> Pred {
    let pats: Vec<String> = tags.iter().map(|s| s.to_string()).collect();
    Pred::Str {
        field: FieldPath::new("tag"),
        matcher: StrMatcher::new(PatternKind::Exact, &pats, false).expect("matcher"),
    }
}

fn stage(tags: &[&str]) -> Stage {
    Stage {
        pred: tag(tags),
        by: vec![],
        optional_by: vec![],
        runs: 1,
        missing: false,
    }
}

fn missing(tags: &[&str]) -> Stage {
    Stage {
        missing: true,
        ..stage(tags)
    }
}

fn seq(by: &[&str], maxspan_s: Option<i64>, stages: Vec<Stage>, until: Option<Stage>) -> Sequence {
    Sequence {
        by: by.iter().map(|f| FieldPath::new(f)).collect(),
        optional_by: vec![],
        maxspan_ns: maxspan_s.map(|s| s * S),
        stages,
        until,
    }
}

/// `(id, second, tag, key)`; a key of `None` leaves the `k` field out.
type Ev<'a> = (u64, i64, &'a str, Option<&'a str>);

fn event(e: &Ev) -> Event {
    let mut doc = json!({"id": e.0, "tag": e.2});
    if let Some(k) = e.3 {
        doc["k"] = json!(k);
    }
    Event::new(doc)
}

fn run_cfg(q: &Sequence, cfg: SequenceConfig, evs: &[Ev]) -> Vec<Vec<u64>> {
    let mut m = SequenceMatcher::with_config(q, cfg);
    let mut out = Vec::new();
    for e in evs {
        out.extend(m.push(&event(e), e.1 * S, e.0));
    }
    out.extend(m.flush());
    out.into_iter().map(|m| m.items).collect()
}

fn run(q: &Sequence, evs: &[Ev]) -> Vec<Vec<u64>> {
    run_cfg(q, SequenceConfig::default(), evs)
}

#[test]
fn state_machine_example_from_the_elasticsearch_docs() {
    // sequence by user [attrib] [bash] [cat]   (k = user)
    //  1 root attrib   root: A=[1]
    //  2 root attrib   root: A=[2]            (overwrites [1])
    //  3 elk  bash     elk: A empty, ignored
    //  4 root bash     root: A empty, B=[2,4]
    //  5 root bash     root: A empty, ignored (B keeps [2,4])
    //  6 elk  attrib   elk: A=[6]
    //  7 root attrib   root: A=[7], B=[2,4]
    //  8 elk  bash     elk: B=[6,8]
    //  9 root cat      root: complete [2,4,9]
    // 10 elk  cat      elk: complete [6,8,10]
    // 11 root cat      root: B empty, ignored
    let q = seq(
        &["k"],
        None,
        vec![stage(&["attrib"]), stage(&["bash"]), stage(&["cat"])],
        None,
    );
    let r = Some("root");
    let e = Some("elk");
    let evs = [
        (1, 1, "attrib", r),
        (2, 2, "attrib", r),
        (3, 3, "bash", e),
        (4, 4, "bash", r),
        (5, 5, "bash", r),
        (6, 6, "attrib", e),
        (7, 7, "attrib", r),
        (8, 8, "bash", e),
        (9, 9, "cat", r),
        (10, 10, "cat", e),
        (11, 11, "cat", r),
    ];
    assert_eq!(run(&q, &evs), vec![vec![2, 4, 9], vec![6, 8, 10]]);
}

#[test]
fn an_event_matching_two_stages_does_not_extend_its_own_sequence() {
    // sequence [x or y] [y]
    // 1 "y": stage 2 has nothing to extend; stage 1 starts [1]
    // 2 "y": stage 2 extends [1] -> complete [1,2]; stage 1 starts [2]
    // 3 "x": stage 1 restarts: [3] overwrites [2]
    // 4 "y": complete [3,4]; stage 1 starts [4]
    let q = seq(&[], None, vec![stage(&["x", "y"]), stage(&["y"])], None);
    let evs = [
        (1, 1, "y", None),
        (2, 2, "y", None),
        (3, 3, "x", None),
        (4, 4, "y", None),
    ];
    assert_eq!(run(&q, &evs), vec![vec![1, 2], vec![3, 4]]);
}

#[test]
fn join_keys_are_case_sensitive_values_and_null_keys_never_join() {
    // sequence by k [a] [b]
    // 1 a k=Root   Root: A=[1]
    // 2 b k=root   root: nothing pending (case differs)
    // 3 a (no k)   null key: not part of any sequence
    // 4 b (no k)   null key: ignored
    // 5 b k=Root   complete [1,5]
    let q = seq(&["k"], None, vec![stage(&["a"]), stage(&["b"])], None);
    let evs = [
        (1, 1, "a", Some("Root")),
        (2, 2, "b", Some("root")),
        (3, 3, "a", None),
        (4, 4, "b", None),
        (5, 5, "b", Some("Root")),
    ];
    assert_eq!(run(&q, &evs), vec![vec![1, 5]]);
    let mut m = SequenceMatcher::new(&q);
    for e in &evs {
        m.push(&event(e), e.1 * S, e.0);
    }
    assert_eq!(m.stats().null_key, 2);
    // Numbers compare as numbers: 5 and 5.0 are one key.
    let a = Event::new(json!({"tag": "a", "k": 5}));
    let b = Event::new(json!({"tag": "b", "k": 5.0}));
    let mut m = SequenceMatcher::new(&q);
    assert!(m.push(&a, 0, 1u64).is_empty());
    let got = m.push(&b, S, 2u64);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].key, vec![KeyValue::Int(5)]);
}

#[test]
fn maxspan_is_inclusive_and_measured_from_the_first_event() {
    // sequence with maxspan=5s [a] [b] [c]
    //  1 a @0    A=[1]
    //  2 b @3    B=[1,2]
    //  3 c @5    5-0 = 5, not more than 5: complete [1,2,3]
    //  4 a @10   A=[4]
    //  5 b @12   B=[4,5]
    //  6 c @16   16-10 = 6 > 5: dropped
    let q = seq(
        &[],
        Some(5),
        vec![stage(&["a"]), stage(&["b"]), stage(&["c"])],
        None,
    );
    let evs = [
        (1, 0, "a", None),
        (2, 3, "b", None),
        (3, 5, "c", None),
        (4, 10, "a", None),
        (5, 12, "b", None),
        (6, 16, "c", None),
    ];
    assert_eq!(run(&q, &evs), vec![vec![1, 2, 3]]);
}

#[test]
fn time_eviction_frees_state_older_than_maxspan() {
    // sequence by k with maxspan=5s [a] [b]: three keys start at 0, 1, 2; at 7 the ones
    // started at 0 and 1 are more than 5s old and are evicted; the one at 2 stays.
    let q = seq(&["k"], Some(5), vec![stage(&["a"]), stage(&["b"])], None);
    let mut m: SequenceMatcher<u64> = SequenceMatcher::new(&q);
    for (i, k) in ["x", "y", "z"].iter().enumerate() {
        m.push(
            &event(&(i as u64, i as i64, "a", Some(k))),
            i as i64 * S,
            i as u64,
        );
    }
    assert_eq!(m.partials(), 3);
    assert!(m.expire(7 * S).is_empty());
    assert_eq!(m.partials(), 1);
    assert_eq!(m.stats().evicted_maxspan, 2);
}

#[test]
fn hard_cap_bounds_pending_sequences() {
    // 1000 keys each start a sequence that never completes; with a cap of 100 pending
    // sequences, at most 100 are ever held and the rest are counted as evicted.
    let q = seq(&["k"], None, vec![stage(&["a"]), stage(&["b"])], None);
    let cfg = SequenceConfig {
        max_partials: 100,
        ..SequenceConfig::default()
    };
    let mut m: SequenceMatcher<u64> = SequenceMatcher::with_config(&q, cfg);
    for i in 0..1000u64 {
        let k = format!("k{i}");
        m.push(&event(&(i, i as i64, "a", Some(&k))), i as i64 * S, i);
        assert!(m.partials() <= 100);
    }
    assert!(m.stats().evicted_cap >= 900);
    // The newest key survived the evictions and can still complete.
    let got = m.push(&event(&(1000, 1000, "b", Some("k999"))), 1000 * S, 1000);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].items, vec![999, 1000]);
}

#[test]
fn until_drops_pending_sequences_of_its_key() {
    // The docs' example: sequence by ID [A] [B] until [C]
    // ID 1: A, B        -> match
    // ID 2: A, B, C     -> match (C comes after the sequence completed)
    // ID 3: A, C, B     -> no match (C expires the pending [A])
    let q = seq(
        &["k"],
        None,
        vec![stage(&["A"]), stage(&["B"])],
        Some(stage(&["C"])),
    );
    let evs = [
        (1, 1, "A", Some("1")),
        (2, 2, "B", Some("1")),
        (3, 3, "A", Some("2")),
        (4, 4, "B", Some("2")),
        (5, 5, "C", Some("2")),
        (6, 6, "A", Some("3")),
        (7, 7, "C", Some("3")),
        (8, 8, "B", Some("3")),
    ];
    assert_eq!(run(&q, &evs), vec![vec![1, 2], vec![3, 4]]);
}

#[test]
fn runs_repeat_the_stage() {
    // sequence [a] [b] with runs=2  ==  [a] [b] [b]
    // 1 a   A=[1]
    // 2 b   B1=[1,2]
    // 3 a   A=[3]
    // 4 b   B2 takes B1: complete [1,2,4]; B1 takes A: B1=[3,4]
    // 5 b   complete [3,4,5]
    let mut b = stage(&["b"]);
    b.runs = 2;
    let q = seq(&[], None, vec![stage(&["a"]), b], None);
    let evs = [
        (1, 1, "a", None),
        (2, 2, "b", None),
        (3, 3, "a", None),
        (4, 4, "b", None),
        (5, 5, "b", None),
    ];
    assert_eq!(run(&q, &evs), vec![vec![1, 2, 4], vec![3, 4, 5]]);
}

#[test]
fn missing_event_between_stages() {
    // sequence by k with maxspan=10s [a] ![m] [b]
    // key x: a@1, m@2, b@3      -> m strictly between: dropped
    // key y: a@4, m@5 (key z!), b@6  -> the m has another key: match [a@4, b@6]
    // key x: a@7, m@8 (same second as b), b@8  -> not strictly between: match
    let q = seq(
        &["k"],
        Some(10),
        vec![stage(&["a"]), missing(&["m"]), stage(&["b"])],
        None,
    );
    let evs = [
        (1, 1, "a", Some("x")),
        (2, 2, "m", Some("x")),
        (3, 3, "b", Some("x")),
        (4, 4, "a", Some("y")),
        (5, 5, "m", Some("z")),
        (6, 6, "b", Some("y")),
        (7, 7, "a", Some("x")),
        (8, 8, "m", Some("x")),
        (9, 8, "b", Some("x")),
    ];
    assert_eq!(run(&q, &evs), vec![vec![4, 6], vec![7, 9]]);
}

#[test]
fn trailing_missing_event_within_maxspan_of_the_first_event() {
    // sequence with maxspan=5s [a] ![m]   (logon not followed by logoff within 5s)
    //  1 a @0    held until time passes 0+5
    //  2 m @3    3-0 <= 5: dropped
    //  3 a @10   held until 15
    //  4 m @15   15-10 = 5 <= 5: dropped (inclusive)
    //  5 a @20   held until 25
    //  6 x @26   time passed 25: released -> [5]
    //  7 a @30   held; the input ends: released by flush -> [7]
    let q = seq(&[], Some(5), vec![stage(&["a"]), missing(&["m"])], None);
    let evs = [
        (1, 0, "a", None),
        (2, 3, "m", None),
        (3, 10, "a", None),
        (4, 15, "m", None),
        (5, 20, "a", None),
        (6, 26, "x", None),
        (7, 30, "a", None),
    ];
    let mut m = SequenceMatcher::new(&q);
    let mut released_at = Vec::new();
    for e in &evs {
        for got in m.push(&event(e), e.1 * S, e.0) {
            released_at.push((e.0, got.items));
        }
    }
    assert_eq!(released_at, vec![(6, vec![5])]);
    let rest: Vec<Vec<u64>> = m.flush().into_iter().map(|m| m.items).collect();
    assert_eq!(rest, vec![vec![7]]);
    assert_eq!(m.stats().dropped_missing, 2);
}

#[test]
fn leading_missing_event_within_maxspan_of_the_last_event() {
    // sequence with maxspan=5s ![m] [a] [b]
    // m@0, a@3, b@4    latest m before a is @0; 4-0 = 4 <= 5: dropped
    // m@10, a@14, b@16 latest m before a is @10; 16-10 = 6 > 5: match [a@14, b@16]
    let q = seq(
        &[],
        Some(5),
        vec![missing(&["m"]), stage(&["a"]), stage(&["b"])],
        None,
    );
    let evs = [
        (1, 0, "m", None),
        (2, 3, "a", None),
        (3, 4, "b", None),
        (4, 10, "m", None),
        (5, 14, "a", None),
        (6, 16, "b", None),
    ];
    assert_eq!(run(&q, &evs), vec![vec![5, 6]]);
}

#[test]
fn leading_and_trailing_missing_events() {
    // sequence with maxspan=5s ![m] [a] ![m]
    // a@1 with no m before it at all: matches at once -> [1]
    // m@10, a@12, m@14: 14-10 = 4 <= 5: dropped
    // m@20, a@24, m@26: 26-20 = 6 > 5: match [5] (released when time passes 20+5)
    let q = seq(
        &[],
        Some(5),
        vec![missing(&["m"]), stage(&["a"]), missing(&["m"])],
        None,
    );
    let evs = [
        (1, 1, "a", None),
        (2, 10, "m", None),
        (3, 12, "a", None),
        (4, 14, "m", None),
        (5, 20, "m", None),
        (6, 24, "a", None),
        (7, 26, "m", None),
    ];
    assert_eq!(run(&q, &evs), vec![vec![1], vec![6]]);
}

fn sample_run(q: &Sample, cfg: SampleConfig, evs: &[Ev]) -> Vec<(String, Vec<u64>)> {
    let mut m = SampleMatcher::with_config(q, cfg);
    let mut out = Vec::new();
    for e in evs {
        for s in m.push(&event(e), e.0) {
            let k = match &s.key[0] {
                KeyValue::Str(s) => s.clone(),
                other => format!("{other:?}"),
            };
            out.push((k, s.items));
        }
    }
    out
}

#[test]
fn samples_one_distinct_event_per_filter_unordered() {
    // sample by k [a or ab] [b or ab]
    // h1: b@1, a@2          -> sample [2 (a), 1 (b)]: filter order, not time order
    // h2: a@3 only          -> nothing
    // h3: ab@4              -> one event cannot fill both filters: nothing yet
    // h3: ab@5              -> [4, 5]
    // h1: a@6, b@7          -> max_samples_per_key = 1: nothing more for h1
    let q = Sample {
        by: vec![FieldPath::new("k")],
        optional_by: vec![],
        stages: vec![stage(&["a", "ab"]), stage(&["b", "ab"])],
    };
    let evs = [
        (1, 1, "b", Some("h1")),
        (2, 2, "a", Some("h1")),
        (3, 3, "a", Some("h2")),
        (4, 4, "ab", Some("h3")),
        (5, 5, "ab", Some("h3")),
        (6, 6, "a", Some("h1")),
        (7, 7, "b", Some("h1")),
    ];
    assert_eq!(
        sample_run(&q, SampleConfig::default(), &evs),
        vec![
            ("h1".to_string(), vec![2, 1]),
            ("h3".to_string(), vec![4, 5])
        ]
    );
    // With max_samples_per_key = 2, h1 gets a second sample from unused events 6 and 7.
    let cfg = SampleConfig {
        max_samples_per_key: 2,
        ..SampleConfig::default()
    };
    assert_eq!(
        sample_run(&q, cfg, &evs),
        vec![
            ("h1".to_string(), vec![2, 1]),
            ("h3".to_string(), vec![4, 5]),
            ("h1".to_string(), vec![6, 7])
        ]
    );
}

#[test]
fn sample_keys_are_capped() {
    let q = Sample {
        by: vec![FieldPath::new("k")],
        optional_by: vec![],
        stages: vec![stage(&["a"]), stage(&["b"])],
    };
    let cfg = SampleConfig {
        max_keys: 50,
        ..SampleConfig::default()
    };
    let mut m = SampleMatcher::with_config(&q, cfg);
    for i in 0..500u64 {
        let k = format!("k{i}");
        m.push(&event(&(i, 0, "a", Some(&k))), i);
        assert!(m.keys() <= 50);
    }
    assert!(m.stats().evicted_cap >= 450);
}

// ---- The same semantics through the EQL parser --------------------------------------------

use spawnguard_query::{compile, CompileOptions, Language, QueryKind};

fn eql_sequence(text: &str) -> Sequence {
    match compile(Language::Eql, text, &CompileOptions::default()) {
        Ok(q) => match q.kind {
            QueryKind::Sequence(s) => s,
            other => panic!("not a sequence: {other:?}"),
        },
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn eql_docs_example_by_user() {
    // Same timeline as `state_machine_example_from_the_elasticsearch_docs`, with `tag` as the
    // process name and `k` as the user: sequences [2,4,9] (root) and [6,8,10] (elk).
    let q = eql_sequence(
        r#"sequence by k
             [any where tag == "attrib"]
             [any where tag == "bash"]
             [any where tag == "cat"]"#,
    );
    let r = Some("root");
    let e = Some("elk");
    let evs = [
        (1, 1, "attrib", r),
        (2, 2, "attrib", r),
        (3, 3, "bash", e),
        (4, 4, "bash", r),
        (5, 5, "bash", r),
        (6, 6, "attrib", e),
        (7, 7, "attrib", r),
        (8, 8, "bash", e),
        (9, 9, "cat", r),
        (10, 10, "cat", e),
        (11, 11, "cat", r),
    ];
    assert_eq!(run(&q, &evs), vec![vec![2, 4, 9], vec![6, 8, 10]]);
}

#[test]
fn eql_per_stage_keys_until_runs_and_maxspan() {
    // sequence with maxspan=10s [a] by k [b] by k with runs=2 until [c] by k
    //  1 a x @0     x: A=[1]
    //  2 b x @1     x: B1=[1,2]
    //  3 c y @2     until for y: nothing pending on y
    //  4 b x @3     x: complete [1,2,4]
    //  5 a x @20    x: A=[5]
    //  6 c x @21    until for x: drops [5]
    //  7 b x @22    x: nothing pending
    //  8 a z @30    z: A=[8]
    //  9 b z @35    z: B1=[8,9]
    // 10 b z @41    41-30 = 11 > 10: dropped
    let q = eql_sequence(
        r#"sequence with maxspan=10s
             [any where tag == "a"] by k
             [any where tag == "b"] by k with runs=2
           until [any where tag == "c"] by k"#,
    );
    let evs = [
        (1, 0, "a", Some("x")),
        (2, 1, "b", Some("x")),
        (3, 2, "c", Some("y")),
        (4, 3, "b", Some("x")),
        (5, 20, "a", Some("x")),
        (6, 21, "c", Some("x")),
        (7, 22, "b", Some("x")),
        (8, 30, "a", Some("z")),
        (9, 35, "b", Some("z")),
        (10, 41, "b", Some("z")),
    ];
    assert_eq!(run(&q, &evs), vec![vec![1, 2, 4]]);
}

#[test]
fn eql_missing_event() {
    // sequence by k with maxspan=5s [a] ![m]
    // x: a@0, m@2       -> dropped
    // y: a@1, m@7       -> 7-1 = 6 > 5: match [2]
    let q = eql_sequence(
        r#"sequence by k with maxspan=5s
             [any where tag == "a"]
            ![any where tag == "m"]"#,
    );
    let evs = [
        (1, 0, "a", Some("x")),
        (2, 1, "a", Some("y")),
        (3, 2, "m", Some("x")),
        (4, 7, "m", Some("y")),
    ];
    assert_eq!(run(&q, &evs), vec![vec![2]]);
}

#[test]
fn eql_sample() {
    // sample by k [a] [b]: x gets [a@3, b@1]; y only has b: nothing.
    let q = match compile(
        Language::Eql,
        r#"sample by k [any where tag == "a"] [any where tag == "b"]"#,
        &CompileOptions::default(),
    ) {
        Ok(q) => match q.kind {
            QueryKind::Sample(s) => s,
            other => panic!("not a sample: {other:?}"),
        },
        Err(e) => panic!("{e}"),
    };
    let evs = [
        (1, 1, "b", Some("x")),
        (2, 2, "b", Some("y")),
        (3, 3, "a", Some("x")),
    ];
    assert_eq!(
        sample_run(&q, SampleConfig::default(), &evs),
        vec![("x".to_string(), vec![3, 1])]
    );
}

#[test]
fn optional_join_keys_join_on_null() {
    // `by ?k`: events lacking k join each other on null (Elasticsearch's optional fields);
    // `by k`: an event lacking k is dropped.
    let evs = [
        (1, 1, "a", None),
        (2, 2, "a", Some("x")),
        (3, 3, "b", None),
        (4, 4, "b", Some("x")),
    ];
    let optional = eql_sequence(r#"sequence by ?k [any where tag == "a"] [any where tag == "b"]"#);
    assert_eq!(optional.optional_by, vec![true]);
    assert_eq!(run(&optional, &evs), vec![vec![1, 3], vec![2, 4]]);
    let required = eql_sequence(r#"sequence by k [any where tag == "a"] [any where tag == "b"]"#);
    assert_eq!(required.optional_by, vec![false]);
    assert_eq!(run(&required, &evs), vec![vec![2, 4]]);
    // Per stage: only the first stage's key is optional, and a missing key on the second
    // stage still drops the event.
    let staged =
        eql_sequence(r#"sequence [any where tag == "a"] by ?k [any where tag == "b"] by k"#);
    assert_eq!(run(&staged, &evs), vec![vec![2, 4]]);
}

/// Stage results handed over by a caller that evaluated the conditions itself
/// (`push_matched`, bit per stage as written, then `until`) give exactly what the matcher
/// finds evaluating them: with `runs` (one condition feeding several flattened stages),
/// missing stages in every place, and `until`.
#[test]
fn stage_results_handed_over_give_the_same_matches() {
    let runs = |tags: &[&str], n: u32| Stage {
        runs: n,
        ..stage(tags)
    };
    let queries = [
        seq(
            &["k"],
            Some(20),
            vec![stage(&["a"]), stage(&["b", "a"]), stage(&["c"])],
            None,
        ),
        seq(
            &["k"],
            Some(30),
            vec![runs(&["a"], 2), stage(&["b"])],
            Some(stage(&["u"])),
        ),
        seq(
            &["k"],
            Some(25),
            vec![missing(&["m"]), stage(&["a"]), stage(&["b"])],
            None,
        ),
        seq(
            &["k"],
            Some(25),
            vec![stage(&["a"]), missing(&["m", "a"]), stage(&["b"])],
            None,
        ),
        seq(
            &["k"],
            Some(15),
            vec![stage(&["a"]), stage(&["b"]), missing(&["m"])],
            None,
        ),
        seq(
            &[],
            None,
            vec![stage(&["u", "a"]), runs(&["b"], 3)],
            Some(stage(&["c", "u"])),
        ),
    ];
    let tags = ["a", "b", "c", "m", "u", "x"];
    let keys = [Some("k1"), Some("k2"), None];
    let mut x: u64 = 0x2545f4914f6cdd1d;
    let mut evs: Vec<(u64, i64, &str, Option<&str>)> = Vec::new();
    for id in 1..=600u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let t = tags[(x % tags.len() as u64) as usize];
        let k = keys[((x >> 8) % keys.len() as u64) as usize];
        evs.push((id, (id as i64) * 3 / 2 + ((x >> 16) % 3) as i64, t, k));
    }
    for q in &queries {
        let mut conds: Vec<&Pred> = q.stages.iter().map(|s| &s.pred).collect();
        conds.extend(q.until.iter().map(|u| &u.pred));
        let mut plain = SequenceMatcher::new(q);
        let mut handed = SequenceMatcher::new(q);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for e in &evs {
            let ev = event(e);
            let bits = conds
                .iter()
                .enumerate()
                .filter(|(_, p)| p.matches(&ev))
                .fold(0u64, |acc, (i, _)| acc | 1 << i);
            a.extend(plain.push(&ev, e.1 * S, e.0));
            b.extend(handed.push_matched(&ev, e.1 * S, || e.0, Some(bits)));
        }
        a.extend(plain.flush());
        b.extend(handed.flush());
        assert!(!a.is_empty(), "{q:?}: the timeline completes no sequence");
        assert_eq!(a, b, "{q:?}");
        assert_eq!(plain.stats(), handed.stats(), "{q:?}");
    }
}
