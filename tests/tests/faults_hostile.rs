//! The hostile-server faults, proven with a plain tungstenite client and, where tungstenite
//! would hide what is on the wire, with a raw socket: malformed and slow upgrade replies, a
//! frame header announcing 2^62 bytes, endless empty continuation frames, a ping flood, invalid
//! close codes, batch rejections and short-lived tokens.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reconnect_testkit::rpc::{self, Inbound};
use reconnect_testkit::server::{
    ConnEnd, Fault, FaultKind, Persist, Scheduled, ServerConfig, TestServer,
};
use reconnect_testkit::wsclient::{self, ClientStream};
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

const T: Duration = Duration::from_secs(5);

/// The key of RFC 6455's example handshake, and the accept value the RFC gives for it.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A raw TCP socket that sent an upgrade request for `client`.
fn raw_upgrade(server: &TestServer, client: &str) -> TcpStream {
    let mut tcp = TcpStream::connect_timeout(&server.addr(), T).unwrap();
    tcp.set_read_timeout(Some(T)).unwrap();
    let req = format!(
        "GET /ws?client={client} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).unwrap();
    tcp
}

/// Reads the reply head, up to and including the blank line.
fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// A raw socket past a successful upgrade, its session registered at the server.
fn raw_session(server: &TestServer, client: &str) -> TcpStream {
    let mut tcp = raw_upgrade(server, client);
    assert!(read_head(&mut tcp).starts_with("HTTP/1.1 101"));
    server.wait_until(T, |s| s.open == 1).unwrap();
    tcp
}

fn tls_of(server: &TestServer) -> Option<std::sync::Arc<rustls::ClientConfig>> {
    server.tls_identity().map(|id| id.client_config())
}

/// A tungstenite client subscribed to "a" that already received its first notification.
fn live(server: &TestServer, client: &str) -> WebSocket<ClientStream> {
    let mut ws = wsclient::connect(&server.url(client), tls_of(server), T).unwrap();
    wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a"]), T).unwrap();
    wsclient::next_text(&mut ws, T).unwrap();
    ws
}

/// Reads with a short socket timeout; `Ok(None)` means nothing arrived in time.
fn read_within(
    ws: &mut WebSocket<ClientStream>,
    d: Duration,
) -> Result<Option<Message>, tungstenite::Error> {
    ws.get_ref().tcp().set_read_timeout(Some(d)).unwrap();
    let r = ws.read();
    ws.get_ref().tcp().set_read_timeout(Some(T)).unwrap();
    match r {
        Ok(m) => Ok(Some(m)),
        Err(tungstenite::Error::Io(e))
            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[test]
fn malformed_status_lines_are_written_verbatim_and_refused_by_tungstenite() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    for line in ["HTTP/1.1 000 Zero", "HTTP/1.1 099 X"] {
        server.inject(Fault::malformed_status(line));
        let mut tcp = raw_upgrade(&server, "raw");
        let head = read_head(&mut tcp);
        assert!(head.starts_with(&format!("{line}\r\n")), "{head:?}");
        // Everything else is a valid upgrade reply: only the status line is wrong.
        assert!(
            head.contains(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n")),
            "{head:?}"
        );

        server.inject(Fault::malformed_status(line));
        let err = wsclient::connect(&server.url("ws"), None, T).map(|_| ());
        assert!(
            matches!(err, Err(tungstenite::Error::HttpFormat(_))),
            "{line}: {err:?}"
        );
    }
    let stats = server
        .wait_until(T, |s| s.connections.iter().all(|c| c.end.is_some()))
        .unwrap();
    assert_eq!(stats.handshakes, 0);
    assert_eq!(stats.connections[0].client.as_deref(), Some("raw"));
    // Used up: the next upgrade succeeds.
    assert!(wsclient::connect(&server.url("x"), None, T).is_ok());
}

#[test]
fn malformed_status_over_tls_and_until_cleared() {
    let server = TestServer::start(ServerConfig::default().tls(true)).unwrap();
    server.inject_with(
        Fault::malformed_status("HTTP/1.1 000 Zero"),
        Persist::UntilCleared,
    );
    for _ in 0..2 {
        let err = wsclient::connect(&server.url("t"), tls_of(&server), T).map(|_| ());
        assert!(
            matches!(err, Err(tungstenite::Error::HttpFormat(_))),
            "{err:?}"
        );
    }
    server.clear(FaultKind::MalformedStatus);
    assert!(wsclient::connect(&server.url("t"), tls_of(&server), T).is_ok());
}

#[test]
fn wrong_accept_key_is_a_101_that_tungstenite_refuses() {
    for tls in [false, true] {
        let server = TestServer::start(ServerConfig::default().tls(tls)).unwrap();
        server.inject(Fault::WrongAccept);
        let err = wsclient::connect(&server.url("w"), tls_of(&server), T).map(|_| ());
        assert!(
            matches!(
                err,
                Err(tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::SecWebSocketAcceptKeyMismatch
                ))
            ),
            "tls={tls}: {err:?}"
        );
        assert_eq!(server.stats().handshakes, 0);
    }
    // On the wire: a 101 whose accept value is well-formed but not the key's.
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject(Fault::WrongAccept);
    let mut tcp = raw_upgrade(&server, "raw");
    let head = read_head(&mut tcp);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head:?}");
    let accept = head
        .split("\r\n")
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Accept: "))
        .expect("an accept header");
    assert_eq!(accept.len(), ACCEPT.len());
    assert_ne!(accept, ACCEPT);
}

#[test]
fn trickled_upgrade_writes_one_byte_per_interval() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let interval = Duration::from_millis(100);
    server.inject(Fault::TrickleUpgrade { interval });
    let mut tcp = raw_upgrade(&server, "slow");
    let started = Instant::now();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while got.len() < 5 {
        tcp.read_exact(&mut byte).unwrap();
        got.push(byte[0]);
    }
    let took = started.elapsed();
    assert_eq!(&got, b"HTTP/");
    assert!(
        took >= interval * 4,
        "5 bytes in {took:?}: not one per {interval:?}"
    );
    drop(tcp);
    // The server notices the client leaving between two bytes.
    let stats = server
        .wait_until(T, |s| s.connections[0].end.is_some())
        .unwrap();
    assert_eq!(stats.connections[0].end, Some(ConnEnd::Eof));
}

#[test]
fn trickled_upgrade_defeats_a_client_without_patience_yet_is_a_valid_reply() {
    for tls in [false, true] {
        let server = TestServer::start(ServerConfig::default().tls(tls)).unwrap();
        // One byte per second: a 300 ms client timeout fires long before the reply is whole.
        server.inject(Fault::TrickleUpgrade {
            interval: Duration::from_secs(1),
        });
        let started = Instant::now();
        let err = wsclient::connect(
            &server.url("t"),
            tls_of(&server),
            Duration::from_millis(300),
        )
        .map(|_| ());
        assert!(
            matches!(&err, Err(tungstenite::Error::Io(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
            "tls={tls}: {err:?}"
        );
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(290) && waited < Duration::from_secs(2),
            "tls={tls}: gave up after {waited:?}"
        );
        server
            .wait_until(T, |s| s.connections[0].end.is_some())
            .unwrap();
    }
    // Read patiently (raw: tungstenite itself refuses a reply that arrives in tiny pieces, as an
    // attack attempt), the trickle is a complete, valid 101 for the request's key.
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject(Fault::TrickleUpgrade {
        interval: Duration::from_millis(2),
    });
    let mut tcp = raw_upgrade(&server, "patient");
    let head = read_head(&mut tcp);
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head:?}"
    );
    assert!(
        head.contains(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n")),
        "{head:?}"
    );
}

#[test]
fn huge_frame_header_announces_2_pow_62_and_tungstenite_refuses_it() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut tcp = raw_session(&server, "raw");
    server.inject(Fault::HugeFrameHeader { announced: 1 << 62 });
    let mut header = [0u8; 10];
    tcp.read_exact(&mut header).unwrap();
    assert_eq!(
        &header[..2],
        &[0x81, 127],
        "a final text frame, 64-bit length"
    );
    assert_eq!(u64::from_be_bytes(header[2..].try_into().unwrap()), 1 << 62);
    // Nothing follows: any byte would count as payload.
    tcp.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut more = [0u8; 16];
    let err = tcp.read(&mut more).unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut
    ));

    for tls in [false, true] {
        let server = TestServer::start(ServerConfig::default().tls(tls)).unwrap();
        let mut ws = live(&server, "h");
        server.inject(Fault::HugeFrameHeader { announced: 1 << 62 });
        let err = loop {
            match ws.read() {
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        assert!(
            matches!(
                err,
                tungstenite::Error::Capacity(
                    tungstenite::error::CapacityError::MessageTooLong { size, .. }
                ) if size == 1 << 62
            ),
            "tls={tls}: {err:?}"
        );
    }
}

#[test]
fn empty_continuations_on_the_wire() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut tcp = raw_session(&server, "raw");
    server.inject(Fault::EmptyContinuations);
    let mut hdr = [0u8; 2];
    tcp.read_exact(&mut hdr).unwrap();
    assert_eq!(hdr[0], 0x01, "a text frame without FIN");
    let mut first = vec![0u8; usize::from(hdr[1])];
    tcp.read_exact(&mut first).unwrap();
    // Then empty continuation frames, far more than one tick's burst.
    for i in 0..2000 {
        tcp.read_exact(&mut hdr).unwrap();
        assert_eq!(hdr, [0x00, 0x00], "frame {i} after the first fragment");
    }
    // Clearing ends the run with the final fragment; the message is a valid notification.
    server.clear(FaultKind::EmptyContinuations);
    let deadline = Instant::now() + T;
    let last = loop {
        assert!(
            Instant::now() < deadline,
            "the run did not end after clearing"
        );
        tcp.read_exact(&mut hdr).unwrap();
        match hdr {
            [0x00, 0x00] => continue,
            [0x80, len] => {
                let mut last = vec![0u8; usize::from(len)];
                tcp.read_exact(&mut last).unwrap();
                break last;
            }
            other => panic!("unexpected frame header {other:?} inside the fragmented message"),
        }
    };
    let whole: Value = serde_json::from_slice(&[first, last].concat()).unwrap();
    assert_eq!(whole["method"], "flood");
}

#[test]
fn empty_continuations_hold_every_message_until_cleared() {
    for tls in [false, true] {
        let server = TestServer::start(ServerConfig::default().tls(tls)).unwrap();
        let mut ws = live(&server, "c");
        // A blocking read cannot return while the run lasts (bytes keep coming and no message
        // completes), so the server ends the run itself, 400 ms from now.
        let injected = Instant::now();
        server.inject(Fault::EmptyContinuations);
        server.schedule(vec![Scheduled::once(
            Duration::from_millis(400),
            Fault::Clear(FaultKind::EmptyContinuations),
        )]);
        // Data already in flight lands first; then nothing until the flood message completes.
        let (mut last_seq, mut last_data_at) = (1, injected);
        loop {
            let t = wsclient::next_text(&mut ws, T).unwrap();
            match rpc::classify(&t) {
                Inbound::Data { seq, .. } => (last_seq, last_data_at) = (seq, Instant::now()),
                Inbound::Other(v) if v["method"] == "flood" => break,
                other => panic!("tls={tls}: unexpected {other:?}"),
            }
        }
        let took = injected.elapsed();
        assert!(
            took >= Duration::from_millis(390),
            "tls={tls}: the fragmented message completed {took:?} into the run"
        );
        let late = last_data_at.duration_since(injected);
        assert!(
            late < Duration::from_millis(200),
            "tls={tls}: data completed {late:?} into the run"
        );
        // Data was held, not lost: it resumes with the next number.
        let next = wsclient::next_text(&mut ws, T).unwrap();
        assert!(
            matches!(rpc::classify(&next), Inbound::Data { seq, .. } if seq == last_seq + 1),
            "tls={tls}: after {last_seq}: {next}"
        );
    }
}

#[test]
fn ping_flood_is_answered_and_data_continues() {
    for tls in [false, true] {
        let server = TestServer::start(ServerConfig::default().tls(tls)).unwrap();
        let mut ws = live(&server, "p");
        server.inject(Fault::PingFlood);
        let until = Instant::now() + Duration::from_millis(300);
        let (mut pings, mut data) = (0, 0);
        while Instant::now() < until {
            match read_within(&mut ws, Duration::from_millis(20)).unwrap() {
                Some(Message::Ping(_)) => pings += 1,
                Some(Message::Text(t)) if matches!(rpc::classify(&t), Inbound::Data { .. }) => {
                    data += 1
                }
                _ => {}
            }
        }
        assert!(pings >= 100, "tls={tls}: only {pings} pings in 300 ms");
        assert!(
            data >= 5,
            "tls={tls}: only {data} notifications during the flood"
        );
        // tungstenite answered (it keeps the latest pong and sends it on its next read).
        let s = server
            .wait_until(T, |s| s.connections[0].pongs > 0)
            .unwrap();
        assert!(s.connections[0].pings_sent >= pings);

        server.clear(FaultKind::PingFlood);
        // Pings already in flight land within the settling time; none follows.
        let settle = Instant::now() + Duration::from_millis(100);
        while Instant::now() < settle {
            read_within(&mut ws, Duration::from_millis(10)).unwrap();
        }
        let until = Instant::now() + Duration::from_millis(200);
        while Instant::now() < until {
            let m = read_within(&mut ws, Duration::from_millis(20)).unwrap();
            assert!(
                !matches!(m, Some(Message::Ping(_))),
                "tls={tls}: a ping after clearing"
            );
        }
    }
}

#[test]
fn invalid_close_codes_go_on_the_wire_as_they_are() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    for code in [999u16, 1005, 1006, 5000] {
        let mut tcp = raw_session(&server, "raw");
        server.inject(Fault::close(code, ""));
        let mut hdr = [0u8; 4];
        tcp.read_exact(&mut hdr).unwrap();
        assert_eq!(hdr[0], 0x88, "a close frame");
        assert_eq!(hdr[1], 2, "a code and no reason");
        assert_eq!(u16::from_be_bytes([hdr[2], hdr[3]]), code);
        drop(tcp);
        server.wait_until(T, |s| s.open == 0).unwrap();
    }
}

#[test]
fn whole_batch_rejection_with_and_without_naming_the_channel() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = wsclient::connect(&server.url("b"), None, T).unwrap();
    for (naming, id) in [(true, 1u64), (false, 2)] {
        server.inject_with(
            Fault::reject_batch_for("bad", naming),
            Persist::UntilCleared,
        );
        wsclient::send(&mut ws, &rpc::subscribe(id, &["a", "bad", "b"])).unwrap();
        let reply = loop {
            let t = wsclient::next_text(&mut ws, T).unwrap();
            if matches!(rpc::classify(&t), Inbound::Error { .. }) {
                break t;
            }
        };
        assert!(
            matches!(rpc::classify(&reply), Inbound::Error { id: i, code: 11050, .. } if i == json!(id)),
            "{reply}"
        );
        let named = rpc::error_channel(&reply);
        assert_eq!(named.as_deref(), naming.then_some("bad"), "{reply}");
        // A batch without the bad channel is served; one with it is refused again.
        let good = wsclient::call(&mut ws, id + 10, &rpc::subscribe(id + 10, &["a", "b"]), T);
        assert_eq!(
            good.unwrap(),
            Inbound::Result {
                id: json!(id + 10),
                result: json!(["a", "b"])
            }
        );
        let again = wsclient::call(&mut ws, id + 20, &rpc::subscribe(id + 20, &["bad"]), T);
        assert!(matches!(again.unwrap(), Inbound::Error { code: 11050, .. }));
        server.clear(FaultKind::NackSubscribe);
    }
}

#[test]
fn short_lived_tokens_are_renewed_with_the_latest_refresh_token() {
    let config = ServerConfig::default().token_lifetime(Duration::from_secs(2));
    let server = TestServer::start(config).unwrap();
    let mut ws = wsclient::connect(&server.url("r"), None, T).unwrap();
    let result = |got: Inbound| match got {
        Inbound::Result { result, .. } => result,
        other => panic!("expected a result, got {other:?}"),
    };
    let first = result(wsclient::call(&mut ws, 1, &rpc::auth(1, json!({})), T).unwrap());
    assert_eq!(first["expires_in"], 2);
    let token1 = first["refresh_token"].as_str().unwrap().to_owned();

    let renew = |token: &str| json!({"grant_type": "refresh_token", "refresh_token": token});
    let second = result(wsclient::call(&mut ws, 2, &rpc::auth(2, renew(&token1)), T).unwrap());
    let token2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(
        token1, token2,
        "every renewal hands out a new refresh token"
    );
    // The old refresh token is spent; a made-up one never worked.
    for (id, token) in [(3, token1.as_str()), (4, "made-up")] {
        let got = wsclient::call(&mut ws, id, &rpc::auth(id, renew(token)), T).unwrap();
        assert!(
            matches!(got, Inbound::Error { code: 13004, .. }),
            "{token}: {got:?}"
        );
    }
    let s = server.stats();
    let c = &s.connections[0];
    assert_eq!(c.auth_acks.len(), 2);
    assert_eq!(c.authenticated_at, Some(c.auth_acks[0]));
    assert_eq!(server.token_lifetime(), Some(Duration::from_secs(2)));

    // Without a lifetime the answer is the long-lived token it always was.
    let plain = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = wsclient::connect(&plain.url("p"), None, T).unwrap();
    let got = result(wsclient::call(&mut ws, 1, &rpc::auth(1, json!({})), T).unwrap());
    assert_eq!(got["expires_in"], 900);
    assert!(got.get("refresh_token").is_none());
}
