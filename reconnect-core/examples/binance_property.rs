//! Property-test the Binance-style adapter: every generated configuration, fault script and
//! command sequence, with the invariant checker attached, in a few seconds of virtual hours.
//!
//! `cargo run -p reconnect-core --example binance_property --features proptest`
//!
//! The user code is the function `property` below; `binance/adapter.rs` is the adapter under
//! test and `binance/server.rs` a fake of the exchange for the simulator.

#[path = "binance/adapter.rs"]
mod adapter;
#[path = "binance/server.rs"]
mod server;

use std::time::Instant;

use reconnect_core::sim::proptest::{Failure, Kit};

use adapter::Binance;
use server::BinanceServer;

/// Runs `cases` generated cases against the adapter; a failure comes back shrunk, with the
/// step, the invariant and the evidence.
fn property(cases: u32) -> Result<(), Failure> {
    Kit::new(
        Instant::now(),
        ["btcusdt@trade", "ethusdt@trade", "btcusdt@depth@100ms"],
    )
    .cases(cases)
    // A failing case is written here and replayed first on every later run: check it in.
    .regressions(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/binance_property.proptest-regressions"
    ))
    .check(|| Binance, BinanceServer::new)
}

fn main() {
    let cases = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    match property(cases) {
        Ok(()) => println!("{cases} cases: every invariant held"),
        Err(failure) => {
            eprintln!("{failure}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_binance_adapter_keeps_every_invariant() {
        if let Err(failure) = super::property(32) {
            panic!("{failure}");
        }
    }
}
