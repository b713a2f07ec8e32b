//! The whole scenario suite against the kit's reference client: validates the suite itself (a
//! careful client passes everything) and shows that planted bugs are caught.

mod reference;

use reconnect_testkit::scenario::{all, run_suite, RunOptions};
use reference::Reference;

#[test]
fn every_scenario_passes_with_the_reference_client() {
    let report = run_suite::<Reference>(
        &all(),
        &RunOptions {
            parallel: 3,
            ..RunOptions::default()
        },
    );
    for (name, r) in &report.results {
        if let Ok(r) = r {
            eprintln!(
                "{name}: ok in {:?} ({} events, {} connections)",
                r.elapsed, r.events, r.connections
            );
        }
    }
    eprintln!("suite took {:?}", report.elapsed);
    report.assert_all_passed();
}
