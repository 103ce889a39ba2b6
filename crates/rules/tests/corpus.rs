//! Every eql, kuery and threshold rule of Elastic's Linux detection rules loads; the others
//! are listed as skipped with a reason.

use spawnguard_rules::{load_dirs, RuleType};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/detection-rules/rules/linux")
}

/// `type = "…"` and `language = "…"` of each file, read without the loader.
fn declared(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim();
        Some(rest.trim_matches('"').to_string())
    })
}

#[test]
fn linux_corpus_loads() {
    let dir = corpus_dir();
    assert!(
        dir.is_dir(),
        "the detection-rules corpus is missing: {}",
        dir.display()
    );

    // What the files declare, counted independently of the loader.
    let mut files = 0usize;
    let mut want_run: BTreeMap<String, usize> = BTreeMap::new();
    let mut want_skip: BTreeMap<String, usize> = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap_or_else(|e| panic!("{e}")).path();
        if p.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let ty = declared(&text, "type").unwrap_or_else(|| panic!("{}: no type", p.display()));
        let lang = declared(&text, "language").unwrap_or_default();
        let runs =
            matches!(ty.as_str(), "eql" | "query" | "new_terms" | "threshold") && lang != "lucene";
        *(if runs { &mut want_run } else { &mut want_skip })
            .entry(ty)
            .or_default() += 1;
    }
    assert!(files > 100, "only {files} rule files in {}", dir.display());

    let report = load_dirs(&[dir]);
    let errors: Vec<String> = report.errors().map(|p| p.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{} errors:\n{}",
        errors.len(),
        errors.join("\n")
    );

    let mut got_run: BTreeMap<String, usize> = BTreeMap::new();
    for r in &report.rules {
        *got_run
            .entry(r.rule.rule_type.as_str().to_string())
            .or_default() += 1;
        match &r.rule.rule_type {
            RuleType::NewTerms => {
                let nt = r
                    .rule
                    .new_terms
                    .as_ref()
                    .unwrap_or_else(|| panic!("{}: no new_terms", r.rule.source));
                assert!((1..=3).contains(&nt.fields.len()), "{}", r.rule.source);
                assert!(nt.history_window_secs > 0, "{}", r.rule.source);
            }
            RuleType::Threshold => {
                let th = r
                    .rule
                    .threshold
                    .as_ref()
                    .unwrap_or_else(|| panic!("{}: no threshold", r.rule.source));
                assert!(th.value >= 1, "{}", r.rule.source);
            }
            _ => {}
        }
        assert!(r.rule.query_line > 0, "{}", r.rule.source);
    }
    let mut got_skip: BTreeMap<String, usize> = BTreeMap::new();
    for s in &report.skipped {
        assert!(!s.reason.is_empty() && !s.name.is_empty(), "{s:?}");
        *got_skip.entry(s.rule_type.clone()).or_default() += 1;
    }
    assert_eq!(got_run, want_run, "rules loaded by type");
    assert_eq!(got_skip, want_skip, "rules skipped by type");
    assert_eq!(
        report.rules.len() + report.skipped.len(),
        files,
        "every file is loaded or skipped"
    );
    for want in ["eql", "query", "new_terms", "threshold"] {
        assert!(
            got_run.get(want).copied().unwrap_or(0) > 0,
            "no {want} rule loaded"
        );
    }
    assert!(
        !report.skipped.is_empty(),
        "the corpus has esql rules; they must be listed as skipped"
    );
}

/// Truncated and mangled rule files never panic and always say what is wrong.
#[test]
fn truncated_and_mangled_files_do_not_panic() {
    let dir = corpus_dir();
    assert!(
        dir.is_dir(),
        "the detection-rules corpus is missing: {}",
        dir.display()
    );
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut checked = 0;
    for p in paths.iter().step_by(61) {
        let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let cuts: Vec<usize> = (1..16).map(|i| text.len() * i / 16).collect();
        for cut in cuts {
            let mut cut = cut;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            for variant in [
                text[..cut].to_string(),
                format!("{}\u{0}{}", &text[..cut], &text[cut..]),
                format!("{}'''{}", &text[..cut], &text[cut..]),
                format!("{}[rule]\n{}", &text[..cut], &text[cut..]),
            ] {
                let r = spawnguard_rules::load_text("m.toml", &variant);
                checked += 1;
                // Either it loads, or is skipped, or an error says why (with a position).
                if r.rules.is_empty() && r.skipped.is_empty() {
                    let e = r.errors().next();
                    assert!(
                        e.is_some(),
                        "nothing loaded and no error for a cut of {}",
                        p.display()
                    );
                }
                for e in r.errors() {
                    assert!(e.line >= 1 && e.column >= 1, "{e}");
                }
            }
        }
    }
    assert!(checked > 100);
}
