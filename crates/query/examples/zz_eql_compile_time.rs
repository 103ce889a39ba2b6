use spawnguard_query::{compile, CompileOptions, Language};
fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/detection-rules/rules/linux");
    let mut qs = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let t = std::fs::read_to_string(&p).unwrap();
        let v: toml::Value = t.parse().unwrap();
        if v["rule"].get("language").and_then(|l| l.as_str()) == Some("eql") {
            qs.push(v["rule"]["query"].as_str().unwrap().to_string());
        }
    }
    let opts = CompileOptions::default();
    let t = std::time::Instant::now();
    let n = 20;
    for _ in 0..n { for q in &qs { compile(Language::Eql, q, &opts).unwrap(); } }
    let el = t.elapsed();
    println!("{} queries x {n}: {:?} total, {:?} per query", qs.len(), el, el / (n * qs.len() as u32));
}
