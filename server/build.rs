//! Rebuild when a migration changes: `sqlx::migrate!` embeds the migrations at compile
//! time, and cargo does not otherwise see new files in `../migrations`.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
