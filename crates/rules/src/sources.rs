//! Where rules come from: directories on disk (`--rules DIR`) or the shipped rules embedded
//! in the binary; and each rule's tests file beside it.

use crate::load::load_text;
use crate::position::{line_col, Spans};
use crate::report::{LoadReport, Problem};
use crate::tests_file::{parse_tests, TestFile};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// Sources of embedded rules start with this: `builtin:rules/linux/x.toml`.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// `(path, text)` of every shipped rule file (`rules/linux/x.toml`, …), sorted by path.
pub fn builtin_rule_files() -> &'static [(&'static str, &'static str)] {
    embedded::BUILTIN_RULES
}

/// `(path, text)` of every shipped tests file (`rules/linux/x.tests.json`, …), sorted.
pub fn builtin_tests() -> &'static [(&'static str, &'static str)] {
    embedded::BUILTIN_TESTS
}

pub fn is_builtin(source: &str) -> bool {
    source.starts_with(BUILTIN_PREFIX)
}

/// Loads the shipped rules embedded in the binary. It is an error if there are none.
pub fn load_builtin() -> LoadReport {
    let mut report = load_sources(
        builtin_rule_files()
            .iter()
            .map(|(p, t)| (format!("{BUILTIN_PREFIX}{p}"), t.to_string())),
    );
    if builtin_rule_files().is_empty() {
        report.problems.push(Problem::error(
            "builtin:rules",
            0,
            0,
            "no rules are embedded: the repository's rules/ folder had no .toml files when spawnguard was built",
        ));
    }
    report
}

/// Loads every `.toml` file below each of `dirs`, recursively, in sorted order (a path that
/// is a `.toml` file is loaded as is). Unreadable paths and files are problems.
pub fn load_dirs(dirs: &[PathBuf]) -> LoadReport {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for dir in dirs {
        let shown = dir.display().to_string();
        match std::fs::metadata(dir) {
            Err(e) => problems.push(Problem::error(&shown, 0, 0, format!("cannot read: {e}"))),
            Ok(m) if m.is_file() => {
                if dir.extension().is_some_and(|x| x == "toml") {
                    files.push(dir.clone());
                } else {
                    problems.push(Problem::error(
                        &shown,
                        0,
                        0,
                        "not a directory or a .toml rule file",
                    ));
                }
            }
            Ok(_) => {
                let mut found = Vec::new();
                let mut seen = HashSet::new();
                walk(dir, &mut found, &mut problems, &mut seen);
                found.sort();
                files.extend(found);
            }
        }
    }
    let mut texts = Vec::with_capacity(files.len());
    for f in files {
        let shown = f.display().to_string();
        match std::fs::read_to_string(&f) {
            Ok(t) => texts.push((shown, t)),
            Err(e) => problems.push(Problem::error(&shown, 0, 0, format!("cannot read: {e}"))),
        }
    }
    let mut report = load_sources(texts);
    problems.append(&mut report.problems);
    report.problems = problems;
    report
}

fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    problems: &mut Vec<Problem>,
    seen: &mut HashSet<PathBuf>,
) {
    // Symlinked directories could loop; each real directory is read once.
    if let Ok(real) = dir.canonicalize() {
        if !seen.insert(real) {
            return;
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(Problem::error(
                &dir.display().to_string(),
                0,
                0,
                format!("cannot read directory: {e}"),
            ));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem::error(
                    &dir.display().to_string(),
                    0,
                    0,
                    format!("cannot read directory entry: {e}"),
                ));
                continue;
            }
        };
        let p = entry.path();
        if p.is_dir() {
            walk(&p, out, problems, seen);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

/// [`load_text`] of every file, in order, on as many threads as there are cores (threads that
/// end afterwards, so that their allocator pages go back to the caller's).
fn load_parallel(files: &[(String, String)]) -> Vec<LoadReport> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len() / 16 + 1);
    if threads <= 1 {
        return files.iter().map(|(s, t)| load_text(s, t)).collect();
    }
    let mut out: Vec<Option<LoadReport>> = (0..files.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                scope.spawn(move || {
                    files
                        .iter()
                        .enumerate()
                        .skip(k)
                        .step_by(threads)
                        .map(|(i, (s, t))| (i, load_text(s, t)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A panic while loading a file is re-raised here as it would be inline.
            let done = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            for (i, r) in done {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(r);
                }
            }
        }
    });
    out.into_iter().map(Option::unwrap_or_default).collect()
}

/// Loads rule files given as `(source, text)`, in order, and reports duplicate `rule_id`s
/// (at the `rule_id` of every file after the first that uses it).
pub fn load_sources(files: impl IntoIterator<Item = (String, String)>) -> LoadReport {
    let mut report = LoadReport::default();
    // Each file is parsed and compiled on its own (on every core: a few hundred files are
    // most of the start-up time), the reports merged in order.
    let files: Vec<(String, String)> = files.into_iter().collect();
    let reports = load_parallel(&files);
    let mut texts = BTreeMap::new();
    for (r, (source, text)) in reports.into_iter().zip(files) {
        report.extend(r);
        texts.insert(source, text);
    }
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    let mut dups = Vec::new();
    for r in &report.rules {
        match first.get(r.rule.rule_id.as_str()) {
            Some(prev) => {
                let text = texts.get(&r.rule.source).map(String::as_str).unwrap_or("");
                let off = Spans::parse(text).value_start(&["rule", "rule_id"]);
                let (l, c) = line_col(text, off);
                dups.push(Problem::error(
                    &r.rule.source,
                    l,
                    c,
                    format!("duplicate rule_id `{}`: {prev} has it too", r.rule.rule_id),
                ));
            }
            None => {
                first.insert(&r.rule.rule_id, &r.rule.source);
            }
        }
    }
    report.problems.extend(dups);
    report
}

/// The tests file beside a rule (`X.tests.json` for `X.toml`), on disk or embedded:
/// `None` if there is none, else the parsed file or the problem reading it.
pub fn tests_for(rule_source: &str) -> Option<Result<TestFile, Problem>> {
    let stem = rule_source.strip_suffix(".toml").unwrap_or(rule_source);
    let tests_source = format!("{stem}.tests.json");
    if let Some(path) = tests_source.strip_prefix(BUILTIN_PREFIX) {
        let (_, text) = builtin_tests().iter().find(|(p, _)| *p == path)?;
        return Some(parse_tests(&tests_source, text));
    }
    let path = Path::new(&tests_source);
    if !path.exists() {
        return None;
    }
    Some(match std::fs::read_to_string(path) {
        Ok(text) => parse_tests(&tests_source, &text),
        Err(e) => Err(Problem::error(
            &tests_source,
            0,
            0,
            format!("cannot read: {e}"),
        )),
    })
}
