//! Credentials with a lifetime, end to end: the simulator's JSON-RPC server grants
//! `expires_in` and refresh tokens, the JSON-RPC adapter reports them, and the session renews on
//! the live connection before they expire.
#![cfg(feature = "json")]

use std::time::{Duration, Instant};

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig};
use reconnect_core::sim::{JsonRpcServer, JsonRpcServerConfig, Simulator};
use reconnect_core::{Config, Event, RenewalSource, Session};

const CHANNEL: &str = "trades.BTC-PERPETUAL.raw";

fn sim(server: JsonRpcServerConfig) -> Simulator<JsonRpcAdapter, JsonRpcServer> {
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default().server_heartbeat(Some(Duration::from_secs(10))),
    );
    let base = Instant::now();
    let mut session = Session::new(Config::new(11), adapter).unwrap();
    session.set_credentials(JsonRpcAdapter::client_credentials("sim-client", "s3cret"));
    session.subscribe(base, CHANNEL).unwrap();
    Simulator::new(base, session, JsonRpcServer::with_config(server))
}

fn count(sim: &Simulator<JsonRpcAdapter, JsonRpcServer>, pred: impl Fn(&Event) -> bool) -> usize {
    sim.events().iter().filter(|e| pred(&e.event)).count()
}

#[test]
fn short_lived_tokens_are_renewed_with_the_refresh_grant_on_the_same_connection() {
    // 100 s tokens: renewed 80 s (the default 0.8) after each answer, so 12 renewals fit in
    // 1,000 s with room for the round trips, and a 13th would need 1,040 s.
    let mut sim =
        sim(JsonRpcServerConfig::default().token_lifetime(Some(Duration::from_secs(100))));
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(1_000));

    assert_eq!(sim.server().refresh_grants(), 12);
    assert_eq!(sim.server().requests("public/auth"), 13);
    assert_eq!(count(&sim, |e| matches!(e, Event::Connecting { .. })), 1);
    assert_eq!(count(&sim, |e| matches!(e, Event::Disconnected { .. })), 0);
    assert_eq!(count(&sim, |e| matches!(e, Event::Live { .. })), 1);
    assert_eq!(
        sim.server().requests("public/subscribe"),
        1,
        "no re-subscribe"
    );
    let renewed = count(&sim, |e| {
        matches!(
            e,
            Event::CredentialsRenewed {
                expires_in: Some(d),
                source: RenewalSource::RefreshToken,
                ..
            } if *d == Duration::from_secs(100)
        )
    });
    assert_eq!(renewed, 12);
    let transcript = sim.transcript().to_string();
    assert!(transcript.contains("credentials renewed #1 with the refresh token (expire in 100"));
    // Neither the client's secret nor a refresh token is ever written down.
    assert!(!transcript.contains("s3cret"));
    assert!(!transcript.contains("sim-refresh"));
    let conn = sim.session().current_conn().unwrap();
    assert_eq!(sim.server().channels(conn), [CHANNEL]);
}

#[test]
fn without_refresh_tokens_the_client_credentials_renew() {
    let mut sim = sim(JsonRpcServerConfig::default()
        .token_lifetime(Some(Duration::from_secs(100)))
        .refresh_tokens(false));
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(1_000));

    assert_eq!(sim.server().refresh_grants(), 0);
    assert_eq!(sim.server().requests("public/auth"), 13);
    assert_eq!(count(&sim, |e| matches!(e, Event::Disconnected { .. })), 0);
    assert!(sim
        .transcript()
        .contains("credentials renewed #1 with the current credentials (expire in 100"));
}

#[test]
fn without_a_lifetime_nothing_is_renewed() {
    let mut sim = sim(JsonRpcServerConfig::default().token_lifetime(None));
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(3_600));

    assert_eq!(sim.server().requests("public/auth"), 1);
    assert_eq!(
        count(&sim, |e| matches!(e, Event::CredentialsRenewed { .. })),
        0
    );
}
