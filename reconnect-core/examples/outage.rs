//! One hour of a Deribit-style JSON-RPC feed through a scripted outage, simulated in a
//! fraction of a second: the session rides through a reset, a silent stall, a refused period,
//! a transient auth rejection, a refused channel, a skipped sequence number, a 429 with
//! Retry-After and a server restart, then closes cleanly.
//!
//! Run with `cargo run -p reconnect-core --example outage`. It prints the timeline (one line
//! per lifecycle event, with its virtual time, attempt and delay) and a summary.
//!
//! With `-- --svg FILE` it draws a picture instead: five sessions through a shorter outage story
//! (one lane each: its state over time, its attempts and the backoff delays it drew), and a
//! fleet of 500 sessions whose server restarts, as dials per 100 ms with and without a shared
//! `ConnectBudget`. The picture is the same bytes on every run.

use std::time::{Duration, Instant};

#[path = "outage/draw.rs"]
mod draw;
#[path = "outage/herd.rs"]
mod herd;
#[path = "outage/lanes.rs"]
mod lanes;
#[cfg(test)]
#[path = "outage/tests.rs"]
mod tests;

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::sim::{
    AuthRejection, Fault, JsonRpcServer, JsonRpcServerConfig, Network, Script, Simulator,
};
use reconnect_core::{Config, ConnectBudget, Session};

const CHANNELS: [&str; 3] = [
    "book.BTC-PERPETUAL.100ms",
    "trades.BTC-PERPETUAL.raw",
    "ticker.ETH-PERPETUAL.100ms",
];

/// What goes wrong, and when (virtual time from the start).
fn script() -> Script {
    Script::new()
        // A plain TCP reset.
        .at(Duration::from_secs(5 * 60), Fault::Reset)
        // A half-open connection: nothing arrives, nothing errors. Only ping/pong notices.
        .at(Duration::from_secs(10 * 60), Fault::Stall)
        // The exchange refuses connections for 30 s, starting with a reset.
        .at(
            Duration::from_secs(15 * 60),
            Fault::RefuseFor(Duration::from_secs(30)),
        )
        .at(Duration::from_secs(15 * 60), Fault::Reset)
        // The next auth is refused as "too many requests", after an internal-error close.
        .at(
            Duration::from_secs(20 * 60),
            Fault::reject_auth(AuthRejection::Transient),
        )
        .at(
            Duration::from_secs(20 * 60),
            Fault::close(1011, "internal error"),
        )
        // After the next reset, the ETH ticker is refused on resubscribe.
        .at(Duration::from_secs(25 * 60), Fault::nack(CHANNELS[2]))
        .at(Duration::from_secs(25 * 60), Fault::Reset)
        // Three trades go missing: the session reports the gap.
        .at(
            Duration::from_secs(30 * 60),
            Fault::skip_sequence(CHANNELS[1], 3),
        )
        // Rate limited at the door: 429 with Retry-After: 30.
        .at(
            Duration::from_secs(35 * 60),
            Fault::RejectHandshake {
                status: 429,
                retry_after: Some(Duration::from_secs(30)),
            },
        )
        .at(Duration::from_secs(35 * 60), Fault::Reset)
        // A deploy: every connection closed with 1012, 15 s down.
        .at(
            Duration::from_secs(45 * 60),
            Fault::Restart {
                downtime: Duration::from_secs(15),
            },
        )
}

/// The `--svg` picture, as SVG text. `base` is virtual time zero; nothing in the picture
/// depends on it.
fn picture(base: Instant) -> Result<String, String> {
    let lanes = lanes::lanes(base);
    let without = herd::run(base, None);
    let with = herd::run(base, Some(ConnectBudget::new(herd::RATE, herd::BURST)));
    draw::render(&lanes, &without, &with)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => print_timeline(),
        [flag, file] if flag == "--svg" => {
            // The only clock reading: from here on, time is virtual.
            let svg = picture(Instant::now()).unwrap_or_else(|e| {
                eprintln!("drawing failed: {e}");
                std::process::exit(1);
            });
            if let Err(e) = std::fs::write(file, svg) {
                eprintln!("cannot write {file}: {e}");
                std::process::exit(1);
            }
            println!("wrote {file}");
        }
        _ => {
            eprintln!("usage: outage [--svg FILE]");
            std::process::exit(2);
        }
    }
}

/// The plain run: one hour of the feed, printed as a timeline and a summary.
fn print_timeline() {
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default()
            .server_heartbeat(Some(Duration::from_secs(10)))
            .seq_pointer(Some(SeqPointer::parse("/seq").expect("a valid pointer"))),
    );
    // Pings after 15 s of silence, 10 s to answer (the defaults).
    let config = Config::for_client("outage-example");
    let mut session = Session::new(config, adapter).expect("a valid config");
    session.set_credentials(JsonRpcAdapter::client_credentials(
        "example-client",
        "example-secret",
    ));

    // The only clock reading: from here on, time is virtual.
    let base = Instant::now();
    for channel in CHANNELS {
        session
            .subscribe(base, channel)
            .expect("room for three topics");
    }
    let server = JsonRpcServer::with_config(
        JsonRpcServerConfig::default().data_interval(Duration::from_secs(1)),
    );
    let network = Network::new()
        .latency(Duration::from_millis(20))
        .jitter(Duration::from_millis(30))
        .seed(1);
    let mut sim = Simulator::new(base, session, server)
        .network(network)
        .script(script());

    sim.start().expect("a fresh session starts");
    sim.run_until(Duration::from_secs(60 * 60));
    sim.command("close", |session, now| session.close(now))
        .expect("a running session closes");
    sim.run_for(Duration::from_secs(10));

    println!(
        "One hour of a JSON-RPC feed ({} channels, one message per channel per second) through \
         a scripted outage.\n",
        CHANNELS.len()
    );
    // Each "reconnect attempt N in D" line already says when the next attempt starts, so the
    // "connect" lines that follow them are left out to keep the timeline short.
    let mut previous_was_reconnect = false;
    for line in sim.transcript().timeline() {
        let redundant = previous_was_reconnect && line.text.starts_with("connect ");
        previous_was_reconnect = line.text.starts_with("reconnect ");
        if !redundant {
            println!("{line}");
        }
    }
    println!("\n{}", sim.summary());
}
