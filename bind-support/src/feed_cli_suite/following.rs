//! The feed followed through faults and stdin commands, and the ways it ends cleanly: what a
//! user sees while the session lives.

use super::*;

/// A feed through a gap and a reset, stdin commands, then a close with status 0.
pub fn follows_a_feed_through_a_gap_a_reset_and_stdin_commands(example: Example) {
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
pub fn exit_after_closes_cleanly_with_status_0_and_final_stats(example: Example) {
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

/// A subscription the server refuses prints `subscribe_rejected` with the channel, the
/// server's code and message and when it is retried (`null`: never); a transient refusal is
/// retried and then confirmed.
pub fn rejected_subscriptions_and_unsubscribes_have_lines(example: Example) {
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

/// A line of standard input that is not UTF-8, one that is not a command, and one far longer
/// than a line may be are reported on standard error (the long one by its length, not echoed)
/// and skipped: the `close` after them still closes the feed.
pub fn a_non_utf8_line_and_an_unknown_command_are_reported_and_skipped(example: Example) {
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
    let mut long = b"sub ".to_vec();
    long.resize(100_000, b'z');
    long.push(b'\n');
    feed.write_stdin(&long);
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
    assert!(stderr.contains("line 3 is 100000 bytes"), "{stderr}");
    assert!(!stderr.contains("zzzzzzzz"), "the long line was echoed");
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
pub fn a_flood_of_commands_beyond_the_queue_is_all_taken_and_close_still_works(example: Example) {
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
pub fn events_are_printed_when_they_happen_and_exit_after_does_not_overshoot(example: Example) {
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
pub fn a_close_the_server_never_answers_ends_after_the_close_timeout(example: Example) {
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
