//! Regression tests for session bugs the property model (`tests/model.rs`) found, each the
//! model's shrunk failing sequence rewritten as a plain test through the public API.

mod support;

use std::time::Duration;

use reconnect_core::{Action, BackoffConfig, Config, Event, Jitter, Output, Session, StopReason};

use support::{base, LineAdapter};

fn drain<P: reconnect_core::Protocol>(session: &mut Session<P>) -> Vec<Output> {
    std::iter::from_fn(|| session.poll_output()).collect()
}

/// `close()` runs overdue deadlines first (rule 1). When the backoff had already ended, that
/// used to start a fresh attempt inside `close()` itself — a `Connect` the driver would act on
/// (opening a socket) only to be told to release it a moment later.
#[test]
fn close_with_an_overdue_backoff_starts_no_attempt() {
    let config = Config::new(1).backoff(
        BackoffConfig::default()
            .initial(Duration::from_millis(1))
            .max(Duration::from_millis(1))
            .jitter(Jitter::None),
    );
    let connect_timeout = config.timeouts.connect;
    let mut session = Session::new(config, LineAdapter::default()).unwrap();
    let t0 = base();
    session.start(t0).unwrap();
    drain(&mut session);
    // The attempt times out; the next one is due 1 ms later.
    session.handle_timeout(t0 + connect_timeout);
    let outputs = drain(&mut session);
    assert!(outputs
        .iter()
        .any(|o| matches!(o, Output::Event(Event::ReconnectScheduled { .. }))));

    // The application closes after the backoff ended but before the driver's timer fired.
    session
        .close(t0 + connect_timeout + Duration::from_millis(5))
        .unwrap();
    let outputs = drain(&mut session);
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, Output::Action(Action::Connect { .. }))),
        "close() started an attempt: {outputs:?}"
    );
    assert_eq!(
        outputs.last(),
        Some(&Output::Event(Event::Stopped {
            reason: StopReason::Closed { clean: true }
        }))
    );
}

