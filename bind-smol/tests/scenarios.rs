//! The kit's whole scenario suite, over `ws://` and `wss://`, with this binding as the client.

mod support;

use std::sync::Mutex;

use reconnect_testkit::scenario::{all, run_suite, RunOptions};
use support::SmolClient;

/// The two suites take turns: each already runs several scenarios at once, and the kit's
/// detection bounds assume a machine that is busy, not oversubscribed.
static ONE_SUITE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn suite(options: RunOptions) {
    let _turn = ONE_SUITE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let report = run_suite::<SmolClient>(
        &all(),
        &RunOptions {
            parallel: 3,
            ..options
        },
    );
    for (name, result) in &report.results {
        match result {
            Ok(r) => eprintln!("{name}: ok in {:?} ({} events)", r.elapsed, r.events),
            Err(_) => eprintln!("{name}: FAILED"),
        }
    }
    eprintln!("suite took {:?}", report.elapsed);
    report.assert_all_passed();
}

#[test]
fn every_scenario_passes_over_ws() {
    suite(RunOptions::default());
}

#[test]
fn every_scenario_passes_over_wss() {
    suite(RunOptions {
        tls: true,
        ..RunOptions::default()
    });
}
