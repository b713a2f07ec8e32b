//! The event-driven fleet server against a plain tungstenite client on 127.0.0.1: the
//! handshake, the JSON-RPC answers a fleet session needs, ping/pong and close, restart and
//! reset-all as the client sees them, and hundreds of connections held at once.

use std::io;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reconnect_testkit::fleet_server::{Counts, FleetServer};
use reconnect_testkit::rpc::{self, Inbound};
use reconnect_testkit::wsclient::{self, ClientStream};
use serde_json::json;
use tungstenite::{Error, Message, WebSocket};

/// Generous: only a hang reaches it.
const T: Duration = Duration::from_secs(10);

fn connect(server: &FleetServer, name: &str) -> WebSocket<ClientStream> {
    wsclient::connect(&server.url(name), None, T).expect("the upgrade succeeds")
}

/// Polls the server's counts until `check` holds, or panics after `T`.
fn until(server: &FleetServer, what: &str, check: impl Fn(&Counts) -> bool) -> Counts {
    let started = Instant::now();
    loop {
        let counts = server.counts().unwrap();
        if check(&counts) {
            return counts;
        }
        assert!(
            started.elapsed() < T,
            "{what}: still {counts:?} after {T:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Reads until the connection ends; returns the error that ended it.
fn until_end(ws: &mut WebSocket<ClientStream>) -> Error {
    let deadline = Instant::now() + T;
    loop {
        assert!(Instant::now() < deadline, "the connection did not end");
        match ws.read() {
            Ok(_) => {}
            Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return e,
        }
    }
}

fn is_reset(e: &Error) -> bool {
    matches!(e, Error::Io(e) if e.kind() == io::ErrorKind::ConnectionReset)
}

#[test]
fn a_subscribe_is_acknowledged_and_other_requests_answered() {
    let server = FleetServer::start().unwrap();
    assert!(server.addr().ip().is_loopback());
    let mut ws = connect(&server, "c0");
    let ack = wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a", "b"]), T).unwrap();
    assert_eq!(
        ack,
        Inbound::Result {
            id: json!(1),
            result: json!(["a", "b"])
        }
    );
    let test = wsclient::call(&mut ws, 2, &rpc::test(2), T).unwrap();
    assert_eq!(
        test,
        Inbound::Result {
            id: json!(2),
            result: json!({"version": "1.0.0"})
        }
    );
    let refused = wsclient::call(&mut ws, 3, &rpc::request(3, "private/buy", json!({})), T);
    assert!(matches!(
        refused.unwrap(),
        Inbound::Error {
            code: rpc::METHOD_NOT_FOUND,
            ..
        }
    ));
    let counts = until(&server, "one open", |c| c.open == 1);
    assert_eq!((counts.accepted, counts.handshaking), (1, 0));
    assert!(counts.listening);
}

#[test]
fn a_ping_gets_its_pong_and_a_close_its_reply() {
    let server = FleetServer::start().unwrap();
    let mut ws = connect(&server, "c0");
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .unwrap();
    // The socket's read timeout (`T`) bounds the wait; the pong is the first frame back.
    match ws.read().unwrap() {
        Message::Pong(payload) => assert_eq!(&payload[..], b"are you there"),
        other => panic!("not a pong: {other:?}"),
    }
    ws.close(None).unwrap();
    // The server's close reply completes the handshake: tungstenite reports a clean close.
    assert!(matches!(until_end(&mut ws), Error::ConnectionClosed));
    until(&server, "the closed connection released", |c| {
        c.open == 0 && c.handshaking == 0
    });
}

#[test]
fn a_restart_drops_every_connection_refuses_during_the_downtime_and_reopens_the_port() {
    let server = FleetServer::start().unwrap();
    let addr = server.addr();
    let mut clients: Vec<_> = (0..3).map(|i| connect(&server, &format!("c{i}"))).collect();
    until(&server, "three open", |c| c.open == 3);

    let downtime = Duration::from_secs(2);
    let restarted = Instant::now();
    server.restart(downtime).unwrap();
    for ws in &mut clients {
        // An ordinary close of the socket, no close frame: the end of the stream, not a reset.
        let end = until_end(ws);
        assert!(
            !is_reset(&end),
            "a restart closes, it does not reset: {end:?}"
        );
    }
    let counts = server.counts().unwrap();
    assert_eq!((counts.open, counts.listening), (0, false));
    if restarted.elapsed() < downtime / 2 {
        let refused = TcpStream::connect(addr).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    }

    let again = loop {
        match wsclient::connect(&server.url("c0"), None, T) {
            Ok(ws) => break ws,
            Err(_) => {
                assert!(
                    restarted.elapsed() < downtime + T,
                    "the port never reopened"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    assert!(
        restarted.elapsed() >= downtime,
        "a connection was accepted {:?} into a {downtime:?} downtime",
        restarted.elapsed()
    );
    let counts = until(&server, "the new connection open", |c| c.open == 1);
    assert!(counts.listening);
    assert_eq!(counts.accepted, 4);
    drop(again);
}

#[test]
fn reset_all_resets_every_connection_and_keeps_listening() {
    let server = FleetServer::start().unwrap();
    let mut clients: Vec<_> = (0..3).map(|i| connect(&server, &format!("c{i}"))).collect();
    until(&server, "three open", |c| c.open == 3);
    assert_eq!(server.reset_all().unwrap(), 3);
    for ws in &mut clients {
        let end = until_end(ws);
        assert!(is_reset(&end), "not a reset: {end:?}");
    }
    // The listener stayed open: a new client gets its answers at once.
    let mut ws = connect(&server, "after");
    let ack = wsclient::call(&mut ws, 7, &rpc::subscribe(7, &["a"]), T).unwrap();
    assert!(matches!(ack, Inbound::Result { .. }));
    let counts = until(&server, "one open", |c| c.open == 1);
    assert_eq!(counts.accepted, 4);
}

#[test]
fn five_hundred_connections_are_held_answered_and_dropped_by_a_restart() {
    const N: usize = 500;
    // Client and server ends live in this process: two descriptors per connection.
    rlimit::increase_nofile_limit((2 * N + 256) as u64).unwrap();
    let server = FleetServer::start().unwrap();
    let mut clients: Vec<_> = (0..N).map(|i| connect(&server, &format!("c{i}"))).collect();
    for (i, ws) in clients.iter_mut().enumerate() {
        let id = i as u64 + 1;
        let ack = wsclient::call(ws, id, &rpc::subscribe(id, &["a"]), T).unwrap();
        assert_eq!(
            ack,
            Inbound::Result {
                id: json!(id),
                result: json!(["a"])
            }
        );
    }
    let counts = until(&server, "all open", |c| c.open == N);
    assert_eq!(counts.accepted, N as u64);

    server.restart(Duration::from_millis(100)).unwrap();
    for ws in &mut clients {
        let end = until_end(ws);
        assert!(!is_reset(&end), "a restart closes: {end:?}");
    }
    assert_eq!(server.counts().unwrap().open, 0);
}

#[test]
fn dropping_the_server_closes_the_port() {
    let server = FleetServer::start().unwrap();
    let addr = server.addr();
    let mut ws = connect(&server, "c0");
    drop(server);
    until_end(&mut ws);
    assert!(TcpStream::connect(addr).is_err(), "nobody listens any more");
}
