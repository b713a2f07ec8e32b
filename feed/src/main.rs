//! `feed`: the feed tool, on bind-mio unless `--runtime smol` (see the crate's docs).

fn main() {
    reconnect_feed::main("feed", reconnect_feed::Runtime::Mio)
}
