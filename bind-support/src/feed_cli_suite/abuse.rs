//! What hostile or careless use met: a server that wants new credentials the tool cannot
//! invent, frames over the write limit (the tool's own and the session's), and a reconnect
//! that must say goodbye. Each case fails when its fix is removed.

use super::*;

/// The JSON-RPC adapter's default code for "these credentials are no longer good: get new
/// ones" (a revoked token).
const REFRESH_CODE: i64 = 13010;

/// A server that refuses the tool's credentials with "get new ones": the tool answers with
/// its `--auth` once, and when those are refused again it gives up with status 2 and its
/// reason, instead of letting the session ask for credentials forever.
pub fn credentials_refused_twice_give_up_with_status_2(example: Example) {
    let right = json!({"grant_type":"client_credentials","client_id":"x","client_secret":"right"});
    let server = TestServer::start(
        ServerConfig::default()
            .credentials(Credentials::Exactly(right))
            .fatal_auth_error(RpcError::new(REFRESH_CODE, "token revoked")),
    )
    .unwrap();
    let url = server.url("revoked");
    let mut feed = Feed::start(
        example,
        &[
            "--auth",
            r#"{"grant_type":"client_credentials","client_id":"x","client_secret":"wrong"}"#,
            "--backoff-initial",
            "20",
            "--backoff-max",
            "50",
            &url,
        ],
    );
    // Auth comes after the upgrade: the refusal ends an open connection.
    let failed = feed.expect_event("disconnected");
    assert_eq!(failed["disposition"], "refresh_credentials", "{failed}");
    feed.expect_event("credentials_requested");
    // Answered with --auth: a second attempt, refused the same way.
    feed.expect_event("connected");
    feed.expect_event("credentials_requested");
    let giving_up = feed.expect_event("giving_up");
    assert!(
        giving_up["reason"]
            .as_str()
            .unwrap()
            .contains("refused the --auth credentials again"),
        "{giving_up}"
    );
    feed.expect_event("stopped");
    let (status, lines, stderr) = feed.finish();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refused the --auth credentials again"),
        "{stderr}"
    );
    assert_eq!(count(&lines, "credentials_requested"), 2);
    assert_eq!(count(&lines, "giving_up"), 1);
    let auth_requests: usize = server
        .stats()
        .connections_of("revoked")
        .map(|c| c.requests("public/auth").count())
        .sum();
    assert_eq!(
        auth_requests, 2,
        "the first attempt and the one answer, nothing more"
    );
}

/// A refusal that asks for new credentials, once: the tool's answer is accepted and the feed
/// goes on.
pub fn a_single_refusal_is_answered_and_the_feed_goes_live(example: Example) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    server.inject_with(
        Fault::RejectAuth(AuthRejection::Custom(RpcError::new(
            REFRESH_CODE,
            "token revoked",
        ))),
        Persist::Once,
    );
    let url = server.url("renewed");
    let mut feed = Feed::start(
        example,
        &[
            "--auth",
            r#"{"k":"v"}"#,
            "--channel",
            "a",
            "--backoff-initial",
            "20",
            &url,
        ],
    );
    feed.expect_event("credentials_requested");
    feed.expect_event("live");
    feed.command("close");
    feed.expect_event("stopped");
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(0));
    assert_eq!(count(&lines, "giving_up"), 0);
}

/// A send larger than the frame limit is refused at once with a `refused` line (its size and
/// the limit), like every other refusal; a send of exactly the limit goes out.
pub fn an_oversized_send_is_a_refused_line(example: Example) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let url = server.url("sizes");
    let mut feed = Feed::start(example, &["--max-frame-len", "32", &url]);
    feed.expect_event("live");
    let over = "o".repeat(33);
    feed.command(&format!("send {over}"));
    let refused = feed.expect_event("refused");
    assert_eq!(refused["command"], "send", "{refused}");
    assert_eq!(refused["refusal"], "too_large", "{refused}");
    assert_eq!(refused["bytes"], 33, "{refused}");
    assert_eq!(refused["limit"], 32, "{refused}");
    let at_limit = "k".repeat(32);
    feed.command(&format!("send {at_limit}"));
    server
        .wait_until(STEP, |s| {
            s.connections_of("sizes")
                .any(|c| c.texts().contains(&at_limit.as_str()))
        })
        .expect("the send at the limit arrives");
    feed.command("close");
    let (status, _, stderr) = feed.finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
}

/// An auth request the session would build over the frame limit is never written: the
/// attempt fails with a cause that names what was too large, and the feed stops with status 2
/// (the same credentials would be too large on every attempt).
pub fn an_auth_request_over_the_frame_limit_stops_with_its_reason(example: Example) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let url = server.url("big-auth");
    let secret = "s".repeat(200);
    let auth = format!(
        r#"{{"grant_type":"client_credentials","client_id":"x","client_secret":"{secret}"}}"#
    );
    let mut feed = Feed::start(example, &["--max-frame-len", "100", "--auth", &auth, &url]);
    // The request is built once the connection is open: that connection ends, fatally.
    let failed = feed.expect_event("disconnected");
    assert_eq!(failed["disposition"], "fatal", "{failed}");
    assert_eq!(failed["cause"]["kind"], "frame_too_large", "{failed}");
    assert_eq!(failed["cause"]["purpose"], "auth", "{failed}");
    assert_eq!(failed["cause"]["limit"], 100, "{failed}");
    let reason = failed["cause"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("auth request of ")
            && reason.ends_with("exceeds the frame limit of 100 bytes"),
        "{failed}"
    );
    assert!(
        !reason.contains(&secret),
        "the reason never quotes the credentials"
    );
    feed.expect_event("stopped");
    let (status, lines, _) = feed.finish();
    assert_eq!(status.code(), Some(2));
    assert!(
        lines.iter().all(|l| !l.to_string().contains(&secret)),
        "no line quotes the credentials"
    );
    let auth_requests: usize = server
        .stats()
        .connections_of("big-auth")
        .map(|c| c.requests("public/auth").count())
        .sum();
    assert_eq!(
        auth_requests, 0,
        "the oversized request never reached the server"
    );
}

/// `reconnect` tells the server goodbye with a close frame before the next connection.
pub fn reconnect_sends_a_close_frame(example: Example) {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let url = server.url("bye");
    let mut feed = Feed::start(example, &[&url]);
    let first = feed.expect_event("live")["conn"].clone();
    feed.command("reconnect");
    let disconnected = feed.expect_event("disconnected");
    assert_eq!(disconnected["conn"], first);
    feed.expect_event("live");
    let stats = server
        .wait_until(STEP, |s| {
            s.connections_of("bye")
                .next()
                .is_some_and(|c| c.ended_at.is_some())
        })
        .expect("the first connection ends");
    let close = stats
        .connections_of("bye")
        .next()
        .unwrap()
        .close_received
        .clone()
        .expect("the client sent a close frame");
    assert_eq!(close.code, 1000);
    feed.command("close");
    let (status, _, _) = feed.finish();
    assert_eq!(status.code(), Some(0));
}
