//! Every KQL (`language = "kuery"`) rule of Elastic's Linux detection rules parses and
//! compiles.

use spawnguard_query::{compile, CompileOptions, Language};
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/detection-rules/rules/linux")
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read corpus directory {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some("toml") {
            out.push(path);
        }
    }
}

#[test]
fn every_linux_kuery_rule_compiles() {
    let dir = corpus_dir();
    assert!(
        dir.is_dir(),
        "the detection-rules corpus is missing at {} (it must be present; this test never skips)",
        dir.display()
    );
    let mut files = Vec::new();
    toml_files(&dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no .toml files under {}", dir.display());

    let opts = CompileOptions::default();
    let mut kuery = 0;
    let mut failures = Vec::new();
    for path in &files {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: toml::Value = match toml::from_str(&text) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: invalid TOML: {e}", path.display()));
                continue;
            }
        };
        let Some(rule) = doc.get("rule") else {
            continue;
        };
        if rule.get("language").and_then(|l| l.as_str()) != Some("kuery") {
            continue;
        }
        kuery += 1;
        let Some(query) = rule.get("query").and_then(|q| q.as_str()) else {
            failures.push(format!("{}: kuery rule without a query", path.display()));
            continue;
        };
        match compile(Language::Kql, query, &opts) {
            Ok(q) => {
                if q.event_pred().is_none() {
                    failures.push(format!(
                        "{}: not compiled to an event query",
                        path.display()
                    ));
                }
            }
            Err(e) => failures.push(format!("{}:\n{e}", path.display())),
        }
    }
    eprintln!("{kuery} kuery rules out of {} files", files.len());
    assert!(kuery > 0, "no kuery rules found under {}", dir.display());
    assert!(
        failures.is_empty(),
        "{} of {kuery} kuery rules failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
