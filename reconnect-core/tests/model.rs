//! Property tests of the session's contract: a `proptest-state-machine` model that drives one
//! session through random sequences of starts, transport events, server frames (acks, nacks,
//! data, garbage), closes, failures, clock moves (zero, small, large, past several deadlines,
//! late and rewound) and application commands, including inputs that name stale transports,
//! under configurations drawn across the whole space (jitter modes, limits, circuit breaker,
//! outbox policies, pacing, acks or not).
//!
//! After every call the driver drains `poll_output()` and hands the call and its outputs to the
//! library's public invariant checker, `reconnect_core::sim::Invariants` (the one definition of
//! "correct" that the fuzz target and users' property tests share), then to the model's own
//! observer (`model/observer.rs`) for what only a model of this adapter can predict (exact
//! statistics, outbox fates, the failure count, request-level details). Together they check
//! (failure messages start with the letter; in brackets, the public checker's
//! `sim::Invariant`s that hold part of each):
//!
//! - (a) at most one attempt in flight; one `Connect` then one `Release` per `ConnId`
//!   (`OneConnection`);
//! - (b) stale inputs change nothing but `stats().stale_inputs`;
//! - (c) every drawn delay is within the range `BackoffConfig`'s documentation gives for its jitter
//!   mode and the first-retry rule, and draws with the base at the cap are not all equal (the
//!   public checker's rules, worked out from the configuration, never asked of the backoff code),
//!   and the failure count resets only after `Event::Stable` (`BackoffBounds`, `BackoffSpread`,
//!   `BackoffGrowth`, `Deadline`);
//! - (d) each restore sends exactly the wanted topics, once each, only after the auth ack
//!   (`Resubscribe`, `FrameOrder`);
//! - (e) no attempt after `close()` or a fatal stop, and nothing at all after `Event::Stopped`
//!   (`CloseTerminal`);
//! - (f) a deadline whenever a deadline-driven state is active, never one before the latest
//!   `now` the session was given, and `handle_timeout` before it changes nothing (`Timers`);
//! - (g) no application send before live; queued messages released in order; every message
//!   sent, handed back or reported dropped per the outbox policy (`Outbox`);
//! - (h) replaying the recorded calls on a fresh session gives the identical outputs;
//! - (i) the application is asked for credentials before an attempt only when the policy says
//!   so or an ending asked for fresh ones that have not been provided since (`Credentials`,
//!   the public checker's alone).
//!
//! `PROPTEST_CASES` overrides the number of cases and `MODEL_STEPS` the longest sequence, for a
//! longer local hunt: `PROPTEST_CASES=100000 MODEL_STEPS=400 cargo test -p reconnect-core --test
//! model`.

mod common;

mod model {
    pub mod driver;
    pub mod observer;
    pub mod steps;
}

use std::sync::Once;

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};
use std::sync::atomic::Ordering;

use model::driver::{Driver, RARE_PATHS};
use model::steps::{scenario, step, Scenario, Step};

/// The reference side of the state machine: only the scenario. Steps are abstract and resolved
/// against the real session by the driver, so none needs a precondition and the reference state
/// never changes.
struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Scenario;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Scenario> {
        scenario().boxed()
    }

    fn transitions(_state: &Scenario) -> BoxedStrategy<Step> {
        step().boxed()
    }

    fn apply(state: Scenario, _transition: &Step) -> Scenario {
        state
    }
}

/// The system under test: a session behind the checking driver.
struct SessionModel;

impl StateMachineTest for SessionModel {
    type SystemUnderTest = Driver;
    type Reference = Reference;

    fn init_test(scenario: &Scenario) -> Driver {
        quiet_invariant_panics();
        Driver::new(scenario.clone())
    }

    fn apply(mut driver: Driver, _scenario: &Scenario, step: Step) -> Driver {
        driver.step(&step);
        driver
    }

    fn teardown(driver: Driver, _scenario: Scenario) {
        driver.finish();
    }
}

/// Shrinking re-runs a failing sequence hundreds of times, and each run panics: only the final
/// report (which carries the invariant's message and the minimal sequence) is worth printing.
fn quiet_invariant_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let invariant = info
                .location()
                .is_some_and(|l| l.file().ends_with("model/driver.rs"));
            if !invariant {
                default(info);
            }
        }));
    });
}

/// Cases per run: enough to visit every corner on each CI run while the file stays well under
/// a minute at the test profile's opt-level 1 on two cores. `PROPTEST_CASES` overrides it.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8192)
}

/// The longest generated sequence. `MODEL_STEPS` overrides it (longer sequences reach deeper
/// states, at a cost per case).
fn max_steps() -> usize {
    std::env::var("MODEL_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(160)
}

/// The property run's configuration.
fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        // Shrinking re-runs whole sequences; bound it so a failure reports in seconds.
        max_shrink_iters: 20_000,
        max_shrink_time: 60_000,
        // A failing case's seed is written to tests/model.proptest-regressions (checked in)
        // and replayed first on every later run; once understood, it also becomes a named
        // test in tests/model_regressions.rs.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/model.proptest-regressions"
        )))),
        ..ProptestConfig::default()
    }
}

/// The property (what `prop_state_machine!` would generate), followed by the check that the
/// run reached every rare path: the strategies weight them so that it does, every run, not by
/// luck.
#[test]
fn session_keeps_its_contract() {
    let config = proptest_config();
    let mut runner = TestRunner::new(config.clone());
    let strategy = Reference::sequential_strategy(1..max_steps());
    let result = runner.run(&strategy, |(initial, transitions, seen)| {
        SessionModel::test_sequential(config.clone(), initial, transitions, seen);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let reached: Vec<u64> = RARE_PATHS
        .iter()
        .map(|n| n.load(Ordering::Relaxed))
        .collect();
    println!("rare paths reached (close while recycling, gave up, breaker opened): {reached:?}");
    if cases() >= 4096 {
        for (count, path) in reached.iter().zip([
            "a close while recycling",
            "a give-up",
            "the breaker opening",
        ]) {
            assert!(*count > 0, "no case reached {path}: {reached:?}");
        }
    }
}
