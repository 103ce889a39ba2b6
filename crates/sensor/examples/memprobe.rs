fn hwm() -> String {
    std::fs::read_to_string("/proc/self/status").unwrap().lines().filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS")).collect::<Vec<_>>().join(" ")
}
fn main() {
    println!("start {}", hwm());
    let btf = aya::Btf::from_sys_fs().unwrap();
    println!("btf {}", hwm());
    drop(btf);
    let s = spawnguard_sensor::Sensor::start(Default::default()).unwrap();
    println!("sensor {}", hwm());
    drop(s);
}
