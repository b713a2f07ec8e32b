//! The feed followers as a user runs them (bind-mio's `wsfeed`, bind-smol's `feed`: the same
//! command line): a child process against the kit's server on 127.0.0.1, checked through its
//! JSON-lines output, its exit status and its stdin commands. Each binding's test file runs
//! this one suite on its own example with [`feed_cli_suite!`](crate::feed_cli_suite!).
//!
//! Every wait is bounded (a deadline on the output channel), and every child is killed and
//! reaped by [`Feed`]'s `Drop`, whether the test passes, fails or panics.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use reconnect_testkit::server::{
    AuthRejection, Credentials, Fault, Nack, Persist, RpcError, ServerConfig, TestServer,
};
use serde_json::{json, Value};

/// The suite as `#[test]` functions for the example named `$example` of the crate whose test
/// invokes it.
#[macro_export]
macro_rules! feed_cli_suite {
    ($example:literal) => {
        /// The feed follower under test: an example of the crate that runs this suite.
        const EXAMPLE: $crate::feed_cli_suite::Example = $crate::feed_cli_suite::Example {
            name: $example,
            manifest: concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        };

        #[test]
        fn follows_a_feed_through_a_gap_a_reset_and_stdin_commands_then_closes_with_status_0() {
            $crate::feed_cli_suite::follows_a_feed_through_a_gap_a_reset_and_stdin_commands(EXAMPLE);
        }

        #[test]
        fn exit_after_closes_cleanly_with_status_0_and_final_stats() {
            $crate::feed_cli_suite::exit_after_closes_cleanly_with_status_0_and_final_stats(EXAMPLE);
        }

        #[test]
        fn a_fatal_auth_rejection_stops_with_status_2() {
            $crate::feed_cli_suite::a_fatal_auth_rejection_stops_with_status_2(EXAMPLE);
        }

        #[test]
        fn an_injected_fatal_auth_rejection_also_stops_with_status_2() {
            $crate::feed_cli_suite::an_injected_fatal_auth_rejection_also_stops_with_status_2(EXAMPLE);
        }

        #[test]
        fn bad_usage_exits_with_status_1_and_prints_no_json() {
            $crate::feed_cli_suite::bad_usage_exits_with_status_1_and_prints_no_json(EXAMPLE);
        }

        #[test]
        fn credentials_refused_twice_give_up_with_status_2() {
            $crate::feed_cli_suite::credentials_refused_twice_give_up_with_status_2(EXAMPLE);
        }

        #[test]
        fn a_single_refusal_is_answered_and_the_feed_goes_live() {
            $crate::feed_cli_suite::a_single_refusal_is_answered_and_the_feed_goes_live(EXAMPLE);
        }

        #[test]
        fn an_oversized_send_is_a_refused_line() {
            $crate::feed_cli_suite::an_oversized_send_is_a_refused_line(EXAMPLE);
        }

        #[test]
        fn an_auth_request_over_the_frame_limit_stops_with_its_reason() {
            $crate::feed_cli_suite::an_auth_request_over_the_frame_limit_stops_with_its_reason(
                EXAMPLE,
            );
        }

        #[test]
        fn reconnect_sends_a_close_frame() {
            $crate::feed_cli_suite::reconnect_sends_a_close_frame(EXAMPLE);
        }

        #[test]
        fn help_goes_to_stdout_with_status_0() {
            $crate::feed_cli_suite::help_goes_to_stdout_with_status_0(EXAMPLE);
        }

        #[test]
        fn every_bad_number_is_a_usage_error_naming_the_option_and_the_value() {
            $crate::feed_cli_suite::every_bad_number_is_a_usage_error_naming_the_option_and_the_value(
                EXAMPLE,
            );
        }

        #[test]
        fn attempts_that_fail_before_connected_each_have_a_line_with_cause_and_disposition() {
            $crate::feed_cli_suite::attempts_that_fail_before_connected_each_have_a_line_with_cause_and_disposition(
                EXAMPLE,
            );
        }

        #[test]
        fn a_200_instead_of_101_and_a_wrong_accept_key_each_have_an_attempt_failed_line() {
            $crate::feed_cli_suite::a_200_instead_of_101_and_a_wrong_accept_key_each_have_an_attempt_failed_line(
                EXAMPLE,
            );
        }

        #[test]
        fn rejected_subscriptions_and_unsubscribes_have_lines() {
            $crate::feed_cli_suite::rejected_subscriptions_and_unsubscribes_have_lines(EXAMPLE);
        }

        #[test]
        fn a_non_utf8_line_and_an_unknown_command_are_reported_and_skipped() {
            $crate::feed_cli_suite::a_non_utf8_line_and_an_unknown_command_are_reported_and_skipped(EXAMPLE);
        }

        #[test]
        fn a_flood_of_commands_beyond_the_queue_is_all_taken_and_close_still_works() {
            $crate::feed_cli_suite::a_flood_of_commands_beyond_the_queue_is_all_taken_and_close_still_works(
                EXAMPLE,
            );
        }

        #[test]
        fn events_are_printed_when_they_happen_and_exit_after_does_not_overshoot() {
            $crate::feed_cli_suite::events_are_printed_when_they_happen_and_exit_after_does_not_overshoot(
                EXAMPLE,
            );
        }

        #[test]
        fn the_circuit_breaker_opens_probes_and_closes_with_a_line_each() {
            $crate::feed_cli_suite::the_circuit_breaker_opens_probes_and_closes_with_a_line_each(EXAMPLE);
        }

        #[test]
        fn a_close_the_server_never_answers_ends_after_the_close_timeout() {
            $crate::feed_cli_suite::a_close_the_server_never_answers_ends_after_the_close_timeout(EXAMPLE);
        }

        #[test]
        fn metrics_follow_an_outage_and_agree_with_the_printed_events() {
            $crate::feed_cli_suite::metrics_follow_an_outage_and_agree_with_the_printed_events(
                EXAMPLE,
            );
        }

        #[test]
        fn a_bad_metrics_address_is_a_usage_error() {
            $crate::feed_cli_suite::a_bad_metrics_address_is_a_usage_error(EXAMPLE);
        }
    };
}

mod abuse;
mod failures;
mod following;
mod metrics;

pub use abuse::*;
pub use failures::*;
pub use following::*;
pub use metrics::*;

/// A feed follower to run: an example's name and the manifest of the crate it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Example {
    /// The example's name (`wsfeed`, `feed`), as in its usage line.
    pub name: &'static str,
    /// The `Cargo.toml` of the crate that has the example.
    pub manifest: &'static str,
}

impl fmt::Display for Example {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// How long any single expected line may take. Generous: the machine is shared and the first
/// run of a test may still be linking the example.
const STEP: Duration = Duration::from_secs(20);

/// The path of the built `example` (of the crate whose test runs the suite).
///
/// Cargo gives integration tests `CARGO_BIN_EXE_<name>` for binaries but nothing for examples,
/// and `cargo test --test wsfeed` does not build examples at all, so guessing a path under the
/// target directory would be fragile (profiles, `CARGO_TARGET_DIR`, `--target`). Instead the
/// test asks the same cargo that runs it (`env!("CARGO")`, inheriting its environment and
/// thus its target directory) to build the example, and takes the path cargo reports for the
/// artifact in `--message-format=json`. Cargo releases its build lock before it runs tests, so
/// the nested build does not deadlock; it is a no-op when the example is up to date. Building
/// once (not `cargo run` per test) keeps cargo out of the timed part of each test.
fn example_binary(example: Example) -> &'static PathBuf {
    static BINARY: OnceLock<(Example, PathBuf)> = OnceLock::new();
    let (built, path) = BINARY.get_or_init(|| (example, build_example(example)));
    assert_eq!(*built, example, "one example per test binary");
    path
}

/// Builds `example` with the cargo that runs the test (see `reconnect_testkit::example`).
fn build_example(example: Example) -> PathBuf {
    reconnect_testkit::example::build(std::path::Path::new(example.manifest), None, example.name)
}

/// A running feed child: its output lines arrive on a channel from a reader thread.
pub struct Feed {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
    /// Every line seen so far, for failure messages and final checks.
    seen: Vec<Value>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Feed {
    /// Starts `example` with `args`.
    pub fn start(example: Example, args: &[&str]) -> Feed {
        let mut child = Command::new(example_binary(example))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the example starts");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                // Every line must be a JSON object with `event` and `t_ms`: checked here, so
                // no line escapes the check, and a bad one fails the test that waits on it.
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| json!({"bad_line": line, "error": e.to_string()}));
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let stdin = child.stdin.take();
        Feed {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    fn context(&self) -> String {
        let lines: Vec<String> = self.seen.iter().map(Value::to_string).collect();
        format!(
            "stdout so far:\n{}\nstderr:\n{}",
            lines.join("\n"),
            self.stderr.lock().unwrap()
        )
    }

    fn record(&mut self, line: Value) -> Value {
        assert!(
            line["event"].is_string() && line["t_ms"].is_u64(),
            "a line without `event` and `t_ms`: {line}\n{}",
            self.context()
        );
        self.seen.push(line.clone());
        line
    }

    /// The next line that satisfies `pred` (earlier lines are kept in `seen`).
    fn expect(&mut self, what: &str, mut pred: impl FnMut(&Value) -> bool) -> Value {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let line = self.record(line);
                    if pred(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {what} within {STEP:?}\n{}", self.context())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the feed ended before {what}\n{}", self.context())
                }
            }
        }
    }

    /// The next line whose `event` is `event`.
    fn expect_event(&mut self, event: &str) -> Value {
        self.expect(event, |l| l["event"] == event)
    }

    fn command(&mut self, line: &str) {
        self.write_stdin(format!("{line}\n").as_bytes());
    }

    /// Writes `bytes` to the feed's standard input as they are.
    fn write_stdin(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(bytes).expect("the feed reads stdin");
        stdin.flush().expect("the feed reads stdin");
    }

    /// Reads the rest of the output and reaps the child: its exit status, every line and
    /// everything it wrote to standard error.
    fn finish(mut self) -> (ExitStatus, Vec<Value>, String) {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.record(line);
                }
                // The pipe closed: the process has exited (or is about to), so `wait` is quick.
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the feed did not exit within {STEP:?}\n{}", self.context())
                }
            }
        }
        let status = self.child.wait().expect("the feed is reaped");
        // The child is gone, so its stderr pipe is at EOF and the reader ends.
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        let seen = std::mem::take(&mut self.seen);
        let stderr = std::mem::take(&mut *self.stderr.lock().unwrap());
        (status, seen, stderr)
    }

    /// [`finish`](Self::finish) for a run whose standard output is text, not JSON lines
    /// (`--help`): the lines as they were printed.
    fn finish_raw(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + STEP;
        let mut text = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                // The reader wraps a line that is not JSON; take its text back.
                Ok(line) => text.push(match line["bad_line"].as_str() {
                    Some(raw) => raw.to_owned(),
                    None => line.to_string(),
                }),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the feed did not exit within {STEP:?}\n{}", self.context())
                }
            }
        }
        let status = self.child.wait().expect("the feed is reaped");
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        let stderr = std::mem::take(&mut *self.stderr.lock().unwrap());
        (status, text, stderr)
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        // Killing an exited child fails harmlessly; `wait` reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn count(lines: &[Value], event: &str) -> usize {
    lines.iter().filter(|l| l["event"] == event).count()
}

/// A port on 127.0.0.1 where nothing listens (it was free a moment ago): connecting is refused.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    format!("ws://127.0.0.1:{port}/ws")
}
