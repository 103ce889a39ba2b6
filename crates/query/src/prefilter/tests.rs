//! Tests of the prefilter: literal derivation, packed formulas, the gate, anchors.
use super::gate::GATE_SAMPLE;
use super::*;

#[test]
fn fragments_avoid_escapable_characters() {
    assert_eq!(literal_req("/bin/bash"), Req::Lit("bash".into()));
    assert_eq!(wildcard_req("*pty.spawn*"), Req::Lit("pty.spawn".into()));
    assert_eq!(wildcard_req("python*"), Req::Lit("python".into()));
    assert_eq!(wildcard_req("*"), Req::Always);
    assert_eq!(literal_req("é"), Req::Always);
    assert_eq!(wildcard_req("a\\*bc"), Req::Lit("a*bc".into()));
}

#[test]
fn number_text_is_never_required() {
    // `{"n":1E2}` is the number 100.0, whose text `100.0` is not in the bytes.
    assert_eq!(literal_req("100.0"), Req::Always);
    assert_eq!(literal_req("-12"), Req::Always);
    assert_eq!(wildcard_req("10*"), Req::Always);
    assert_eq!(literal_req("10.0.0.1x"), Req::Lit("10.0.0.1x".into()));
    assert_eq!(literal_req("v1.0"), Req::Lit("v1.0".into()));
}

#[test]
fn lazy_scan_agrees_with_candidates() {
    let reqs = vec![
        Req::all(vec![
            Req::Lit("python".into()),
            Req::any(vec![Req::Lit("bash".into()), Req::Lit("zsh".into())]),
        ]),
        Req::Lit("curl".into()),
        Req::Never,
        Req::all(vec![Req::Lit("wget".into()), Req::Lit("sh".into())]),
    ];
    let pf = Prefilter::new(&reqs);
    let lines: [&[u8]; 6] = [
        br#"{"p":"PYTHON3","c":"zsh"}"#,
        br#"{"p":"python3","c":"fish"}"#,
        br#"{"p":"curl","c":"fish"}"#,
        br#"{"p":"wget","c":"bash"}"#,
        br#"{"p":"\u0070ython","c":"fish"}"#,
        br#"{"p":"nothing"}"#,
    ];
    let mut s1 = Scratch::default();
    let mut s2 = Scratch::default();
    for _ in 0..3 {
        for line in lines {
            let mut want = Vec::new();
            let n = pf.candidates(line, &mut s1, |i| want.push(i));
            let any = pf.scan(line, &mut s2);
            assert_eq!(any, n > 0, "{}", String::from_utf8_lossy(line));
            let got: Vec<usize> = (0..reqs.len()).filter(|&i| pf.holds(i, &s2)).collect();
            if any {
                assert_eq!(got, want, "{}", String::from_utf8_lossy(line));
            }
        }
    }
}

#[test]
fn formula_over_lines() {
    let r0 = Req::all(vec![
        Req::Lit("python".into()),
        Req::any(vec![Req::Lit("bash".into()), Req::Lit("zsh".into())]),
    ]);
    let r1 = Req::Always;
    let r2 = Req::Never;
    let pf = Prefilter::new(&[r0, r1, r2]);
    let mut s = Scratch::default();
    let mut got = Vec::new();
    pf.candidates(br#"{"p":"PYTHON3","c":"zsh"}"#, &mut s, |i| got.push(i));
    assert_eq!(got, vec![0, 1]);
    got.clear();
    pf.candidates(br#"{"p":"python3","c":"fish"}"#, &mut s, |i| got.push(i));
    assert_eq!(got, vec![1]);
    got.clear();
    // A \u escape could spell anything: every query is a candidate.
    pf.candidates(br#"{"p":"\u0070ython","c":"fish"}"#, &mut s, |i| {
        got.push(i)
    });
    assert_eq!(got, vec![0, 1, 2]);
}

#[test]
fn gate_skips_lines_without_any_querys_must_literal() {
    let pf = Prefilter::new(&[
        Req::all(vec![
            Req::Lit("python".into()),
            Req::any(vec![Req::Lit("bash".into()), Req::Lit("sh".into())]),
        ]),
        Req::Lit("zsh".into()),
    ]);
    assert!(pf.gate.is_some());
    let mut s = Scratch::default();
    let mut got = Vec::new();
    // While sampling, the gate skips nothing; the full check still rejects the line.
    for _ in 0..GATE_SAMPLE + 10 {
        pf.candidates(br#"{"p":"bash","q":"sh"}"#, &mut s, |i| got.push(i));
    }
    assert!(got.is_empty());
    // After sampling, query 0's gate is `python` (absent from every sampled line, unlike
    // `bash`).
    assert_eq!(
        s.gate_chosen
            .iter()
            .map(|&i| pf.gate.as_ref().map(|g| g.lits.len() > i))
            .collect::<Vec<_>>(),
        vec![Some(true), Some(true)]
    );
    assert!(!pf
        .gate
        .as_ref()
        .is_some_and(|g| g.may_pass(br#"{"p":"bash"}"#, &mut s)));
    pf.candidates(br#"{"p":"Python3","q":"bash","r":"zsh"}"#, &mut s, |i| {
        got.push(i)
    });
    assert_eq!(got, vec![0, 1]);
    // A query without a required literal disables the gate.
    let pf = Prefilter::new(&[Req::Lit("zsh".into()), Req::Always]);
    assert!(pf.gate.is_none());
}

#[test]
fn gate_never_drops_a_line_the_formula_accepts() {
    // Sample 1000 lines that all contain `linux` but not `python`: the gate settles on
    // `python`. Lines that satisfy the whole formula must still come through, in any case.
    let pf = Prefilter::new(&[Req::all(vec![
        Req::Lit("linux".into()),
        Req::Lit("python".into()),
    ])]);
    let mut s = Scratch::default();
    let mut passed = 0;
    for i in 0..1000 {
        let line = if i % 100 == 99 {
            format!(r#"{{"os":"linux","p":"PyThOn{i}"}}"#)
        } else {
            format!(r#"{{"os":"linux","p":"bash{i}"}}"#)
        };
        if pf.may_match(line.as_bytes(), &mut s) {
            passed += 1;
        }
    }
    assert_eq!(passed, 10);
}

#[test]
fn overlapping_literals_are_all_found() {
    let pf = Prefilter::new(&[Req::all(vec![
        Req::Lit("python".into()),
        Req::Lit("thon3".into()),
    ])]);
    let mut s = Scratch::default();
    assert!(pf.may_match(b"python3", &mut s));
}

#[test]
fn packed_formulas_agree_with_the_tree() {
    // Deterministic pseudo-random formulas over 150 literals (three words of the
    // seen-set) and random seen-sets.
    let mut next = xorshift(0x9e3779b97f4a7c15);
    fn gen(depth: u32, next: &mut dyn FnMut(u64) -> u64) -> Compiled {
        match if depth == 0 { 0 } else { next(4) } {
            0 | 1 => Compiled::Lit(next(150) as usize),
            2 => Compiled::All((0..1 + next(5)).map(|_| gen(depth - 1, next)).collect()),
            _ => Compiled::Any((0..1 + next(5)).map(|_| gen(depth - 1, next)).collect()),
        }
    }
    for _ in 0..2000 {
        let tree = gen(3, &mut next);
        let packed = tree.clone().packed();
        for _ in 0..20 {
            let seen: Vec<u64> = (0..3)
                .map(|_| (0..64).fold(0u64, |w, b| w | (u64::from(next(3) == 0) << b)))
                .collect();
            assert_eq!(packed.holds(&seen), tree.holds(&seen), "{tree:?}");
        }
    }
}

#[test]
fn laid_out_requirements_agree_with_the_tree() {
    // Random packed formulas over 200 literals (four words), deep enough that some exceed
    // the caps on terms and tests and stay trees; `Always` and `Never` among the leaves.
    let mut next = xorshift(0x51afd7ed558ccd);
    fn gen(depth: u32, next: &mut dyn FnMut(u64) -> u64) -> Compiled {
        match if depth == 0 { next(12) } else { 12 + next(4) } {
            0 => Compiled::Always,
            1 => Compiled::Never,
            2..=11 => Compiled::Lit(next(200) as usize),
            12 | 13 => Compiled::All((0..1 + next(5)).map(|_| gen(depth - 1, next)).collect()),
            _ => Compiled::Any((0..1 + next(5)).map(|_| gen(depth - 1, next)).collect()),
        }
    }
    let trees: Vec<Compiled> = (0..3000)
        .map(|k| gen(1 + k % 4, &mut next).packed())
        .collect();
    let program = super::program::Program::new(&trees);
    let (kept_as_trees, tests) = program.summary();
    assert!(
        kept_as_trees > 0 && kept_as_trees < trees.len() / 2,
        "{kept_as_trees}"
    );
    assert!(tests > 0);
    for _ in 0..30 {
        // Sparse and dense seen-sets.
        let density = 1 << next(5);
        let seen: Vec<u64> = (0..4)
            .map(|_| (0..64).fold(0u64, |w, b| w | (u64::from(next(density) == 0) << b)))
            .collect();
        for (i, t) in trees.iter().enumerate() {
            assert_eq!(
                program.holds(i, &seen),
                t.holds(&seen),
                "{t:?} on {seen:x?}"
            );
        }
    }
    assert!(!program.holds(trees.len(), &[u64::MAX; 4]));
}

/// Anchored requirements over decoded text give exactly the formula's answer: the anchor
/// (a literal or `any` of literals every match needs) never rejects a text the formula
/// accepts. Random formulas over a small vocabulary (so that literals are shared, and
/// anchors are chosen by how many requirements share them), random texts.
#[test]
fn anchored_scan_of_texts_agrees_with_the_formulas() {
    const WORDS: &[&str] = &[
        "python",
        "bash",
        "start",
        "exec",
        "linux",
        "curl",
        "wget",
        "pty.spawn",
        "socket",
        "nc",
        "perl",
        "-c",
        "/dev/tcp",
        "base64",
        "node",
        "ruby",
    ];
    let mut next = xorshift(0x2545f4914f6cdd1d);
    fn gen(depth: u32, next: &mut dyn FnMut(u64) -> u64) -> Req {
        match if depth == 0 { 0 } else { next(5) } {
            0 | 1 => Req::Lit(WORDS[next(WORDS.len() as u64) as usize].to_string()),
            2 | 3 => Req::all((0..1 + next(4)).map(|_| gen(depth - 1, next)).collect()),
            _ => Req::any((0..1 + next(4)).map(|_| gen(depth - 1, next)).collect()),
        }
    }
    fn truth(r: &Req, text: &str) -> bool {
        match r {
            Req::Always => true,
            Req::Never => false,
            Req::Lit(s) => text.to_ascii_lowercase().contains(s.as_str()),
            Req::All(ps) => ps.iter().all(|p| truth(p, text)),
            Req::Any(ps) => ps.iter().any(|p| truth(p, text)),
        }
    }
    for _ in 0..200 {
        let reqs: Vec<Req> = (0..30).map(|_| gen(3, &mut next)).collect();
        let pf = Prefilter::new(&reqs);
        let mut scratch = Scratch::default();
        for _ in 0..50 {
            // A few values, NUL-separated, some words upper-cased.
            let mut text = Vec::new();
            for _ in 0..next(6) {
                let w = WORDS[next(WORDS.len() as u64) as usize];
                let w = if next(4) == 0 {
                    w.to_ascii_uppercase()
                } else {
                    w.to_string()
                };
                text.extend_from_slice(format!("x{w}y").as_bytes());
                text.push(0);
            }
            let s = String::from_utf8(text.clone()).unwrap();
            let any = pf.scan_texts(&text, &mut scratch);
            let want: Vec<bool> = reqs.iter().map(|r| truth(r, &s)).collect();
            assert_eq!(any, want.iter().any(|&b| b), "{s:?}");
            for (i, w) in want.iter().enumerate() {
                assert_eq!(pf.holds(i, &scratch), *w, "{:?} on {s:?}", reqs[i]);
            }
            // The candidates by anchor, each then checked by its formula alone, are exactly
            // the requirements that hold.
            let mut cand = Vec::new();
            pf.anchor_candidates(&scratch, &mut cand);
            assert_eq!(pf.any_holds_among(&scratch, &cand), any, "{s:?}");
            for (i, w) in want.iter().enumerate() {
                let is_cand = cand
                    .get(i / 64)
                    .is_some_and(|x| x & (1u64 << (i % 64)) != 0);
                assert_eq!(
                    is_cand && pf.formula_holds(i, &scratch),
                    *w,
                    "{:?} on {s:?}",
                    reqs[i]
                );
            }
        }
    }
}

#[test]
fn dfa_walk_marks_what_the_overlapping_search_finds() {
    use aho_corasick::{AhoCorasickBuilder, MatchKind};
    let lits = [
        "sh",
        "bash",
        "/bin/",
        "bin/sh",
        "python",
        "thon3",
        "PY",
        "a",
        "aa",
        "aaa",
        "x.y",
        "é",
        "\u{e9}t\u{e9}",
        "-c",
        "curl",
        "url",
    ];
    let dfa = aho_corasick::dfa::Builder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .start_kind(aho_corasick::StartKind::Unanchored)
        .prefilter(false)
        .build(lits)
        .unwrap();
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(lits)
        .unwrap();
    for hay in [
        "",
        "/BIN/BASH -c 'curl x.y'",
        "aaaa",
        "Python3\0thon3\0été",
        "ÉTÉ été",
        "shsh\0bin/s",
        "zzz",
    ] {
        let mut seen = vec![0u64; 1];
        super::mark_all(&dfa, hay.as_bytes(), &mut seen);
        let mut want = vec![0u64; 1];
        for m in ac.find_overlapping_iter(hay) {
            want[0] |= 1 << m.pattern().as_usize();
        }
        assert_eq!(seen, want, "{hay:?}");
    }
}

/// The text memo marks exactly what one walk of the whole text marks: for texts repeated
/// (hits), new (misses), of both length classes, past the memo's size (it starts over),
/// through a class turned off for rarely hitting, and with two prefilters taking turns on
/// one scratch (each claims the memo).
#[test]
fn remembered_marks_equal_walked_marks() {
    let words = [
        "bash",
        "sh",
        "-c",
        "python",
        "pty.spawn",
        "/dev/tcp/",
        "curl",
        "x",
    ];
    let reqs_a: Vec<Req> = words.iter().map(|w| Req::Lit(w.to_string())).collect();
    let reqs_b = vec![Req::Lit("curl".into()), Req::Lit("spawn(".into())];
    let (a, b) = (Prefilter::new(&reqs_a), Prefilter::new(&reqs_b));
    let mut memo_scratch = Scratch::default();
    let mut walk_scratch = Scratch::default();
    let mut each_scratch = Scratch::default();
    let mut next = xorshift(0x9e3779b97f4a7c15);
    for round in 0..60_000u64 {
        let pf = if round % 7 == 0 { &b } else { &a };
        let mut text = Vec::new();
        for _ in 0..1 + next(4) {
            let w = words[next(words.len() as u64) as usize];
            let piece = match next(3) {
                // Repeated, short or long.
                0 => w.to_string(),
                1 => format!("/usr/bin/{w} -c 'import pty; pty.spawn(\"/bin/sh\")' {w}"),
                // Unique (a miss), long after the first rounds, past the memo's size.
                _ => format!("{w}{round}{}", "z".repeat((round % 50) as usize)),
            };
            text.extend_from_slice(piece.as_bytes());
            text.push(0);
        }
        pf.mark_texts(&text, &mut memo_scratch);
        pf.scan_texts(&text, &mut walk_scratch);
        pf.mark_each_text(&mut each_scratch, |mark| {
            text.split(|&c| c == 0).for_each(mark);
        });
        assert_eq!(
            memo_scratch.seen,
            walk_scratch.seen,
            "{}",
            String::from_utf8_lossy(&text)
        );
        assert_eq!(
            each_scratch.seen,
            walk_scratch.seen,
            "{}",
            String::from_utf8_lossy(&text)
        );
    }
    assert!(!memo_scratch.memo.is_empty(), "the memo was used");
}

/// Texts seen once (unique command lines) are never remembered; a text that comes again is.
#[test]
fn only_texts_that_come_again_are_remembered() {
    let pf = Prefilter::new(&[Req::Lit("curl".into()), Req::Lit("bash".into())]);
    let mut scratch = Scratch::default();
    for n in 0..10_000 {
        let text = format!("bash -c 'curl http://x/{n}'\0bash\0");
        pf.mark_texts(text.as_bytes(), &mut scratch);
        assert!(pf.holds(0, &scratch) && pf.holds(1, &scratch));
    }
    assert_eq!(
        scratch.memo.len(),
        1,
        "only the repeated `bash` is remembered"
    );
}

/// A small deterministic generator for the randomised tests: `next(n)` is in `0..n`.
fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed;
    move |n| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    }
}
