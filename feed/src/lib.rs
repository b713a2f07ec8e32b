//! `feed`: follow a JSON-RPC WebSocket feed from the command line, reconnecting as needed, on
//! either binding. One body for both runtimes (as quinn's `perf` tool is one binary over its
//! runtimes): the command line, the stdin commands, the JSON lines, the answers to credential
//! requests and the exit status are written once, here and in `bind_support::{feed_cli,
//! feed_lines}`; only the loop that drives the session is the runtime's ([`Runtime`]).
//!
//! ```text
//! cargo run -p reconnect-feed -- [--runtime mio|smol] [OPTIONS] URL
//! cargo run -p bind-mio --example wsfeed -- [OPTIONS] URL     (the same tool, on mio)
//! cargo run -p bind-smol --example feed -- [OPTIONS] URL      (the same tool, on smol)
//! ```
//!
//! `--help` prints every option, the stdin commands and every output line, on standard output
//! with status 0. A usage error prints one line and a pointer to `--help` on standard error,
//! with status 1. Output: one JSON object per line on standard output, each with `"event"`
//! and `"t_ms"` (milliseconds since start), printed as the event happens, and a final `stats`
//! object. Exit status 0 after `--exit-after` or `close`, 2 when the session stopped on a fatal
//! error or gave up, or the tool gave up (its credentials were refused twice in a row).
//! Diagnostics go to standard error.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod answers;
#[cfg(feature = "mio")]
mod mio_runtime;
mod output;
#[cfg(feature = "smol")]
mod smol_runtime;
mod stdin;

use std::time::Instant;

use bind_support::feed_cli;
pub use bind_support::feed_cli::Runtime;
use bind_support::{feed_lines, metrics_http};
use reconnect_core::{Command, Event};
use serde_json::json;

use answers::{Answer, CredentialAnswers};
use output::Out;

/// Runs the tool named `tool` (its name in messages and its session's name) with the
/// process's arguments, on `default` unless `--runtime` names the other; exits the process.
pub fn main(tool: &'static str, default: Runtime) -> ! {
    let options = match feed_cli::parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(help) if help.is_empty() => {
            println!(
                "{}",
                feed_cli::usage(tool, default, feed_lines::EVENT_LINES)
            );
            std::process::exit(0);
        }
        Err(e) => usage_error(tool, &e),
    };
    let runtime = options.runtime.unwrap_or(default);
    if !compiled_in(runtime) {
        usage_error(
            tool,
            &format!(
                "this build of {tool} has no {} runtime (`cargo run -p reconnect-feed` has both)",
                runtime.name()
            ),
        );
    }
    // Before the session is added: its metrics are registered with the recorder installed then.
    if let Some(addr) = options.metrics {
        match metrics_http::start(addr) {
            Ok(url) => eprintln!("{tool}: metrics at {url}"),
            Err(e) => fail(tool, &e),
        }
    }
    let (session, endpoint) = feed_cli::setup(&options).unwrap_or_else(|e| fail(tool, &e));
    let credentials = options.credentials().unwrap_or_else(|e| fail(tool, &e));
    let out = Out::new(Instant::now());
    let run = Run {
        tool,
        answers: CredentialAnswers::new(credentials),
        giving_up: false,
    };
    let status = match runtime {
        #[cfg(feature = "mio")]
        Runtime::Mio => mio_runtime::run(tool, &options, session, endpoint, &out, run),
        #[cfg(feature = "smol")]
        Runtime::Smol => smol_runtime::run(tool, &options, session, endpoint, &out, run),
        #[allow(unreachable_patterns)] // both runtimes compiled in
        _ => unreachable!("checked by compiled_in"),
    };
    std::process::exit(status)
}

/// Whether this build can run `runtime`.
fn compiled_in(runtime: Runtime) -> bool {
    match runtime {
        Runtime::Mio => cfg!(feature = "mio"),
        Runtime::Smol => cfg!(feature = "smol"),
    }
}

/// One line saying what is wrong and where the whole usage is; status 1.
fn usage_error(tool: &str, error: &str) -> ! {
    eprintln!("{tool}: {error}");
    eprintln!("try '{tool} --help' for the options");
    std::process::exit(1)
}

/// A failure before the session runs (an endpoint that could never connect, a port taken).
fn fail(tool: &str, error: &str) -> ! {
    eprintln!("{tool}: {error}");
    std::process::exit(1)
}

/// What the tool does with each event, whatever the runtime: print its line, answer a request
/// for credentials, and turn the end into an exit status.
pub(crate) struct Run {
    tool: &'static str,
    answers: CredentialAnswers,
    /// The tool closed the session itself: its end is a failure whatever the stop reason.
    giving_up: bool,
}

impl Run {
    /// Prints `event` and returns the command the tool sends the session about it, if any.
    pub(crate) fn on_event(&mut self, event: &Event, out: &Out) -> Option<Command> {
        out.emit(feed_lines::line_for(event));
        match self.answers.on_event(event)? {
            Answer::Provide(credentials) => Some(Command::ProvideCredentials(credentials)),
            Answer::GiveUp(_) if self.giving_up => None,
            Answer::GiveUp(reason) => {
                self.giving_up = true;
                eprintln!("{}: {reason}", self.tool);
                out.emit(json!({"event": "giving_up", "reason": reason}));
                Some(Command::Close)
            }
        }
    }

    /// The exit status, when `event` is the session's end.
    pub(crate) fn status(&self, event: &Event) -> Option<i32> {
        let Event::Stopped { reason } = event else {
            return None;
        };
        Some(if self.giving_up {
            2
        } else {
            feed_lines::exit_status(reason)
        })
    }
}
