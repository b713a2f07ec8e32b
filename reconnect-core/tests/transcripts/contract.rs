//! The contract: one attempt in flight, stale inputs, determinism, the golden happy path.

use crate::common::rig::{config, ms, Rig};
use reconnect_core::{Credentials, Frame, Input, State, TransportError, TransportErrorKind};

#[test]
fn golden_path_from_start_to_live() {
    let mut h = Rig::new(config());
    h.session.set_credentials(Credentials::new("s3cret"));
    h.session.subscribe(h.now, "a").unwrap();
    h.session.subscribe(h.now, "b").unwrap();
    h.start();
    h.expect(&["> connecting #1 attempt=1", "connect #1 attempt=1"]);
    h.open();
    h.expect(&["> connected #1", "send #1 <auth redacted>"]);
    h.recv("ack 1");
    h.expect(&["> authenticated #1", "send #1 sub 2 a", "send #1 sub 3 b"]);
    h.recv("ack 2");
    h.expect(&["> subscribed a"]);
    h.recv("ack 3");
    h.expect(&["> subscribed b", "> live #1 resubscribed=2 outage=0ms"]);
}

#[test]
fn stale_inputs_change_nothing_and_are_counted() {
    let mut h = Rig::new(config());
    h.start();
    let old = h.conn();
    h.connect_failed(TransportErrorKind::Refused);
    h.fire_next();
    h.skip();
    let state = h.session.state();
    let deadline = h.session.poll_timeout();
    for input in [
        Input::Opened { conn: old },
        Input::Frame {
            conn: old,
            frame: Frame::from("ack 1"),
        },
        Input::Failed {
            conn: old,
            error: TransportError::new(TransportErrorKind::Reset, "late"),
        },
        Input::Closed {
            conn: old,
            code: Some(1000),
            reason: String::new(),
        },
    ] {
        // Even an input far in the future does not move the clock when it is stale.
        h.session.handle_input(h.now + ms(60_000), input);
        h.expect(&[]);
        assert_eq!(h.session.state(), state);
        assert_eq!(h.session.poll_timeout(), deadline);
    }
    assert_eq!(h.session.stats().stale_inputs, 4);
}

#[test]
fn at_most_one_attempt_in_flight() {
    let mut h = Rig::new(config());
    h.start();
    h.skip();
    // reconnect_now while connecting releases the attempt before starting another.
    h.session.reconnect_now(h.now).unwrap();
    h.expect(&[
        "release #1",
        "> attempt 1 failed: reconnect requested => Retry",
        "> reconnect attempt=1 in 0ms (Immediate)",
        "> connecting #2 attempt=1",
        "connect #2 attempt=1",
    ]);
    assert!(matches!(h.session.state(), State::Connecting { .. }));
}

#[test]
fn same_config_seed_and_inputs_give_the_same_outputs() {
    let run = || {
        let mut c = config();
        c.backoff.jitter = reconnect_core::Jitter::Decorrelated;
        let mut h = Rig::new(c);
        h.session.subscribe(h.now, "a").unwrap();
        h.start();
        for _ in 0..20 {
            h.connect_failed(TransportErrorKind::Refused);
            h.fire_next();
        }
        h.go_live();
        h.recv("data a 1");
        h.fail(TransportErrorKind::Reset);
        h.fire_next();
        h.log.clone()
    };
    let a = run();
    assert_eq!(a, run());
    assert!(a.len() > 60);
}

#[test]
fn outputs_of_a_new_transport_never_name_an_old_one() {
    let mut h = Rig::new(config());
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.go_live();
    h.fail(TransportErrorKind::Reset);
    h.skip();
    h.go_live();
    let lines = h.take();
    assert!(lines.iter().all(|l| !l.contains("#1")), "{lines:#?}");
}
