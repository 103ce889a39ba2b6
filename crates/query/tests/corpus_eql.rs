//! Every EQL rule in the Linux detection-rules corpus parses and compiles.

use spawnguard_query::{compile, CompileOptions, Language, QueryKind};
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/detection-rules/rules/linux")
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "toml") {
            out.push(path);
        }
    }
}

/// Every EQL query of the corpus, with its file.
fn eql_queries() -> Vec<(PathBuf, String)> {
    let dir = corpus_dir();
    assert!(
        dir.is_dir(),
        "the detection-rules corpus is missing at {}",
        dir.display()
    );
    let mut files = Vec::new();
    toml_files(&dir, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let Ok(doc) = text.parse::<toml::Value>() else {
            continue;
        };
        let rule = doc.get("rule");
        if rule
            .and_then(|r| r.get("language"))
            .and_then(|l| l.as_str())
            == Some("eql")
        {
            if let Some(q) = rule.and_then(|r| r.get("query")).and_then(|q| q.as_str()) {
                out.push((f.clone(), q.to_string()));
            }
        }
    }
    out
}

/// Damaged queries (prefixes, and the query with one character removed, at many places) give
/// errors, never panics; so do pathological nestings.
#[test]
fn damaged_rules_never_panic() {
    let opts = CompileOptions::default();
    let queries = eql_queries();
    assert!(queries.len() > 100, "too few EQL rules: {}", queries.len());
    let mut tried = 0usize;
    let mut errors = 0usize;
    for (f, q) in &queries {
        let bounds: Vec<usize> = q.char_indices().map(|(i, _)| i).chain([q.len()]).collect();
        for (n, &i) in bounds.iter().enumerate().filter(|(n, _)| n % 16 == 0) {
            let mut inputs = vec![q[..i].to_string()];
            if n % 48 == 0 && i < q.len() {
                let next = bounds.get(n + 1).copied().unwrap_or(q.len());
                inputs.push(format!("{}{}", &q[..i], &q[next..]));
            }
            for input in inputs {
                let r = std::panic::catch_unwind(|| compile(Language::Eql, &input, &opts).is_err());
                match r {
                    Ok(is_err) => errors += usize::from(is_err),
                    Err(_) => panic!("{}: compiling panicked on:\n{input}", f.display()),
                }
                tried += 1;
            }
        }
    }
    assert!(
        errors > tried / 2,
        "most damaged queries should be errors: {errors} of {tried}"
    );
    for deep in [
        format!("any where {}a == 1{}", "(".repeat(5000), ")".repeat(5000)),
        format!("any where {}a == 1", "not ".repeat(5000)),
        format!("any where a == {}1", "-".repeat(5000)),
        format!("any where a == 1{}", " + 1".repeat(5000)),
        format!("any where a == 1{}", " or a == 1".repeat(20000)),
        format!("any where {}", "length(".repeat(5000)),
    ] {
        let r = std::panic::catch_unwind(|| compile(Language::Eql, &deep, &opts).is_ok());
        assert!(
            r.is_ok(),
            "panicked on a deep query of {} bytes",
            deep.len()
        );
    }
    eprintln!("{tried} damaged queries, {errors} rejected");
}

#[test]
fn every_linux_eql_rule_compiles() {
    let dir = corpus_dir();
    assert!(
        dir.is_dir(),
        "the detection-rules corpus is missing at {} (it must be there: this test does not skip)",
        dir.display()
    );
    let mut files = Vec::new();
    toml_files(&dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no .toml files under {}", dir.display());

    let opts = CompileOptions::default();
    let (mut eql, mut compiled, mut sequences, mut samples) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let doc: toml::Value = match text.parse() {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: bad TOML: {e}", f.display()));
                continue;
            }
        };
        let rule = doc.get("rule");
        if rule
            .and_then(|r| r.get("language"))
            .and_then(|l| l.as_str())
            != Some("eql")
        {
            continue;
        }
        eql += 1;
        let Some(query) = rule.and_then(|r| r.get("query")).and_then(|q| q.as_str()) else {
            failures.push(format!("{}: eql rule without a query string", f.display()));
            continue;
        };
        match compile(Language::Eql, query, &opts) {
            Ok(q) => {
                compiled += 1;
                match q.kind {
                    QueryKind::Sequence(_) => sequences += 1,
                    QueryKind::Sample(_) => samples += 1,
                    QueryKind::Event(_) => {}
                }
            }
            Err(e) => failures.push(format!("{}:\n{e}", f.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {eql} EQL rules failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(eql > 0, "no EQL rules found under {}", dir.display());
    assert_eq!(compiled, eql, "every EQL rule found must compile");
    assert!(
        sequences > 0 && samples > 0,
        "the corpus has sequences and samples: {sequences}, {samples}"
    );
    eprintln!("compiled {compiled} EQL rules ({sequences} sequences, {samples} samples)");
}
