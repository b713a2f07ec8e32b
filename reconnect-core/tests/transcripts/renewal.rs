//! Credentials with a lifetime: renewed on the live connection before they expire, at a
//! fraction of the lifetime capped by a margin, with the refresh grant or the current
//! credentials, without disturbing the connection; refusals, timeouts and reconnects.
//!
//! The adapter is the shared line adapter with grants on: an auth answer
//! `ack <id> ttl=<ms> [rt=<token>]` grants a lifetime (and a refresh token), and the refresh
//! grant is the frame `refresh <id> <token>`. Auth frames are secrets, so the transcript shows
//! only their first word and id.
//!
//! Time values used here and nowhere else: auth timeout 3.7 s, margin 6.1 s, floor 1.3 s, and
//! (for the application's renewals without a lifetime) a renewal interval of 27 s.

use std::time::Duration;

use crate::common::line_adapter::LineAdapter;
use crate::common::rig::{assert_unique_timer, config, ms, Rig};
use reconnect_core::{
    Action, Config, Credentials, Event, Input, Output, Purpose, RenewalSource, SendStatus, State,
    TransportErrorKind,
};

const AUTH_TIMEOUT: Duration = Duration::from_millis(3_700);
const MARGIN: Duration = Duration::from_millis(6_100);
const FLOOR: Duration = Duration::from_millis(1_300);

fn renewal_config() -> Config {
    let mut c = config();
    c.timeouts.auth = AUTH_TIMEOUT;
    c.lifetime_renewal.margin = MARGIN;
    c.lifetime_renewal.min_delay = FLOOR;
    c
}

/// A rig over the line adapter with lifetimes and refresh tokens, re-sending renewed
/// credentials on the live connection, with credentials set; auth frames show their first word
/// and id.
fn renewal_rig(config: Config) -> Rig {
    let adapter = LineAdapter {
        grants: true,
        reauth_on_renewal: true,
        ..LineAdapter::new()
    };
    let mut r = Rig::with_adapter(config, adapter);
    r.auth_heads = true;
    r.session.set_credentials(Credentials::new("key"));
    r
}

/// The steps of these tests on top of the rig.
trait RenewalSteps {
    /// Starts (or takes the pending attempt), opens, answers auth with `grant` (e.g.
    /// `ttl=50000 rt=t1`), acks the restore; returns once live.
    fn live_with(&mut self, grant: &str);
    /// The id of the first subscribe request of the current connection not yet confirmed.
    fn unanswered_sub(&mut self) -> Option<u64>;
    /// Every renewal before expiry so far, as (expires_in, whether it used the refresh token).
    fn renewed(&self) -> Vec<(Option<Duration>, bool)>;
    /// Resets the transport in flight.
    fn reset(&mut self);
}

impl RenewalSteps for Rig {
    fn live_with(&mut self, grant: &str) {
        if matches!(self.session.state(), State::Idle) {
            self.session.start(self.now).unwrap();
        }
        self.drain();
        self.open();
        let auth = self.last_request("auth");
        self.recv(format!("ack {auth} {grant}").trim_end());
        while let Some(sub) = self.unanswered_sub() {
            self.recv(&format!("ack {sub}"));
        }
        assert!(
            matches!(self.session.state(), State::Live { .. }),
            "{:?}",
            self.session.state()
        );
    }

    fn unanswered_sub(&mut self) -> Option<u64> {
        self.drain();
        let conn = self.session.current_conn()?;
        let mut sent = Vec::new();
        let mut acked = Vec::new();
        for o in &self.outputs {
            match o {
                Output::Action(Action::Send { conn: c, frame, .. }) if *c == conn => {
                    let t = frame.as_text().unwrap_or_default();
                    if let Some(rest) = t.strip_prefix("sub ") {
                        sent.push(rest.split(' ').next()?.parse::<u64>().ok()?);
                    }
                }
                Output::Event(Event::Subscribed { conn: c, .. }) if *c == conn => acked.push(()),
                _ => {}
            }
        }
        // Restores here are one topic per frame, acked in order.
        sent.get(acked.len())
            .copied()
            .filter(|_| acked.len() < sent.len())
    }

    fn renewed(&self) -> Vec<(Option<Duration>, bool)> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Event(Event::CredentialsRenewed {
                    expires_in, source, ..
                }) if *source != RenewalSource::Application => {
                    Some((*expires_in, *source == RenewalSource::RefreshToken))
                }
                _ => None,
            })
            .collect()
    }

    fn reset(&mut self) {
        self.fail(TransportErrorKind::Reset);
    }
}

#[test]
fn renews_at_the_fraction_of_the_lifetime_on_the_same_connection() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=50000");
    r.take();
    // 0.8 × 50 s = 40 s comes before 50 s − 6.1 s = 43.9 s.
    let granted_at = r.now;
    r.advance(ms(4_999));
    assert_eq!(
        r.session.poll_timeout(),
        Some(granted_at + ms(5_000)),
        "min_uptime"
    );
    r.advance(ms(1));
    r.expect(&["> stable #1"]);
    assert_eq!(r.session.poll_timeout(), Some(granted_at + ms(40_000)));
    r.advance(ms(34_999));
    r.expect(&[]);
    r.advance(ms(1));
    r.expect(&["send #1 auth 2 <redacted>"]);
    assert!(matches!(r.session.state(), State::Live { .. }));
    r.recv("ack 2 ttl=50000");
    r.expect(&["> CredentialsRenewed { conn: #1, source: Lifetime, expires_in: Some(50s) }"]);
    // Re-armed from the answer: another 40 s.
    r.advance(ms(39_999));
    r.expect(&[]);
    r.advance(ms(1));
    r.expect(&["send #1 auth 3 <redacted>"]);
    assert_eq!(r.sent_texts().last().unwrap(), "auth 3 key");
}

#[test]
fn the_margin_caps_the_renewal() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=20000");
    r.take();
    // 20 s − 6.1 s = 13.9 s comes before 0.8 × 20 s = 16 s.
    r.advance(ms(13_899));
    r.expect(&["> stable #1"]);
    r.advance(ms(1));
    r.expect(&["send #1 auth 2 <redacted>"]);
    // An answer without a lifetime: nothing more to schedule.
    r.recv("ack 2");
    r.expect(&["> CredentialsRenewed { conn: #1, source: Lifetime, expires_in: None }"]);
    r.advance(ms(600_000));
    r.expect(&[]);
    assert_eq!(r.session.poll_timeout(), None, "no lifetime, nothing armed");
}

#[test]
fn the_refresh_grant_uses_the_latest_token() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=50000 rt=tok-a");
    r.take();
    r.advance(ms(40_000));
    r.expect(&["> stable #1", "send #1 refresh 2 <redacted>"]);
    assert_eq!(r.sent_texts().last().unwrap(), "refresh 2 tok-a");
    r.recv("ack 2 ttl=30000 rt=tok-b");
    r.expect(&["> CredentialsRenewed { conn: #1, source: RefreshToken, expires_in: Some(30s) }"]);
    // min(0.8 × 30 s = 24 s, 30 s − 6.1 s = 23.9 s) = 23.9 s, with the new token.
    r.advance(ms(23_899));
    r.expect(&[]);
    r.advance(ms(1));
    r.expect(&["send #1 refresh 3 <redacted>"]);
    assert_eq!(r.sent_texts().last().unwrap(), "refresh 3 tok-b");
    // An answer without a token: the next renewal falls back to the current credentials.
    r.recv("ack 3 ttl=30000");
    r.advance(ms(23_900));
    r.expect(&[
        "> CredentialsRenewed { conn: #1, source: RefreshToken, expires_in: Some(30s) }",
        "send #1 auth 4 <redacted>",
    ]);
    assert_eq!(r.sent_texts().last().unwrap(), "auth 4 key");
}

#[test]
fn without_a_refresh_token_the_current_credentials_renew() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=50000");
    r.session.set_credentials(Credentials::new("key-2"));
    r.advance(ms(40_000));
    assert_eq!(r.sent_texts().last().unwrap(), "auth 2 key-2");
    r.recv("ack 2 ttl=50000");
    assert_eq!(r.renewed(), [(Some(ms(50_000)), false)]);
}

#[test]
fn the_refresh_grant_can_be_turned_off() {
    let mut c = renewal_config();
    c.lifetime_renewal.use_refresh_token = false;
    let mut r = renewal_rig(c);
    r.live_with("ttl=50000 rt=tok-a");
    r.advance(ms(40_000));
    assert_eq!(r.sent_texts().last().unwrap(), "auth 2 key");
    assert!(!r.sent_texts().iter().any(|t| t.starts_with("refresh")));
    r.recv("ack 2 ttl=50000 rt=tok-b");
    assert_eq!(r.renewed(), [(Some(ms(50_000)), false)]);
}

#[test]
fn renewal_can_be_turned_off() {
    let mut c = renewal_config();
    c.lifetime_renewal.enabled = false;
    let mut r = renewal_rig(c);
    r.live_with("ttl=50000 rt=tok-a");
    r.take();
    r.advance(ms(600_000));
    r.expect(&["> stable #1"]);
    assert_eq!(
        r.session.protocol().grants_asked,
        1,
        "the grant is still taken"
    );
}

#[test]
fn a_permanent_refusal_stops_with_the_reason() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=50000");
    r.advance(ms(40_000));
    r.take();
    r.recv("nack 2 401");
    r.expect(&[
        "release #1",
        "> disconnected #1: auth rejected: 401: code 401 => Fatal",
        "> stopped: Fatal(AuthRejected(ServerError { code: Some(401), message: \"code 401\", retry_after: None }))",
    ]);
}

#[test]
fn a_refused_refresh_token_falls_back_to_the_current_credentials_on_the_same_connection() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=50000 rt=tok-a");
    r.advance(ms(40_000));
    assert_eq!(r.sent_texts().last().unwrap(), "refresh 2 tok-a");
    r.take();
    // A revoked refresh token: even a refusal the adapter calls fatal is not the end while the
    // application's own credentials may still hold.
    r.recv("nack 2 401");
    r.expect(&["send #1 auth 3 <redacted>"]);
    assert_eq!(r.sent_texts().last().unwrap(), "auth 3 key");
    r.recv("ack 3 ttl=50000 rt=tok-b");
    assert_eq!(r.renewed(), [(Some(ms(50_000)), false)]);
    assert!(matches!(r.session.state(), State::Live { .. }));
    // The next renewal uses the fresh token again.
    r.advance(ms(40_000));
    assert_eq!(r.sent_texts().last().unwrap(), "refresh 4 tok-b");
    // When the credentials themselves are refused too, the refusal is classified as any auth's.
    r.take();
    r.recv("nack 4 401");
    r.expect(&["send #1 auth 5 <redacted>"]);
    r.recv("nack 5 401");
    r.expect(&[
        "release #1",
        "> disconnected #1: auth rejected: 401: code 401 => Fatal",
        "> stopped: Fatal(AuthRejected(ServerError { code: Some(401), message: \"code 401\", retry_after: None }))",
    ]);
}

#[test]
fn a_transient_refusal_reconnects() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=50000");
    r.advance(ms(40_000));
    r.take();
    r.recv("nack 2 503");
    r.expect(&[
        "release #1",
        "> disconnected #1: auth rejected: 503: code 503 => Retry",
        "> reconnect attempt=1 in 0ms (FirstRetry)",
        "> connecting #2 attempt=1",
        "connect #2 attempt=1",
    ]);
    // The new connection authenticates afresh and arms its own renewal.
    r.live_with("ttl=20000");
    r.take();
    r.advance(ms(13_900));
    r.expect(&["> stable #2", "send #2 auth 4 <redacted>"]);
}

#[test]
fn an_unanswered_renewal_is_an_auth_timeout() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=50000 rt=tok-a");
    r.take();
    r.advance(ms(40_000));
    r.expect(&["> stable #1", "send #1 refresh 2 <redacted>"]);
    r.advance(AUTH_TIMEOUT - ms(1));
    r.expect(&[]);
    assert!(matches!(r.session.state(), State::Live { .. }));
    r.advance(ms(1));
    r.expect(&[
        "release #1",
        "> disconnected #1: Auth timeout => Retry",
        "> reconnect attempt=1 in 0ms (FirstRetry)",
        "> connecting #2 attempt=1",
        "connect #2 attempt=1",
    ]);
}

#[test]
fn a_disconnect_drops_the_schedule_and_the_next_auth_arms_its_own() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=50000 rt=tok-a");
    // Due at 40 s; the connection drops at 10 s.
    r.advance(ms(10_000));
    r.reset();
    r.take();
    // The next connection's auth states no lifetime: nothing is renewed, ever.
    r.live_with("");
    r.take();
    r.advance(ms(30_000)); // past the old connection's 40 s
    r.advance(ms(600_000));
    r.expect(&["> stable #2"]);
    assert_eq!(
        r.sent_texts()
            .iter()
            .filter(|t| t.starts_with("auth"))
            .count(),
        2,
        "{:?}",
        r.sent_texts()
    );
    assert!(!r.sent_texts().iter().any(|t| t.starts_with("refresh")));
}

#[test]
fn a_new_connection_renews_on_its_own_schedule() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=50000 rt=tok-a");
    r.advance(ms(10_000));
    r.reset();
    // Connection 2 is authenticated at 10 s for 70 s: renewal at 10 s + 56 s = 66 s.
    r.live_with("ttl=70000 rt=tok-b");
    r.take();
    assert_eq!(r.elapsed(), ms(10_000));
    r.advance(ms(30_000)); // 40 s: the old schedule, which must not fire
    r.expect(&["> stable #2"]);
    r.advance(ms(25_999));
    r.expect(&[]);
    r.advance(ms(1));
    r.expect(&["send #2 refresh 3 <redacted>"]);
    assert_eq!(r.sent_texts().last().unwrap(), "refresh 3 tok-b");
}

#[test]
fn subscriptions_and_sends_are_undisturbed() {
    let mut r = renewal_rig(renewal_config());
    r.session.subscribe(r.now, "a").unwrap();
    r.session.subscribe(r.now, "b").unwrap();
    r.live_with("ttl=50000 rt=tok-a");
    r.take();
    r.advance(ms(40_000));
    r.expect(&["> stable #1", "send #1 refresh 4 <redacted>"]);
    // While the renewal is in flight: still live, data flows, sends go out at once.
    assert!(matches!(r.session.state(), State::Live { .. }));
    r.recv("data a 1");
    assert_eq!(r.session.send(r.now, "order-1"), Ok(SendStatus::Sent));
    r.recv("ack 4 ttl=50000 rt=tok-b");
    assert_eq!(r.session.send(r.now, "order-2"), Ok(SendStatus::Sent));
    r.recv("data b 1");
    r.expect(&[
        "> message a seq=1 \"data a 1\"",
        "send #1 order-1",
        "> CredentialsRenewed { conn: #1, source: RefreshToken, expires_in: Some(50s) }",
        "send #1 order-2",
        "> message b seq=1 \"data b 1\"",
    ]);
    let subs: Vec<_> = r
        .sent_texts()
        .into_iter()
        .filter(|t| t.starts_with("sub"))
        .collect();
    assert_eq!(subs, ["sub 2 a", "sub 3 b"], "no re-subscribe");
    assert_eq!(r.session.current_conn().map(|c| c.get()), Some(1));
    assert!(r
        .session
        .subscriptions()
        .all(|s| s.status == reconnect_core::SubscriptionStatus::Active));
}

#[test]
fn a_zero_lifetime_arms_nothing() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=0 rt=tok-a");
    r.take();
    r.advance(ms(5_000));
    r.expect(&["> stable #1"]);
    assert_eq!(r.session.poll_timeout(), None);
    r.advance(ms(3_600_000));
    r.expect(&[]);
}

#[test]
fn a_lifetime_shorter_than_the_margin_renews_at_the_floor_not_in_a_loop() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=2000");
    r.take();
    // 2 s is shorter than the 6.1 s margin: renewed 1.3 s after each answer, never sooner.
    let mut renewals = Vec::new();
    for _ in 0..10 {
        r.take();
        let before = r.now;
        r.advance(FLOOR - ms(1));
        let early = r.take();
        assert!(!early.iter().any(|l| l.contains("send")), "{early:?}");
        r.advance(ms(1));
        let id = r.last_request("auth");
        renewals.push((r.now - before, id));
        r.recv(&format!("ack {id} ttl=2000"));
    }
    assert!(
        renewals.iter().all(|(gap, _)| *gap == FLOOR),
        "{renewals:?}"
    );
    let ids: Vec<u64> = renewals.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids, (2..12).collect::<Vec<u64>>());
    assert_eq!(r.renewed().len(), 10);
}

#[test]
fn refresh_tokens_never_reach_debug_output_or_events() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=50000 rt=tok-SECRET-1");
    r.advance(ms(40_000));
    r.recv("ack 2 ttl=50000 rt=tok-SECRET-2");
    let session = format!("{:?}", r.session);
    assert!(!session.contains("SECRET"), "{session}");
    for o in &r.outputs {
        let text = format!("{o:?}");
        assert!(!text.contains("SECRET"), "{text}");
    }
    // The refresh frame itself carries it, as an auth frame.
    assert!(r.outputs.iter().any(|o| matches!(
        o,
        Output::Action(Action::Send { frame, purpose: Purpose::Auth, .. })
            if frame.as_text() == Some("refresh 2 tok-SECRET-1")
    )));
}

#[test]
fn no_renewal_deadline_outlives_its_connection() {
    let mut r = renewal_rig(renewal_config());
    r.live_with("ttl=50000 rt=tok-a");
    r.session.pause(r.now).unwrap();
    r.advance(ms(10_000));
    r.reset();
    // Paused and disconnected: nothing is due any more, least of all the old renewal at 40 s.
    assert_eq!(r.session.state(), State::Paused);
    assert_eq!(r.session.poll_timeout(), None);
    r.advance(ms(600_000));
    assert!(!r.sent_texts().iter().any(|t| t.starts_with("refresh")));
}

#[test]
fn a_renewal_due_during_a_restore_goes_out_without_disturbing_it() {
    let mut r = renewal_rig(renewal_config());
    r.session.subscribe(r.now, "a").unwrap();
    r.session.start(r.now).unwrap();
    let conn = r.conn();
    r.input(Input::Opened { conn });
    // A lifetime shorter than the margin: due 1.3 s after the answer, while the subscribe
    // (default timeout 10 s) still waits for its answer.
    r.recv("ack 1 ttl=3000 rt=tok-a");
    r.take();
    r.advance(FLOOR);
    r.expect(&["send #1 refresh 3 <redacted>"]);
    assert!(matches!(r.session.state(), State::Resubscribing { .. }));
    r.recv("ack 3 ttl=60000 rt=tok-b");
    r.recv("ack 2");
    r.expect(&[
        "> CredentialsRenewed { conn: #1, source: RefreshToken, expires_in: Some(60s) }",
        "> subscribed a",
        "> live #1 resubscribed=1 outage=1300ms",
    ]);
}

#[test]
fn an_application_renewal_replaces_the_schedule_with_its_answer() {
    let mut c = renewal_config();
    c.credentials.renewal_interval = Some(ms(17_000));
    let mut r = renewal_rig(c);
    r.live_with("ttl=50000 rt=tok-a");
    r.take();
    // At 17 s the application is asked for credentials; they go out in a re-auth whose answer
    // grants 100 s: the renewal due at 40 s moves to 17 s + 80 s = 97 s, with the new token.
    r.advance(ms(17_000));
    r.expect(&["> stable #1", "> CredentialsRequested"]);
    r.session
        .provide_credentials(r.now, Credentials::new("key-2"))
        .unwrap();
    r.recv("ack 2 ttl=100000 rt=tok-b");
    r.expect(&[
        "send #1 auth 2 <redacted>",
        "> CredentialsRenewed { conn: #1, source: Application, expires_in: Some(100s) }",
    ]);
    r.advance(ms(23_000)); // 40 s
    assert!(!r.sent_texts().iter().any(|t| t.starts_with("refresh")));
    r.advance(ms(56_999)); // 96.999 s
    assert!(!r.sent_texts().iter().any(|t| t.starts_with("refresh")));
    r.advance(ms(1));
    let refreshes: Vec<String> = r
        .sent_texts()
        .into_iter()
        .filter(|t| t.starts_with("refresh"))
        .collect();
    assert_eq!(refreshes.len(), 1, "{refreshes:?}");
    assert!(refreshes[0].ends_with(" tok-b"), "{refreshes:?}");
}

/// The configuration of the application-renewal tests below: the application is asked for
/// credentials every 27 s, so that the first request (at 27 s) comes before the renewal a
/// 50 s lifetime arms (at 0.8 × 50 s = 40 s) and the second (at 54 s) after it.
fn asked_every_27s() -> Config {
    let mut c = renewal_config();
    c.credentials.renewal_interval = Some(ms(27_000));
    assert_unique_timer(&c, "credentials.renewal_interval");
    c
}

#[test]
fn an_application_renewal_answered_without_a_lifetime_disarms_the_renewal() {
    let mut r = renewal_rig(asked_every_27s());
    r.live_with("ttl=50000 rt=tok-a");
    r.take();
    let granted_at = r.now;
    assert_eq!(r.session.poll_timeout(), Some(granted_at + ms(5_000)));
    r.advance(ms(27_000));
    r.expect(&["> stable #1", "> CredentialsRequested"]);
    r.session
        .provide_credentials(r.now, Credentials::new("key-2"))
        .unwrap();
    r.recv("ack 2");
    r.expect(&[
        "send #1 auth 2 <redacted>",
        "> CredentialsRenewed { conn: #1, source: Application, expires_in: None }",
    ]);
    // The answer stated no lifetime for key-2: the renewal the first grant armed for 40 s, with
    // that grant's refresh token, no longer applies. Nothing is due before the next request.
    assert_eq!(r.session.poll_timeout(), Some(granted_at + ms(54_000)));
    r.advance(ms(26_999)); // 53.999 s, past 40 s and past the first lifetime (50 s)
    r.expect(&[]);
    r.advance(ms(1));
    r.expect(&["> CredentialsRequested"]);
    assert_eq!(
        r.sent_texts()
            .iter()
            .filter(|t| t.starts_with("auth") || t.starts_with("refresh"))
            .count(),
        2,
        "the first auth and the application's: {:?}",
        r.sent_texts()
    );
}

#[test]
fn an_application_renewal_counted_when_sent_disarms_the_renewal_too() {
    // An adapter that stops waiting for answers after the grant (its settings changed through
    // `protocol_mut`): the re-auth counts as done once sent, and with no answer there is no
    // lifetime, exactly as for an answer without one.
    let mut r = renewal_rig(asked_every_27s());
    r.live_with("ttl=50000 rt=tok-a");
    r.take();
    let granted_at = r.now;
    r.session.protocol_mut().acks = false;
    r.advance(ms(27_000));
    r.expect(&["> stable #1", "> CredentialsRequested"]);
    r.session
        .provide_credentials(r.now, Credentials::new("key-2"))
        .unwrap();
    r.drain();
    r.expect(&[
        "send #1 auth 2 <redacted>",
        "> CredentialsRenewed { conn: #1, source: Application, expires_in: None }",
    ]);
    assert_eq!(r.session.poll_timeout(), Some(granted_at + ms(54_000)));
    r.advance(ms(26_999));
    r.expect(&[]);
}
