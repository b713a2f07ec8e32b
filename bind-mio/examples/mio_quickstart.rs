//! The bind-mio quick start of README.md: the lines between the `ANCHOR` markers are the
//! README's code block, word for word (`tests/readme.rs` checks it and runs this program
//! against the test kit's server on 127.0.0.1).
//!
//! `cargo run -p bind-mio --example mio_quickstart [-- URL]`
// ANCHOR: readme
use std::time::{Duration, Instant};

use bind_mio::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1);
    let url = url.as_deref().unwrap_or("wss://test.deribit.com/ws/api/v2");

    // The policy (backoff, timeouts, liveness) and the protocol adapter. Each replica of a
    // fleet gets its own number, so that replicas draw their backoff delays apart.
    let mut config = Config::for_replica("collector-7", 1);
    config.liveness.ping_interval = Some(Duration::from_secs(5));
    let mut session = Session::new(config, JsonRpcAdapter::new(JsonRpcConfig::default()))?;
    session.subscribe(Instant::now(), "trades.BTC-PERPETUAL.100ms")?;

    // One driver runs many sessions on this thread; ws:// or wss:// (web PKI roots by default).
    let mut driver = Driver::new(DriverConfig::default())?;
    let id = driver.add_session(session, Endpoint::new(url)?);
    // A handle (Clone + Send) commands the session from any thread.
    let handle = driver.handle(id).expect("the session was just added");

    // Five messages or 30 seconds, then a clean close: the loop keeps running until `Stopped`.
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut messages = 0;
    let mut closing = false;
    loop {
        driver.run_once(Some(Duration::from_secs(1)))?;
        while let Some((_, event)) = driver.poll_event() {
            if let Some(text) = event.text() {
                messages += 1;
                println!("{}: {text}", event.topic().map_or("-", Topic::as_str));
            } else if let Some(reason) = event.stop_reason() {
                println!("stopped: {reason:?}");
                let session = driver.remove_session(id).expect("still in the driver");
                println!("{messages} messages, {} attempts", session.stats().attempts);
                return Ok(());
            } else {
                eprintln!("{event:?}"); // lifecycle: connecting, live, disconnected, ...
            }
        }
        if !closing && (messages >= 5 || Instant::now() >= give_up) {
            handle.close()?; // a close frame, then `Stopped` once the server answers
            closing = true;
        }
    }
}
// ANCHOR_END: readme
