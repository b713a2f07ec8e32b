//! The kit's whole scenario suite, over `ws://` and `wss://`, with this binding as the client.

mod support;

use reconnect_testkit::scenario::{assert_suite_passes, RunOptions};
use support::SmolClient;

#[test]
fn every_scenario_passes_over_ws() {
    assert_suite_passes::<SmolClient>(RunOptions::default());
}

#[test]
fn every_scenario_passes_over_wss() {
    assert_suite_passes::<SmolClient>(RunOptions {
        tls: true,
        ..RunOptions::default()
    });
}
