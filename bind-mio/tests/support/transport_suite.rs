//! What a binding reports about its transport, precisely classified: certificate failures,
//! HTTP statuses with `Retry-After`, DNS failures, per-attempt requests, and the connect
//! deadline dropping a stuck attempt. One suite for both bindings: each runs it on its own
//! [`Harness`] with [`transport_suite!`].

use std::time::Duration;

use bind_mio::Endpoint;
use reconnect_core::{EndCause, Event, StopReason, TimeoutKind, TransportErrorKind};
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{Fault, Persist, ServerConfig, TestServer};

use super::harness::Harness;
use super::kit::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(10);

/// The suite as `#[test]` functions on the harness type `$harness`.
// Each test binary that includes the support module gets it; one of them invokes it.
#[allow(unused_macros)]
macro_rules! transport_suite {
    ($harness:ty) => {
        #[test]
        fn an_untrusted_certificate_is_a_certificate_error_and_fatal() {
            support::transport_suite::untrusted_certificate::<$harness>();
        }

        #[test]
        fn trusted_custom_roots_go_live_over_wss() {
            support::transport_suite::trusted_custom_roots::<$harness>();
        }

        #[test]
        fn an_http_status_and_its_retry_after_reach_the_session() {
            support::transport_suite::http_status_and_retry_after::<$harness>();
        }

        #[test]
        fn a_name_that_does_not_resolve_is_a_dns_error() {
            support::transport_suite::unresolvable_name::<$harness>();
        }

        #[test]
        fn every_attempt_builds_its_own_request() {
            support::transport_suite::a_request_per_attempt::<$harness>();
        }

        #[test]
        fn the_connect_deadline_drops_a_stuck_attempt_and_its_socket() {
            support::transport_suite::connect_deadline::<$harness>();
        }
    };
}
#[allow(unused_imports)]
pub(crate) use transport_suite;

fn spec(url: String) -> ClientSpec {
    ClientSpec::new(url, "t")
}

fn start<H: Harness>(spec: &ClientSpec, endpoint: Endpoint) -> H {
    H::start(session_for(spec).unwrap(), endpoint)
}

fn first_failure(seen: &[Event]) -> Option<TransportErrorKind> {
    seen.iter().find_map(|e| match e {
        Event::AttemptFailed {
            cause: EndCause::Transport(t),
            ..
        } => Some(t.kind.clone()),
        _ => None,
    })
}

fn stopped(seen: &[Event]) -> Option<&StopReason> {
    seen.iter().find_map(|e| match e {
        Event::Stopped { reason } => Some(reason),
        _ => None,
    })
}

fn lives(seen: &[Event]) -> usize {
    seen.iter()
        .filter(|e| matches!(e, Event::Live { .. }))
        .count()
}

/// The kit's self-signed root is not among the web PKI roots: a certificate error, fatal.
pub fn untrusted_certificate<H: Harness>() {
    let server = TestServer::start(ServerConfig::default().tls(true)).unwrap();
    let spec = spec(server.url("t"));
    let mut client: H = start(&spec, Endpoint::new(&spec.url).unwrap());
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| stopped(s).is_some());
    assert_eq!(
        first_failure(&seen),
        Some(TransportErrorKind::TlsCertificate)
    );
    assert!(
        matches!(stopped(&seen), Some(StopReason::Fatal(_))),
        "{seen:#?}"
    );
    client.assert_released();
}

/// Trusting the kit's root, the session goes live over wss.
pub fn trusted_custom_roots<H: Harness>() {
    let server = TestServer::start(ServerConfig::default().tls(true)).unwrap();
    let mut spec = spec(server.url("t"));
    spec.root_cert_pem = server.root_cert_pem();
    let mut client: H = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| lives(s) == 1);
    assert!(first_failure(&seen).is_none(), "{seen:#?}");
}

/// A 429 with `Retry-After: 1` reaches the session, which waits exactly that long.
pub fn http_status_and_retry_after<H: Harness>() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject_with(
        Fault::HttpReject {
            status: 429,
            retry_after: Some(1),
        },
        Persist::Once,
    );
    let spec = spec(server.url("t"));
    let mut client: H = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| lives(s) == 1);
    assert_eq!(
        first_failure(&seen),
        Some(TransportErrorKind::Handshake {
            status: 429,
            retry_after: Some(Duration::from_secs(1))
        })
    );
    let delay = seen.iter().find_map(|e| match e {
        Event::ReconnectScheduled { delay, .. } => Some(delay.drawn),
        _ => None,
    });
    assert_eq!(
        delay,
        Some(Duration::from_secs(1)),
        "the session honoured it"
    );
}

/// A name that does not resolve is a DNS error, retried like any transient failure.
pub fn unresolvable_name<H: Harness>() {
    let mut spec = spec("ws://nonexistent.invalid:9/ws".to_owned());
    spec.max_attempts = Some(2);
    spec.connect_timeout = Duration::from_secs(5);
    let mut client: H = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| stopped(s).is_some());
    assert_eq!(first_failure(&seen), Some(TransportErrorKind::Dns));
    assert!(matches!(
        stopped(&seen),
        Some(StopReason::GaveUp { attempts: 2 })
    ));
}

/// The request hook runs on every attempt: three attempts, three tokens.
pub fn a_request_per_attempt<H: Harness>() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    // The first two upgrades are refused, so three attempts are made.
    server.inject_with(
        Fault::HttpReject {
            status: 503,
            retry_after: None,
        },
        Persist::Times(2),
    );
    let spec = spec(server.url("t"));
    let endpoint = endpoint_for(&spec).unwrap().on_request(|request, attempt| {
        // A fresh credential per attempt, here in the query (the server records paths).
        let uri = format!("{}&token=t{}", request.uri(), attempt.attempt);
        *request.uri_mut() = uri.parse().unwrap();
        // (A `Sec-WebSocket-Protocol` header goes the same way; tungstenite then requires the
        // server to pick one, which the kit's server does not.)
        request
            .headers_mut()
            .insert("X-Attempt", attempt.attempt.to_string().parse().unwrap());
    });
    let mut client: H = start(&spec, endpoint);
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| lives(s) == 1);
    let paths: Vec<String> = server
        .stats()
        .connections
        .iter()
        .filter_map(|c| c.path.clone())
        .collect();
    let tokens: Vec<&str> = paths
        .iter()
        .map(|p| p.rsplit("token=").next().unwrap())
        .collect();
    assert_eq!(tokens, ["t1", "t2", "t3"], "{paths:?}");
}

/// An upgrade that never answers: the session's connect deadline ends the attempt, and the
/// binding closes its socket before the next attempt is accepted.
pub fn connect_deadline<H: Harness>() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject_with(Fault::BlackholeUpgrade, Persist::Once);
    let mut spec = spec(server.url("t"));
    spec.connect_timeout = Duration::from_millis(200);
    let mut client: H = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| lives(s) == 1);
    assert!(
        seen.iter().any(|e| matches!(
            e,
            Event::AttemptFailed {
                cause: EndCause::Timeout(TimeoutKind::Connect),
                ..
            }
        )),
        "{seen:#?}"
    );
    let stats = server.stats();
    let first = &stats.connections[0];
    let second = &stats.connections[1];
    let ended = first
        .ended_at
        .expect("the stuck attempt's socket was closed");
    assert!(ended <= second.accepted_at + Duration::from_millis(25));
}
