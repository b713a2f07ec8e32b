//! `wsfeed`: the feed tool (crate `reconnect-feed`) on this binding, under the name scripts
//! already run: `cargo run -p bind-mio --example wsfeed -- [OPTIONS] URL`. `--help` lists the
//! options, the stdin commands and the JSON lines.

fn main() {
    reconnect_feed::main("wsfeed", reconnect_feed::Runtime::Mio)
}
