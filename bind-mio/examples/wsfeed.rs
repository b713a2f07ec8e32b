//! `wsfeed`: follow a JSON-RPC WebSocket feed from the command line, reconnecting as needed.
//!
//! ```text
//! cargo run -p bind-mio --example wsfeed -- [OPTIONS] URL
//! ```
//!
//! Options: `--channel NAME` (repeatable), `--auth JSON` (params of `public/auth`, sent after
//! every connect), `--heartbeat SECS` (`public/set_heartbeat` as setup), `--ping-interval MS`,
//! `--pong-timeout MS`, `--idle-timeout MS`, `--connect-timeout MS`, `--backoff-initial MS`,
//! `--backoff-max MS`, `--jitter none|full|equal|decorrelated`, `--min-uptime MS`,
//! `--max-attempts N`, `--seed N`, `--seq-pointer POINTER` (JSON pointer into a notification's
//! `data` to its sequence number), `--ca FILE` (an extra root certificate, PEM), `--exit-after
//! MS` (close cleanly after MS and exit).
//!
//! Commands on standard input, one per line: `sub NAME`, `unsub NAME`, `send TEXT`,
//! `reconnect`, `close`.
//!
//! Output: one JSON object per line on standard output, each with `"event"` and `"t_ms"`
//! (milliseconds since start), and a final `stats` object. Exit status 0 after `--exit-after` or
//! `close`, 2 when the session stopped on a fatal error or gave up, 1 on bad usage. Diagnostics
//! go to standard error.

use std::io::BufRead;
use std::time::{Duration, Instant};

use bind_mio::{Driver, DriverConfig, Event, SessionHandle};

#[path = "common/feed_cli.rs"]
mod feed_cli;

/// Reads commands from standard input and passes them to the session.
fn read_commands(handle: SessionHandle) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { return };
        let command = match feed_cli::parse_command(&line) {
            Ok(Some(command)) => command,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("wsfeed: {e}");
                continue;
            }
        };
        if let Err(e) = handle.command(command) {
            eprintln!("wsfeed: {e}");
            return;
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
            eprintln!("{}", feed_cli::usage("wsfeed"));
            std::process::exit(1);
        }
    };
    let exit_after = options.exit_after;
    let (session, endpoint) = match feed_cli::setup(&options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wsfeed: {e}");
            std::process::exit(1);
        }
    };
    let mut driver = match Driver::new(DriverConfig::default()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("wsfeed: cannot create the event loop: {e}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let id = driver.add_session(session, endpoint);
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
        let wait = match exit_after {
            Some(after) if !closing => after
                .saturating_sub(started.elapsed())
                .min(Duration::from_secs(1)),
            _ => Duration::from_secs(1),
        };
        if let Err(e) = driver.run_once(Some(wait)) {
            eprintln!("wsfeed: the event loop failed: {e}");
            break 'run 1;
        }
        while let Some((_, event)) = driver.poll_event() {
            match event {
                Event::Session(event) => {
                    if let Some(line) = feed_cli::line_for(&event) {
                        feed_cli::emit(&mut out, started, line);
                    }
                    if let reconnect_core::Event::Stopped { reason } = event {
                        break 'run feed_cli::exit_status(&reason);
                    }
                }
                Event::Refused(refused) => eprintln!("wsfeed: {refused}"),
                _ => {}
            }
        }
    };
    if let Some(session) = driver.session(id) {
        feed_cli::emit(&mut out, started, feed_cli::stats_line(session.stats()));
    }
    std::process::exit(status);
}
