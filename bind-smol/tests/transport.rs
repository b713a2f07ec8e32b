//! What the binding reports about its transport, precisely classified: certificate failures,
//! HTTP statuses with `Retry-After`, DNS failures, per-attempt requests, the connect deadline
//! dropping a stuck attempt, and the clean close when every handle and the stream are dropped.

mod support;

use std::time::{Duration, Instant};

use bind_smol::{Endpoint, Event, EventStream, Options, SessionHandle};
use futures_lite::StreamExt;
use reconnect_core::{EndCause, Event as CoreEvent, StopReason, TimeoutKind, TransportErrorKind};
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{Fault, Persist, ServerConfig, TestServer};
use support::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(10);

fn spec(url: String) -> ClientSpec {
    ClientSpec::new(url, "t")
}

fn start(spec: &ClientSpec, endpoint: Endpoint) -> (SessionHandle, EventStream) {
    let (handle, events, task) =
        bind_smol::connect(session_for(spec).unwrap(), endpoint, Options::default());
    smol::spawn(task).detach();
    (handle, events)
}

/// Collects core events until `done` holds (panics after `LIMIT` or if the stream ends first).
fn run_until(
    events: &mut EventStream,
    seen: &mut Vec<CoreEvent>,
    mut done: impl FnMut(&[CoreEvent]) -> bool,
) {
    let deadline = Instant::now() + LIMIT;
    smol::block_on(async {
        while !done(seen) {
            let next = futures_lite::future::or(events.next(), async {
                async_io::Timer::at(deadline).await;
                None
            })
            .await;
            match next {
                Some(Event::Session(e)) => seen.push(e),
                Some(_) => {}
                None => panic!("timed out or ended; events: {seen:#?}"),
            }
        }
    })
}

fn first_failure(seen: &[CoreEvent]) -> Option<TransportErrorKind> {
    seen.iter().find_map(|e| match e {
        CoreEvent::AttemptFailed {
            cause: EndCause::Transport(t),
            ..
        } => Some(t.kind.clone()),
        _ => None,
    })
}

fn stopped(seen: &[CoreEvent]) -> Option<&StopReason> {
    seen.iter().find_map(|e| match e {
        CoreEvent::Stopped { reason } => Some(reason),
        _ => None,
    })
}

fn lives(seen: &[CoreEvent]) -> usize {
    seen.iter()
        .filter(|e| matches!(e, CoreEvent::Live { .. }))
        .count()
}

#[test]
fn an_untrusted_certificate_is_a_certificate_error_and_fatal() {
    let server = TestServer::start(ServerConfig::default().tls(true)).unwrap();
    // The kit's self-signed root is not among the web PKI roots.
    let spec = spec(server.url("t"));
    let (_handle, mut events) = start(&spec, Endpoint::new(&spec.url).unwrap());
    let mut seen = Vec::new();
    run_until(&mut events, &mut seen, |s| stopped(s).is_some());
    assert_eq!(
        first_failure(&seen),
        Some(TransportErrorKind::TlsCertificate)
    );
    assert!(
        matches!(stopped(&seen), Some(StopReason::Fatal(_))),
        "{seen:#?}"
    );
    assert!(smol::block_on(events.next()).is_none(), "the stream ends");
}

#[test]
fn trusted_custom_roots_go_live_over_wss() {
    let server = TestServer::start(ServerConfig::default().tls(true)).unwrap();
    let mut spec = spec(server.url("t"));
    spec.root_cert_pem = server.root_cert_pem();
    let (_handle, mut events) = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    run_until(&mut events, &mut seen, |s| lives(s) == 1);
    assert!(first_failure(&seen).is_none(), "{seen:#?}");
}

#[test]
fn an_http_status_and_its_retry_after_reach_the_session() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject_with(
        Fault::HttpReject {
            status: 429,
            retry_after: Some(1),
        },
        Persist::Once,
    );
    let spec = spec(server.url("t"));
    let (_handle, mut events) = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    run_until(&mut events, &mut seen, |s| lives(s) == 1);
    assert_eq!(
        first_failure(&seen),
        Some(TransportErrorKind::Handshake {
            status: 429,
            retry_after: Some(Duration::from_secs(1))
        })
    );
    let delay = seen.iter().find_map(|e| match e {
        CoreEvent::ReconnectScheduled { delay, .. } => Some(delay.drawn),
        _ => None,
    });
    assert_eq!(
        delay,
        Some(Duration::from_secs(1)),
        "the session honoured it"
    );
}

#[test]
fn a_name_that_does_not_resolve_is_a_dns_error() {
    let mut spec = spec("ws://nonexistent.invalid:9/ws".to_owned());
    spec.max_attempts = Some(2);
    spec.connect_timeout = Duration::from_secs(5);
    let (_handle, mut events) = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    run_until(&mut events, &mut seen, |s| stopped(s).is_some());
    assert_eq!(first_failure(&seen), Some(TransportErrorKind::Dns));
    assert!(matches!(
        stopped(&seen),
        Some(StopReason::GaveUp { attempts: 2 })
    ));
}

#[test]
fn every_attempt_builds_its_own_request() {
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
        request
            .headers_mut()
            .insert("X-Attempt", attempt.attempt.to_string().parse().unwrap());
    });
    let (_handle, mut events) = start(&spec, endpoint);
    let mut seen = Vec::new();
    run_until(&mut events, &mut seen, |s| lives(s) == 1);
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

#[test]
fn the_connect_deadline_drops_a_stuck_attempt_and_its_socket() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject_with(Fault::BlackholeUpgrade, Persist::Once);
    let mut spec = spec(server.url("t"));
    spec.connect_timeout = Duration::from_millis(200);
    let (_handle, mut events) = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    run_until(&mut events, &mut seen, |s| lives(s) == 1);
    assert!(
        seen.iter().any(|e| matches!(
            e,
            CoreEvent::AttemptFailed {
                cause: EndCause::Timeout(TimeoutKind::Connect),
                ..
            }
        )),
        "{seen:#?}"
    );
    // The blackholed connection was closed by the client when the deadline fired, before the
    // next one was accepted.
    let stats = server.stats();
    let first = &stats.connections[0];
    let second = &stats.connections[1];
    let ended = first
        .ended_at
        .expect("the stuck attempt's socket was closed");
    assert!(ended <= second.accepted_at + Duration::from_millis(25));
}

#[test]
fn dropping_every_handle_and_the_stream_closes_cleanly() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let spec = spec(server.url("t"));
    let (handle, mut events) = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    run_until(&mut events, &mut seen, |s| lives(s) == 1);
    let other = handle.clone();
    drop(handle);
    drop(events);
    // A clone still holds the session open; it still takes commands.
    smol::block_on(other.send("still here")).unwrap();
    drop(other);
    let stats = server
        .wait_until(Duration::from_secs(5), |s| {
            s.open == 0 && s.connections.iter().all(|c| c.ended_at.is_some())
        })
        .expect("the connection ends");
    let close = stats.connections[0]
        .close_received
        .as_ref()
        .expect("the client sent a close frame");
    assert_eq!(close.code, 1000);
}
