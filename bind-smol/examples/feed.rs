//! `feed`: follow a JSON-RPC WebSocket feed from the command line, reconnecting as needed:
//! bind-mio's `wsfeed`, written the async way.
//!
//! ```text
//! cargo run -p bind-smol --example feed -- [OPTIONS] URL
//! ```
//!
//! The options, the commands on standard input (`sub NAME`, `unsub NAME`, `send TEXT`,
//! `reconnect`, `close`), the JSON lines on standard output (each with `"event"` and
//! `"t_ms"`, one for every event of the session, and a final `stats` object), what `close` and
//! `--exit-after` wait for, and the exit status (0 after `--exit-after` or `close`, 2 when the
//! session stopped on a fatal error or gave up, 1 on bad usage) are `wsfeed`'s: `--help`
//! lists them. The session runs as a task on smol's executor; this program awaits its event
//! stream, feeds standard input to its handle (`--command-queue` is the handle's command
//! queue, waited on when full), and reads the final stats from the session the task hands
//! back. `--metrics ADDR` serves the session's metrics, labelled `session="feed"`.

use std::time::Instant;

use bind_smol::{Event, HandleError, SessionHandle};
use bind_support::{feed_cli, feed_lines, metrics_http, stdin_lines};
use futures_lite::StreamExt;

/// Reads commands from standard input (on smol's blocking pool) and passes them to the
/// session, until the end of the input or of the session. `command` waits while the command
/// queue is full. A line that is not UTF-8, not a command or too long is reported and skipped;
/// an unreadable standard input ends the reader, reported.
async fn read_commands(handle: SessionHandle) {
    // One line at a time crosses from the blocking pool (the default would let 8192 wait), so
    // memory stays within a few lines of the reader's bound.
    let lines = stdin_lines::BoundedLines::new(std::io::BufReader::new(std::io::stdin()));
    let mut lines = smol::Unblock::with_capacity(1, lines);
    for number in 1u64.. {
        let line = match lines.next().await {
            None => return,
            Some(Ok(line)) => line,
            Some(Err(e)) => {
                eprintln!("feed: cannot read standard input: {e}; commands end here");
                return;
            }
        };
        match feed_cli::command_of(number, &line) {
            // `command` waits while the queue is full, so only errors waiting cannot cure come
            // back: the end of the session, or one for this command alone (a frame larger than
            // the connection can ever write), refused with its reason.
            Ok(Some(command)) => match handle.command(command).await {
                Ok(()) => {}
                Err(HandleError::Gone) => return,
                Err(other) => eprintln!("feed: command refused: {other}"),
            },
            Ok(None) => {}
            Err(e) => eprintln!("feed: {e}"),
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
            eprintln!("{}", feed_cli::usage("feed", feed_lines::EVENT_LINES));
            std::process::exit(1);
        }
    };
    // Before the session is added: its metrics are registered with the recorder installed then.
    if let Some(addr) = options.metrics {
        match metrics_http::start(addr) {
            Ok(url) => eprintln!("feed: metrics at {url}"),
            Err(e) => {
                eprintln!("feed: {e}");
                std::process::exit(1);
            }
        }
    }
    let (session, endpoint) = match feed_cli::setup(&options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("feed: {e}");
            std::process::exit(1);
        }
    };
    let mut binding = bind_smol::Options::default().name("feed");
    if let Some(n) = options.command_queue {
        binding = binding.mailbox_capacity(n);
    }
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let status = smol::block_on(async {
        let (handle, mut events, task) = bind_smol::connect(session, endpoint, binding);
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
            feed_lines::emit(&mut out, started, feed_lines::line_for(&event));
            if let Event::Stopped { reason } = &event {
                status = feed_lines::exit_status(reason);
            }
        }
        let session = task.await;
        feed_lines::emit(&mut out, started, feed_lines::stats_line(session.stats()));
        status
    });
    std::process::exit(status);
}
