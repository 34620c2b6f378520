// `sqlx::migrate!` embeds migrations/catalog at compile time; rebuild when a migration is added or changed.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/catalog");
}
