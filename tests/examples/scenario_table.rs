//! Prints the scenario table for `src/scenario/SCENARIOS.md`.
fn main() {
    print!(
        "{}",
        reconnect_testkit::scenario::markdown_table(&reconnect_testkit::scenario::all())
    );
}
