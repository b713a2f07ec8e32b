//! `feed`: the feed tool (crate `reconnect-feed`) on this binding, under the name scripts
//! already run: `cargo run -p bind-smol --example feed -- [OPTIONS] URL`. `--help` lists the
//! options, the stdin commands and the JSON lines.

fn main() {
    reconnect_feed::main("feed", reconnect_feed::Runtime::Smol)
}
