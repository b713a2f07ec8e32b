//! Control: start, close from every state, reconnect_now, pause and resume, max lifetime.

use crate::common::rig::{config, ms, Rig};
use reconnect_core::{CommandError, State, StopReason, TransportErrorKind};

fn assert_never_reconnects(h: &mut Rig) {
    let connects = h.count("connect #");
    h.advance(ms(24 * 3_600_000));
    assert_eq!(h.count("connect #"), connects);
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(h.session.reconnect_now(h.now), Err(CommandError::Stopped));
}

#[test]
fn start_only_once() {
    let mut h = Rig::new(config());
    h.start();
    assert_eq!(h.session.start(h.now), Err(CommandError::AlreadyStarted));
}

#[test]
fn close_while_live_is_a_clean_handshake() {
    let mut h = Rig::new(config());
    h.start();
    h.go_live();
    h.skip();
    h.session.close(h.now).unwrap();
    h.expect(&["close #1 1000 client closing"]);
    h.server_close(1000);
    h.expect(&[
        "release #1",
        "> disconnected #1: closed by the application => Closed",
        "> stopped: Closed { clean: true }",
    ]);
    assert_never_reconnects(&mut h);
}

#[test]
fn close_mid_backoff_mid_connect_and_before_start() {
    let mut h = Rig::new(config());
    h.start();
    h.connect_failed(TransportErrorKind::Refused);
    h.skip();
    h.session.close(h.now).unwrap();
    h.expect(&["> stopped: Closed { clean: true }"]);
    assert_never_reconnects(&mut h);

    let mut h = Rig::new(config());
    h.start();
    h.skip();
    h.session.close(h.now).unwrap();
    h.expect(&["release #1", "> stopped: Closed { clean: true }"]);
    assert_never_reconnects(&mut h);

    let mut h = Rig::new(config());
    h.session.close(h.now).unwrap();
    h.expect(&["> stopped: Closed { clean: true }"]);
    assert_eq!(h.session.start(h.now), Err(CommandError::Stopped));
}

#[test]
fn a_failure_during_the_close_handshake_still_stops() {
    let mut h = Rig::new(config());
    h.start();
    h.go_live();
    h.session.close(h.now).unwrap();
    h.fail(TransportErrorKind::Reset);
    assert_eq!(
        h.session.state(),
        State::Stopped(StopReason::Closed { clean: false })
    );
    assert_never_reconnects(&mut h);
}

#[test]
fn reconnect_now_skips_the_backoff() {
    let mut h = Rig::new(config());
    h.start();
    for _ in 0..6 {
        h.connect_failed(TransportErrorKind::Refused);
        h.fire_next();
    }
    h.connect_failed(TransportErrorKind::Refused);
    h.skip();
    assert!(matches!(h.session.state(), State::Backoff { .. }));
    h.session.reconnect_now(h.now).unwrap();
    h.expect(&["> connecting #8 attempt=8", "connect #8 attempt=8"]);
}

#[test]
fn reconnect_now_while_live_replaces_the_connection_without_counting_a_failure() {
    let mut h = Rig::new(config());
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.go_live();
    h.skip();
    h.session.reconnect_now(h.now).unwrap();
    h.expect(&[
        // A goodbye the driver flushes as it releases the socket; nobody waits for the answer.
        "close #1 1000 reconnect requested",
        "release #1",
        "> disconnected #1: reconnect requested => Retry",
        "> reconnect attempt=1 in 0ms (Immediate)",
        "> connecting #2 attempt=1",
        "connect #2 attempt=1",
    ]);
    assert_eq!(h.session.health().consecutive_failures, 0);
}

#[test]
fn pause_holds_automatic_reconnection_until_resume() {
    let mut h = Rig::new(config());
    h.start();
    h.go_live();
    h.session.pause(h.now).unwrap();
    h.fail(TransportErrorKind::Reset);
    assert_eq!(h.session.state(), State::Paused);
    h.advance(ms(3_600_000));
    assert_eq!(h.count("connect #"), 1);
    h.skip();
    h.session.resume(h.now).unwrap();
    h.expect(&[
        "> Resumed",
        "> connecting #2 attempt=2",
        "connect #2 attempt=2",
    ]);
}

#[test]
fn pause_during_backoff_cancels_the_timer() {
    let mut h = Rig::new(config());
    h.start();
    h.connect_failed(TransportErrorKind::Refused);
    h.session.pause(h.now).unwrap();
    assert_eq!(h.session.state(), State::Paused);
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn max_lifetime_recycles_with_a_full_restore() {
    let mut c = config();
    c.max_lifetime = Some(ms(24 * 3_600_000));
    let mut h = Rig::new(c);
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.go_live();
    h.advance(ms(24 * 3_600_000 - 1));
    h.skip();
    h.advance(ms(1));
    h.expect(&[
        "> Recycling { conn: #1 }",
        "close #1 1000 recycling connection",
    ]);
    h.server_close(1000);
    h.expect(&[
        "release #1",
        "> disconnected #1: recycled at max lifetime => Retry",
        "> reconnect attempt=1 in 0ms (Immediate)",
        "> connecting #2 attempt=1",
        "connect #2 attempt=1",
    ]);
    h.go_live();
    assert_eq!(h.sent_texts().last().unwrap(), "sub 2 a");
}

#[test]
fn closing_during_an_outage_stops_as_closed_not_as_outage_too_long() {
    let mut c = config();
    c.limits.max_outage = Some(ms(1_000));
    let mut h = Rig::new(c);
    h.session
        .set_credentials(reconnect_core::Credentials::new("k"));
    h.start();
    h.open(); // authenticating: the transport is open but the outage goes on
    h.session.close(h.now).unwrap();
    // Past both the outage limit (1 s) and the close timeout (5 s).
    h.advance(ms(6_000));
    assert_eq!(
        h.session.state(),
        State::Stopped(StopReason::Closed { clean: false })
    );
}

/// Found by the `session` fuzz target: data arriving during the close handshake re-armed the
/// idle watchdog, which then declared the closing connection dead and reconnected.
#[test]
fn data_during_the_close_handshake_never_leads_to_a_reconnect() {
    let mut c = config();
    c.liveness.idle_timeout = Some(ms(3_000));
    let mut h = Rig::new(c);
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.go_live();
    h.session.close(h.now).unwrap();
    h.recv("data a 1");
    h.skip();
    h.advance(ms(60_000));
    h.expect(&[
        "release #1",
        "> disconnected #1: closed by the application => Closed",
        "> stopped: Closed { clean: false }",
    ]);
    assert_never_reconnects(&mut h);
}
