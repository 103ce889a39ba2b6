use spawnguard_event::reader::{parse_record, RecordReader};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (file, dirs) = args.split_first().unwrap();
    let dirs: Vec<PathBuf> = dirs.iter().map(PathBuf::from).collect();
    let report = spawnguard_rules::load_dirs(&dirs);
    let mut fields = Vec::new();
    for r in &report.rules { for c in r.query.conditions() { c.fields(&mut fields); } }
    let mut names: Vec<String> = fields.iter().map(|f| f.as_str().to_string()).collect();
    names.sort(); names.dedup();
    let paths: Vec<_> = names.iter().map(|n| spawnguard_event::FieldPath::new(n)).collect();
    let mut distinct: Vec<HashSet<String>> = vec![HashSet::new(); names.len()];
    let mut present = vec![0u64; names.len()];
    let mut reader = RecordReader::open(file).unwrap();
    let mut n = 0; let mut keys: HashMap<String,u32> = HashMap::new();
    while let Some(Ok(rec)) = reader.next_record() {
        let ev = parse_record(file, rec.line, rec.bytes).unwrap();
        n += 1; let mut key = String::new();
        for (i, p) in paths.iter().enumerate() { if names[i].ends_with(".pid") { continue; }
            let vs = ev.values(p);
            if !vs.is_empty() { present[i] += 1; }
            let s = format!("{:?}", vs);
            key.push_str(&s); key.push('|');
            distinct[i].insert(s);
        }
        *keys.entry(key).or_default() += 1;
    }
    println!("{n} events, {} distinct condition-field tuples", keys.len());
    for (i, nm) in names.iter().enumerate() { if present[i] > 0 { println!("{nm}: present {} distinct {}", present[i], distinct[i].len()); } }
    println!("{} condition fields in all", names.len());
}
