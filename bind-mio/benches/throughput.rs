//! Messages per second received through the bind-mio driver vs a raw blocking tungstenite
//! client, from the same local flood server in the same run, for 64-byte and 4 KiB messages.
//!
//! A plain `harness = false` binary: `cargo bench -p bind-mio --bench throughput`. It does
//! nothing without cargo's `--bench` flag, so `cargo test --all-targets` does not run it.
//!
//! The flood server (the kit's [`Flood`]) does the WebSocket upgrade with tungstenite, then
//! writes pre-encoded, unmasked text frames from one buffer, so the server costs little more
//! than a `write` syscall per 256 KiB and the client side is the bottleneck being compared.
//! Both clients read with the same WebSocket configuration (tungstenite's default 128 KiB read
//! buffer); the binding is also run with its own default (4 KiB, sized for thousands of
//! connections).
//! Rounds alternate raw, binding, raw (the binding's buffers), binding (own buffers) so that load changes on
//! the shared machine hit all alike; the median of each is reported.
//!
//! `-- --profile raw|one [--size B] [--count N]` instead runs that one variant with the
//! binding's default read buffer (`one`: the driver with one session) for N messages of B bytes
//! (ten million of 64 by default) and prints its rate, for `perf record` or for counting
//! instructions with `valgrind --tool=callgrind`, which a loaded machine cannot disturb.
//! `--read-buffer B` gives that run another read buffer size, to measure what a different
//! default would cost. `--rounds R` sets the rounds of the full run (5 by default).

use std::net::TcpStream;
use std::time::{Duration, Instant};

use bind_mio::tungstenite::protocol::WebSocketConfig;
use bind_mio::tungstenite::{self, Message};
use bind_mio::{default_websocket_config, Driver, DriverConfig, Endpoint};
use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Config, Event as CoreEvent, Session};
use reconnect_testkit::bench::{result, Flood};

const ROUNDS: usize = 5;

/// Messages per second: `count` messages, timed from the first one to the last (the upgrade
/// and connection setup are not in the measure).
fn raw_blocking(size: usize, count: usize, config: WebSocketConfig) -> f64 {
    let flood = Flood::start(size, count).expect("the flood server starts");
    let stream = TcpStream::connect(flood.addr()).unwrap();
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
    let flood = Flood::start(size, count).expect("the flood server starts");
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
            if let CoreEvent::Message { frame, .. } = event {
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

/// The number after `flag` among `args`, or `default`.
fn number(args: &[String], flag: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |n| n.parse().expect("a number"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("throughput: run with `cargo bench -p bind-mio --bench throughput`");
        return;
    }
    let mut own = default_websocket_config();
    if let Some(read_buffer) = args
        .iter()
        .position(|a| a == "--read-buffer")
        .and_then(|i| args.get(i + 1))
    {
        // Only for `--profile`: what another default read buffer would cost.
        own = own.read_buffer_size(read_buffer.parse().expect("--read-buffer B"));
    }
    if let Some(variant) = args
        .iter()
        .position(|a| a == "--profile")
        .and_then(|i| args.get(i + 1))
    {
        let (size, count) = (
            number(&args, "--size", 64),
            number(&args, "--count", 10_000_000),
        );
        let rate = match variant.as_str() {
            "raw" => raw_blocking(size, count, own),
            "one" => binding(size, count, own),
            other => panic!("--profile takes raw or one, not {other}"),
        };
        println!("throughput/{size}B/{variant}: {rate:.0} msg/s");
        return;
    }
    let rounds = number(&args, "--rounds", ROUNDS);
    let same = WebSocketConfig::default();
    for (size, count) in [(64, 2_000_000), (4096, 200_000)] {
        let (mut raw, mut bound, mut raw_own, mut bound_own) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            raw.push(raw_blocking(size, count, same));
            bound.push(binding(size, count, same));
            raw_own.push(raw_blocking(size, count, own));
            bound_own.push(binding(size, count, own));
        }
        let (raw, bound) = (median(raw), median(bound));
        let (raw_own, bound_own) = (median(raw_own), median(bound_own));
        println!(
            "throughput/{size}B: raw tungstenite {raw:.0} msg/s; bind-mio {bound:.0} msg/s \
             (same 128 KiB read buffer), ratio {:.3}; with the binding's default read buffer \
             for both: raw {raw_own:.0} msg/s, bind-mio {bound_own:.0} msg/s, ratio {:.3}; \
             median of {rounds}, {count} messages each",
            bound / raw,
            bound_own / raw_own,
        );
        result(
            &format!("mio.throughput.{size}.ratio_128k"),
            format!("{:.3}", bound / raw),
        );
        result(
            &format!("mio.throughput.{size}.ratio_default"),
            format!("{:.3}", bound_own / raw_own),
        );
        result(
            &format!("mio.throughput.{size}.raw_default"),
            format!("{raw_own:.0}"),
        );
        result(
            &format!("mio.throughput.{size}.bind_default"),
            format!("{bound_own:.0}"),
        );
    }
}
