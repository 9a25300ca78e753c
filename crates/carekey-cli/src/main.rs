//! The `carekey` command.
fn main() {}
