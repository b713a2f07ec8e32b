//! Authentication, credentials refresh and renewal, session setup.

use crate::common::line_adapter::LineAdapter;
use crate::common::rig::{assert_unique_timer, config, ms, Rig};
use reconnect_core::{Credentials, Event, Output, Purpose, State, TransportErrorKind};

#[test]
fn auth_goes_first_and_nothing_else_before_its_ack() {
    let adapter = LineAdapter {
        setup_steps: 1,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(config(), adapter);
    h.session.set_credentials(Credentials::new("k1"));
    h.session.subscribe(h.now, "a").unwrap();
    h.session.send(h.now, "order").unwrap();
    h.start();
    h.open();
    h.expect(&[
        "> connecting #1 attempt=1",
        "connect #1 attempt=1",
        "> connected #1",
        "send #1 <auth redacted>",
    ]);
    h.advance(ms(1_000));
    h.expect(&[]);
    h.recv("ack 1");
    h.expect(&["> authenticated #1", "send #1 setup 2 0"]);
    h.recv("ack 2");
    h.expect(&["> setup complete #1", "send #1 sub 3 a"]);
    h.recv("ack 3");
    h.expect(&[
        "> subscribed a",
        "> live #1 resubscribed=1 outage=1000ms",
        "send #1 order",
    ]);
}

#[test]
fn replaced_credentials_are_used_on_the_next_attempt() {
    let mut h = Rig::new(config());
    h.session.set_credentials(Credentials::new("old"));
    h.start();
    h.go_live();
    h.session.set_credentials(Credentials::new("new"));
    h.fail(reconnect_core::TransportErrorKind::Reset);
    h.go_live();
    let auths: Vec<_> = h
        .sent_texts()
        .into_iter()
        .filter(|t| t.starts_with("auth"))
        .collect();
    assert_eq!(auths, ["auth 1 old", "auth 2 new"]);
}

#[test]
fn a_fatal_rejection_stops_with_no_further_attempt() {
    let mut h = Rig::new(config());
    h.session.set_credentials(Credentials::new("bad"));
    h.start();
    h.open();
    h.skip();
    h.recv("nack 1 401");
    h.expect(&[
        "release #1",
        "> disconnected #1: auth rejected: 401: code 401 => Fatal",
        "> stopped: Fatal(AuthRejected(ServerError { code: Some(401), message: \"code 401\", retry_after: None }))",
    ]);
    assert_eq!(h.session.poll_timeout(), None);
    h.advance(ms(3_600_000));
    assert_eq!(h.count("connect #"), 1);
}

#[test]
fn a_transient_rejection_backs_off() {
    let mut h = Rig::new(config());
    h.session.set_credentials(Credentials::new("k"));
    h.start();
    h.open();
    h.skip();
    h.recv("nack 1 503");
    let lines = h.take();
    assert_eq!(lines[2], "> reconnect attempt=2 in 100ms (Backoff)");
}

#[test]
fn a_rejection_that_wants_fresh_credentials_asks_the_application_before_connecting() {
    let mut h = Rig::new(config());
    h.session.set_credentials(Credentials::new("expired"));
    h.start();
    h.open();
    h.recv("nack 1 419");
    h.skip();
    h.fire_next();
    h.expect(&["> CredentialsRequested"]);
    assert_eq!(h.session.state(), State::AwaitingCredentials);
    h.session
        .provide_credentials(h.now, Credentials::new("fresh"))
        .unwrap();
    h.expect(&["> connecting #2 attempt=2", "connect #2 attempt=2"]);
    h.open();
    assert_eq!(h.sent_texts().last().unwrap(), "auth 2 fresh");
}

#[test]
fn fetch_before_every_connect_with_a_timeout() {
    let mut c = config();
    c.credentials.fetch_before_connect = true;
    // Not 2 s: that is the backoff cap.
    c.timeouts.credentials = ms(2_700);
    assert_unique_timer(&c, "timeouts.credentials");
    let mut h = Rig::new(c);
    h.start();
    h.expect(&["> CredentialsRequested"]);
    assert_eq!(h.fire_next(), ms(2_700));
    h.expect(&[
        "> attempt 1 failed: Credentials timeout => Retry",
        "> reconnect attempt=2 in 100ms (Backoff)",
    ]);
    h.fire_next();
    h.expect(&["> CredentialsRequested"]);
    h.session.credentials_failed(h.now, "REST down").unwrap();
    h.expect(&[
        "> attempt 2 failed: credentials unavailable: REST down => Retry",
        "> reconnect attempt=3 in 200ms (Backoff)",
    ]);
    h.fire_next();
    h.session
        .provide_credentials(h.now, Credentials::new("listen-key"))
        .unwrap();
    h.expect(&[
        "> CredentialsRequested",
        "> connecting #1 attempt=3",
        "connect #1 attempt=3",
    ]);
}

#[test]
fn periodic_renewal_while_live_reauthenticates_when_the_protocol_needs_it() {
    let mut c = config();
    c.credentials.renewal_interval = Some(ms(30 * 60_000));
    assert_unique_timer(&c, "credentials.renewal_interval");
    let adapter = LineAdapter {
        reauth_on_renewal: true,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    h.session.set_credentials(Credentials::new("k1"));
    h.start();
    h.go_live();
    h.skip();
    h.advance(ms(30 * 60_000));
    h.expect(&["> stable #1", "> CredentialsRequested"]);
    h.session
        .provide_credentials(h.now, Credentials::new("k2"))
        .unwrap();
    h.expect(&["send #1 <auth redacted>"]);
    let id = h.last_request("auth");
    h.recv(&format!("ack {id}"));
    h.expect(&["> CredentialsRenewed { conn: #1, source: Application, expires_in: None }"]);
    assert!(matches!(h.session.state(), State::Live { .. }));
    // The next renewal nobody answers: the connection stays up, the failure is reported.
    h.fire_next();
    h.skip();
    h.fire_next();
    h.expect(&["> RenewalFailed { cause: Timeout(Credentials) }"]);
    assert!(matches!(h.session.state(), State::Live { .. }));
}

#[test]
fn secrets_never_appear_in_debug_output_or_events() {
    let mut h = Rig::new(config());
    h.session
        .set_credentials(Credentials::new("hunter2-secret"));
    h.start();
    h.open();
    h.recv("nack 1 503");
    let debug = format!("{:?} {:?}", h.outputs, h.session);
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(format!("{:?}", Credentials::new("hunter2")).contains("redacted"));
    // The frame itself carries the secret, for the driver to send.
    assert!(h.outputs.iter().any(|o| matches!(
        o,
        Output::Action(reconnect_core::Action::Send { purpose: Purpose::Auth, frame, .. })
            if frame.as_text().unwrap().contains("hunter2")
    )));
    assert!(h
        .events()
        .iter()
        .all(|e| !format!("{e:?}").contains("hunter2")));
    let _ = Event::Paused;
}

/// Starts the next attempt if none is in flight, and checks that it connected rather than ask
/// the application for credentials.
#[track_caller]
fn next_attempt_connects(h: &mut Rig) {
    if h.session.current_conn().is_none() {
        h.fire_next();
    }
    assert!(
        h.session.current_conn().is_some(),
        "the attempt asked for credentials again ({:?}):\n{:#?}",
        h.session.state(),
        h.log
    );
}

/// Fails the auth of the transport in flight with `code` (419 wants fresh credentials, 503 is
/// transient), after opening it.
fn reject_auth(h: &mut Rig, code: u32) {
    h.open();
    let id = h.last_request("auth");
    h.recv(&format!("nack {id} {code}"));
}

#[test]
fn refreshed_credentials_are_not_asked_for_again_on_later_attempts() {
    let mut h = Rig::new(config());
    h.session.set_credentials(Credentials::new("expired"));
    h.start();
    reject_auth(&mut h, 419);
    h.fire_next();
    assert_eq!(h.session.state(), State::AwaitingCredentials);
    // Nobody answers in time: the attempt fails, and the next one still needs fresh credentials.
    h.fire_next();
    h.fire_next();
    assert_eq!(h.session.state(), State::AwaitingCredentials);
    h.session
        .provide_credentials(h.now, Credentials::new("fresh"))
        .unwrap();
    h.go_live();

    // Failures of every kind after the refresh, none of which wants fresh credentials: no
    // attempt asks the application again.
    h.fail(TransportErrorKind::Reset);
    next_attempt_connects(&mut h);
    h.connect_failed(TransportErrorKind::Refused);
    next_attempt_connects(&mut h);
    reject_auth(&mut h, 503);
    next_attempt_connects(&mut h);
    h.go_live();
    h.advance(ms(5_000));
    assert!(h.log.iter().any(|l| l.starts_with("> stable")));
    h.server_close(1001);
    next_attempt_connects(&mut h);
    h.go_live();
    h.fail(TransportErrorKind::Reset);
    next_attempt_connects(&mut h);
    h.go_live();
    assert_eq!(
        h.count("> CredentialsRequested"),
        2,
        "asked again after the refresh:\n{:#?}",
        h.log
    );
    assert_eq!(h.count("> CredentialsRequested"), 2);
    assert_eq!(h.count("connect #"), 7);
    let auths: Vec<_> = h
        .sent_texts()
        .into_iter()
        .filter(|t| t.starts_with("auth"))
        .map(|t| t.rsplit(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(auths[0], "expired");
    assert_eq!(auths.len(), 6, "{auths:?}");
    assert!(auths[1..].iter().all(|a| a == "fresh"), "{auths:?}");

    // Another rejection that wants fresh credentials asks once more, and only once.
    h.fail(TransportErrorKind::Reset);
    h.fire_next();
    reject_auth(&mut h, 419);
    h.fire_next();
    assert_eq!(h.session.state(), State::AwaitingCredentials);
    h.session
        .provide_credentials(h.now, Credentials::new("fresher"))
        .unwrap();
    h.go_live();
    h.fail(TransportErrorKind::Reset);
    next_attempt_connects(&mut h);
    h.go_live();
    assert_eq!(h.count("> CredentialsRequested"), 3, "{:#?}", h.log);
    assert_eq!(
        h.sent_texts()
            .iter()
            .filter(|t| t.ends_with(" fresher"))
            .count(),
        2
    );
}

#[test]
fn set_credentials_alone_does_not_make_later_attempts_ask() {
    let mut h = Rig::new(config());
    h.start();
    h.go_live();
    h.session.set_credentials(Credentials::new("k2"));
    for _ in 0..3 {
        h.fail(TransportErrorKind::Reset);
        next_attempt_connects(&mut h);
        h.go_live();
    }
    assert_eq!(h.count("> CredentialsRequested"), 0, "{:#?}", h.log);
    assert_eq!(h.count("> CredentialsRequested"), 0);
}
