//! The bind-smol quick start of README.md: the lines between the `ANCHOR` markers are the
//! README's code block, word for word (`tests/readme.rs` checks it and runs this program
//! against the test kit's server on 127.0.0.1).
//!
//! `cargo run -p bind-smol --example smol_quickstart [-- URL]`
// ANCHOR: readme
use std::time::{Duration, Instant};

use bind_smol::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1);
    let url = url.as_deref().unwrap_or("wss://test.deribit.com/ws/api/v2");

    // The policy (backoff, timeouts, liveness) and the protocol adapter. Each replica of a
    // fleet gets its own number, so that replicas draw their backoff delays apart.
    let mut config = Config::for_replica("collector-7", 1);
    config.liveness.ping_interval = Some(Duration::from_secs(5));
    let mut session = Session::new(config, JsonRpcAdapter::new(JsonRpcConfig::default()))?;
    session.subscribe(Instant::now(), "trades.BTC-PERPETUAL.100ms")?;
    let endpoint = Endpoint::new(url)?; // ws:// or wss:// (web PKI roots by default)

    smol::block_on(async {
        let (handle, mut events, task) = bind_smol::connect(session, endpoint, Options::default());
        let task = smol::spawn(task); // or any executor: the task needs only async-io
        handle.subscribe("ticker.BTC-PERPETUAL.100ms").await?; // Clone + Send + Sync

        // Five messages or 30 seconds, then a clean close.
        let mut messages = 0;
        let reading = async {
            while let Some(event) = events.next().await {
                if let Some(text) = event.text() {
                    messages += 1;
                    println!("{}: {text}", event.topic().map_or("-", Topic::as_str));
                    if messages == 5 {
                        break;
                    }
                } else {
                    eprintln!("{event:?}"); // lifecycle: connecting, live, disconnected, ...
                }
            }
        };
        let give_up = async {
            smol::Timer::after(Duration::from_secs(30)).await;
        };
        smol::future::or(reading, give_up).await;
        drop(events); // read no more: the rest is discarded, so `closed` cannot wait on it
        handle.close().await.ok(); // Err(Gone) if it had stopped already
        handle.closed().await; // resolves once the session stopped and its socket is gone
        let session = task.await; // the task hands the session back: stats, a snapshot
        println!("{messages} messages, {} attempts", session.stats().attempts);
        Ok(())
    })
}
// ANCHOR_END: readme
