//! What a binding reports about its transport, precisely classified: certificate failures,
//! HTTP statuses with `Retry-After`, DNS failures, per-attempt requests, and the connect
//! deadline dropping a stuck attempt. One suite for both bindings: each runs it on its own
//! [`Harness`] with [`transport_suite!`](crate::transport_suite!).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use reconnect_core::{EndCause, Event, StopReason, TimeoutKind, TransportErrorKind};
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{Fault, Persist, ServerConfig, TestServer};
use reconnect_tungstenite::Endpoint;

use crate::harness::Harness;
use crate::kit::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(10);

/// The suite as `#[test]` functions on the harness type `$harness`.
#[macro_export]
macro_rules! transport_suite {
    ($harness:ty) => {
        #[test]
        fn an_untrusted_certificate_is_a_certificate_error_and_fatal() {
            $crate::transport_suite::untrusted_certificate::<$harness>();
        }

        #[test]
        fn trusted_custom_roots_go_live_over_wss() {
            $crate::transport_suite::trusted_custom_roots::<$harness>();
        }

        #[test]
        fn an_http_status_and_its_retry_after_reach_the_session() {
            $crate::transport_suite::http_status_and_retry_after::<$harness>();
        }

        #[test]
        fn a_name_that_does_not_resolve_is_a_dns_error() {
            $crate::transport_suite::unresolvable_name::<$harness>();
        }

        #[test]
        fn every_attempt_builds_its_own_request() {
            $crate::transport_suite::a_request_per_attempt::<$harness>();
        }

        #[test]
        fn the_connect_deadline_drops_a_stuck_attempt_and_its_socket() {
            $crate::transport_suite::connect_deadline::<$harness>();
        }

        #[test]
        fn a_malformed_or_unexpected_upgrade_reply_is_transient() {
            $crate::transport_suite::malformed_upgrade_replies::<$harness>();
        }

        #[test]
        fn an_invalid_close_code_from_the_server_is_reported_as_such() {
            $crate::transport_suite::invalid_close_codes::<$harness>();
        }
    };
}
fn spec(url: String) -> ClientSpec {
    ClientSpec::new(url, "t")
}

fn start<H: Harness>(spec: &ClientSpec, endpoint: Endpoint) -> H {
    H::start(session_for(spec).unwrap(), endpoint)
}

fn first_failure(seen: &[Event]) -> Option<TransportErrorKind> {
    seen.iter().find_map(|e| match e {
        Event::AttemptFailed { cause, .. } => match cause.as_ref() {
            EndCause::Transport(t) => Some(t.kind.clone()),
            _ => None,
        },
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
            Event::AttemptFailed { cause, .. }
                if **cause == EndCause::Timeout(TimeoutKind::Connect)
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

/// A server on 127.0.0.1 that answers its first `n` connections with `answer` (given the
/// connection's index) and then stops listening (or gives up after `LIMIT`): for replies the
/// kit's server never sends.
struct RawServer {
    url: String,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    fn start(n: usize, answer: impl Fn(usize, TcpStream) + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/raw", listener.local_addr().unwrap());
        // Polled, so that a client that stops coming back cannot hang the test.
        listener.set_nonblocking(true).unwrap();
        let thread = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + LIMIT;
            for i in 0..n {
                let stream = loop {
                    match listener.accept() {
                        Ok((stream, _)) => break stream,
                        Err(_) if std::time::Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(5))
                        }
                        Err(_) => return,
                    }
                };
                stream.set_nonblocking(false).unwrap();
                // Only a hung client would hit these.
                stream.set_read_timeout(Some(LIMIT)).unwrap();
                stream.set_write_timeout(Some(LIMIT)).unwrap();
                answer(i, stream);
            }
        });
        RawServer {
            url,
            thread: Some(thread),
        }
    }

    /// Waits for the server to have answered every connection (a panic in it fails the test).
    fn join(mut self) {
        self.thread
            .take()
            .unwrap()
            .join()
            .expect("the server thread");
    }
}

/// Reads an HTTP request up to its blank line.
fn read_request(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => return,
        }
    }
}

fn failures(seen: &[Event]) -> Vec<TransportErrorKind> {
    seen.iter()
        .filter_map(|e| match e {
            Event::AttemptFailed { cause, .. } => match cause.as_ref() {
                EndCause::Transport(t) => Some(t.kind.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Upgrade replies that are broken (a status below 100, a status that is not a number, a 101
/// without the WebSocket headers) or unexpected (a 200) end the attempt with a transient error:
/// the session tries again each time and never stops.
pub fn malformed_upgrade_replies<H: Harness>() {
    const REPLIES: [&str; 5] = [
        "HTTP/1.1 000 Zero\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1 abc Junk\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ];
    let server = RawServer::start(REPLIES.len(), |i, mut stream| {
        read_request(&mut stream);
        let _ = stream.write_all(REPLIES[i].as_bytes());
        let _ = stream.flush();
        // Closed on drop, after the reply.
    });
    let spec = spec(server.url.clone());
    let mut client: H = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    let scheduled = |seen: &[Event]| {
        seen.iter()
            .filter(|e| matches!(e, Event::ReconnectScheduled { .. }))
            .count()
    };
    // Each failure is followed by the next attempt's schedule (or by a stop, which fails).
    client.run_until(&mut seen, LIMIT, |s| {
        stopped(s).is_some()
            || (failures(s).len() >= REPLIES.len() && scheduled(s) >= REPLIES.len())
    });
    server.join();
    assert_eq!(
        failures(&seen)[..REPLIES.len()],
        [
            TransportErrorKind::Protocol,
            TransportErrorKind::Protocol,
            TransportErrorKind::Protocol,
            TransportErrorKind::Handshake {
                status: 200,
                retry_after: None
            },
            TransportErrorKind::Protocol,
        ],
        "{seen:#?}"
    );
    assert!(stopped(&seen).is_none(), "none of them is fatal: {seen:#?}");
}

/// A server that closes with a code no peer may send (999, 1004, 1005, 1006, 1015, 5000): the
/// disconnect names that code, not the 1002 the client answers with, and the session retries.
pub fn invalid_close_codes<H: Harness>() {
    const CODES: [u16; 6] = [999, 1004, 1005, 1006, 1015, 5000];
    let server = RawServer::start(CODES.len(), |i, stream| {
        let mut ws = tungstenite::accept(stream).expect("an upgrade");
        let [hi, lo] = CODES[i].to_be_bytes();
        // A close frame written by hand: tungstenite would not send these codes.
        let raw = ws.get_mut();
        raw.write_all(&[0x88, 0x02, hi, lo]).unwrap();
        raw.flush().unwrap();
        // Until the client's answer or its hang-up.
        while ws.read().is_ok() {}
    });
    let spec = spec(server.url.clone());
    let mut client: H = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    let disconnects = |seen: &[Event]| -> Vec<(EndCause, reconnect_core::Disposition)> {
        seen.iter()
            .filter_map(|e| match e {
                Event::Disconnected {
                    cause, disposition, ..
                } => Some(((**cause).clone(), *disposition)),
                _ => None,
            })
            .collect()
    };
    client.run_until(&mut seen, LIMIT, |s| disconnects(s).len() >= CODES.len());
    server.join();
    for (code, (cause, disposition)) in CODES.iter().zip(disconnects(&seen)) {
        let expected = format!("the server sent invalid close code {code}");
        match &cause {
            EndCause::Transport(e) => {
                assert_eq!(e.kind, TransportErrorKind::Protocol, "{code}: {cause:?}");
                assert_eq!(e.detail, expected, "{code}");
            }
            other => panic!("{code}: {other:?}"),
        }
        assert!(cause.to_string().contains(&expected), "{cause}");
        assert_eq!(disposition, reconnect_core::Disposition::Retry, "{code}");
    }
    assert!(stopped(&seen).is_none(), "{seen:#?}");
}
