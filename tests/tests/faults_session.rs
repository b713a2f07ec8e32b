//! Every fault that hits an established session, proven with a plain tungstenite client.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use reconnect_testkit::rpc::{self, Inbound};
use reconnect_testkit::server::{ConnEnd, Fault, FaultKind, ServerConfig, TestServer};
use reconnect_testkit::wsclient::{self, ClientStream};
use tungstenite::{Message, WebSocket};

const T: Duration = Duration::from_secs(5);

/// A subscribed client that already received the first notification of "a".
fn live(server: &TestServer, client: &str) -> WebSocket<ClientStream> {
    let tls = server.tls_identity().map(|id| id.client_config());
    let mut ws = wsclient::connect(&server.url(client), tls, T).unwrap();
    wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a"]), T).unwrap();
    assert_eq!(seq_of(&wsclient::next_text(&mut ws, T).unwrap()), 1);
    ws
}

fn seq_of(text: &str) -> u64 {
    match rpc::classify(text) {
        Inbound::Data { seq, .. } => seq,
        other => panic!("expected data, got {other:?}"),
    }
}

fn is_timeout(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
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
        Err(e) if is_timeout(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Drains frames that were already in flight when a fault was injected.
fn settle(ws: &mut WebSocket<ClientStream>) {
    while let Ok(Some(_)) = read_within(ws, Duration::from_millis(30)) {}
}

#[test]
fn silent_stall_answers_nothing_yet_keeps_tcp_open() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = live(&server, "s");
    server.inject(Fault::SilentStall);
    settle(&mut ws);
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .unwrap();
    wsclient::send(&mut ws, &rpc::test(5)).unwrap();
    // Nothing at all for 300 ms: no pong, no response, no data, and no EOF or reset either.
    let started = Instant::now();
    assert!(read_within(&mut ws, Duration::from_millis(300))
        .unwrap()
        .is_none());
    assert!(started.elapsed() >= Duration::from_millis(290));
    assert!(
        server.stats().connections[0].end.is_none(),
        "the server still holds the connection"
    );
    // When the client gives up, the server notices.
    drop(ws);
    let stats = server.wait_until(T, |s| s.open == 0).unwrap();
    assert_eq!(stats.connections[0].end, Some(ConnEnd::Eof));
}

/// Reads for `d`, answering every heartbeat; returns the data sequence numbers seen.
fn answer_heartbeats_for(
    ws: &mut WebSocket<ClientStream>,
    d: Duration,
    answered: &mut u64,
) -> Vec<u64> {
    let until = Instant::now() + d;
    let mut seqs = Vec::new();
    while Instant::now() < until {
        if let Some(Message::Text(t)) = read_within(ws, Duration::from_millis(10)).unwrap() {
            match rpc::classify(&t) {
                Inbound::TestRequest => {
                    *answered += 1;
                    wsclient::send(ws, &rpc::test(100 + *answered)).unwrap();
                }
                Inbound::Data { seq, .. } => seqs.push(seq),
                _ => {}
            }
        }
    }
    seqs
}

#[test]
fn data_stall_keeps_heartbeats_and_resumes_without_a_gap() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = live(&server, "d");
    wsclient::call(&mut ws, 2, &rpc::set_heartbeat(2, 0.05), T).unwrap();
    let mut answered = 0;
    server.inject(Fault::DataStall);
    // Let the stall take hold (the session applies it within one tick) and in-flight data land.
    answer_heartbeats_for(&mut ws, Duration::from_millis(50), &mut answered);
    let stalled_at = server.stats().connections[0].data_sent["a"].1;
    let during = answer_heartbeats_for(&mut ws, Duration::from_millis(300), &mut answered);
    assert!(
        during.iter().all(|s| *s <= stalled_at),
        "data during a data stall: {during:?}"
    );
    assert_eq!(server.stats().connections[0].data_sent["a"].1, stalled_at);
    assert!(
        answered >= 4,
        "heartbeats continue during a data stall ({answered})"
    );
    assert_eq!(
        server.stats().open,
        1,
        "answered heartbeats keep the connection"
    );

    server.clear(FaultKind::DataStall);
    let after = (0..100)
        .find_map(|_| {
            let seqs = answer_heartbeats_for(&mut ws, Duration::from_millis(50), &mut answered);
            seqs.into_iter().find(|s| *s > stalled_at)
        })
        .expect("data resumes after the stall is cleared");
    assert_eq!(after, stalled_at + 1, "no gap after the stall");
}

#[test]
fn close_with_code_and_reason() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = live(&server, "c");
    server.inject(Fault::close(4321, "bye now"));
    let frame = loop {
        match ws.read().unwrap() {
            Message::Close(f) => break f.unwrap(),
            _ => continue,
        }
    };
    assert_eq!(u16::from(frame.code), 4321);
    assert_eq!(frame.reason.as_str(), "bye now");
    // Finish the close handshake: the connection then ends cleanly.
    assert!(matches!(
        ws.read(),
        Err(tungstenite::Error::ConnectionClosed)
    ));
    let stats = server.wait_until(T, |s| s.open == 0).unwrap();
    assert_eq!(stats.connections[0].end, Some(ConnEnd::Closed));
    assert_eq!(stats.connections[0].close_sent.as_ref().unwrap().code, 4321);
    assert_eq!(
        stats.connections[0].close_received.as_ref().unwrap().code,
        4321
    );
}

fn read_until_error(ws: &mut WebSocket<ClientStream>) -> tungstenite::Error {
    loop {
        if let Err(e) = ws.read() {
            return e;
        }
    }
}

#[test]
fn reset_is_a_connection_reset() {
    for tls in [false, true] {
        let server = TestServer::start(ServerConfig::default().tls(tls)).unwrap();
        let mut ws = live(&server, "r");
        server.inject(Fault::Reset);
        let err = read_until_error(&mut ws);
        assert!(
            matches!(&err, tungstenite::Error::Io(e) if e.kind() == ErrorKind::ConnectionReset),
            "tls={tls}: {err:?}"
        );
    }
}

#[test]
fn drop_is_end_of_stream_without_a_close_frame() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = live(&server, "x");
    server.inject(Fault::Drop);
    let err = read_until_error(&mut ws);
    assert!(
        matches!(
            err,
            tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake
            )
        ),
        "{err:?}"
    );
}

#[test]
fn skipped_sequence_number_is_a_real_gap() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = live(&server, "g");
    server.inject(Fault::skip_seq("a"));
    let mut seqs = vec![1];
    while seqs.len() < 6 {
        seqs.push(seq_of(&wsclient::next_text(&mut ws, T).unwrap()));
    }
    let jumps: Vec<_> = seqs.windows(2).filter(|w| w[1] != w[0] + 1).collect();
    assert_eq!(jumps.len(), 1, "exactly one gap in {seqs:?}");
    assert_eq!(
        jumps[0][1],
        jumps[0][0] + 2,
        "exactly one number skipped in {seqs:?}"
    );
}

#[test]
fn oversized_frame_trips_a_client_limit_and_arrives_whole_otherwise() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let size = 32 << 20;
    // A client with a 64 MiB limit receives all of it, as valid JSON.
    let mut big = live(&server, "big");
    big.set_config(|c| {
        c.max_message_size = Some(64 << 20);
        c.max_frame_size = Some(64 << 20);
    });
    server.inject(Fault::Oversized { bytes: size });
    let text = loop {
        let t = wsclient::next_text(&mut big, T).unwrap();
        if t.len() > 1000 {
            break t;
        }
    };
    assert_eq!(text.len(), size);
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
    drop(big);

    // A client with tungstenite's default 16 MiB frame limit refuses it.
    let mut small = live(&server, "small");
    server.inject(Fault::Oversized { bytes: size });
    let err = read_until_error(&mut small);
    assert!(matches!(err, tungstenite::Error::Capacity(_)), "{err:?}");
}

#[test]
fn invalid_utf8_arrives_as_invalid_utf8() {
    for tls in [false, true] {
        let server = TestServer::start(ServerConfig::default().tls(tls)).unwrap();
        let mut ws = live(&server, "u");
        server.inject(Fault::InvalidUtf8);
        let err = read_until_error(&mut ws);
        assert!(
            matches!(err, tungstenite::Error::Utf8(_)),
            "tls={tls}: {err:?}"
        );
    }
}

#[test]
fn invalid_utf8_raw_bytes_on_the_wire() {
    // Below tungstenite: read the frame header and payload straight off a raw socket.
    use std::io::{Read, Write};
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut tcp = std::net::TcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(T)).unwrap();
    let req = "GET /ws?client=raw HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n\
               Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
               Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    tcp.write_all(req.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    server.wait_until(T, |s| s.open == 1).unwrap();
    server.inject(Fault::InvalidUtf8);
    let mut hdr = [0u8; 2];
    tcp.read_exact(&mut hdr).unwrap();
    assert_eq!(hdr[0], 0x81, "a final text frame");
    let mut payload = vec![0u8; (hdr[1] & 0x7f) as usize];
    tcp.read_exact(&mut payload).unwrap();
    assert!(
        std::str::from_utf8(&payload).is_err(),
        "payload must not be UTF-8: {payload:?}"
    );
}

#[test]
fn non_json_text_and_binary_garbage() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut ws = live(&server, "j");
    server.inject(Fault::NonJson);
    loop {
        let t = wsclient::next_text(&mut ws, T).unwrap();
        if rpc::classify(&t) == Inbound::NotJson {
            break;
        }
    }
    server.inject(Fault::BinaryGarbage);
    let data = loop {
        if let Message::Binary(b) = ws.read().unwrap() {
            break b;
        }
    };
    assert!(!data.is_empty());
    assert!(serde_json::from_slice::<serde_json::Value>(&data).is_err());
}
