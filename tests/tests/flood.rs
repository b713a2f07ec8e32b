//! The benchmarks' flood server: every frame reaches a reading client, what the client sends is
//! counted, and dropping a flood stops its threads even when nobody connected or the client
//! stopped reading.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use reconnect_testkit::bench::{Flood, CHUNK};
use tungstenite::Message;

#[test]
fn a_client_receives_every_frame_then_the_flood_joins() {
    // More than one chunk of 4 KiB frames, plus a remainder.
    let (size, count) = (4096, 2 * CHUNK / 4096 + 7);
    let flood = Flood::start(size, count).unwrap();
    let tcp = TcpStream::connect(flood.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (mut ws, _) = tungstenite::client(flood.url(), tcp).unwrap();
    let mut received = 0;
    while received < count {
        match ws.read().unwrap() {
            Message::Text(text) => {
                assert_eq!(text.len(), size);
                received += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // What the client sends is counted as it arrives: a masked 5-byte text frame is 11 bytes.
    assert_eq!(flood.received_bytes(), 0);
    ws.send(Message::text("hello")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while flood.received_bytes() < 11 {
        assert!(
            Instant::now() < deadline,
            "the client's frame never arrived"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(flood.received_bytes(), 11);
    drop(ws);
    drop(flood);
}

#[test]
fn dropping_a_flood_nobody_read_returns_promptly() {
    let unvisited = Flood::start(64, 10).unwrap();
    // A client that connects and upgrades but never reads a byte of a large flood.
    let stalled = Flood::start(4096, 100_000).unwrap();
    let tcp = TcpStream::connect(stalled.addr()).unwrap();
    let (ws, _) = tungstenite::client(stalled.url(), tcp).unwrap();
    let started = Instant::now();
    drop(unvisited);
    drop(stalled);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the server threads stop on drop"
    );
    drop(ws);
}
