//! The fault proxy: transparent by default, then latency, bandwidth, blackhole and cut.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use reconnect_testkit::proxy::FaultProxy;
use reconnect_testkit::rpc::{self, Inbound};
use reconnect_testkit::server::{ConnEnd, Fault, ServerConfig, TestServer};
use reconnect_testkit::wsclient;
use serde_json::json;

const T: Duration = Duration::from_secs(5);

fn setup() -> (TestServer, FaultProxy, String) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let url = proxy.url(&server.url("p"));
    (server, proxy, url)
}

fn rtt(ws: &mut tungstenite::WebSocket<wsclient::ClientStream>, id: u64) -> Duration {
    let t0 = Instant::now();
    let r = wsclient::call(ws, id, &rpc::test(id), T).unwrap();
    assert!(matches!(r, Inbound::Result { .. }));
    t0.elapsed()
}

#[test]
fn transparent_by_default_and_rewrites_urls() {
    let (server, proxy, url) = setup();
    assert_eq!(url, format!("ws://{}/ws?client=p", proxy.addr()));
    let mut ws = wsclient::connect(&url, None, T).unwrap();
    wsclient::call(&mut ws, 1, &rpc::auth(1, json!({})), T).unwrap();
    wsclient::call(&mut ws, 2, &rpc::subscribe(2, &["a"]), T).unwrap();
    let data = wsclient::next_text(&mut ws, T).unwrap();
    assert_eq!(
        rpc::classify(&data),
        Inbound::Data {
            channel: "a".into(),
            seq: 1
        }
    );
    let stats = proxy.stats();
    assert_eq!((stats.accepted, stats.open), (1, 1));
    assert!(stats.bytes_up > 0 && stats.bytes_down > 0);
    assert_eq!(server.stats().client("p").handshakes, 1);
}

#[test]
fn latency_delays_each_direction() {
    let (_server, proxy, url) = setup();
    let mut ws = wsclient::connect(&url, None, T).unwrap();
    let fast = rtt(&mut ws, 1);
    proxy.set_latency(Duration::from_millis(60));
    let slow = rtt(&mut ws, 2);
    assert!(
        slow >= Duration::from_millis(120),
        "round trip {slow:?} with 60 ms each way"
    );
    proxy.clear();
    let again = rtt(&mut ws, 3);
    assert!(
        again < Duration::from_millis(100),
        "latency lifted: {again:?} (was {fast:?})"
    );
}

#[test]
fn bandwidth_limit_slows_a_large_frame() {
    let (server, proxy, url) = setup();
    let mut ws = wsclient::connect(&url, None, T).unwrap();
    server.wait_until(T, |s| s.open == 1).unwrap();
    proxy.set_bandwidth(Some(50_000));
    let t0 = Instant::now();
    server.inject(Fault::Oversized { bytes: 25_000 });
    let text = loop {
        let t = wsclient::next_text(&mut ws, T).unwrap();
        if t.len() >= 25_000 {
            break t;
        }
    };
    assert_eq!(text.len(), 25_000);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(350),
        "25 kB at 50 kB/s took only {took:?}"
    );
}

#[test]
fn blackhole_drops_bytes_but_keeps_both_sockets_open() {
    let (server, proxy, url) = setup();
    let mut ws = wsclient::connect(&url, None, T).unwrap();
    wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a"]), T).unwrap();
    proxy.set_blackhole(true);
    // Drain what was already delivered, then nothing more arrives, and no error either.
    ws.get_ref()
        .tcp()
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let quiet_since = loop {
        match ws.read() {
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                break Instant::now()
            }
            Err(e) => panic!("the client socket must stay open: {e}"),
        }
    };
    wsclient::send(&mut ws, &rpc::test(2)).unwrap();
    while quiet_since.elapsed() < Duration::from_millis(300) {
        match ws.read() {
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
            other => panic!(
                "nothing may arrive through a blackhole: {:?}",
                other.map(|_| ())
            ),
        }
    }
    let stats = proxy.stats();
    assert!(
        stats.dropped > 0,
        "server data and the request were dropped"
    );
    assert_eq!(stats.open, 1);
    let server_stats = server.stats();
    assert_eq!(server_stats.open, 1, "the server side stays open too");
    assert!(server_stats.connections[0]
        .requests(rpc::TEST)
        .next()
        .is_none());
    // Lifted: a new connection works.
    proxy.set_blackhole(false);
    let mut fresh = wsclient::connect(&url, None, T).unwrap();
    rtt(&mut fresh, 3);
}

#[test]
fn cut_resets_both_sides() {
    let (server, proxy, url) = setup();
    let mut ws = wsclient::connect(&url, None, T).unwrap();
    wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a"]), T).unwrap();
    proxy.cut();
    let err = loop {
        if let Err(e) = ws.read() {
            break e;
        }
    };
    assert!(
        matches!(&err, tungstenite::Error::Io(e) if e.kind() == ErrorKind::ConnectionReset),
        "{err:?}"
    );
    let stats = server.wait_until(T, |s| s.open == 0).unwrap();
    assert_eq!(stats.connections[0].end, Some(ConnEnd::PeerReset));
    proxy.wait_until(T, |s| s.open == 0 && s.cut == 1).unwrap();
    // Later connections are proxied normally.
    let mut again = wsclient::connect(&url, None, T).unwrap();
    rtt(&mut again, 2);
}

#[test]
fn dropping_the_proxy_closes_its_connections() {
    let (_server, proxy, url) = setup();
    let addr = proxy.addr();
    let mut ws = wsclient::connect(&url, None, T).unwrap();
    rtt(&mut ws, 1);
    drop(proxy);
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                panic!("still open after the proxy was dropped")
            }
            Err(_) => break,
        }
    }
    assert!(std::net::TcpStream::connect_timeout(&addr, T).is_err());
}
