//! The committed eBPF object must be exactly what bpf/build.sh makes from the committed source.
//! Needs clang, llvm-strip and libbpf headers (scripts/install-deps.sh installs them); a missing
//! tool fails this test, it never skips.

use std::path::Path;
use std::process::Command;

#[test]
fn committed_object_matches_a_fresh_build() {
    let bpf = Path::new(env!("CARGO_MANIFEST_DIR")).join("bpf");
    let out = tempfile::tempdir().expect("temp dir");
    let obj = out.path().join("spawnguard.bpf.o");
    let res = Command::new("bash")
        .arg(bpf.join("build.sh"))
        .arg(&obj)
        .output()
        .expect("running bpf/build.sh");
    assert!(
        res.status.success(),
        "bpf/build.sh failed (is clang/llvm/libbpf-dev installed? run scripts/install-deps.sh):\n{}{}",
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    let fresh = std::fs::read(&obj).expect("reading the fresh object");
    let committed =
        std::fs::read(bpf.join("spawnguard.bpf.o")).expect("reading the committed object");
    assert!(
        fresh == committed,
        "bpf/spawnguard.bpf.o differs from a fresh build of bpf/spawnguard.bpf.c ({} vs {} bytes): \
         run crates/sensor/bpf/build.sh and commit the object",
        committed.len(),
        fresh.len()
    );
}
