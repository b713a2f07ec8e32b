//! `feed`: follow a JSON-RPC WebSocket feed from the command line, reconnecting as needed:
//! bind-mio's `wsfeed`, written the async way.
//!
//! ```text
//! cargo run -p bind-smol --example feed -- [OPTIONS] URL
//! ```
//!
//! The options, the commands on standard input (`sub NAME`, `unsub NAME`, `send TEXT`,
//! `reconnect`, `close`), the JSON lines on standard output (each with `"event"` and
//! `"t_ms"`, and a final `stats` object) and the exit status (0 after `--exit-after` or
//! `close`, 2 when the session stopped on a fatal error or gave up, 1 on bad usage) are
//! `wsfeed`'s: `--help` lists them. The session runs as a task on smol's executor; this
//! program awaits its event stream, feeds standard input to its handle, and reads the final
//! stats from the session the task hands back.

use std::time::Instant;

use bind_smol::{Event, SessionHandle};
use futures_lite::{AsyncBufReadExt, StreamExt};

#[path = "../../bind-mio/examples/common/feed_cli.rs"]
mod feed_cli;

/// Reads commands from standard input (on smol's blocking pool) and passes them to the session.
async fn read_commands(handle: SessionHandle) {
    let stdin = futures_lite::io::BufReader::new(smol::Unblock::new(std::io::stdin()));
    let mut lines = stdin.lines();
    while let Some(Ok(line)) = lines.next().await {
        let command = match feed_cli::parse_command(&line) {
            Ok(Some(command)) => command,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("feed: {e}");
                continue;
            }
        };
        if let Err(e) = handle.command(command).await {
            eprintln!("feed: {e}");
            return;
        }
    }
}

fn main() {
    let options = match feed_cli::parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("feed: {e}");
            }
            eprintln!("{}", feed_cli::usage("feed"));
            std::process::exit(1);
        }
    };
    let (session, endpoint) = match feed_cli::setup(&options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("feed: {e}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let status = smol::block_on(async {
        let (handle, mut events, task) =
            bind_smol::connect(session, endpoint, bind_smol::Options::default());
        let task = smol::spawn(task);
        smol::spawn(read_commands(handle.clone())).detach();
        if let Some(after) = options.exit_after {
            let handle = handle.clone();
            smol::spawn(async move {
                async_io::Timer::after(after).await;
                let _ = handle.command(reconnect_core::Command::Close).await;
            })
            .detach();
        }
        // The stream ends after `Stopped`; a stream that ended without one is a failure.
        let mut status = 1;
        while let Some(event) = events.next().await {
            match event {
                Event::Session(event) => {
                    if let Some(line) = feed_cli::line_for(&event) {
                        feed_cli::emit(&mut out, started, line);
                    }
                    if let reconnect_core::Event::Stopped { reason } = &event {
                        status = feed_cli::exit_status(reason);
                    }
                }
                Event::Refused(refused) => eprintln!("feed: {refused}"),
                other => eprintln!("feed: {other:?}"),
            }
        }
        let session = task.await;
        feed_cli::emit(&mut out, started, feed_cli::stats_line(session.stats()));
        status
    });
    std::process::exit(status);
}
