//! Detection latency of a silent stall: the server stops reading and writing without closing
//! (the kit's `SilentStall`), and the session must declare the connection dead on its own
//! liveness timers. Measured from the injection to the `Disconnected` event, against the
//! configured ping interval + pong timeout (the bound the design promises: silence for one
//! ping interval, then no answer within the pong timeout).
//!
//! `cargo bench -p bind-mio --bench stall`. A plain `harness = false` binary that does nothing
//! without cargo's `--bench` flag.

use std::time::{Duration, Instant};

use bind_mio::{Driver, DriverConfig, Endpoint};
use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{Config, Event as CoreEvent, Session};
use reconnect_testkit::server::{Fault, ServerConfig, TestServer};

const REPEATS: usize = 5;

/// Runs the driver until `pred` holds for an event; returns when it was seen.
fn until(
    driver: &mut Driver<JsonRpcAdapter>,
    what: &str,
    mut pred: impl FnMut(&CoreEvent) -> bool,
) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no {what} within 30 s");
        driver.run_once(Some(Duration::from_millis(20))).unwrap();
        while let Some((_, event)) = driver.poll_event() {
            if pred(&event) {
                return Instant::now();
            }
        }
    }
}

fn measure(ping: Duration, pong: Duration) -> Vec<Duration> {
    // Data every 20 ms: the connection is busy until the stall, as a real feed is.
    let server =
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(20)))
            .unwrap();
    let mut driver = Driver::new(DriverConfig::default()).unwrap();
    let mut config = Config::new(3);
    config.backoff.initial = Duration::from_millis(20);
    config.liveness.ping_interval = Some(ping);
    config.liveness.pong_timeout = pong;
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default().seq_pointer(Some(SeqPointer::parse("/seq").unwrap())),
    );
    let mut session = Session::new(config, adapter).unwrap();
    session.subscribe(Instant::now(), "a").unwrap();
    driver.add_session(session, Endpoint::new(&server.url("stall")).unwrap());
    let mut latencies = Vec::new();
    for _ in 0..REPEATS {
        until(&mut driver, "live", |e| matches!(e, CoreEvent::Live { .. }));
        until(&mut driver, "a message", |e| {
            matches!(e, CoreEvent::Message { .. })
        });
        let injected = Instant::now();
        server.inject(Fault::SilentStall);
        let detected = until(&mut driver, "disconnected", |e| {
            matches!(e, CoreEvent::Disconnected { .. })
        });
        latencies.push(detected - injected);
    }
    latencies
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("stall: run with `cargo bench -p bind-mio --bench stall`");
        return;
    }
    for (ping, pong) in [
        (Duration::from_millis(200), Duration::from_millis(300)),
        (Duration::from_millis(1000), Duration::from_millis(500)),
    ] {
        let mut latencies = measure(ping, pong);
        latencies.sort();
        let bound = ping + pong;
        let median = latencies[latencies.len() / 2];
        let max = *latencies.last().unwrap();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "stall/ping {ping:?} + pong {pong:?} = {bound:?}: detected in min {:.1} ms, median \
             {:.1} ms, max {:.1} ms ({REPEATS} stalls); max - bound = {:+.1} ms",
            ms(latencies[0]),
            ms(median),
            ms(max),
            ms(max) - ms(bound),
        );
        reconnect_testkit::bench::result(
            &format!("mio.stall.{}ms.max_over_bound_ms", bound.as_millis()),
            format!("{:.1}", ms(max) - ms(bound)),
        );
    }
}
