//! Projection alone, for profiling: `project_bench FIELDS TEXT_FIELDS NDJSON [ROUNDS]`
//! projects every line of NDJSON ROUNDS times onto the fields listed (one per line) and
//! prints the time per record. FIELDS and TEXT_FIELDS can be written by a hunt run.
use spawnguard_event::{FieldPath, Projection};
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, fields, text, data, rest @ ..] = args.as_slice() else {
        eprintln!("usage: project_bench FIELDS TEXT_FIELDS NDJSON [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = rest.first().and_then(|r| r.parse().ok()).unwrap_or(1);
    let fields = std::fs::read_to_string(fields)?;
    let text: Vec<FieldPath> = std::fs::read_to_string(text)?
        .lines()
        .map(FieldPath::new)
        .collect();
    let p = Projection::new(fields.lines()).with_text_fields(&text);
    let data = std::fs::read(data)?;
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let started = Instant::now();
    let (mut kept, mut texts) = (0usize, 0usize);
    let mut buf = Vec::new();
    for _ in 0..rounds {
        for l in &lines {
            if let Some(ev) = p.project(l) {
                kept += 1;
                if let Some(f) = ev.as_flat() {
                    buf.clear();
                    f.texts(&mut buf);
                    texts += buf.len();
                }
            }
        }
    }
    let n = lines.len() * rounds;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{n} records, {kept} projected, {texts} text bytes, {:.0} ns/record",
        secs * 1e9 / n as f64
    );
    Ok(())
}
