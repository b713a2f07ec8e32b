//! The `feed_server` example as a user runs it: a child process on a port of its own, which a
//! plain tungstenite client without credentials subscribes to and gets numbered data from; its
//! arguments are validated with the documented exit statuses.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use reconnect_testkit::rpc::{self, Inbound};
use reconnect_testkit::{tls, wsclient};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(20);

/// The built example (see `reconnect_testkit::example`).
fn example() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        reconnect_testkit::example::build(Path::new(manifest), None, "feed_server")
    })
}

/// A running `feed_server`; dropping it kills and reaps the process.
struct FeedServer {
    child: Child,
    url: String,
}

impl FeedServer {
    /// Starts the example with `args` and waits for its `listening on URL` line.
    fn start(args: &[&str]) -> FeedServer {
        let mut child = Command::new(example())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("feed_server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        // Owned from here on: a failed wait below still kills and reaps the child.
        let mut server = FeedServer {
            child,
            url: String::new(),
        };
        let (tx, rx) = mpsc::channel();
        // A pipe read cannot time out; the thread ends with the first line or when the pipe
        // closes (the child died, or was killed on a timeout below).
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = tx.send(BufReader::new(stdout).read_line(&mut line).map(|_| line));
        });
        let line = rx.recv_timeout(T);
        let url = match &line {
            Ok(Ok(line)) => line.trim().strip_prefix("listening on "),
            _ => None,
        };
        server.url = url
            .unwrap_or_else(|| panic!("no `listening on URL` line within {T:?}: {line:?}"))
            .to_owned();
        server
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(example())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("feed_server runs")
}

/// Subscribes without auth, as the quick starts do, and checks that `channel` gets 1, 2, 3.
fn subscribe_and_receive(url: &str, tls: Option<std::sync::Arc<rustls::ClientConfig>>) {
    let channel = "trades.BTC-PERPETUAL.100ms";
    let mut ws = wsclient::connect(url, tls, T).unwrap();
    let ack = wsclient::call(&mut ws, 1, &rpc::subscribe(1, &[channel]), T).unwrap();
    assert_eq!(
        ack,
        Inbound::Result {
            id: json!(1),
            result: json!([channel])
        }
    );
    // The data can only follow the acknowledgement: it flows from the subscribe on, and the
    // ack is written in the same step. A fresh server numbers from 1.
    let mut seqs = Vec::new();
    while seqs.len() < 3 {
        let text = wsclient::next_text(&mut ws, T).unwrap();
        if let Inbound::Data { channel: c, seq } = rpc::classify(&text) {
            assert_eq!(c, channel);
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["params"]["data"]["seq"], json!(seq), "{text}");
            seqs.push(seq);
        }
    }
    assert_eq!(seqs, [1, 2, 3]);
}

#[test]
fn a_client_without_credentials_subscribes_and_gets_numbered_data() {
    let server = FeedServer::start(&["--port", "0", "--interval-ms", "20"]);
    let port = wsclient::addr_of(&server.url).port();
    assert_ne!(port, 0, "the printed URL names the port: {}", server.url);
    assert_eq!(server.url, format!("ws://127.0.0.1:{port}/ws"));
    subscribe_and_receive(&server.url, None);
}

#[test]
fn a_second_server_on_the_same_port_fails_with_status_1() {
    let first = FeedServer::start(&["--port=0"]);
    let port = wsclient::addr_of(&first.url).port().to_string();
    let second = run(&["--port", &port]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!("feed_server: cannot listen on 127.0.0.1:{port}: ")),
        "{stderr}"
    );
    assert!(second.stdout.is_empty());
}

#[test]
fn tls_writes_the_certificate_a_client_then_trusts() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("feed_server_example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("root.pem");
    let server = FeedServer::start(&["--port", "0", "--tls", cert.to_str().unwrap()]);
    assert!(server.url.starts_with("wss://127.0.0.1:"), "{}", server.url);
    let pem = std::fs::read_to_string(&cert).unwrap();
    subscribe_and_receive(&server.url, Some(tls::client_config_for_pem(&pem)));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_prints_usage_to_stdout_and_exits_0() {
    for flag in ["--help", "-h"] {
        let out = run(&[flag]);
        assert_eq!(out.status.code(), Some(0));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.starts_with("usage: feed_server "), "{stdout}");
        assert!(stdout.contains("--interval-ms"), "{stdout}");
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn a_bad_argument_is_named_on_stderr_with_status_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["--port"], "--port needs a value"),
        (
            &["--port", "65536"],
            "--port: \"65536\" is not a whole number",
        ),
        (&["--port", "-1"], "--port: \"-1\" is not a whole number"),
        (&["--port=+80"], "--port: \"+80\" is not a whole number"),
        (&["--port", "1", "--port", "2"], "--port is given twice"),
        (
            &["--interval-ms", "0"],
            "--interval-ms: \"0\" is not a whole number from 1",
        ),
        (&["--interval-ms", "3600001"], "--interval-ms: \"3600001\""),
        (&["--interval-ms", "1.5"], "--interval-ms: \"1.5\""),
        (&["--tls", ""], "--tls needs a file name"),
        (&["--tls"], "--tls needs a value"),
        (&["--verbose"], "unknown option --verbose"),
        (&["--help=yes"], "--help takes no value"),
        (&["9944"], "unexpected argument \"9944\""),
    ];
    for (args, want) in cases {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {stderr}");
        assert!(
            lines[0].starts_with(&format!("feed_server: {want}")),
            "{args:?}: {stderr}"
        );
        assert_eq!(lines[1], "try --help");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
