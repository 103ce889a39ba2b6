//! Arbitrary bytes through the record reader (NDJSON, JSON arrays, search responses) and the
//! record parser; every event that parses is evaluated against fixed queries, and the
//! prefilter must accept the raw bytes of every record a query matches.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    spawnguard_fuzz::check_reader(data);
});
