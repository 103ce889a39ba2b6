use spawnguard_query::{compile, CompileOptions, Language};
fn main() {
    let q = std::env::args().nth(1).unwrap();
    match compile(Language::Eql, &q, &CompileOptions::default()) {
        Ok(q) => println!("{:#?}", q.kind),
        Err(e) => println!("ERROR: {e}\n{:?}", e),
    }
}
