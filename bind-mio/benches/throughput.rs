//! Messages per second received through the bind-mio driver vs a raw blocking tungstenite
//! client, from the same local flood server in the same run, for 64-byte and 4 KiB messages.
//!
//! A plain `harness = false` binary: `cargo bench -p bind-mio --bench throughput`. It does
//! nothing without cargo's `--bench` flag, so `cargo test --all-targets` does not run it.
//!
//! The flood server does the WebSocket upgrade with tungstenite, then writes pre-encoded,
//! unmasked text frames from one buffer, so the server costs little more than a `write`
//! syscall per 256 KiB and the client side is the bottleneck being compared. Both clients read
//! with the same WebSocket configuration (tungstenite's default 128 KiB read buffer); the
//! binding is also run with its own default (8 KiB, sized for thousands of connections).
//! Rounds alternate raw, binding, binding (own buffers) so that load changes on the shared
//! machine hit all alike; the median of each is reported.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bind_mio::tungstenite::protocol::WebSocketConfig;
use bind_mio::tungstenite::{self, Message};
use bind_mio::{default_websocket_config, Driver, DriverConfig, Endpoint, Event};
use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Config, Event as CoreEvent, Session};

const ROUNDS: usize = 5;
/// Bytes handed to one `write` by the flood server.
const CHUNK: usize = 256 << 10;

/// One flood: `count` text frames of `size` bytes to the next client that connects.
struct Flood {
    addr: std::net::SocketAddr,
    server: Option<JoinHandle<()>>,
}

impl Flood {
    fn start(size: usize, count: usize) -> Flood {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            stream.set_nodelay(true).unwrap();
            let mut ws = tungstenite::accept(stream).expect("upgrade");
            let frame = encoded_text_frame(size);
            let per_chunk = (CHUNK / frame.len()).max(1);
            let chunk = frame.repeat(per_chunk);
            let mut left = count;
            let stream = ws.get_mut();
            while left >= per_chunk {
                if stream.write_all(&chunk).is_err() {
                    return;
                }
                left -= per_chunk;
            }
            let _ = stream.write_all(&frame.repeat(left));
            let _ = stream.flush();
            // Hold the connection until the client has read everything and hangs up, so the
            // close never races the data.
            let _ = std::io::Read::read(stream, &mut [0u8; 64]);
        });
        Flood {
            addr,
            server: Some(server),
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/flood", self.addr)
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

/// An unmasked server-to-client text frame of `size` payload bytes (all `x`).
fn encoded_text_frame(size: usize) -> Vec<u8> {
    let mut frame = vec![0x81];
    match size {
        0..=125 => frame.push(size as u8),
        126..=0xffff => {
            frame.push(126);
            frame.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            frame.push(127);
            frame.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
    frame.resize(frame.len() + size, b'x');
    frame
}

/// Messages per second: `count` messages, timed from the first one to the last (the upgrade
/// and connection setup are not in the measure).
fn raw_blocking(size: usize, count: usize, config: WebSocketConfig) -> f64 {
    let flood = Flood::start(size, count);
    let stream = TcpStream::connect(flood.addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut ws, _) =
        tungstenite::client::client_with_config(flood.url(), stream, Some(config)).unwrap();
    let mut received = 0;
    let mut first = None;
    let mut bytes = 0;
    while received < count {
        match ws.read().expect("flood read") {
            Message::Text(text) => {
                first.get_or_insert_with(Instant::now);
                bytes += text.len();
                received += 1;
            }
            _ => continue,
        }
    }
    let elapsed = first.unwrap().elapsed();
    assert_eq!(bytes, size * count);
    drop(ws);
    (count - 1) as f64 / elapsed.as_secs_f64()
}

/// The same through a driver with one session (raw adapter: every frame is an
/// `Event::Message`, taken with `poll_event`, as an application would).
fn binding(size: usize, count: usize, config: WebSocketConfig) -> f64 {
    let flood = Flood::start(size, count);
    let mut driver = Driver::new(DriverConfig::default()).unwrap();
    let session = Session::new(Config::new(7), RawAdapter::new()).unwrap();
    let endpoint = Endpoint::new(&flood.url())
        .unwrap()
        .websocket_config(config);
    driver.add_session(session, endpoint);
    let mut received = 0;
    let mut first = None;
    let mut bytes = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while received < count {
        assert!(
            Instant::now() < deadline,
            "the binding stalled at {received}"
        );
        driver.run_once(Some(Duration::from_millis(100))).unwrap();
        while let Some((_, event)) = driver.poll_event() {
            if let Event::Session(CoreEvent::Message { frame, .. }) = event {
                first.get_or_insert_with(Instant::now);
                bytes += frame.len();
                received += 1;
            }
        }
    }
    let elapsed = first.unwrap().elapsed();
    assert_eq!(bytes, size * count);
    drop(driver);
    (count - 1) as f64 / elapsed.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("throughput: run with `cargo bench -p bind-mio --bench throughput`");
        return;
    }
    let same = WebSocketConfig::default();
    let own = default_websocket_config();
    for (size, count) in [(64, 2_000_000), (4096, 200_000)] {
        let (mut raw, mut bound, mut bound_own) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            raw.push(raw_blocking(size, count, same));
            bound.push(binding(size, count, same));
            bound_own.push(binding(size, count, own));
        }
        let (raw, bound, bound_own) = (median(raw), median(bound), median(bound_own));
        println!(
            "throughput/{size}B: raw tungstenite {raw:.0} msg/s; bind-mio {bound:.0} msg/s \
             (same 128 KiB read buffer), ratio {:.3}; bind-mio with its default 8 KiB buffer \
             {bound_own:.0} msg/s, ratio {:.3}; median of {ROUNDS}, {count} messages each",
            bound / raw,
            bound_own / raw,
        );
    }
}
