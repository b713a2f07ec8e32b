//! `wsfeed`: follow a JSON-RPC WebSocket feed from the command line, reconnecting as needed.
//!
//! ```text
//! cargo run -p bind-mio --example wsfeed -- [OPTIONS] URL
//! ```
//!
//! Options: `--channel NAME` (repeatable), `--auth JSON` (params of `public/auth`, sent after
//! every connect), `--heartbeat SECS` (`public/set_heartbeat` as setup), `--ping-interval MS`,
//! `--pong-timeout MS`, `--idle-timeout MS`, `--connect-timeout MS`, `--close-timeout MS`,
//! `--backoff-initial MS`, `--backoff-max MS`, `--jitter none|full|equal|decorrelated`,
//! `--min-uptime MS`, `--max-attempts N`, `--circuit-threshold N`, `--circuit-cooldown MS`,
//! `--seed N`, `--seq-pointer POINTER` (JSON pointer into a notification's `data` to its
//! sequence number), `--ca FILE` (an extra root certificate, PEM), `--command-queue N` (the
//! driver's mailbox), `--exit-after MS` (close cleanly after MS and exit), `--metrics ADDR`
//! (serve the session's metrics, labelled `session="wsfeed"`, in the Prometheus text format at
//! `http://ADDR/metrics`; the URL is printed on standard error). Every number is checked: a
//! bad one is a usage error.
//!
//! Commands on standard input, one per line: `sub NAME`, `unsub NAME`, `send TEXT`,
//! `reconnect`, `close`. The reader never gives up on a line: a full mailbox is waited out, a
//! line that is not UTF-8, not a command or longer than 64 KiB is reported on standard error
//! and skipped.
//!
//! Output: one JSON object per line on standard output, each with `"event"` and `"t_ms"`
//! (milliseconds since start), printed as the event happens, and a final `stats` object; every
//! event of the session has its line (`--help` lists them). `close` and `--exit-after` wait
//! for the server's close frame at most the close timeout, then release the socket. Exit
//! status 0 after `--exit-after` or `close`, 2 when the session stopped on a fatal error or
//! gave up, 1 on bad usage. Diagnostics go to standard error.

use std::time::{Duration, Instant};

use bind_mio::{Driver, DriverConfig, Event, HandleError, SessionHandle};
use bind_support::{feed_cli, feed_lines, metrics_http, stdin_lines};
use reconnect_core::Command;

/// Passes `command` to the session, waiting while the driver's mailbox is full. Returns false
/// once the session is gone (nothing will take commands any more).
///
/// The mailbox has no way to wait for room, so a full one is retried after a pause that
/// doubles up to 50 ms: the loop catches up without this thread spinning. Each try sends a
/// clone, so a `Full` that hands the command (or its frame) back and one that does not work
/// the same; `Full { .. }` matches either shape.
fn submit(handle: &SessionHandle, command: Command) -> bool {
    let mut pause = Duration::from_millis(1);
    loop {
        match handle.command(command.clone()) {
            Ok(()) => return true,
            Err(HandleError::Gone) => return false,
            // The loop has not read the mailbox yet: room comes. (The braces are deliberate:
            // they match `Full` whether or not it carries something back.)
            #[allow(clippy::unneeded_struct_pattern)]
            Err(HandleError::Full { .. }) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            // Waiting cannot cure these (a frame larger than the connection can ever write):
            // the command is refused, with its reason, and the reader goes on.
            Err(other) => {
                eprintln!("wsfeed: command refused: {other}");
                return true;
            }
        }
    }
}

/// Reads commands from standard input and passes them to the session, until the end of the
/// input or the end of the session. A line that is not UTF-8, not a command or too long is
/// reported and skipped; an unreadable standard input ends the reader, reported.
fn read_commands(handle: SessionHandle) {
    let mut lines = stdin_lines::BoundedLines::new(std::io::stdin().lock());
    for number in 1u64.. {
        let line = match lines.next() {
            None => return,
            Some(Ok(line)) => line,
            Some(Err(e)) => {
                eprintln!("wsfeed: cannot read standard input: {e}; commands end here");
                return;
            }
        };
        match feed_cli::command_of(number, &line) {
            Ok(Some(command)) => {
                if !submit(&handle, command) {
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => eprintln!("wsfeed: {e}"),
        }
    }
}

fn main() {
    let options = match feed_cli::parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("wsfeed: {e}");
            }
            eprintln!("{}", feed_cli::usage("wsfeed", feed_lines::EVENT_LINES));
            std::process::exit(1);
        }
    };
    // Before the session is added: its metrics are registered with the recorder installed then.
    if let Some(addr) = options.metrics {
        match metrics_http::start(addr) {
            Ok(url) => eprintln!("wsfeed: metrics at {url}"),
            Err(e) => {
                eprintln!("wsfeed: {e}");
                std::process::exit(1);
            }
        }
    }
    let exit_after = options.exit_after;
    let (session, endpoint) = match feed_cli::setup(&options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wsfeed: {e}");
            std::process::exit(1);
        }
    };
    let mut config = DriverConfig::default();
    if let Some(n) = options.command_queue {
        config = config.mailbox_capacity(n);
    }
    let mut driver = match Driver::new(config) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("wsfeed: cannot create the event loop: {e}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let id = driver.add_named_session(session, endpoint, "wsfeed");
    let handle = driver.handle(id).expect("just added");
    std::thread::Builder::new()
        .name("wsfeed-stdin".into())
        .spawn(move || read_commands(handle))
        .expect("a thread for standard input");

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut closing = false;
    let status = 'run: loop {
        if let Some(after) = exit_after {
            if !closing && started.elapsed() >= after {
                closing = true;
                let _ = driver.with_session(id, |s, now| s.close(now));
            }
        }
        // `run_once` does not sleep while events wait (the first `Connecting`, queued by
        // `add_session`; a `Stopped` queued by the close above), and the session's own
        // deadlines bound its wait: only --exit-after adds one.
        let wait = match exit_after {
            Some(after) if !closing => Some(after.saturating_sub(started.elapsed())),
            _ => None,
        };
        if let Err(e) = driver.run_once(wait) {
            eprintln!("wsfeed: the event loop failed: {e}");
            break 'run 1;
        }
        while let Some((_, event)) = driver.poll_event() {
            feed_lines::emit(&mut out, started, feed_lines::line_for(&event));
            if let Event::Stopped { reason } = &event {
                break 'run feed_lines::exit_status(reason);
            }
        }
    };
    if let Some(session) = driver.session(id) {
        feed_lines::emit(&mut out, started, feed_lines::stats_line(session.stats()));
    }
    std::process::exit(status);
}
