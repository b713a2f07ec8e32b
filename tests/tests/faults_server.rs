//! Server-wide faults (restart, drop all, accept rate), schedules, and what "once" and "until
//! cleared" mean.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reconnect_testkit::rpc::{self, Inbound};
use reconnect_testkit::server::{Fault, FaultKind, Persist, Scheduled, ServerConfig, TestServer};
use reconnect_testkit::wsclient;
use tungstenite::Message;

const T: Duration = Duration::from_secs(5);

fn read_until_error(ws: &mut tungstenite::WebSocket<wsclient::ClientStream>) -> tungstenite::Error {
    loop {
        if let Err(e) = ws.read() {
            return e;
        }
    }
}

#[test]
fn restart_drops_everything_refuses_during_downtime_and_comes_back_on_the_same_port() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let addr = server.addr();
    let mut ws = wsclient::connect(&server.url("r"), None, T).unwrap();
    wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a"]), T).unwrap();
    server
        .wait_until(T, |s| s.connections[0].data_sent.contains_key("a"))
        .unwrap();

    server.restart(Duration::from_millis(300));
    let _ = read_until_error(&mut ws);
    server.wait_until(T, |s| !s.listening).unwrap();
    let refused = TcpStream::connect_timeout(&addr, T).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

    server.wait_until(T, |s| s.listening).unwrap();
    let last = server.stats().connections[0].data_sent["a"].1;
    let mut ws = wsclient::connect(&server.url("r"), None, T).unwrap();
    wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a"]), T).unwrap();
    let text = wsclient::next_text(&mut ws, T).unwrap();
    assert_eq!(
        rpc::classify(&text),
        Inbound::Data {
            channel: "a".into(),
            seq: last + 1
        }
    );
    let stats = server.stats();
    assert_eq!(stats.binds, 2);
    assert_eq!(server.addr(), addr);
}

#[test]
fn drop_all_ends_every_connection_at_once() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut clients: Vec<_> = (0..3)
        .map(|i| wsclient::connect(&server.url(&format!("c{i}")), None, T).unwrap())
        .collect();
    server.wait_until(T, |s| s.open == 3).unwrap();
    assert_eq!(server.stats().peak_open, 3);
    server.drop_all();
    for ws in &mut clients {
        let _ = read_until_error(ws);
    }
    let stats = server.wait_until(T, |s| s.open == 0).unwrap();
    assert!(stats.connections.iter().all(|c| c.end.is_some()));
    assert_eq!(stats.client("c1").peak_open, 1);
}

#[test]
fn accept_rate_limit_spaces_out_accepts() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let interval = Duration::from_millis(80);
    server.limit_accept_rate(Some(interval));
    // The kernel completes TCP handshakes from the backlog; the server takes them one by one.
    let _socks: Vec<_> = (0..4)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    let stats = server.wait_until(T, |s| s.accepted == 4).unwrap();
    let times: Vec<Instant> = stats.connections.iter().map(|c| c.accepted_at).collect();
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= interval - Duration::from_millis(2),
            "accepts only {gap:?} apart"
        );
    }
    server.limit_accept_rate(None);
    let start = Instant::now();
    let _more: Vec<_> = (0..4)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    server.wait_until(T, |s| s.accepted == 8).unwrap();
    assert!(start.elapsed() < interval * 3, "the limit is lifted");
}

#[test]
fn scheduled_faults_fire_at_their_delays() {
    let schedule = vec![
        Scheduled::once(Duration::from_millis(150), Fault::close(4100, "scheduled")),
        Scheduled::with(
            Duration::from_millis(150),
            Fault::http(503),
            Persist::Times(1),
        ),
    ];
    let started = Instant::now();
    let server = TestServer::start(ServerConfig::default().schedule(schedule)).unwrap();
    let mut ws = wsclient::connect(&server.url("s"), None, T).unwrap();
    let frame = loop {
        if let Message::Close(f) = ws.read().unwrap() {
            break f.unwrap();
        }
    };
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(u16::from(frame.code), 4100);
    assert!(
        matches!(wsclient::connect(&server.url("s"), None, T), Err(tungstenite::Error::Http(r)) if r.status() == 503)
    );

    // A schedule set through the handle counts from the call.
    server.schedule(vec![Scheduled::once(
        Duration::from_millis(100),
        Fault::CloseListener,
    )]);
    let t0 = Instant::now();
    server.wait_until(T, |s| !s.listening).unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(100));
}

#[test]
fn session_fault_with_no_open_session_hits_the_next_one() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject(Fault::close(4200, "waited for you"));
    let mut ws = wsclient::connect(&server.url("n"), None, T).unwrap();
    let frame = loop {
        if let Message::Close(f) = ws.read().unwrap() {
            break f.unwrap();
        }
    };
    assert_eq!(u16::from(frame.code), 4200);
    // Used up: the following session is left alone.
    let mut ws = wsclient::connect(&server.url("n"), None, T).unwrap();
    assert!(matches!(
        wsclient::call(&mut ws, 1, &rpc::test(1), T).unwrap(),
        Inbound::Result { .. }
    ));
}

#[test]
fn session_fault_once_hits_every_open_session_but_no_later_one() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut a = wsclient::connect(&server.url("a"), None, T).unwrap();
    let mut b = wsclient::connect(&server.url("b"), None, T).unwrap();
    server.wait_until(T, |s| s.open == 2).unwrap();
    server.inject(Fault::Drop);
    let _ = read_until_error(&mut a);
    let _ = read_until_error(&mut b);
    let mut c = wsclient::connect(&server.url("c"), None, T).unwrap();
    assert!(matches!(
        wsclient::call(&mut c, 1, &rpc::test(1), T).unwrap(),
        Inbound::Result { .. }
    ));
}

#[test]
fn session_fault_until_cleared_hits_each_new_session() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject_with(Fault::close(4300, "again"), Persist::UntilCleared);
    for _ in 0..3 {
        let mut ws = wsclient::connect(&server.url("u"), None, T).unwrap();
        let err = read_until_error(&mut ws);
        assert!(
            matches!(err, tungstenite::Error::ConnectionClosed),
            "{err:?}"
        );
    }
    server.clear(FaultKind::Close);
    let mut ws = wsclient::connect(&server.url("u"), None, T).unwrap();
    assert!(matches!(
        wsclient::call(&mut ws, 1, &rpc::test(1), T).unwrap(),
        Inbound::Result { .. }
    ));
    let stats = server.stats();
    assert_eq!(
        stats
            .close_frames()
            .iter()
            .filter(|c| c.code == 4300)
            .count(),
        3
    );
}

#[test]
fn clear_all_disarms_everything() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject_with(Fault::http(503), Persist::UntilCleared);
    server.inject_with(Fault::AcceptThenClose, Persist::Times(5));
    server.refuse_connections();
    server.wait_until(T, |s| !s.listening).unwrap();
    server.clear_all();
    server.wait_until(T, |s| s.listening).unwrap();
    assert!(wsclient::connect(&server.url("x"), None, T).is_ok());
}
