//! Embeds the repository's `rules/` folder: every `X.toml` and `X.tests.json` below it,
//! as an `include_str!` table in `$OUT_DIR/builtin_rules.rs`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            println!("cargo:rerun-if-changed={}", p.display());
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let rules = manifest.join("../../rules");
    println!("cargo:rerun-if-changed={}", rules.display());
    let mut files = Vec::new();
    walk(&rules, &mut files);
    files.sort();
    let mut toml = String::new();
    let mut tests = String::new();
    for f in &files {
        let Ok(rel) = f.strip_prefix(&rules) else {
            continue;
        };
        let rel = format!("rules/{}", rel.to_string_lossy().replace('\\', "/"));
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let abs = f.canonicalize().unwrap_or_else(|_| f.clone());
        println!("cargo:rerun-if-changed={}", abs.display());
        let line = format!(
            "    ({rel:?}, include_str!({:?})),\n",
            abs.to_string_lossy()
        );
        if name.ends_with(".tests.json") {
            tests.push_str(&line);
        } else if name.ends_with(".toml") {
            toml.push_str(&line);
        }
    }
    let mut src = String::new();
    let _ = writeln!(
        src,
        "/// `(path, text)` of every rule file in the repository's `rules/` folder, sorted.\npub static BUILTIN_RULES: &[(&str, &str)] = &[\n{toml}];"
    );
    let _ = writeln!(
        src,
        "/// `(path, text)` of every `.tests.json` file in the repository's `rules/` folder, sorted.\npub static BUILTIN_TESTS: &[(&str, &str)] = &[\n{tests}];"
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("builtin_rules.rs");
    if let Err(e) = std::fs::write(&out, src) {
        panic!("cannot write {}: {e}", out.display());
    }
}
