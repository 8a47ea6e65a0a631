// Expose the resolved tungstenite version (from Cargo.lock via cargo metadata env is not
// available to dependents, so read it from the lockfile next to us).
fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut version = "unknown".to_string();
    let mut it = lock.lines();
    while let Some(l) = it.next() {
        if l == "name = \"tungstenite\"" {
            if let Some(v) = it.next() {
                version = v.trim_start_matches("version = ").trim_matches('"').to_string();
            }
        }
    }
    println!("cargo:rustc-env=TUNGSTENITE_VERSION={version}");
}
