//! `--metrics ADDR`: the feed's `/metrics`, scraped during and after a scripted outage and
//! parsed by an independent Prometheus text parser (the Python `prometheus_client`'s, run by
//! `tests/python/parse_metrics.py`), agrees with the events the feed printed.
//!
//! Runs the parser with [`python()`]: `RECONNECT_PYTHON`, or a venv made on first use in the
//! target directory; a machine that can make neither fails this test, saying how to fix it.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

use reconnect_testkit::peer::python;

use super::*;

/// The feed's `--metrics` address, from the URL it prints on standard error.
fn metrics_addr(feed: &Feed) -> SocketAddr {
    let deadline = Instant::now() + STEP;
    loop {
        let stderr = feed.stderr.lock().unwrap().clone();
        if let Some(rest) = stderr.split("metrics at http://").nth(1) {
            let addr = rest.split("/metrics").next().unwrap_or_default();
            return addr
                .parse()
                .unwrap_or_else(|_| panic!("not an address in {stderr:?}"));
        }
        assert!(
            Instant::now() < deadline,
            "no metrics URL on stderr within {STEP:?}\n{}",
            feed.context()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The answer to a raw HTTP/1.1 request for `path`: status line, head and body.
fn http_get(addr: SocketAddr, path: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect_timeout(&addr, STEP).expect("the metrics port answers");
    stream.set_read_timeout(Some(STEP)).unwrap();
    stream.set_write_timeout(Some(STEP)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    // The server closes the connection after its answer.
    stream.read_to_string(&mut answer).expect("a whole answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, head.to_owned(), body.to_owned())
}

/// The samples of a scrape, as the Python parser read them.
struct Scrape {
    families: BTreeMap<String, String>,
    samples: Vec<Value>,
    text: String,
}

impl Scrape {
    fn take(python: &Path, addr: SocketAddr) -> Scrape {
        let (status, head, text) = http_get(addr, "/metrics");
        assert_eq!(status, "HTTP/1.1 200 OK", "{head}");
        assert!(
            head.contains("Content-Type: text/plain; version=0.0.4"),
            "{head}"
        );
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/python/parse_metrics.py"
        );
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the Python parser starts");
        // A small text: the pipe takes it whole, so writing before reading cannot deadlock.
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let output = child.wait_with_output().expect("the parser ends");
        assert!(
            output.status.success(),
            "the Prometheus parser rejected the scrape: {}\n{text}",
            String::from_utf8_lossy(&output.stderr)
        );
        let parsed: Value = serde_json::from_slice(&output.stdout).expect("the parser's JSON");
        let families = parsed["families"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let samples = parsed["samples"].as_array().unwrap().clone();
        Scrape {
            families,
            samples,
            text,
        }
    }

    /// The value of the sample `name` whose labels include `labels`, summed over the others.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s["name"] == name)
            .filter(|s| labels.iter().all(|(k, v)| s["labels"][k] == *v))
            .map(|s| s["value"].as_f64().expect("a finite value"))
            .sum()
    }

    /// The value of the one sample `name` of the session `session` with `labels`.
    fn one(&self, session: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matching: Vec<&Value> = self
            .samples
            .iter()
            .filter(|s| s["name"] == name && s["labels"]["session"] == session)
            .filter(|s| labels.iter().all(|(k, v)| s["labels"][k] == *v))
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "one sample {name}{labels:?} of {session}:\n{}",
            self.text
        );
        matching[0]["value"].as_f64().expect("a finite value")
    }

    /// The `cause` labels of `name`'s samples with their values.
    fn causes(&self, name: &str) -> BTreeMap<String, f64> {
        self.samples
            .iter()
            .filter(|s| s["name"] == name)
            .map(|s| {
                (
                    s["labels"]["cause"].as_str().expect("a cause").to_owned(),
                    s["value"].as_f64().unwrap(),
                )
            })
            .collect()
    }
}

/// The `cause` label a printed cause object stands for, worked out from the line's own
/// fields (the tool prints them through another path than the recorder's mapping).
fn cause_label_of_line(line: &Value) -> String {
    let cause = &line["cause"];
    match cause["kind"].as_str().expect("a cause kind") {
        "transport" => cause["error"]
            .as_str()
            .expect("a transport error")
            .to_owned(),
        "timeout" => format!("{}_timeout", cause["timeout"].as_str().unwrap()),
        "server_closed" => "server_close".to_owned(),
        other => other.to_owned(),
    }
}

/// The printed lines' causes of `event`, counted by label.
fn printed_causes(lines: &[Value], event: &str) -> BTreeMap<String, f64> {
    let mut causes = BTreeMap::new();
    for line in lines.iter().filter(|l| l["event"] == event) {
        *causes.entry(cause_label_of_line(line)).or_insert(0.0) += 1.0;
    }
    causes
}

/// `/metrics` during an outage (the listener closed, every connection dropped) and after the
/// feed is live again: the Python parser reads both scrapes, and the counters agree with the
/// printed events; the endpoint answers 404 elsewhere.
pub fn metrics_follow_an_outage_and_agree_with_the_printed_events(example: Example) {
    let python = python();
    let session = example.name;
    let server =
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(20)))
            .unwrap();
    let url = server.url("metrics");
    let started = Instant::now();
    let mut feed = Feed::start(
        example,
        &[
            "--channel",
            "a",
            "--seq-pointer",
            "/seq",
            "--backoff-initial",
            "40",
            "--backoff-max",
            "120",
            "--metrics",
            "127.0.0.1:0",
            &url,
        ],
    );
    let addr = metrics_addr(&feed);
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    let (status, _, _) = http_get(addr, "/");
    assert!(status.starts_with("HTTP/1.1 404 "), "{status}");

    feed.expect_event("live");
    feed.expect("a message on a", |l| {
        l["event"] == "message" && l["channel"] == "a"
    });
    server.inject(Fault::SkipSeq {
        channel: "a".into(),
    });
    feed.expect_event("gap");

    // The outage: nothing listens, the connection is dropped; it lasts until the listener is
    // reopened below, so the scrape in between sees the session down.
    server.inject(Fault::CloseListener);
    server.inject(Fault::DropAll);
    feed.expect_event("disconnected");
    feed.expect_event("attempt_failed");
    feed.expect_event("attempt_failed");
    let down = Scrape::take(&python, addr);
    assert_eq!(
        down.one(session, "reconnect_live", &[]),
        0.0,
        "{}",
        down.text
    );
    assert_eq!(
        down.one(session, "reconnect_state", &[("state", "live")]),
        0.0
    );
    let one_hot = down.one(session, "reconnect_state", &[("state", "backoff")])
        + down.one(session, "reconnect_state", &[("state", "connecting")]);
    assert_eq!(one_hot, 1.0, "backing off or connecting:\n{}", down.text);
    assert_eq!(
        down.sum("reconnect_state", &[("session", session)]),
        1.0,
        "exactly one state"
    );
    assert_eq!(
        down.causes("reconnect_disconnects_total"),
        printed_causes(&feed.seen, "disconnected"),
        "{}",
        down.text
    );
    // Attempts may have gone on since the last line read: at least what was printed.
    let failures: f64 = down
        .causes("reconnect_connect_failures_total")
        .values()
        .sum();
    assert!(failures >= 2.0, "{}", down.text);
    assert!(down.one(session, "reconnect_attempts_total", &[]) >= 3.0);
    assert_eq!(down.one(session, "reconnect_reconnects_total", &[]), 0.0);

    server.inject(Fault::ReopenListener);
    let live = feed.expect_event("live");
    let messages_before = count(&feed.seen, "message");
    feed.expect("a message after the outage", |l| l["event"] == "message");
    let up = Scrape::take(&python, addr);
    let lines = feed.seen.clone();
    let printed = |event: &str| count(&lines, event) as f64;

    // The types, as a Prometheus parser reads them (counter families drop `_total`).
    for (family, kind) in [
        ("reconnect_live", "gauge"),
        ("reconnect_state", "gauge"),
        ("reconnect_attempts", "counter"),
        ("reconnect_connects", "counter"),
        ("reconnect_connect_failures", "counter"),
        ("reconnect_disconnects", "counter"),
        ("reconnect_reconnects", "counter"),
        ("reconnect_frames_received", "counter"),
        ("reconnect_frames_sent", "counter"),
        ("reconnect_gaps", "counter"),
        ("reconnect_regressions", "counter"),
        ("reconnect_subscriptions_active", "gauge"),
        ("reconnect_subscriptions_rejected", "counter"),
        ("reconnect_outbox_depth", "gauge"),
        ("reconnect_outbox_dropped", "counter"),
        ("reconnect_time_to_resubscribe_seconds", "histogram"),
        ("reconnect_uptime_seconds", "counter"),
        ("reconnect_downtime_seconds", "counter"),
    ] {
        assert_eq!(
            up.families.get(family).map(String::as_str),
            Some(kind),
            "{family}:\n{}",
            up.text
        );
    }
    // Live again; nothing of the lifecycle happens while live, so the counters equal the
    // printed lines exactly.
    assert_eq!(up.one(session, "reconnect_live", &[]), 1.0, "{}", up.text);
    assert_eq!(
        up.one(session, "reconnect_state", &[("state", "live")]),
        1.0
    );
    assert_eq!(up.sum("reconnect_state", &[("session", session)]), 1.0);
    assert_eq!(
        up.one(session, "reconnect_attempts_total", &[]),
        printed("connecting")
    );
    assert_eq!(
        up.one(session, "reconnect_connects_total", &[]),
        printed("connected")
    );
    assert_eq!(printed("connected"), 2.0, "two connections");
    assert_eq!(
        up.causes("reconnect_connect_failures_total"),
        printed_causes(&lines, "attempt_failed"),
        "{}",
        up.text
    );
    assert_eq!(
        up.causes("reconnect_disconnects_total"),
        printed_causes(&lines, "disconnected")
    );
    assert_eq!(printed("disconnected"), 1.0);
    assert_eq!(
        up.one(session, "reconnect_reconnects_total", &[]),
        printed("live") - 1.0
    );
    assert_eq!(printed("live"), 2.0);
    assert_eq!(up.one(session, "reconnect_gaps_total", &[]), printed("gap"));
    assert_eq!(printed("gap"), 1.0);
    assert_eq!(up.one(session, "reconnect_regressions_total", &[]), 0.0);
    assert!(
        up.one(session, "reconnect_frames_received_total", &[]) >= messages_before as f64 + 1.0,
        "{}",
        up.text
    );
    // Sent: at least the two subscribe requests.
    assert!(up.one(session, "reconnect_frames_sent_total", &[]) >= 2.0);
    assert_eq!(up.one(session, "reconnect_subscriptions_active", &[]), 1.0);
    assert_eq!(up.one(session, "reconnect_outbox_depth", &[]), 0.0);
    // One restore, as long as the `live` line says (whole milliseconds there).
    assert_eq!(
        up.one(session, "reconnect_time_to_resubscribe_seconds_count", &[]),
        1.0
    );
    let restore = up.one(session, "reconnect_time_to_resubscribe_seconds_sum", &[]);
    let outage_ms = live["outage_ms"].as_u64().unwrap() as f64;
    assert!(
        (restore * 1000.0 - outage_ms).abs() <= 1.0,
        "restore {restore} s, live line {live}"
    );
    let inf_bucket = up.one(
        session,
        "reconnect_time_to_resubscribe_seconds_bucket",
        &[("le", "+Inf")],
    );
    assert_eq!(inf_bucket, 1.0);
    let accounted = up.one(session, "reconnect_uptime_seconds_total", &[])
        + up.one(session, "reconnect_downtime_seconds_total", &[]);
    assert!(
        accounted <= started.elapsed().as_secs_f64(),
        "{accounted} s accounted"
    );

    feed.command("close");
    let (status, _, _) = feed.finish();
    assert_eq!(status.code(), Some(0));
}

/// A bad `--metrics` address is a usage error naming the option and the value.
pub fn a_bad_metrics_address_is_a_usage_error(example: Example) {
    for bad in [
        "localhost",
        "127.0.0.1",
        "127.0.0.1:99999",
        "http://127.0.0.1:1/",
    ] {
        let feed = Feed::start(example, &["--metrics", bad, "ws://127.0.0.1:1/ws"]);
        let (status, lines, stderr) = feed.finish();
        assert_eq!(status.code(), Some(1), "{bad}: {stderr}");
        assert!(lines.is_empty(), "{bad}: no JSON");
        assert!(
            stderr.contains("--metrics") && stderr.contains(&format!("{bad:?}")),
            "{bad}: {stderr}"
        );
    }
}
