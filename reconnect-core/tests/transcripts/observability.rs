//! Observability: state, stats and health.

use crate::common::rig::{config, ms, Rig};
use reconnect_core::{EndCause, State, TransportErrorKind};

#[test]
fn stats_count_what_happened() {
    let mut h = Rig::new(config());
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
    assert_eq!(s.live_connections, 1);
    assert_eq!(s.reconnections, 0, "the one live connection was the first");
    assert_eq!(s.outages, 1);
    assert_eq!(s.failures.transport, 1);
    assert_eq!(s.failures.server_close, 1);
    assert_eq!(s.disconnects, 1);
    assert_eq!(s.retries_scheduled, 2);
    assert_eq!(s.frames_in, 2);
    assert_eq!(s.gaps, 1);
    assert_eq!(s.resubscribes, 1);
    assert_eq!(s.uptime, ms(2_000));
    assert_eq!(s.downtime, ms(100 + 200));
    let (cause, _) = s.last_disconnect.unwrap();
    assert_eq!(cause.to_string(), "server closed with 1001 \"bye\"");
    assert_eq!(s.frames_out, 1);
    let (failure, _) = s.last_attempt_failure.unwrap();
    assert!(
        matches!(&failure, EndCause::Transport(e) if e.kind == TransportErrorKind::Refused),
        "{failure}"
    );
}

/// One outage: a live connection lost, three refused attempts, the fourth back to live.
/// Worked out by hand: attempts = 1 (first) + 4 (the outage) = 5; live connections 2, of which
/// 1 is a reconnection; 1 outage; 1 disconnect; retries scheduled 4 (after the loss and after
/// each of the 3 refusals); the last disconnect is the server's close, not a refusal.
#[test]
fn one_outage_with_three_failed_attempts_counts_as_a_user_expects() {
    let mut h = Rig::new(config());
    h.start();
    h.go_live();
    h.advance(ms(6_000));
    h.server_close(1001);
    for _ in 0..3 {
        if h.session.current_conn().is_none() {
            h.fire_next();
        }
        h.connect_failed(TransportErrorKind::Refused);
    }
    h.go_live();
    assert!(matches!(h.session.state(), State::Live { .. }));
    let s = h.session.stats().clone();
    assert_eq!(s.attempts, 5);
    assert_eq!(s.live_connections, 2);
    assert_eq!(s.reconnections, 1);
    assert_eq!(s.outages, 1);
    assert_eq!(s.disconnects, 1);
    assert_eq!(s.retries_scheduled, 4);
    assert_eq!(s.failures.transport, 3);
    assert_eq!(s.failures.server_close, 1);
    let (cause, _) = s.last_disconnect.clone().unwrap();
    assert!(
        matches!(
            &cause,
            EndCause::ServerClosed {
                code: Some(1001),
                ..
            }
        ),
        "last_disconnect holds the end of the open connection, not a failed attempt: {cause}"
    );
    let (failure, _) = s.last_attempt_failure.unwrap();
    assert!(
        matches!(&failure, EndCause::Transport(e) if e.kind == TransportErrorKind::Refused),
        "{failure}"
    );
}

#[test]
fn health_reports_liveness_and_failures() {
    let mut h = Rig::new(config());
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
