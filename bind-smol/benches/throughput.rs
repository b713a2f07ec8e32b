//! Messages per second received through a bind-smol session vs a raw async-tungstenite client,
//! from the same local flood server in the same run, for 64-byte and 4 KiB messages.
//!
//! A plain `harness = false` binary: `cargo bench -p bind-smol --bench throughput`. It does
//! nothing without cargo's `--bench` flag, so `cargo test --all-targets` does not run it.
//!
//! The kit's flood server (a thread of its own) writes pre-encoded frames in 256 KiB chunks, so
//! the client side is the bottleneck being compared. Every client uses the same TCP setup and
//! WebSocket configuration; the table is run twice, with the binding's default read buffer
//! (4 KiB) and with tungstenite's default 128 KiB. The variants:
//!
//! - `raw`: async-tungstenite read in a loop (`ws.next().await`) under `smol::block_on`,
//!   counting text messages: what any smol client pays at least.
//! - `one thread`: the session's task and the consumer of its `EventStream` on one
//!   `LocalExecutor`, the way a smol application with a few sessions runs: the binding's whole
//!   cost lands on the thread the raw client uses.
//! - `two threads`: the task on smol's global executor, the consumer on the main thread, so the
//!   session and the application overlap.
//!
//! Rounds alternate the variants so that load changes on a shared machine hit all alike; the
//! median of each is reported. Timing runs from the first message to the last.
//!
//! `-- --profile one|two|raw [--size B] [--count N]` instead runs that one variant (default
//! buffer) for N messages of B bytes (ten million of 64 by default) and prints its rate, for
//! `perf record` or for counting instructions with `valgrind --tool=callgrind`, which a loaded
//! machine cannot disturb; `--read-buffer B` gives it another read buffer size, to measure what
//! a different default would cost. `--rounds R` sets the rounds of the full run (5 by default).

use std::time::{Duration, Instant};

use bind_smol::tungstenite::protocol::WebSocketConfig;
use bind_smol::tungstenite::Message;
use bind_smol::{
    default_websocket_config, Endpoint, EventStream, Options, SessionHandle, SessionTask,
};
use futures_lite::StreamExt;
use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Config, Event as CoreEvent, Session};
use reconnect_testkit::bench::{result, Flood};

const ROUNDS: usize = 5;
/// A generous bound on one run: only a real hang reaches it.
const LIMIT: Duration = Duration::from_secs(120);

/// What one client run measured.
struct Run {
    first: Instant,
    last: Instant,
    bytes: usize,
}

impl Run {
    fn rate(&self, count: usize) -> f64 {
        (count - 1) as f64 / self.last.duration_since(self.first).as_secs_f64()
    }
}

async fn raw(flood: &Flood, config: WebSocketConfig, count: usize) -> Run {
    let tcp = async_net::TcpStream::connect(flood.addr()).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (mut ws, _) = async_tungstenite::client_async_with_config(flood.url(), tcp, Some(config))
        .await
        .unwrap();
    let mut first = None;
    let mut bytes = 0;
    let mut received = 0;
    while received < count {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                first.get_or_insert_with(Instant::now);
                bytes += text.len();
                received += 1;
            }
            Some(Ok(_)) => {}
            other => panic!("the flood ended early: {other:?}"),
        }
    }
    let last = Instant::now();
    Run {
        first: first.unwrap(),
        last,
        bytes,
    }
}

/// A session that connects once to the flood and stays quiet: no pings, the raw adapter (every
/// frame is an `Event::Message`).
fn session_on(
    flood: &Flood,
    config: WebSocketConfig,
) -> (SessionHandle, EventStream, SessionTask<RawAdapter>) {
    let mut session_config = Config::new(7);
    session_config.liveness.ping_interval = None;
    let session = Session::new(session_config, RawAdapter::new()).unwrap();
    let endpoint = Endpoint::new(&flood.url())
        .unwrap()
        .websocket_config(config);
    bind_smol::connect(session, endpoint, Options::default())
}

async fn consume(events: &mut EventStream, count: usize) -> Run {
    let mut first = None;
    let mut bytes = 0;
    let mut received = 0;
    while received < count {
        match events.next().await {
            Some(CoreEvent::Message { frame, .. }) => {
                first.get_or_insert_with(Instant::now);
                bytes += frame.len();
                received += 1;
            }
            Some(CoreEvent::Stopped { reason }) => panic!("stopped: {reason:?}"),
            Some(_) => {}
            None => panic!("the session ended"),
        }
    }
    Run {
        first: first.unwrap(),
        last: Instant::now(),
        bytes,
    }
}

fn one_thread(flood: &Flood, config: WebSocketConfig, count: usize) -> Run {
    let (handle, mut events, task) = session_on(flood, config);
    let executor = smol::LocalExecutor::new();
    let task = executor.spawn(task);
    smol::block_on(executor.run(async {
        let run = consume(&mut events, count).await;
        handle.close().await.ok(); // Err(Gone) if it had stopped already
        handle.closed().await;
        task.await;
        run
    }))
}

fn two_threads(flood: &Flood, config: WebSocketConfig, count: usize) -> Run {
    let (handle, mut events, task) = session_on(flood, config);
    let task = smol::spawn(task);
    smol::block_on(async {
        let run = consume(&mut events, count).await;
        handle.close().await.ok(); // Err(Gone) if it had stopped already
        handle.closed().await;
        task.await;
        run
    })
}

/// One variant against a fresh flood, checked for completeness and bounded in time.
fn measure(
    size: usize,
    count: usize,
    client: impl FnOnce(&Flood, usize) -> Run + Send + 'static,
) -> f64 {
    let flood = Flood::start(size, count).expect("the flood server starts");
    let started = Instant::now();
    let run = client(&flood, count);
    assert!(started.elapsed() < LIMIT, "a run took over {LIMIT:?}");
    assert_eq!(run.bytes, size * count, "every byte arrives");
    run.rate(count)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("throughput: run with `cargo bench -p bind-smol --bench throughput`");
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    if let Some(variant) = args
        .iter()
        .position(|a| a == "--profile")
        .and_then(|i| args.get(i + 1))
    {
        let number = |flag: &str, default: usize| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .map_or(default, |n| n.parse().expect("a number"))
        };
        let (size, count) = (number("--size", 64), number("--count", 10_000_000));
        let mut config = default_websocket_config();
        if let Some(read_buffer) = args
            .iter()
            .position(|a| a == "--read-buffer")
            .and_then(|i| args.get(i + 1))
        {
            // What another default read buffer would cost.
            config = config.read_buffer_size(read_buffer.parse().expect("--read-buffer B"));
        }
        let rate = match variant.as_str() {
            "raw" => measure(size, count, move |f, n| smol::block_on(raw(f, config, n))),
            "one" => measure(size, count, move |f, n| one_thread(f, config, n)),
            "two" => measure(size, count, move |f, n| two_threads(f, config, n)),
            other => panic!("--profile takes raw, one or two, not {other}"),
        };
        println!("throughput/{size}B/{variant}: {rate:.0} msg/s");
        return;
    }
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .map_or(ROUNDS, |n| n.parse().expect("--rounds R"));
    let configs = [
        (
            "the binding's default read buffer",
            "default",
            default_websocket_config(),
        ),
        (
            "128 KiB read buffer (tungstenite's default)",
            "128k",
            WebSocketConfig::default(),
        ),
    ];
    for (name, label, config) in configs {
        for (size, count) in [(64, 2_000_000), (4096, 200_000)] {
            let (mut raw_rates, mut one, mut two) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rounds {
                raw_rates.push(measure(size, count, move |f, n| {
                    smol::block_on(raw(f, config, n))
                }));
                one.push(measure(size, count, move |f, n| one_thread(f, config, n)));
                two.push(measure(size, count, move |f, n| two_threads(f, config, n)));
            }
            let (raw_rate, one, two) = (median(raw_rates), median(one), median(two));
            println!(
                "throughput/{size}B, {name}: raw async-tungstenite {raw_rate:.0} msg/s; \
                 bind-smol one thread {one:.0} msg/s, ratio {:.3}; two threads {two:.0} msg/s, \
                 ratio {:.3}; median of {rounds}, {count} messages each",
                one / raw_rate,
                two / raw_rate,
            );
            result(
                &format!("smol.throughput.{size}.ratio_{label}"),
                format!("{:.3}", one / raw_rate),
            );
            result(
                &format!("smol.throughput.{size}.raw_{label}"),
                format!("{raw_rate:.0}"),
            );
            result(
                &format!("smol.throughput.{size}.bind_{label}"),
                format!("{one:.0}"),
            );
            result(
                &format!("smol.throughput.{size}.ratio_{label}_two_threads"),
                format!("{:.3}", two / raw_rate),
            );
        }
    }
}
