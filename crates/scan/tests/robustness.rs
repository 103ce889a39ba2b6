//! Property test: mutated and truncated corpus files never panic, and the walker's verdict on
//! a prefix never hides a dangerous global that the prefix already contains.

use spawnguard_scan::{scan_bytes, scan_bytes_full_walk, Verdict};
use std::path::Path;

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/files");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("corpus/files exists")
        .map(|e| {
            let p = e.expect("dir entry").path();
            (
                p.display().to_string(),
                std::fs::read(&p).expect("readable"),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() > 50);
    out
}

#[test]
fn mutated_inputs_never_panic() {
    let iterations: usize = std::env::var("SPAWNGUARD_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let files = corpus();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for i in 0..iterations {
        let (name, base) = &files[(rng.next() as usize) % files.len()];
        let mut data = base.clone();
        match rng.next() % 4 {
            0 => {
                let n = 1 + rng.next() as usize % 8;
                for _ in 0..n {
                    if data.is_empty() {
                        break;
                    }
                    let at = rng.next() as usize % data.len();
                    data[at] = rng.next() as u8;
                }
            }
            1 => {
                let cut = rng.next() as usize % (data.len() + 1);
                data.truncate(cut);
            }
            2 => {
                let at = rng.next() as usize % (data.len() + 1);
                let junk: Vec<u8> = (0..1 + rng.next() % 16).map(|_| rng.next() as u8).collect();
                data.splice(at..at, junk);
            }
            _ => {
                // splice a slice of another file in
                let (_, other) = &files[(rng.next() as usize) % files.len()];
                if !other.is_empty() && !data.is_empty() {
                    let a = rng.next() as usize % other.len();
                    let b = (a + rng.next() as usize % 64).min(other.len());
                    let at = rng.next() as usize % data.len();
                    data.splice(at..at, other[a..b].iter().copied());
                }
            }
        }
        let fast = std::panic::catch_unwind(|| scan_bytes("mutant", &data));
        let full = std::panic::catch_unwind(|| scan_bytes_full_walk("mutant", &data));
        let (Ok(fast), Ok(full)) = (fast, full) else {
            panic!("iteration {i}: panic on a mutant of {name}")
        };
        // the fast path may only skip work, never change the outcome
        assert_eq!(
            fast.verdict, full.verdict,
            "iteration {i}: fast/full verdicts differ on a mutant of {name}"
        );
        assert_eq!(
            fast.findings, full.findings,
            "iteration {i}: findings differ on a mutant of {name}"
        );
    }
}

#[test]
fn fast_path_agrees_with_full_walk_on_the_corpus() {
    for (name, data) in corpus() {
        let fast = scan_bytes("f", &data);
        let full = scan_bytes_full_walk("f", &data);
        assert_eq!(fast.verdict, full.verdict, "{name}");
        assert_eq!(fast.findings, full.findings, "{name}");
        assert_eq!(fast.errors, full.errors, "{name}");
        assert_eq!(fast.pickles, full.pickles, "{name}");
    }
}

#[test]
fn fuzz_regressions_agree() {
    // inputs the fuzzer found where the fast path and the full walk disagreed
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regress");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("tests/regress exists") {
        let p = e.expect("entry").path();
        let data = std::fs::read(&p).expect("readable");
        let fast = scan_bytes("f", &data);
        let full = scan_bytes_full_walk("f", &data);
        assert_eq!(fast.verdict, full.verdict, "{}", p.display());
        assert_eq!(fast.findings, full.findings, "{}", p.display());
        n += 1;
    }
    assert!(n >= 1);
}

#[test]
fn every_prefix_of_a_raw_malicious_pickle_after_the_import_stays_dangerous() {
    for (name, data) in corpus() {
        if !name.contains("mal_stdlib_") {
            continue;
        }
        let full = scan_bytes("full", &data);
        assert_eq!(full.verdict, Verdict::Dangerous);
        let first = full
            .dangerous()
            .map(|f| f.offset as usize)
            .min()
            .expect("a dangerous finding");
        // once the import opcode and its arguments are complete, every prefix is dangerous
        let mut seen = false;
        for cut in first..=data.len() {
            let v = scan_bytes("prefix", &data[..cut]).verdict;
            if v == Verdict::Dangerous {
                seen = true;
            } else {
                assert!(!seen, "{name}: prefix {cut} lost the dangerous verdict");
            }
        }
        assert!(seen, "{name}");
    }
}
