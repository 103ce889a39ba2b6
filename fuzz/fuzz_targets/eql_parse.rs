//! Arbitrary text through the EQL parser and compiler: it must never panic, its errors must
//! point inside the query, and whatever compiles is evaluated over sample events with the
//! prefilter checked for soundness.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spawnguard_query::Language;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        spawnguard_fuzz::check_query(Language::Eql, text);
    }
});
