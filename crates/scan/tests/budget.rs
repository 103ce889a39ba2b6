//! The work budget of the full walker: a stream that needs the full walk and runs past the
//! budget is reported (error + suspicious finding), never safe, and never scanned forever.

use std::time::Duration;

use spawnguard_scan::{scan_bytes, scan_bytes_with, FileReport, Limits, Verdict, BUDGET_FINDING};

/// `n` times `NONE, POP`: 2n opcodes that do nothing.
fn filler(n: usize) -> Vec<u8> {
    b"N0".repeat(n)
}

/// A protocol-0 pickle (its `STRING` opcode sends it to the full walker) with `n` filler pairs.
fn slow_stream(n: usize) -> Vec<u8> {
    [b"S'x'\n0".as_slice(), &filler(n), b"N."].concat()
}

fn limits(ops: u64) -> Limits {
    Limits {
        max_walk_opcodes: ops,
        ..Limits::default()
    }
}

fn budget_findings(r: &FileReport) -> usize {
    r.findings
        .iter()
        .filter(|f| f.global == BUDGET_FINDING)
        .count()
}

#[test]
fn defaults_are_documented_values() {
    let d = Limits::default();
    assert_eq!(
        d.max_walk_opcodes,
        spawnguard_scan::DEFAULT_MAX_WALK_OPCODES
    );
    assert_eq!(
        d.max_walk_time,
        Some(spawnguard_scan::DEFAULT_MAX_WALK_TIME)
    );
}

#[test]
fn within_budget_is_safe_and_over_budget_is_suspicious_with_an_error() {
    let data = slow_stream(50_000); // ~100k opcodes
    let ok = scan_bytes("f", &data);
    assert_eq!(ok.verdict, Verdict::Safe);
    assert!(ok.errors.is_empty(), "{:?}", ok.errors);
    assert_eq!(budget_findings(&ok), 0);

    let cut = scan_bytes_with("f", &data, &limits(10_000));
    assert_eq!(cut.verdict, Verdict::Suspicious);
    assert_eq!(budget_findings(&cut), 1);
    assert_eq!(cut.errors.len(), 1, "{:?}", cut.errors);
    assert!(cut.errors[0].message.contains("budget"), "{:?}", cut.errors);
    // the walk stopped at the 10,001st opcode: 3 for the string, then NONE/POP pairs
    assert_eq!(cut.errors[0].offset, 6 + 2 * ((10_000 - 2) / 2) as u64);
}

#[test]
fn a_dangerous_global_before_the_cut_is_still_dangerous() {
    let data = [
        b"cos\nsystem\n(S'id'\ntR0".as_slice(),
        &filler(50_000),
        b"N.",
    ]
    .concat();
    let r = scan_bytes_with("f", &data, &limits(1_000));
    assert_eq!(r.verdict, Verdict::Dangerous);
    assert_eq!(budget_findings(&r), 1);
    let calls: Vec<_> = r.findings.iter().filter_map(|f| f.call.clone()).collect();
    assert_eq!(calls, vec![r#"os.system("id")"#]);
}

#[test]
fn a_payload_past_the_cut_is_not_seen_but_the_file_is_not_safe() {
    let data = [
        b"S'x'\n0".as_slice(),
        &filler(50_000),
        b"cos\nsystem\n(S'id'\ntR.",
    ]
    .concat();
    assert_eq!(scan_bytes("f", &data).verdict, Verdict::Dangerous);
    let r = scan_bytes_with("f", &data, &limits(1_000));
    assert_eq!(r.verdict, Verdict::Suspicious);
    assert_eq!(budget_findings(&r), 1);
}

#[test]
fn the_budget_is_per_file_across_concatenated_streams() {
    // two streams of ~60k opcodes each: each fits a 100k budget, both together do not
    let one = slow_stream(30_000);
    let two = [one.as_slice(), &one].concat();
    let r1 = scan_bytes_with("f", &one, &limits(100_000));
    assert_eq!(r1.verdict, Verdict::Safe);
    assert_eq!(r1.pickles, 1);
    let r2 = scan_bytes_with("f", &two, &limits(100_000));
    assert_eq!(r2.verdict, Verdict::Suspicious);
    assert_eq!(budget_findings(&r2), 1);
    assert_eq!(r2.errors.len(), 1, "{:?}", r2.errors);
    assert_eq!(r2.pickles, 2);
}

#[test]
fn a_nested_probe_that_runs_out_is_not_rolled_back() {
    // BINBYTES holding something that starts like a pickle: probed as a nested pickle, which
    // holds no global and never stops, so without the budget it would be dropped as "not a
    // pickle"; cut short by the budget it must stay reported.
    let inner = [b"\x80\x02".as_slice(), &filler(20_000)].concat();
    let mut data = b"\x80\x03B".to_vec();
    data.extend_from_slice(&(inner.len() as u32).to_le_bytes());
    data.extend_from_slice(&inner);
    data.extend_from_slice(b"0N.");
    let free = scan_bytes("f", &data);
    assert_eq!(free.verdict, Verdict::Safe, "{:?}", free.findings);
    let r = scan_bytes_with("f", &data, &limits(5_000));
    assert_eq!(r.verdict, Verdict::Suspicious, "{:?}", r);
    assert_eq!(budget_findings(&r), 1);
    assert!(r.errors.iter().any(|e| e.message.contains("budget")));
}

#[test]
fn the_time_limit_stops_a_walk() {
    let data = slow_stream(100_000); // > 65,536 opcodes: the clock is read at least once
    let r = scan_bytes_with(
        "f",
        &data,
        &Limits {
            max_walk_opcodes: u64::MAX,
            max_walk_time: Some(Duration::ZERO),
        },
    );
    assert_eq!(r.verdict, Verdict::Suspicious);
    assert_eq!(budget_findings(&r), 1);
    assert!(
        r.errors[0].message.contains("to 0 s per file"),
        "{:?}",
        r.errors
    );
    let untimed = scan_bytes_with(
        "f",
        &data,
        &Limits {
            max_walk_opcodes: u64::MAX,
            max_walk_time: None,
        },
    );
    assert_eq!(untimed.verdict, Verdict::Safe);
    assert!(untimed.errors.is_empty());
}

#[test]
fn fast_path_streams_do_not_use_the_budget() {
    // protocol 2, allowlisted global only: the skim takes it whole, so even a budget of one
    // opcode is not reached
    let mut data = b"\x80\x02ccollections\nOrderedDict\nq\x00)R".to_vec();
    data.extend_from_slice(&filler(50_000));
    data.push(b'.');
    let r = scan_bytes_with("f", &data, &limits(1));
    assert_eq!(r.verdict, Verdict::Safe);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}
