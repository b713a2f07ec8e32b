//! C13: state, stats and health.

use crate::harness::{config, ms, Harness};
use reconnect_core::{State, TransportErrorKind};

#[test]
fn stats_count_what_happened() {
    let mut h = Harness::new(config());
    h.session.subscribe(h.now, "a").unwrap();
    assert_eq!(h.session.state(), State::Idle);
    h.start();
    h.connect_failed(TransportErrorKind::Refused);
    h.fire_next();
    h.go_live();
    h.recv("data a 1");
    h.recv("data a 3");
    h.advance(ms(2_000));
    h.server_close(1001);
    h.fire_next();
    let s = h.session.stats().clone();
    assert_eq!(s.attempts, 3);
    assert_eq!(s.successes, 1);
    assert_eq!(s.failures.transport, 1);
    assert_eq!(s.failures.server_close, 1);
    assert_eq!(s.disconnects, 1);
    assert_eq!(s.reconnects, 2);
    assert_eq!(s.frames_in, 2);
    assert_eq!(s.gaps, 1);
    assert_eq!(s.resubscribes, 1);
    assert_eq!(s.uptime, ms(2_000));
    assert_eq!(s.downtime, ms(100 + 200));
    let (cause, _) = s.last_disconnect.unwrap();
    assert_eq!(cause.to_string(), "server closed with 1001 \"bye\"");
    assert_eq!(s.frames_out, 1);
}

#[test]
fn health_reports_liveness_and_failures() {
    let mut h = Harness::new(config());
    h.start();
    h.connect_failed(TransportErrorKind::Refused);
    let health = h.session.health();
    assert!(!health.live);
    assert_eq!(health.consecutive_failures, 1);
    h.fire_next();
    h.go_live();
    h.advance(ms(1_500));
    let health = h.session.health();
    assert!(health.live);
    assert_eq!(health.since_last_inbound, Some(ms(1_500)));
}
