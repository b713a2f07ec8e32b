//! Bad usage, failed attempts and fatal stops: each has its line and its exit status.

use super::*;

/// A fatal auth rejection stops with status 2.
pub fn a_fatal_auth_rejection_stops_with_status_2(example: Example) {
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
pub fn an_injected_fatal_auth_rejection_also_stops_with_status_2(example: Example) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject(Fault::RejectAuth(AuthRejection::Fatal));
    let url = server.url("rejected");
    let feed = Feed::start(example, &["--auth", r#"{"k":"v"}"#, &url]);
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(2));
    assert_eq!(count(&lines, "stopped"), 1);
}

/// Bad usage exits with status 1 and prints no JSON, only the usage.
pub fn bad_usage_exits_with_status_1_and_prints_no_json(example: Example) {
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
        // One line that says what is wrong, one that points at --help; not the whole usage.
        let said: Vec<&str> = stderr.lines().collect();
        assert_eq!(said.len(), 2, "{args:?}: {stderr}");
        assert!(said[0].starts_with(&format!("{example}: ")), "{stderr}");
        assert_eq!(said[1], format!("try '{example} --help' for the options"));
    }
}

/// `--help` is an answer, not an error: the usage on standard output, status 0, nothing on
/// standard error.
pub fn help_goes_to_stdout_with_status_0(example: Example) {
    let (status, lines, stderr) = Feed::start(example, &["--help"]).finish_raw();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(
        lines[0].starts_with(&format!("usage: {example} [OPTIONS] URL")),
        "{lines:?}"
    );
    for word in [
        "--runtime mio|smol",
        "--max-frame-len",
        "stdin commands",
        "giving_up",
    ] {
        assert!(lines.iter().any(|l| l.contains(word)), "{word}: {lines:?}");
    }
}

/// Every numeric option rejects what it cannot take (huge, negative, fractional, NaN, zero
/// where zero means nothing, beyond its type): exit status 1, a message naming the option and
/// the value, no panic, no JSON.
pub fn every_bad_number_is_a_usage_error_naming_the_option_and_the_value(example: Example) {
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
    example: Example,
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
    assert_eq!(live["resubscribed"], 1);
    assert!(live["outage_ms"].as_u64().unwrap() >= 450, "{live}");
    feed.command("close");
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(0));
    assert_eq!(count(&lines, "attempt_failed"), 2, "{lines:?}");
    assert_eq!(count(&lines, "connected"), 1);
}

/// The circuit breaker's changes each print a `circuit` line: open after the threshold of
/// failures (the next attempt waits the cooldown: `source` `circuit_open`), half open for the
/// probe, closed when the probe succeeds.
pub fn the_circuit_breaker_opens_probes_and_closes_with_a_line_each(example: Example) {
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
    example: Example,
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
