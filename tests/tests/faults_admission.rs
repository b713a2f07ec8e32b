//! Every fault that hits a connection before or during the upgrade, or a request, proven with a
//! plain tungstenite client (or a raw TCP socket where the fault is below WebSocket).

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reconnect_testkit::rpc::{self, Inbound};
use reconnect_testkit::server::{
    AuthRejection, ConnEnd, Fault, Persist, RpcError, ServerConfig, TestServer,
};
use reconnect_testkit::wsclient;
use serde_json::json;

const T: Duration = Duration::from_secs(5);

fn raw(server: &TestServer) -> TcpStream {
    let tcp = TcpStream::connect_timeout(&server.addr(), T).unwrap();
    tcp.set_read_timeout(Some(T)).unwrap();
    tcp
}

#[test]
fn refused_while_the_listener_is_closed_then_served_on_the_same_port() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let addr = server.addr();
    server.refuse_connections();
    server.wait_until(T, |s| !s.listening).unwrap();
    let err = TcpStream::connect_timeout(&addr, T).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);

    server.accept_connections();
    server.wait_until(T, |s| s.listening).unwrap();
    assert_eq!(server.addr(), addr);
    let mut ws = wsclient::connect(&server.url("x"), None, T).unwrap();
    assert!(matches!(
        wsclient::call(&mut ws, 1, &rpc::test(1), T).unwrap(),
        Inbound::Result { .. }
    ));
    assert_eq!(server.stats().binds, 2);
}

#[test]
fn accept_then_close_sends_a_clean_fin_for_each_use() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject_with(Fault::AcceptThenClose, Persist::Times(2));
    for _ in 0..2 {
        let mut tcp = raw(&server);
        let mut buf = [0u8; 16];
        assert_eq!(tcp.read(&mut buf).unwrap(), 0, "end of stream, not a reset");
    }
    // Used up: the third connection is served.
    assert!(wsclient::connect(&server.url("x"), None, T).is_ok());
    let stats = server.stats();
    assert_eq!(stats.accepted, 3);
    assert_eq!(stats.handshakes, 1);
    assert_eq!(stats.connections[0].end, Some(ConnEnd::AcceptThenClose));
}

#[test]
fn accept_then_close_until_cleared_also_fails_websocket_upgrades() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject_with(Fault::AcceptThenClose, Persist::UntilCleared);
    for _ in 0..3 {
        assert!(wsclient::connect(&server.url("x"), None, T).is_err());
    }
    server.clear(reconnect_testkit::server::FaultKind::AcceptThenClose);
    assert!(wsclient::connect(&server.url("x"), None, T).is_ok());
}

#[test]
fn reset_on_accept_is_a_real_rst() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject(Fault::ResetOnAccept);
    let mut tcp = raw(&server);
    let mut buf = [0u8; 16];
    let err = tcp.read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn blackholed_upgrade_never_answers_but_knows_the_client() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject(Fault::BlackholeUpgrade);
    let started = Instant::now();
    let err = wsclient::connect(&server.url("bh"), None, Duration::from_millis(300)).unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "it waited for the timeout"
    );
    assert!(
        matches!(&err, tungstenite::Error::Io(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "{err}"
    );
    // The client gave up (its socket is dropped): the server notices and records who it was.
    let stats = server
        .wait_until(T, |s| s.connections[0].end.is_some())
        .unwrap();
    assert_eq!(stats.connections[0].client.as_deref(), Some("bh"));
    assert_eq!(stats.connections[0].end, Some(ConnEnd::Eof));
    assert_eq!(stats.handshakes, 0);
}

fn http_status(server: &TestServer) -> tungstenite::http::Response<Option<Vec<u8>>> {
    match wsclient::connect(&server.url("h"), None, T) {
        Err(tungstenite::Error::Http(resp)) => *resp,
        other => panic!("expected an HTTP error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn upgrade_rejections_carry_their_status_and_retry_after() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    for status in [401, 403, 503] {
        server.inject(Fault::http(status));
        let resp = http_status(&server);
        assert_eq!(resp.status().as_u16(), status);
        assert!(resp.headers().get("retry-after").is_none());
    }
    server.inject(Fault::http_retry_after(429, 7));
    let resp = http_status(&server);
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    server.inject(Fault::http_retry_after(503, 2));
    assert_eq!(http_status(&server).headers()["retry-after"], "2");

    let stats = server
        .wait_until(T, |s| s.connections.iter().all(|c| c.end.is_some()))
        .unwrap();
    let ends: Vec<_> = stats
        .connections
        .iter()
        .map(|c| c.end.clone().unwrap())
        .collect();
    assert_eq!(ends[3], ConnEnd::HttpRejected(429));
    assert_eq!(stats.handshakes, 0);
    // Used up: the next upgrade succeeds.
    assert!(wsclient::connect(&server.url("h"), None, T).is_ok());
}

#[test]
fn auth_rejections_fatal_transient_and_custom() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = wsclient::connect(&server.url("a"), None, T).unwrap();
    let cases = [
        (AuthRejection::Fatal, 13004, "invalid_credentials"),
        (AuthRejection::Transient, 10028, "too_many_requests"),
        (AuthRejection::Custom(RpcError::new(42, "nope")), 42, "nope"),
    ];
    for (i, (rejection, code, message)) in cases.into_iter().enumerate() {
        server.inject(Fault::RejectAuth(rejection));
        let id = i as u64 + 1;
        let got = wsclient::call(&mut ws, id, &rpc::auth(id, json!({})), T).unwrap();
        assert_eq!(
            got,
            Inbound::Error {
                id: json!(id),
                code,
                message: message.into()
            }
        );
    }
    let ok = wsclient::call(&mut ws, 9, &rpc::auth(9, json!({})), T).unwrap();
    assert!(matches!(ok, Inbound::Result { .. }), "used up: {ok:?}");
}

#[test]
fn subscription_nacks_by_omission_and_by_error() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = wsclient::connect(&server.url("n"), None, T).unwrap();
    server.inject(Fault::nack_omit("b"));
    let omitted = wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a", "b"]), T).unwrap();
    assert_eq!(
        omitted,
        Inbound::Result {
            id: json!(1),
            result: json!(["a"])
        }
    );

    server.inject(Fault::nack_error(11050, "bad_request"));
    let error = wsclient::call(&mut ws, 2, &rpc::subscribe(2, &["c"]), T).unwrap();
    assert_eq!(
        error,
        Inbound::Error {
            id: json!(2),
            code: 11050,
            message: "bad_request".into()
        }
    );

    // Only "a" was subscribed: data never names b or c.
    for _ in 0..5 {
        let text = wsclient::next_text(&mut ws, T).unwrap();
        assert!(matches!(rpc::classify(&text), Inbound::Data { channel, .. } if channel == "a"));
    }
    // A nack for a channel that is not requested stays armed.
    server.inject(Fault::nack_omit("z"));
    let plain = wsclient::call(&mut ws, 3, &rpc::subscribe(3, &["b"]), T).unwrap();
    assert_eq!(
        plain,
        Inbound::Result {
            id: json!(3),
            result: json!(["b"])
        }
    );
    let later = wsclient::call(&mut ws, 4, &rpc::subscribe(4, &["z"]), T).unwrap();
    assert_eq!(
        later,
        Inbound::Result {
            id: json!(4),
            result: json!([])
        }
    );
}
