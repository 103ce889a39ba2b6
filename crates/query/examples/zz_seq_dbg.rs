fn main() {
    let q = std::env::args().nth(1).unwrap_or_default();
    let c = spawnguard_query::compile(spawnguard_query::Language::Eql, &q, &Default::default()).map_err(|e| e.to_string());
    match c { Ok(q) => println!("{:?}", q.requirement()), Err(e) => println!("{e}") }
}
