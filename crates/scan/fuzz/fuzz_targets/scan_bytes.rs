//! Fuzz the whole scanner (content detection, containers, the skim fast path and the full
//! walker): it must never panic, and the fast path must agree with the full walk (verdict,
//! findings and errors).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fast = spawnguard_scan::scan_bytes("fuzz", data);
    let full = spawnguard_scan::scan_bytes_full_walk("fuzz", data);
    assert_eq!(fast.verdict, full.verdict);
    assert_eq!(fast.findings, full.findings);
    assert_eq!(fast.errors, full.errors);
});
