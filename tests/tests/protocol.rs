//! The server speaks the documented JSON-RPC subset, over ws:// and wss://.

use std::time::Duration;

use reconnect_testkit::rpc::{self, Inbound};
use reconnect_testkit::server::{Credentials, RpcError, ServerConfig, TestServer};
use reconnect_testkit::wsclient;
use serde_json::json;

const T: Duration = Duration::from_secs(5);

fn data_of(text: &str) -> (String, u64) {
    match rpc::classify(text) {
        Inbound::Data { channel, seq } => (channel, seq),
        other => panic!("expected data, got {other:?} from {text}"),
    }
}

#[test]
fn auth_subscribe_and_numbered_data() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = wsclient::connect(&server.url("abc"), None, T).unwrap();

    let auth = wsclient::call(&mut ws, 1, &rpc::auth(1, json!({"key": "k"})), T).unwrap();
    let Inbound::Result { result, .. } = auth else {
        panic!("auth failed: {auth:?}")
    };
    assert!(result["access_token"].is_string());
    assert!(result["expires_in"].is_number());

    let ack = wsclient::call(&mut ws, 2, &rpc::subscribe(2, &["a", "b"]), T).unwrap();
    assert_eq!(
        ack,
        Inbound::Result {
            id: json!(2),
            result: json!(["a", "b"])
        }
    );

    let mut next = std::collections::BTreeMap::from([("a".to_owned(), 1), ("b".to_owned(), 1)]);
    for _ in 0..10 {
        let (channel, seq) = data_of(&wsclient::next_text(&mut ws, T).unwrap());
        let want = next.get_mut(&channel).expect("only subscribed channels");
        assert_eq!(seq, *want, "channel {channel} numbered from 1 without gaps");
        *want += 1;
    }

    let unsub = wsclient::call(&mut ws, 3, &rpc::unsubscribe(3, &["b"]), T).unwrap();
    assert_eq!(
        unsub,
        Inbound::Result {
            id: json!(3),
            result: json!(["b"])
        }
    );
    let stats = server.stats();
    let conn = stats.last().unwrap();
    assert_eq!(conn.client.as_deref(), Some("abc"));
    assert_eq!(
        conn.methods()[..3],
        [rpc::AUTH, rpc::SUBSCRIBE, rpc::UNSUBSCRIBE]
    );
    assert_eq!(conn.subscribed_channels(), ["a", "b"]);
    assert!(conn.authenticated_at.is_some());
    assert_eq!(stats.client("abc").handshakes, 1);
    assert_eq!(stats.client("abc").open, 1);
}

#[test]
fn credentials_are_checked_and_unknown_methods_rejected() {
    let config = ServerConfig::default()
        .credentials(Credentials::Exactly(json!({"key": "right"})))
        .fatal_auth_error(RpcError::new(13004, "invalid_credentials"));
    let server = TestServer::start(config).unwrap();
    let mut ws = wsclient::connect(&server.url("c"), None, T).unwrap();
    let wrong = wsclient::call(&mut ws, 1, &rpc::auth(1, json!({"key": "wrong"})), T).unwrap();
    assert_eq!(
        wrong,
        Inbound::Error {
            id: json!(1),
            code: 13004,
            message: "invalid_credentials".into()
        }
    );
    let right = wsclient::call(&mut ws, 2, &rpc::auth(2, json!({"key": "right"})), T).unwrap();
    assert!(matches!(right, Inbound::Result { .. }), "{right:?}");
    let unknown =
        wsclient::call(&mut ws, 3, &rpc::request(3, "public/nope", json!({})), T).unwrap();
    assert!(
        matches!(
            unknown,
            Inbound::Error {
                code: rpc::METHOD_NOT_FOUND,
                ..
            }
        ),
        "{unknown:?}"
    );
    let test = wsclient::call(&mut ws, 4, &rpc::test(4), T).unwrap();
    assert_eq!(
        test,
        Inbound::Result {
            id: json!(4),
            result: json!({"version": "1.0.0"})
        }
    );
    wsclient::send(&mut ws, "free text").unwrap();
    server
        .wait_until(T, |s| s.last().is_some_and(|c| c.texts() == ["free text"]))
        .expect("other text frames are recorded");
}

#[test]
fn require_auth_refuses_early_subscriptions() {
    let server = TestServer::start(ServerConfig::default().require_auth(true)).unwrap();
    let mut ws = wsclient::connect(&server.url("c"), None, T).unwrap();
    let early = wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a"]), T).unwrap();
    assert!(
        matches!(
            early,
            Inbound::Error {
                code: rpc::UNAUTHORIZED,
                ..
            }
        ),
        "{early:?}"
    );
    wsclient::call(&mut ws, 2, &rpc::auth(2, json!({})), T).unwrap();
    let late = wsclient::call(&mut ws, 3, &rpc::subscribe(3, &["a"]), T).unwrap();
    assert_eq!(
        late,
        Inbound::Result {
            id: json!(3),
            result: json!(["a"])
        }
    );
}

#[test]
fn answered_heartbeats_keep_the_connection_and_unanswered_ones_close_it() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = wsclient::connect(&server.url("hb"), None, T).unwrap();
    let ok = wsclient::call(&mut ws, 1, &rpc::set_heartbeat(1, 0.05), T).unwrap();
    assert_eq!(
        ok,
        Inbound::Result {
            id: json!(1),
            result: json!("ok")
        }
    );
    // Answer five test_requests: the connection must survive them.
    let mut answered = 0;
    let mut id = 10;
    while answered < 5 {
        let text = wsclient::next_text(&mut ws, T).unwrap();
        if rpc::classify(&text) == Inbound::TestRequest {
            id += 1;
            wsclient::send(&mut ws, &rpc::test(id)).unwrap();
            answered += 1;
        }
    }
    // Now ignore them: the server must close with 4000 within a few intervals.
    let err = loop {
        match ws.read() {
            Ok(tungstenite::Message::Close(frame)) => {
                assert_eq!(u16::from(frame.unwrap().code), 4000);
            }
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert!(matches!(err, tungstenite::Error::ConnectionClosed), "{err}");
    let stats = server.stats();
    let conn = stats.last().unwrap();
    assert!(conn.requests(rpc::TEST).count() >= 5);
    assert_eq!(conn.close_sent.as_ref().map(|c| c.code), Some(4000));
}

#[test]
fn sequence_numbers_continue_across_connections_of_one_client() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut last = 0;
    for round in 0..2 {
        let mut ws = wsclient::connect(&server.url("same"), None, T).unwrap();
        wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a"]), T).unwrap();
        for _ in 0..3 {
            let (_, seq) = data_of(&wsclient::next_text(&mut ws, T).unwrap());
            assert_eq!(seq, last + 1, "round {round}");
            last = seq;
        }
        ws.close(None).unwrap();
        while ws.read().is_ok() {}
        // The server may have queued one more notification before it saw the close.
        server.wait_until(T, |s| s.open == 0).unwrap();
        last = server.stats().last().unwrap().data_sent["a"].1;
    }
    // Another identity starts from 1.
    let mut ws = wsclient::connect(&server.url("other"), None, T).unwrap();
    wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a"]), T).unwrap();
    assert_eq!(data_of(&wsclient::next_text(&mut ws, T).unwrap()).1, 1);
    assert_eq!(server.stats().close_frames().len(), 2);
}

#[test]
fn wss_serves_the_same_protocol_with_a_trusted_self_signed_root() {
    let server = TestServer::start(ServerConfig::default().tls(true)).unwrap();
    let url = server.url("sec");
    assert!(url.starts_with("wss://127.0.0.1:"));
    let tls = server.tls_identity().unwrap().client_config();
    let mut ws = wsclient::connect(&url, Some(tls), T).unwrap();
    wsclient::call(&mut ws, 1, &rpc::auth(1, json!({})), T).unwrap();
    wsclient::call(&mut ws, 2, &rpc::subscribe(2, &["a"]), T).unwrap();
    assert_eq!(
        data_of(&wsclient::next_text(&mut ws, T).unwrap()),
        ("a".to_owned(), 1)
    );
    let pem = server.root_cert_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(!server.root_cert_der().unwrap().is_empty());

    // The PEM form works as a root too.
    let cfg = reconnect_testkit::tls::client_config_for_pem(&pem);
    assert!(wsclient::connect(&url, Some(cfg), T).is_ok());

    // A client that does not trust the root fails the handshake.
    let stranger = reconnect_testkit::tls::TlsIdentity::generate().client_config();
    assert!(wsclient::connect(&url, Some(stranger), T).is_err());
}

#[test]
fn dropping_the_server_closes_everything() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let addr = server.addr();
    let mut ws = wsclient::connect(&server.url("d"), None, T).unwrap();
    wsclient::call(&mut ws, 1, &rpc::test(1), T).unwrap();
    drop(server);
    // The open connection ends ...
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                panic!("the connection is still open after the server was dropped")
            }
            Err(_) => break,
        }
    }
    // ... and nobody listens any more.
    assert!(std::net::TcpStream::connect_timeout(&addr, T).is_err());
}
