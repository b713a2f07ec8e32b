//! The feed followers as a user runs them (bind-mio's `wsfeed`, bind-smol's `feed`: the same
//! command line): a child process against the kit's server on 127.0.0.1, checked through its
//! JSON-lines output, its exit status and its stdin commands. Each binding's test file runs
//! this one suite on its own example with [`feed_cli_suite!`].
//!
//! Every wait is bounded (a deadline on the output channel), and every child is killed and
//! reaped by [`Feed`]'s `Drop`, whether the test passes, fails or panics.

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

/// The suite as `#[test]` functions for `example`, in the file that invokes it.
macro_rules! feed_cli_suite {
    ($example:literal) => {
        #[test]
        fn follows_a_feed_through_a_gap_a_reset_and_stdin_commands_then_closes_with_status_0() {
            feed_cli::follows_a_feed_through_a_gap_a_reset_and_stdin_commands($example);
        }

        #[test]
        fn exit_after_closes_cleanly_with_status_0_and_final_stats() {
            feed_cli::exit_after_closes_cleanly_with_status_0_and_final_stats($example);
        }

        #[test]
        fn a_fatal_auth_rejection_stops_with_status_2() {
            feed_cli::a_fatal_auth_rejection_stops_with_status_2($example);
        }

        #[test]
        fn an_injected_fatal_auth_rejection_also_stops_with_status_2() {
            feed_cli::an_injected_fatal_auth_rejection_also_stops_with_status_2($example);
        }

        #[test]
        fn bad_usage_exits_with_status_1_and_prints_no_json() {
            feed_cli::bad_usage_exits_with_status_1_and_prints_no_json($example);
        }

        #[test]
        fn every_bad_number_is_a_usage_error_naming_the_option_and_the_value() {
            feed_cli::every_bad_number_is_a_usage_error_naming_the_option_and_the_value(
                $example,
            );
        }

        #[test]
        fn attempts_that_fail_before_connected_each_have_a_line_with_cause_and_disposition() {
            feed_cli::attempts_that_fail_before_connected_each_have_a_line_with_cause_and_disposition(
                $example,
            );
        }

        #[test]
        fn a_200_instead_of_101_and_a_wrong_accept_key_each_have_an_attempt_failed_line() {
            feed_cli::a_200_instead_of_101_and_a_wrong_accept_key_each_have_an_attempt_failed_line(
                $example,
            );
        }

        #[test]
        fn rejected_subscriptions_and_unsubscribes_have_lines() {
            feed_cli::rejected_subscriptions_and_unsubscribes_have_lines($example);
        }

        #[test]
        fn a_non_utf8_line_and_an_unknown_command_are_reported_and_skipped() {
            feed_cli::a_non_utf8_line_and_an_unknown_command_are_reported_and_skipped($example);
        }

        #[test]
        fn a_flood_of_commands_beyond_the_queue_is_all_taken_and_close_still_works() {
            feed_cli::a_flood_of_commands_beyond_the_queue_is_all_taken_and_close_still_works(
                $example,
            );
        }

        #[test]
        fn events_are_printed_when_they_happen_and_exit_after_does_not_overshoot() {
            feed_cli::events_are_printed_when_they_happen_and_exit_after_does_not_overshoot(
                $example,
            );
        }

        #[test]
        fn the_circuit_breaker_opens_probes_and_closes_with_a_line_each() {
            feed_cli::the_circuit_breaker_opens_probes_and_closes_with_a_line_each($example);
        }

        #[test]
        fn a_close_the_server_never_answers_ends_after_the_close_timeout() {
            feed_cli::a_close_the_server_never_answers_ends_after_the_close_timeout($example);
        }
    };
}
pub(crate) use feed_cli_suite;

/// How long any single expected line may take. Generous: the machine is shared and the first
/// run of a test may still be linking the example.
const STEP: Duration = Duration::from_secs(20);

/// The path of the built `example` (of the crate whose test includes this file).
///
/// Cargo gives integration tests `CARGO_BIN_EXE_<name>` for binaries but nothing for examples,
/// and `cargo test --test wsfeed` does not build examples at all, so guessing a path under the
/// target directory would be fragile (profiles, `CARGO_TARGET_DIR`, `--target`). Instead the
/// test asks the same cargo that runs it (`env!("CARGO")`, inheriting its environment and
/// thus its target directory) to build the example, and takes the path cargo reports for the
/// artifact in `--message-format=json`. Cargo releases its build lock before it runs tests, so
/// the nested build does not deadlock; it is a no-op when the example is up to date. Building
/// once (not `cargo run` per test) keeps cargo out of the timed part of each test.
fn example_binary(example: &'static str) -> &'static PathBuf {
    static BINARY: OnceLock<(&'static str, PathBuf)> = OnceLock::new();
    let (built, path) = BINARY.get_or_init(|| (example, build_example(example)));
    assert_eq!(*built, example, "one example per test binary");
    path
}

fn build_example(example: &str) -> PathBuf {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let mut cargo = Command::new(env!("CARGO"));
    // Cargo sets these for the test process only. Some build scripts (ring's) track
    // `CARGO_MANIFEST_DIR`, so passing them on would make the nested build rebuild half the
    // dependency tree and then flip it back on the next plain `cargo build`.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_BIN_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&name.as_ref())
        {
            cargo.env_remove(name.as_ref());
        }
    }
    let output = cargo
        .args(["build", "-q", "--example", example, "--message-format=json"])
        .args(["--manifest-path", manifest])
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "building the {example} example failed"
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == example)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reports the example's executable")
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
    pub fn start(example: &'static str, args: &[&str]) -> Feed {
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

/// A feed through a gap and a reset, stdin commands, then a close with status 0.
pub fn follows_a_feed_through_a_gap_a_reset_and_stdin_commands(example: &'static str) {
    let server =
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(20)))
            .unwrap();
    let url = server.url("feed");
    let mut feed = Feed::start(
        example,
        &[
            "--channel",
            "a",
            "--channel",
            "b",
            "--auth",
            r#"{"grant_type":"client_credentials","client_id":"x","client_secret":"y"}"#,
            "--seq-pointer",
            "/seq",
            "--backoff-initial",
            "50",
            "--backoff-max",
            "200",
            "--ping-interval",
            "1000",
            "--pong-timeout",
            "2000",
            &url,
        ],
    );

    let connecting = feed.expect_event("connecting");
    assert_eq!(connecting["attempt"], 1);
    let conn = feed.expect_event("connected")["conn"].clone();
    assert_eq!(feed.expect_event("authenticated")["conn"], conn);
    let mut channels = vec![
        feed.expect_event("subscribed")["channel"].clone(),
        feed.expect_event("subscribed")["channel"].clone(),
    ];
    channels.sort_by_key(|c| c.to_string());
    assert_eq!(channels, [json!("a"), json!("b")]);
    assert_eq!(feed.expect_event("live")["conn"], conn);
    let first = feed.expect("a message with seq on a", |l| {
        l["event"] == "message" && l["channel"] == "a" && l["seq"].is_u64()
    });
    assert_eq!(first["data"]["seq"], first["seq"], "seq is the data's seq");
    // The auth really reached the server (the line is not just the tool's own claim).
    let stats = server.stats();
    let record = stats.connections_of("feed").next().expect("one connection");
    assert!(record.authenticated_at.is_some(), "the server saw the auth");

    server.inject(Fault::SkipSeq {
        channel: "a".into(),
    });
    let gap = feed.expect_event("gap");
    assert_eq!(gap["channel"], "a");
    assert_eq!(
        gap["got"].as_u64().unwrap(),
        gap["expected"].as_u64().unwrap() + 1,
        "one number skipped"
    );

    server.inject(Fault::Reset);
    let disconnected = feed.expect_event("disconnected");
    assert_eq!(disconnected["conn"], conn);
    let scheduled = feed.expect_event("reconnect_scheduled");
    assert!(
        scheduled["delay_ms"].as_u64().unwrap() <= 200,
        "{scheduled}"
    );
    feed.expect_event("connecting");
    let second = feed.expect_event("connected")["conn"].clone();
    assert_ne!(second, conn, "a new connection");
    feed.expect_event("authenticated");
    assert_eq!(feed.expect_event("live")["conn"], second);

    // stdin: subscribe to a new channel, see its data; unsubscribe from one, the server sees it.
    feed.command("sub c");
    assert_eq!(feed.expect_event("subscribed")["channel"], "c");
    feed.expect("a message on c", |l| {
        l["event"] == "message" && l["channel"] == "c"
    });
    feed.command("unsub b");
    let unsubscribed = feed.expect_event("unsubscribed");
    assert_eq!(unsubscribed["channel"], "b");
    assert_eq!(unsubscribed["conn"], second);
    server
        .wait_until(STEP, |s| {
            s.connections_of("feed")
                .any(|c| c.unsubscribed_channels().contains(&"b".to_owned()))
        })
        .expect("the server receives the unsubscribe of b");

    feed.command("close");
    let stopped = feed.expect_event("stopped");
    assert!(
        stopped["reason"].as_str().unwrap().starts_with("closed"),
        "{stopped}"
    );
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(0), "exit status after close");
    let stats = lines.last().expect("a last line");
    assert_eq!(stats["event"], "stats", "stats is the last line");
    assert_eq!(stats["live_connections"], 2);
    assert!(stats["disconnects"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(stats["gaps"], 1);
    assert!(stats["frames_in"].as_u64().unwrap() >= 3, "{stats}");
    assert_eq!(count(&lines, "stats"), 1);
    assert_eq!(count(&lines, "stopped"), 1);
    let times: Vec<u64> = lines.iter().map(|l| l["t_ms"].as_u64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "t_ms never goes back"
    );
}

/// `--exit-after` closes cleanly with status 0 and final stats.
pub fn exit_after_closes_cleanly_with_status_0_and_final_stats(example: &'static str) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let url = server.url("timed");
    let started = Instant::now();
    let mut feed = Feed::start(example, &["--channel", "a", "--exit-after", "800", &url]);
    feed.expect_event("live");
    let stopped = feed.expect_event("stopped");
    assert!(
        stopped["t_ms"].as_u64().unwrap() >= 800,
        "not before --exit-after: {stopped}"
    );
    let (status, lines, _) = feed.finish();
    assert!(started.elapsed() >= Duration::from_millis(800));
    assert_eq!(status.code(), Some(0));
    assert_eq!(lines.last().unwrap()["event"], "stats");
    assert!(count(&lines, "message") >= 1, "data flowed before the exit");
    let stats = server
        .wait_until(STEP, |s| s.open == 0)
        .expect("the connection is closed");
    let close = stats.close_frames();
    assert!(!close.is_empty(), "a clean close sends a close frame");
}

/// A fatal auth rejection stops with status 2.
pub fn a_fatal_auth_rejection_stops_with_status_2(example: &'static str) {
    let expected =
        json!({"grant_type":"client_credentials","client_id":"x","client_secret":"right"});
    let server =
        TestServer::start(ServerConfig::default().credentials(Credentials::Exactly(expected)))
            .unwrap();
    let url = server.url("wrong");
    let mut feed = Feed::start(
        example,
        &[
            "--channel",
            "a",
            "--auth",
            r#"{"grant_type":"client_credentials","client_id":"x","client_secret":"wrong"}"#,
            &url,
        ],
    );
    feed.expect_event("connected");
    let stopped = feed.expect_event("stopped");
    assert!(
        stopped["reason"].as_str().unwrap().starts_with("fatal"),
        "{stopped}"
    );
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(2));
    assert_eq!(count(&lines, "authenticated"), 0);
    assert_eq!(count(&lines, "live"), 0);
    assert_eq!(lines.last().unwrap()["event"], "stats");
}

/// An injected fatal auth rejection also stops with status 2.
pub fn an_injected_fatal_auth_rejection_also_stops_with_status_2(example: &'static str) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject(Fault::RejectAuth(AuthRejection::Fatal));
    let url = server.url("rejected");
    let feed = Feed::start(example, &["--auth", r#"{"k":"v"}"#, &url]);
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(2));
    assert_eq!(count(&lines, "stopped"), 1);
}

/// Bad usage exits with status 1 and prints no JSON, only the usage.
pub fn bad_usage_exits_with_status_1_and_prints_no_json(example: &'static str) {
    for args in [
        &[][..],
        &["--bogus", "ws://127.0.0.1:1/ws"][..],
        &["--ping-interval", "soon", "ws://127.0.0.1:1/ws"][..],
        &["--auth", "not json", "ws://127.0.0.1:1/ws"][..],
        &["ws://127.0.0.1:1/a", "ws://127.0.0.1:1/b"][..],
    ] {
        let (status, lines, stderr) = Feed::start(example, args).finish();
        assert_eq!(status.code(), Some(1), "{args:?}");
        assert!(lines.is_empty(), "{args:?}: {lines:?}");
        assert!(
            stderr.contains(&format!("usage: {example}")),
            "{args:?}: {stderr}"
        );
    }
}

/// A port on 127.0.0.1 where nothing listens (it was free a moment ago): connecting is refused.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    format!("ws://127.0.0.1:{port}/ws")
}

/// Every numeric option rejects what it cannot take (huge, negative, fractional, NaN, zero
/// where zero means nothing, beyond its type): exit status 1, a message naming the option and
/// the value, no panic, no JSON.
pub fn every_bad_number_is_a_usage_error_naming_the_option_and_the_value(example: &'static str) {
    let url = "ws://127.0.0.1:1/ws";
    let cases: &[(&str, &str)] = &[
        ("--heartbeat", "1e300"),
        ("--heartbeat", "-1"),
        ("--heartbeat", "NaN"),
        ("--heartbeat", "inf"),
        ("--heartbeat", "0"),
        ("--heartbeat", "0.0000001"),
        ("--heartbeat", "ten"),
        ("--ping-interval", "-5"),
        ("--ping-interval", "1.5"),
        ("--ping-interval", "99999999999999999999"),
        ("--ping-interval", "31536000001"),
        ("--pong-timeout", "0"),
        ("--pong-timeout", "18446744073709551615"),
        ("--idle-timeout", "0"),
        ("--connect-timeout", "0"),
        ("--connect-timeout", "1e3"),
        ("--close-timeout", "0"),
        ("--close-timeout", "+5"),
        ("--backoff-initial", "0"),
        ("--backoff-max", "-1"),
        ("--min-uptime", "soon"),
        ("--max-attempts", "0"),
        ("--max-attempts", "4294967296"),
        ("--max-attempts", "-3"),
        ("--circuit-threshold", "0"),
        ("--circuit-cooldown", "0"),
        ("--seed", "-1"),
        ("--seed", "18446744073709551616"),
        ("--command-queue", "0"),
        ("--command-queue", "99999999999"),
        ("--exit-after", "1e3"),
        ("--exit-after", " 5"),
        ("--exit-after", ""),
    ];
    for &(option, value) in cases {
        let (status, lines, stderr) = Feed::start(example, &[option, value, url]).finish();
        let case = format!("{option} {value:?}");
        assert_eq!(status.code(), Some(1), "{case}: {stderr}");
        assert!(lines.is_empty(), "{case}: {lines:?}");
        assert!(!stderr.contains("panicked"), "{case}: {stderr}");
        let message = stderr.lines().next().unwrap_or("");
        assert!(
            message.contains(option) && message.contains(&format!("{value:?}")),
            "{case}: the first line names the option and the value: {stderr}"
        );
    }
    // A pair that is wrong only together names both options.
    let (status, _, stderr) = Feed::start(
        example,
        &["--backoff-initial", "700", "--backoff-max", "300", url],
    )
    .finish();
    assert_eq!(status.code(), Some(1));
    let message = stderr.lines().next().unwrap_or("");
    assert!(
        message.contains("--backoff-initial") && message.contains("--backoff-max"),
        "{stderr}"
    );
}

/// Attempts that fail before `connected` (an upgrade nobody answers, a 503 instead of a 101)
/// each print `attempt_failed` with the cause and the disposition, then the feed goes live.
pub fn attempts_that_fail_before_connected_each_have_a_line_with_cause_and_disposition(
    example: &'static str,
) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    // Used in this order: the first connection is accepted and never answered, the second
    // gets a 503, the third goes through.
    server.inject(Fault::BlackholeUpgrade);
    server.inject(Fault::HttpReject {
        status: 503,
        retry_after: None,
    });
    let url = server.url("failing");
    let mut feed = Feed::start(
        example,
        &[
            "--connect-timeout",
            "450",
            "--backoff-initial",
            "20",
            "--backoff-max",
            "40",
            "--channel",
            "a",
            &url,
        ],
    );
    let first = feed.expect_event("connecting");
    let timed_out = feed.expect_event("attempt_failed");
    assert_eq!(timed_out["conn"], first["conn"], "{timed_out}");
    assert_eq!(timed_out["attempt"], 1);
    assert_eq!(
        timed_out["cause"],
        json!({"kind": "timeout", "timeout": "connect"})
    );
    assert_eq!(timed_out["disposition"], "retry");
    assert!(timed_out["reason"].is_string(), "{timed_out}");
    // Not before the connect timeout, on the tool's clock (its `t_ms` counts from before the
    // session started).
    assert!(timed_out["t_ms"].as_u64().unwrap() >= 450, "{timed_out}");
    let scheduled = feed.expect_event("reconnect_scheduled");
    assert_eq!(scheduled["attempt"], 2);
    assert_eq!(scheduled["failures"], 1);
    assert!(scheduled["delay_ms"].as_u64().unwrap() <= 40, "{scheduled}");

    let second = feed.expect_event("connecting");
    assert_eq!(second["attempt"], 2);
    let rejected = feed.expect_event("attempt_failed");
    assert_eq!(rejected["conn"], second["conn"]);
    assert_eq!(rejected["attempt"], 2);
    assert_eq!(rejected["cause"]["kind"], "transport");
    assert_eq!(rejected["cause"]["error"], "handshake");
    assert_eq!(rejected["cause"]["status"], 503);
    assert_eq!(rejected["disposition"], "retry");

    let third = feed.expect_event("connecting");
    assert_eq!(third["attempt"], 3);
    assert_eq!(feed.expect_event("connected")["conn"], third["conn"]);
    let live = feed.expect_event("live");
    assert_eq!(live["restored"], 1);
    assert!(live["outage_ms"].as_u64().unwrap() >= 450, "{live}");
    feed.command("close");
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(0));
    assert_eq!(count(&lines, "attempt_failed"), 2, "{lines:?}");
    assert_eq!(count(&lines, "connected"), 1);
}

/// A subscription the server refuses prints `subscribe_rejected` with the channel, the
/// server's code and message and when it is retried (`null`: never); a transient refusal is
/// retried and then confirmed.
pub fn rejected_subscriptions_and_unsubscribes_have_lines(example: &'static str) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    // 10028 (too many requests) is transient for the JSON-RPC adapter; -32602 is not.
    server.inject(Fault::NackSubscribe {
        channel: Some("busy".into()),
        nack: Nack::Error(RpcError::new(10028, "slow down")),
    });
    server.inject_with(
        Fault::NackSubscribe {
            channel: Some("nope".into()),
            nack: Nack::Error(RpcError::new(-32602, "no such channel")),
        },
        Persist::UntilCleared,
    );
    let url = server.url("nacked");
    let mut feed = Feed::start(example, &["--channel", "busy", &url]);
    let transient = feed.expect_event("subscribe_rejected");
    assert_eq!(transient["channel"], "busy");
    assert_eq!(transient["code"], 10028);
    assert_eq!(transient["message"], "slow down");
    assert!(transient["retry_in_ms"].is_u64(), "{transient}");
    let retried = feed.expect_event("subscribed");
    assert_eq!(retried["channel"], "busy", "the retry went through");
    assert!(
        retried["t_ms"].as_u64().unwrap() >= transient["t_ms"].as_u64().unwrap(),
        "{retried}"
    );

    feed.command("sub nope");
    let permanent = feed.expect_event("subscribe_rejected");
    assert_eq!(permanent["channel"], "nope");
    assert_eq!(permanent["code"], -32602);
    assert_eq!(permanent["message"], "no such channel");
    assert!(permanent["retry_in_ms"].is_null(), "{permanent}");

    feed.command("unsub busy");
    let unsubscribed = feed.expect_event("unsubscribed");
    assert_eq!(unsubscribed["channel"], "busy");
    assert_eq!(unsubscribed["conn"], retried["conn"]);
    feed.command("close");
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(0));
    assert_eq!(count(&lines, "subscribe_rejected"), 2, "{lines:?}");
}

/// A line of standard input that is not UTF-8, and one that is not a command, are reported on
/// standard error and skipped: the `close` after them still closes the feed.
pub fn a_non_utf8_line_and_an_unknown_command_are_reported_and_skipped(example: &'static str) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let url = server.url("stdin");
    let mut feed = Feed::start(example, &["--min-uptime", "240", &url]);
    let live = feed.expect_event("live");
    // Live for --min-uptime: the connection counts as stable.
    let stable = feed.expect_event("stable");
    assert_eq!(stable["conn"], live["conn"]);
    assert!(stable["t_ms"].as_u64().unwrap() >= 240, "{stable}");
    feed.write_stdin(b"sub \xff\xfe\xc3\x28\n");
    feed.write_stdin(b"frobnicate now\n");
    feed.command("close");
    let stopped = feed.expect_event("stopped");
    assert_eq!(stopped["stop"], "closed", "{stopped}");
    let (status, lines, stderr) = feed.finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(lines.last().unwrap()["event"], "stats");
    assert!(stderr.contains("line 1 is not UTF-8"), "{stderr}");
    assert!(
        stderr.contains("line 2") && stderr.contains("frobnicate"),
        "{stderr}"
    );
    assert_eq!(
        count(&lines, "subscribed"),
        0,
        "the bad line subscribed nothing"
    );
}

/// Far more commands than the command queue holds, written at once while the session cannot
/// connect (the server accepts and never answers the upgrade): every one reaches the session.
/// Each send is either queued in the outbox (and dropped, reported, when the close stops the
/// session) or refused (reported) once the outbox is full; none is lost silently, and the
/// `close` behind them still works.
pub fn a_flood_of_commands_beyond_the_queue_is_all_taken_and_close_still_works(
    example: &'static str,
) {
    const SENDS: usize = 1500;
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject_with(Fault::BlackholeUpgrade, Persist::UntilCleared);
    let url = server.url("flood");
    let mut feed = Feed::start(
        example,
        &["--command-queue", "2", "--connect-timeout", "60000", &url],
    );
    feed.expect_event("connecting");
    let mut input = String::new();
    for i in 0..SENDS {
        input.push_str(&format!("send m{i}\n"));
    }
    input.push_str("close\n");
    feed.write_stdin(input.as_bytes());
    let stopped = feed.expect_event("stopped");
    assert_eq!(stopped["stop"], "closed", "{stopped}");
    let (status, lines, stderr) = feed.finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let refused: Vec<&Value> = lines.iter().filter(|l| l["event"] == "refused").collect();
    let dropped: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "outbox_dropped")
        .collect();
    assert!(
        refused
            .iter()
            .all(|l| l["command"] == "send" && l["refusal"] == "outbox_full"),
        "{refused:?}"
    );
    assert!(
        dropped.iter().all(|l| l["reason"] == "stopped"),
        "{dropped:?}"
    );
    assert_eq!(
        refused.len() + dropped.len(),
        SENDS,
        "every send is accounted for ({} refused, {} dropped)\n{stderr}",
        refused.len(),
        dropped.len()
    );
    assert!(stderr.is_empty(), "{stderr}");
}

/// Lines are printed as their events happen, not at the loop's next unrelated wake-up: the
/// first line is `connecting`, right after the start; and `--exit-after` closes on time even
/// while nothing else happens (the session waits out a long backoff after a refused connect).
/// Measured on the tool's own clock (`t_ms`); the bounds are generous, only a real hold-up
/// (of the order of a second) fails them.
pub fn events_are_printed_when_they_happen_and_exit_after_does_not_overshoot(
    example: &'static str,
) {
    let url = closed_port_url();
    let mut feed = Feed::start(
        example,
        &[
            "--exit-after",
            "1000",
            "--backoff-initial",
            "9000",
            "--backoff-max",
            "9000",
            "--jitter",
            "none",
            &url,
        ],
    );
    let first = feed.expect("a first line", |_| true);
    assert_eq!(first["event"], "connecting", "the first line: {first}");
    assert!(first["t_ms"].as_u64().unwrap() < 700, "{first}");
    let failed = feed.expect_event("attempt_failed");
    assert_eq!(failed["cause"]["error"], "refused", "{failed}");
    assert_eq!(feed.expect_event("reconnect_scheduled")["delay_ms"], 9000);
    let stopped = feed.expect_event("stopped");
    let at = stopped["t_ms"].as_u64().unwrap();
    assert!(at >= 1000, "not before --exit-after: {stopped}");
    assert!(at < 1800, "--exit-after 1000 overshot: {stopped}");
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(0));
    let stats = lines.last().unwrap();
    assert_eq!(stats["event"], "stats");
    assert!(stats["t_ms"].as_u64().unwrap() < 1800, "{stats}");
}

/// `close` when the server never answers: the close waits for the server's close frame at
/// most `--close-timeout`, then stops (not clean), releases the socket and exits with 0.
pub fn a_close_the_server_never_answers_ends_after_the_close_timeout(example: &'static str) {
    const CLOSE_TIMEOUT: Duration = Duration::from_millis(730);
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let url = server.url("silent");
    let mut feed = Feed::start(
        example,
        &["--close-timeout", "730", "--ping-interval", "0", &url],
    );
    feed.expect_event("live");
    server.inject(Fault::SilentStall);
    // The fault reaches the server's session on its next tick.
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    feed.command("close");
    let stopped = feed.expect_event("stopped");
    let waited = asked.elapsed();
    assert_eq!(stopped["stop"], "closed", "{stopped}");
    assert_eq!(
        stopped["clean"], false,
        "the server never answered: {stopped}"
    );
    assert!(
        waited >= CLOSE_TIMEOUT,
        "stopped after {waited:?}: {stopped}"
    );
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(0));
    assert_eq!(lines.last().unwrap()["event"], "stats");
    server
        .wait_until(STEP, |s| s.open == 0)
        .expect("the socket was released");
}

/// The circuit breaker's changes each print a `circuit` line: open after the threshold of
/// failures (the next attempt waits the cooldown: `source` `circuit_open`), half open for the
/// probe, closed when the probe succeeds.
pub fn the_circuit_breaker_opens_probes_and_closes_with_a_line_each(example: &'static str) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject_with(
        Fault::HttpReject {
            status: 503,
            retry_after: None,
        },
        Persist::Times(2),
    );
    let url = server.url("breaker");
    let mut feed = Feed::start(
        example,
        &[
            "--circuit-threshold",
            "2",
            "--circuit-cooldown",
            "370",
            "--backoff-initial",
            "10",
            "--backoff-max",
            "20",
            &url,
        ],
    );
    let open = feed.expect_event("circuit");
    assert_eq!(open["state"], "open", "{open}");
    assert_eq!(open["failures"], 2);
    assert_eq!(count(&feed.seen, "attempt_failed"), 2, "two failures first");
    let scheduled = feed.expect_event("reconnect_scheduled");
    assert_eq!(scheduled["source"], "circuit_open", "{scheduled}");
    assert_eq!(scheduled["delay_ms"], 370);
    let half_open = feed.expect_event("circuit");
    assert_eq!(half_open["state"], "half_open", "{half_open}");
    // Lines are stamped when printed, so the gap between two of them is no measure of the
    // cooldown; the tool's start is a sound lower bound, and the session's own outage below.
    assert!(half_open["t_ms"].as_u64().unwrap() >= 370, "{half_open}");
    let probe = feed.expect_event("connecting");
    assert_eq!(probe["attempt"], 3);
    // The probe connected: the circuit closes (the session reports it before `live`).
    let closed = feed.expect_event("circuit");
    assert_eq!(closed["state"], "closed", "{closed}");
    let live = feed.expect_event("live");
    assert_eq!(live["conn"], probe["conn"]);
    assert!(live["outage_ms"].as_u64().unwrap() >= 370, "{live}");
    feed.command("close");
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(0));
    assert_eq!(count(&lines, "circuit"), 3, "{lines:?}");
}

/// A fake HTTP server on 127.0.0.1 that answers the first connection with `answers[0]`, the
/// next with `answers[1]`, and so on, after reading the request; then it stops accepting.
/// Joined by the caller; every socket has a read timeout, so it cannot hang.
fn canned_http_server(answers: Vec<&'static str>) -> (String, std::thread::JoinHandle<()>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        for answer in answers {
            let Ok((mut socket, _)) = listener.accept() else {
                return;
            };
            socket.set_read_timeout(Some(STEP)).unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = socket.write_all(answer.as_bytes());
            // Wait for the client to give up on it (EOF), bounded by the read timeout.
            let _ = socket.read(&mut buf);
        }
    });
    (url, server)
}

/// Upgrades that go wrong at the HTTP level (a 200 instead of a 101; a 101 whose
/// `Sec-WebSocket-Accept` does not match the key) each print `attempt_failed` with a
/// transport cause; with `--max-attempts 2` the feed then gives up with status 2.
pub fn a_200_instead_of_101_and_a_wrong_accept_key_each_have_an_attempt_failed_line(
    example: &'static str,
) {
    let (url, server) = canned_http_server(vec![
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: dGhpcyBpcyBub3QgdGhlIGtleQ==\r\n\r\n",
    ]);
    let feed = Feed::start(
        example,
        &[
            "--max-attempts",
            "2",
            "--backoff-initial",
            "10",
            "--backoff-max",
            "20",
            &url,
        ],
    );
    let (status, lines, stderr) = feed.finish();
    server.join().expect("the fake server ends");
    assert_eq!(status.code(), Some(2), "{stderr}");
    let failed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "attempt_failed")
        .collect();
    assert_eq!(failed.len(), 2, "{lines:?}");
    assert_eq!(failed[0]["attempt"], 1);
    assert_eq!(failed[0]["cause"]["kind"], "transport", "{}", failed[0]);
    assert_eq!(failed[0]["cause"]["error"], "handshake", "{}", failed[0]);
    assert_eq!(failed[0]["cause"]["status"], 200, "{}", failed[0]);
    assert_eq!(failed[0]["disposition"], "retry");
    assert_eq!(failed[1]["attempt"], 2);
    assert_eq!(failed[1]["cause"]["kind"], "transport", "{}", failed[1]);
    assert!(failed[1]["cause"]["detail"].is_string(), "{}", failed[1]);
    assert!(failed[1]["disposition"].is_string(), "{}", failed[1]);
    let stopped = lines.iter().find(|l| l["event"] == "stopped").unwrap();
    assert_eq!(stopped["stop"], "gave_up", "{stopped}");
    assert_eq!(stopped["attempts"], 2);
    assert_eq!(count(&lines, "connected"), 0);
}
