// `sqlx::migrate!` embeds migrations/inventory at compile time; rebuild when a migration is added or changed.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/inventory");
}
