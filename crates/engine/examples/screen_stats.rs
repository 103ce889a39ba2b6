//! Which rules the screen hands lines to: for each rule, how many lines passed its
//! prefilter requirement and how many events its condition matched.
//!
//! `cargo run --release -p spawnguard-engine --example screen_stats -- FILE DIR...`

use spawnguard_event::reader::{parse_record, RecordReader};
use spawnguard_query::prefilter::{Prefilter, Scratch};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((file, dirs)) = args.split_first() else {
        eprintln!("usage: screen_stats FILE DIR...");
        std::process::exit(2);
    };
    let dirs: Vec<PathBuf> = dirs.iter().map(PathBuf::from).collect();
    let report = spawnguard_rules::load_dirs(&dirs);
    let screen = spawnguard_engine::screen::Screen::new(&report.rules);
    let (keyed, fields) = screen.key_summary();
    let (with_cat, any_cat) = screen.index_summary();
    eprintln!(
        "{} rules: {keyed} keyed by a required value over {fields} fields; \
         {with_cat} with known categories, {any_cat} for any category",
        report.rules.len()
    );
    let reqs: Vec<_> = report.rules.iter().map(|r| r.query.requirement()).collect();
    let pf = Prefilter::new(&reqs);
    let mut passed = vec![0u64; reqs.len()];
    let mut matched = vec![0u64; reqs.len()];
    let mut lines = 0u64;
    let mut scratch = Scratch::default();
    let Ok(mut reader) = RecordReader::open(file) else {
        eprintln!("cannot open {file}");
        std::process::exit(2);
    };
    while let Some(Ok(rec)) = reader.next_record() {
        lines += 1;
        let mut cands = Vec::new();
        pf.candidates(rec.bytes, &mut scratch, |i| cands.push(i));
        if cands.is_empty() {
            continue;
        }
        let Ok(ev) = parse_record(file, rec.line, rec.bytes) else {
            continue;
        };
        for i in cands {
            passed[i] += 1;
            if report.rules[i]
                .query
                .event_pred()
                .is_some_and(|p| p.matches(&ev))
            {
                matched[i] += 1;
            }
        }
    }
    let mut rows: Vec<usize> = (0..reqs.len()).collect();
    rows.sort_by_key(|&i| std::cmp::Reverse(passed[i]));
    println!("{lines} lines; rules by lines passing their prefilter requirement:");
    for i in rows.into_iter().take(40) {
        let r = &report.rules[i].rule;
        println!(
            "{:>8} passed {:>7} matched  {}  [{:?}]",
            passed[i],
            matched[i],
            r.source,
            format!("{:?}", reqs[i])
                .chars()
                .take(100)
                .collect::<String>()
        );
    }
}
