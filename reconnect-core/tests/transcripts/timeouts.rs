//! Timeouts of connect, auth, setup, subscribe and close.
//!
//! Each test gives the timeout under test a value no other timer of its config shares (checked
//! by `assert_unique_timer`), so a deadline armed from the wrong setting fires at a time the
//! transcript does not expect.

use crate::common::line_adapter::LineAdapter;
use crate::common::rig::{assert_unique_timer, config, ms, Rig};
use reconnect_core::{Credentials, State, StopReason};

#[test]
fn connect_timeout_releases_the_attempt_and_backs_off() {
    let mut c = config();
    c.timeouts.connect = ms(6_100);
    assert_unique_timer(&c, "timeouts.connect");
    let mut h = Rig::new(c);
    h.start();
    h.skip();
    assert_eq!(h.fire_next(), ms(6_100));
    h.expect(&[
        "release #1",
        "> attempt 1 failed: Connect timeout => Retry",
        "> reconnect attempt=2 in 100ms (Backoff)",
    ]);
}

#[test]
fn auth_timeout() {
    let mut c = config();
    c.timeouts.auth = ms(3_000);
    assert_unique_timer(&c, "timeouts.auth");
    let mut h = Rig::new(c);
    h.session.set_credentials(Credentials::new("k"));
    h.start();
    h.open();
    h.skip();
    assert_eq!(h.fire_next(), ms(3_000));
    h.expect(&[
        "release #1",
        "> disconnected #1: Auth timeout => Retry",
        "> reconnect attempt=2 in 100ms (Backoff)",
    ]);
}

#[test]
fn setup_timeout() {
    let mut c = config();
    c.timeouts.setup = ms(2_300);
    assert_unique_timer(&c, "timeouts.setup");
    let adapter = LineAdapter {
        setup_steps: 2,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    h.start();
    h.skip();
    h.open();
    h.expect(&["> connected #1", "send #1 setup 1 0", "send #1 setup 2 1"]);
    h.recv("ack 2");
    h.expect(&[]);
    assert_eq!(h.fire_next(), ms(2_300));
    assert!(h
        .take()
        .contains(&"> disconnected #1: Setup timeout => Retry".to_string()));
}

#[test]
fn subscribe_timeout_counts_from_each_send() {
    let mut c = config();
    c.timeouts.subscribe = ms(1_300);
    c.resubscribe.frames_per_second = Some(2);
    assert_unique_timer(&c, "timeouts.subscribe");
    let mut h = Rig::new(c);
    for t in ["a", "b", "c"] {
        h.session.subscribe(h.now, t).unwrap();
    }
    h.start();
    h.skip();
    h.open();
    h.expect(&["> connected #1", "send #1 sub 1 a"]);
    h.recv("ack 1");
    h.expect(&["> subscribed a"]);
    // Paced at 2 frames per second: the next goes out 500 ms after the first.
    assert_eq!(h.fire_next(), ms(500));
    h.expect(&["send #1 sub 2 b"]);
    h.recv("ack 2");
    h.skip();
    assert_eq!(h.fire_next(), ms(500));
    h.expect(&["send #1 sub 3 c"]);
    assert_eq!(h.fire_next(), ms(1_300));
    assert!(h
        .take()
        .contains(&"> disconnected #1: Subscribe timeout => Retry".to_string()));
}

#[test]
fn close_timeout_stops_without_a_clean_close() {
    let mut c = config();
    c.timeouts.close = ms(3_700);
    assert_unique_timer(&c, "timeouts.close");
    let mut h = Rig::new(c);
    h.start();
    h.go_live();
    h.skip();
    h.session.close(h.now).unwrap();
    h.expect(&["close #1 1000 client closing"]);
    assert_eq!(h.fire_next(), ms(3_700));
    h.expect(&[
        "release #1",
        "> disconnected #1: closed by the application => Closed",
        "> stopped: Closed { clean: false }",
    ]);
    assert_eq!(
        h.session.state(),
        State::Stopped(StopReason::Closed { clean: false })
    );
}

#[test]
fn the_test_config_gives_every_timer_a_value_of_its_own() {
    let c = config();
    for (name, value) in crate::common::rig::timer_settings(&c) {
        if value.is_some() {
            assert_unique_timer(&c, name);
        }
    }
}
