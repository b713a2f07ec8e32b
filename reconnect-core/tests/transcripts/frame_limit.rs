//! Frames the session builds itself (auth, renewals, setup, subscribe and unsubscribe requests,
//! heartbeats and their replies) larger than `max_frame_len` are never written: each is refused
//! with a cause that names the frame and both sizes, and what follows depends on what the frame
//! was for.
//!
//! Sizes here are counted by hand from the line protocol: `auth <id> <secret>` is 7 bytes plus
//! the secret for a one-digit id, `sub <id> <topics>` 6 plus the topic list, and so on.
//!
//! Time values used here and nowhere else: heartbeat interval 2.3 s, renewal interval 27.5 s,
//! resubscribe pace 8 frames a second (125 ms).

use crate::common::line_adapter::LineAdapter;
use crate::common::rig::{assert_unique_timer, config, ms, Rig};
use reconnect_core::{
    Credentials, EndCause, Event, Purpose, State, StopReason, SubscriptionStatus, UnsubscribeStatus,
};

/// 80 bytes of secret: `auth 1 ` and it make an 87-byte frame.
fn long_secret() -> Credentials {
    Credentials::new("s".repeat(80))
}

fn wanted(h: &Rig) -> Vec<(String, SubscriptionStatus)> {
    h.session
        .subscriptions()
        .map(|s| (s.topic.to_string(), s.status))
        .collect()
}

#[test]
fn an_auth_request_over_the_limit_is_not_written_and_stops_the_session() {
    let mut c = config();
    c.max_frame_len = 64;
    let mut h = Rig::new(c);
    h.session.set_credentials(long_secret());
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.skip();
    h.open();
    // Every attempt would build the same 87 bytes: retrying cannot get further.
    h.expect(&[
        "> connected #1",
        "release #1",
        "> disconnected #1: auth request of 87 bytes exceeds the frame limit of 64 bytes => Fatal",
        "> stopped: Fatal(FrameTooLarge { purpose: Auth, len: 87, max: 64 })",
    ]);
    assert_eq!(
        h.session.state(),
        State::Stopped(StopReason::Fatal(EndCause::FrameTooLarge {
            purpose: Purpose::Auth,
            len: 87,
            max: 64
        }))
    );
    assert!(h.sent_texts().is_empty(), "{:?}", h.sent_texts());
    assert_eq!(h.session.stats().failures.rejected, 1);
}

#[test]
fn an_auth_request_of_exactly_the_limit_goes_out() {
    let mut c = config();
    c.max_frame_len = 87;
    let mut h = Rig::new(c);
    h.session.set_credentials(long_secret());
    h.start();
    h.skip();
    h.open();
    h.expect(&["> connected #1", "send #1 <auth redacted>"]);
    assert_eq!(h.sent_texts()[0].len(), 87);
}

/// A rig over the line adapter with lifetimes, re-sending renewed credentials on the live
/// connection, frames limited to 64 bytes, credentials `key` (`auth 1 key`: 10 bytes) and
/// topic `a` wanted; auth frames show their first word and id.
fn renewing(mut c: reconnect_core::Config) -> Rig {
    c.max_frame_len = 64;
    let adapter = LineAdapter {
        grants: true,
        reauth_on_renewal: true,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    h.auth_heads = true;
    h.session.set_credentials(Credentials::new("key"));
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.open();
    h
}

#[test]
fn a_renewal_over_the_limit_fails_as_such_and_the_connection_stays() {
    let mut h = renewing(config());
    h.recv("ack 1 ttl=50000");
    h.recv("ack 2");
    h.skip();
    // Credentials that no longer fit, replaced while live: the renewal at 0.8 × 50 s = 40 s
    // would be `auth 3 ` and 80 bytes of secret.
    h.session.set_credentials(long_secret());
    h.advance(ms(40_000));
    h.expect(&[
        "> stable #1",
        "> RenewalFailed { cause: FrameTooLarge { purpose: Auth, len: 87, max: 64 } }",
    ]);
    let cause = h
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::RenewalFailed { cause } => Some(cause),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        cause.to_string(),
        "auth request of 87 bytes exceeds the frame limit of 64 bytes"
    );
    assert!(matches!(h.session.state(), State::Live { .. }));
    assert_eq!(h.count("release"), 0);
    assert_eq!(
        h.sent_texts(),
        ["auth 1 key", "sub 2 a"],
        "nothing more was written"
    );
}

#[test]
fn a_refresh_grant_over_the_limit_gives_way_to_the_credentials() {
    let mut h = renewing(config());
    // `refresh 3 ` and a 60-byte token make 70 bytes; `auth 3 key` fits.
    let token = "t".repeat(60);
    h.recv(&format!("ack 1 ttl=50000 rt={token}"));
    h.recv("ack 2");
    h.skip();
    h.advance(ms(40_000));
    h.expect(&["> stable #1", "send #1 auth 3 <redacted>"]);
    h.recv("ack 3 ttl=50000");
    h.expect(&["> CredentialsRenewed { conn: #1, source: Lifetime, expires_in: Some(50s) }"]);
}

#[test]
fn an_application_renewal_over_the_limit_fails_as_such_and_the_connection_stays() {
    let mut c = config();
    c.credentials.renewal_interval = Some(ms(27_500));
    assert_unique_timer(&c, "credentials.renewal_interval");
    let mut h = renewing(c);
    h.recv("ack 1");
    h.recv("ack 2");
    h.skip();
    h.advance(ms(27_500));
    h.expect(&["> stable #1", "> CredentialsRequested"]);
    h.session.provide_credentials(h.now, long_secret()).unwrap();
    h.expect(&["> RenewalFailed { cause: FrameTooLarge { purpose: Auth, len: 87, max: 64 } }"]);
    assert!(matches!(h.session.state(), State::Live { .. }));
    assert_eq!(h.sent_texts(), ["auth 1 key", "sub 2 a"]);
}

#[test]
fn a_setup_request_over_the_limit_is_not_written_and_stops_the_session() {
    let mut c = config();
    // `setup 1 0` is 9 bytes.
    c.max_frame_len = 8;
    let adapter = LineAdapter {
        setup_steps: 1,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    h.start();
    h.skip();
    h.open();
    h.expect(&[
        "> connected #1",
        "release #1",
        "> disconnected #1: setup request of 9 bytes exceeds the frame limit of 8 bytes => Fatal",
        "> stopped: Fatal(FrameTooLarge { purpose: Setup, len: 9, max: 8 })",
    ]);
}

#[test]
fn a_heartbeat_request_over_the_limit_ends_the_connection_for_good() {
    let mut c = config();
    c.liveness.heartbeat_interval = Some(ms(2_300));
    assert_unique_timer(&c, "liveness.heartbeat_interval");
    // `hb 1` is 4 bytes.
    c.max_frame_len = 3;
    let adapter = LineAdapter {
        heartbeat: true,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    h.start();
    h.open();
    h.skip();
    assert_eq!(h.fire_next(), ms(2_300));
    h.expect(&[
        "release #1",
        "> disconnected #1: heartbeat request of 4 bytes exceeds the frame limit of 3 bytes => Fatal",
        "> stopped: Fatal(FrameTooLarge { purpose: Heartbeat, len: 4, max: 3 })",
    ]);
    assert!(h.sent_texts().is_empty());
}

#[test]
fn a_heartbeat_reply_over_the_limit_ends_the_connection_and_retries() {
    let mut c = config();
    c.max_frame_len = 16;
    let mut h = Rig::new(c);
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.open();
    h.recv("ack 1");
    h.skip();
    // The reply to a short ping fits; `pong ` and a 20-byte token make 25 bytes.
    h.recv("ping 7");
    h.expect(&["send #1 pong 7"]);
    h.recv(&format!("ping {}", "p".repeat(20)));
    h.expect(&[
        "release #1",
        "> disconnected #1: heartbeat reply of 25 bytes exceeds the frame limit of 16 bytes => Retry",
        "> reconnect attempt=2 in 100ms (Backoff)",
    ]);
}

#[test]
fn a_subscribe_batch_over_the_limit_is_split_and_every_topic_goes_live() {
    let mut c = config();
    // `sub 1 a,b,c,d` is 13 bytes; `sub 1 a,b` and `sub 2 c,d` are 9.
    c.max_frame_len = 10;
    let adapter = LineAdapter {
        max_batch: 10,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    for t in ["a", "b", "c", "d"] {
        h.session.subscribe(h.now, t).unwrap();
    }
    h.start();
    h.skip();
    h.open();
    h.expect(&["> connected #1", "send #1 sub 1 a,b", "send #1 sub 2 c,d"]);
    h.recv("ack 2");
    h.recv("ack 1");
    h.expect(&[
        "> subscribed c",
        "> subscribed d",
        "> subscribed a",
        "> subscribed b",
        "> live #1 resubscribed=4 outage=0ms",
    ]);
}

#[test]
fn a_split_batch_keeps_the_resubscribe_pace() {
    let mut c = config();
    c.max_frame_len = 10;
    // One frame per 125 ms: the halves of a split go out a gap apart, like any two frames.
    c.resubscribe.frames_per_second = Some(8);
    let adapter = LineAdapter {
        max_batch: 10,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    for t in ["a", "b", "c", "d"] {
        h.session.subscribe(h.now, t).unwrap();
    }
    h.start();
    h.skip();
    h.open();
    h.expect(&["> connected #1", "send #1 sub 1 a,b"]);
    h.recv("ack 1");
    h.expect(&["> subscribed a", "> subscribed b"]);
    assert_eq!(h.fire_next(), ms(125));
    h.expect(&["send #1 sub 2 c,d"]);
    h.recv("ack 2");
    h.expect(&[
        "> subscribed c",
        "> subscribed d",
        "> live #1 resubscribed=4 outage=125ms",
    ]);
}

#[test]
fn a_topic_over_the_limit_on_its_own_is_rejected_for_good_and_the_rest_goes_live() {
    let mut c = config();
    // `sub 1 a` is 7 bytes; `sub 2 a-very-long-topic-name` is 6 + 22 = 28.
    c.max_frame_len = 10;
    let adapter = LineAdapter {
        max_batch: 10,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    for t in ["a", "a-very-long-topic-name"] {
        h.session.subscribe(h.now, t).unwrap();
    }
    h.start();
    h.skip();
    h.open();
    h.expect(&[
        "> connected #1",
        "send #1 sub 1 a",
        "> rejected a-very-long-topic-name for good",
    ]);
    let reason = h
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::SubscribeRejected { error, .. } => Some(error),
            _ => None,
        })
        .unwrap();
    assert_eq!(reason.code, None);
    assert_eq!(
        reason.message,
        "subscribe request of 28 bytes exceeds the frame limit of 10 bytes"
    );
    h.recv("ack 1");
    h.expect(&["> subscribed a", "> live #1 resubscribed=1 outage=0ms"]);
    assert_eq!(wanted(&h), [("a".to_owned(), SubscriptionStatus::Active)]);
}

#[test]
fn an_unsubscribe_request_over_the_limit_is_not_written() {
    let mut c = config();
    // `sub 1 abc` is 9 bytes and fits; `unsub 2 abc` is 11.
    c.max_frame_len = 9;
    let mut h = Rig::new(c);
    h.session.subscribe(h.now, "abc").unwrap();
    h.start();
    h.open();
    h.recv("ack 1");
    h.skip();
    assert_eq!(
        h.session.unsubscribe(h.now, "abc"),
        Ok(UnsubscribeStatus::Removed)
    );
    h.expect(&[]);
    assert_eq!(wanted(&h), []);
    assert_eq!(h.sent_texts(), ["sub 1 abc"]);
}
