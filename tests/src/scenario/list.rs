//! The scenario list: each entry is data (steps and checks), documented in `SCENARIOS.md`.

use std::time::Duration;

use super::{Await, ClientSpec, Expect, Invariant, Jitter, ProxyAction, Scenario, Step, StopKind};
use super::{Transport, Within};
use crate::server::{AuthRejection, Fault, FaultKind, Persist, ServerConfig};

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Generous bound for waits that only fail on a real hang.
const LONG: Duration = Duration::from_secs(5);
/// Margin added to detection bounds for scheduling noise on a loaded 2-core machine.
const MARGIN: Duration = Duration::from_millis(250);

fn sc(name: &'static str, fault: &'static str, expect: &'static str) -> Scenario {
    Scenario {
        name,
        fault,
        expect,
        transport: Transport::Any,
        server: |c| c,
        client: |_| {},
        steps: Vec::new(),
        relax: Vec::new(),
    }
}

impl Scenario {
    fn steps(mut self, steps: Vec<Step>) -> Self {
        self.steps = steps;
        self
    }
    fn client(mut self, f: fn(&mut ClientSpec)) -> Self {
        self.client = f;
        self
    }
    fn server(mut self, f: fn(ServerConfig) -> ServerConfig) -> Self {
        self.server = f;
        self
    }
    fn on(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }
    fn relax(mut self, invariants: &[Invariant]) -> Self {
        self.relax = invariants.to_vec();
        self
    }
}

fn start() -> Step {
    Step::Start
}
fn wait(what: Await) -> Step {
    Step::Await(what, LONG)
}
fn live() -> Step {
    wait(Await::Live)
}
fn inject(f: Fault) -> Step {
    Step::Inject(f, Persist::Once)
}
fn until_cleared(f: Fault) -> Step {
    Step::Inject(f, Persist::UntilCleared)
}
fn clear(k: FaultKind) -> Step {
    Step::Inject(Fault::Clear(k), Persist::Once)
}
fn expect(e: Expect) -> Step {
    Step::Expect(e)
}
fn mark(name: &'static str) -> Step {
    Step::Mark(name)
}
fn restored_ab() -> Step {
    expect(Expect::Restored(&["a", "b"]))
}

/// The opening of most scenarios: start, go live with `a` and `b` restored, see data.
fn opening() -> Vec<Step> {
    vec![
        start(),
        live(),
        restored_ab(),
        wait(Await::Messages("a", 3)),
    ]
}

/// `opening()` followed by `rest`.
fn after_opening(rest: Vec<Step>) -> Vec<Step> {
    let mut v = opening();
    v.extend(rest);
    v
}

/// Lose the connection, come back live with everything restored and data flowing.
fn recovers() -> Vec<Step> {
    vec![
        wait(Await::Disconnected),
        live(),
        restored_ab(),
        wait(Await::Messages("a", 3)),
    ]
}

fn then(mut a: Vec<Step>, b: Vec<Step>) -> Vec<Step> {
    a.extend(b);
    a
}

/// Descriptors a hostile scenario may leave open beyond its mark: the process is shared with the
/// scenarios running beside it.
const FD_SLACK: usize = 40;
/// Resident memory a hostile scenario may add (MiB): generous, as the process is shared, yet far
/// below what allocating an announced 2^62-byte frame or buffering a flood would take.
const RSS_SLACK_MIB: u64 = 64;

/// The fds and memory of the process stay within bounds since the mark `base`.
fn bounded() -> Step {
    expect(Expect::ResourcesBounded {
        since: "base",
        fds: FD_SLACK,
        rss_mib: RSS_SLACK_MIB,
    })
}

/// The server closes the live connection with an invalid close code; the client reconnects and
/// says which code was wrong.
fn invalid_close_code(name: &'static str, fault: &'static str, code: u16) -> Scenario {
    sc(name, fault, "reconnects and restores; its disconnect reason names the invalid code, not the 1002 it answers with")
        .steps(after_opening(vec![
            mark("base"),
            inject(Fault::close(code, "invalid code")),
            wait(Await::Disconnected),
            expect(Expect::DisconnectNamesCloseCode(code)),
            live(),
            restored_ab(),
            wait(Await::Messages("a", 3)),
            bounded(),
        ]))
}

/// One subscribe batch holding a bad channel is refused whole; the good channels still go live.
fn batch_rejected(name: &'static str, fault: &'static str, naming: bool) -> Scenario {
    sc(
        name,
        fault,
        "reports bad rejected, and only bad; a and b are subscribed and flow",
    )
    .client(|s| s.channels = vec!["a".into(), "bad".into(), "b".into()])
    .relax(&[Invariant::OncePerConnection])
    .steps(vec![
        mark("base"),
        Step::Inject(
            Fault::reject_batch_for("bad", naming),
            Persist::UntilCleared,
        ),
        start(),
        wait(Await::Rejected("bad")),
        live(),
        wait(Await::Messages("a", 3)),
        wait(Await::Messages("b", 3)),
        expect(Expect::RejectedExactly(&["bad"])),
        expect(Expect::NeverSubscribed("bad")),
        bounded(),
    ])
}

/// Every scenario, in documentation order.
pub fn all() -> Vec<Scenario> {
    vec![
        // ----- baseline -----
        sc("baseline_live", "none", "authenticates, restores a and b once each after the auth ack, receives numbered data, stays connected")
            .steps(after_opening(vec![
                wait(Await::Messages("b", 3)),
                expect(Expect::StaysConnectedFor(ms(300))),
                expect(Expect::NoGaps),
            ])),
        sc("slow_auth_ack_waited_for", "the server answers auth only after 150 ms", "no subscribe request reaches the server before the auth ack")
            .server(|c| c.auth_delay(ms(150)))
            .steps(opening()),
        sc("heartbeat_test_requests_answered", "server heartbeats every 50 ms, closing connections that do not answer", "answers every test_request with public/test and is never closed for it")
            .client(|s| s.heartbeat = Some(ms(50)))
            .steps(after_opening(vec![
                expect(Expect::StaysConnectedFor(ms(600))),
                expect(Expect::HeartbeatsAnswered(5)),
            ])),
        // ----- the server ends the connection -----
        sc("server_close_going_away", "close frame 1001", "reconnects and restores a and b exactly once")
            .steps(after_opening(then(vec![inject(Fault::close(1001, "going away"))], recovers()))),
        sc("server_close_service_restart", "close frame 1012", "reconnects, restores, and sees no gap (nothing was lost)")
            .steps(after_opening(then(
                vec![inject(Fault::close(1012, "service restart"))],
                then(recovers(), vec![expect(Expect::NoGaps)]),
            ))),
        sc("tcp_reset", "RST on the open connection", "reconnects and restores")
            .steps(after_opening(then(vec![inject(Fault::Reset)], recovers()))),
        sc("tcp_drop_without_close", "FIN without a close frame", "reconnects and restores")
            .steps(after_opening(then(vec![inject(Fault::Drop)], recovers()))),
        sc("server_restart_same_port", "restart: every connection dropped, listener closed 300 ms, reopened on the same port", "reconnects after the downtime, restores, data continues")
            .steps(after_opening(then(vec![inject(Fault::Restart { downtime: ms(300) })], recovers()))),
        sc("repeated_restarts_restore_once_each", "three restarts in a row", "each new connection restores a and b exactly once")
            .steps(after_opening(then(
                then(
                    then(vec![inject(Fault::Restart { downtime: ms(100) })], recovers()),
                    then(vec![inject(Fault::Restart { downtime: ms(100) })], recovers()),
                ),
                then(vec![inject(Fault::Restart { downtime: ms(100) })], recovers()),
            ))),
        sc("refused_then_reopened", "listener closed and connections dropped; reopened after two refused attempts", "keeps retrying refused connects with backoff, then reconnects and restores")
            .steps(after_opening(vec![
                inject(Fault::CloseListener),
                inject(Fault::DropAll),
                wait(Await::Disconnected),
                wait(Await::Reconnects(2)),
                inject(Fault::ReopenListener),
                live(),
                restored_ab(),
            ])),
        // ----- dead connections -----
        sc("silent_stall_detected_by_ping", "silent stall: TCP open, nothing read or written", "detects the dead connection within ping interval + pong timeout (+250 ms), reconnects, restores")
            .steps(after_opening(then(
                vec![mark("stall"), inject(Fault::SilentStall)],
                then(
                    vec![wait(Await::Disconnected), expect(Expect::DisconnectedWithin("stall", Within::PingPong(MARGIN)))],
                    vec![live(), restored_ab()],
                ),
            ))),
        sc("data_stall_with_pings_is_not_dead", "data stops for 600 ms while pings are still answered", "stays connected (no false positive), and data resumes without a gap")
            .steps(after_opening(vec![
                inject(Fault::DataStall),
                expect(Expect::StaysConnectedFor(ms(600))),
                clear(FaultKind::DataStall),
                wait(Await::Messages("a", 3)),
                expect(Expect::NoGaps),
            ])),
        sc("data_stall_idle_timeout", "data stops; no pings, no heartbeats, idle timeout 300 ms", "detects the idle connection within idle timeout (+250 ms), reconnects, restores")
            .client(|s| {
                s.ping_interval = None;
                s.idle_timeout = Some(ms(300));
            })
            .steps(after_opening(vec![
                mark("stall"),
                inject(Fault::DataStall),
                wait(Await::Disconnected),
                expect(Expect::DisconnectedWithin("stall", Within::Idle(MARGIN))),
                live(),
                restored_ab(),
                wait(Await::Messages("a", 3)),
            ])),
        sc("blackholed_upgrade_connect_timeout", "the first connection is accepted but never answered", "abandons it within the connect timeout (+250 ms), retries, goes live")
            .steps(vec![
                inject(Fault::BlackholeUpgrade),
                mark("start"),
                start(),
                live(),
                restored_ab(),
                expect(Expect::AbandonedWithin("start", Within::Connect(MARGIN))),
            ]),
        // ----- auth and HTTP rejections -----
        sc("auth_rejected_fatal_stops", "every auth rejected with 13004 invalid_credentials", "stops with Fatal after the first rejection; no further attempt")
            .steps(vec![
                until_cleared(Fault::RejectAuth(AuthRejection::Fatal)),
                mark("start"),
                start(),
                wait(Await::Stopped),
                expect(Expect::Stopped(StopKind::Fatal)),
                expect(Expect::NoReconnectFor(ms(500))),
                expect(Expect::AcceptedSince("start", 1)),
            ]),
        sc("auth_rejected_transient_retries", "the first auth rejected with 10028 too_many_requests", "reconnects with backoff, authenticates, restores")
            .steps(vec![
                inject(Fault::RejectAuth(AuthRejection::Transient)),
                mark("start"),
                start(),
                wait(Await::ReconnectScheduled),
                live(),
                restored_ab(),
                expect(Expect::AcceptedSince("start", 2)),
            ]),
        sc("http_401_is_fatal", "every upgrade answered 401", "stops with Fatal after one attempt")
            .steps(vec![
                until_cleared(Fault::http(401)),
                mark("start"),
                start(),
                wait(Await::Stopped),
                expect(Expect::Stopped(StopKind::Fatal)),
                expect(Expect::NoReconnectFor(ms(500))),
                expect(Expect::AcceptedSince("start", 1)),
            ]),
        sc("http_403_is_fatal", "every upgrade answered 403", "stops with Fatal after one attempt")
            .steps(vec![
                until_cleared(Fault::http(403)),
                mark("start"),
                start(),
                wait(Await::Stopped),
                expect(Expect::Stopped(StopKind::Fatal)),
                expect(Expect::NoReconnectFor(ms(500))),
                expect(Expect::AcceptedSince("start", 1)),
            ]),
        sc("http_429_retry_after_honoured", "the first upgrade answered 429 with Retry-After: 1", "waits at least 1 s before the next attempt, then goes live")
            .steps(vec![
                inject(Fault::http_retry_after(429, 1)),
                start(),
                live(),
                restored_ab(),
                expect(Expect::RetryAfterHonoured(ms(1000))),
            ]),
        sc("http_503_retried_with_backoff", "the first three upgrades answered 503", "retries with growing delays, the fourth attempt goes live")
            .steps(vec![
                Step::Inject(Fault::http(503), Persist::Times(3)),
                mark("start"),
                start(),
                live(),
                restored_ab(),
                expect(Expect::AcceptedSince("start", 4)),
                expect(Expect::Backoff { since: "start", grows: true }),
            ]),
        // ----- backoff -----
        sc("accept_then_close_backoff_grows", "every connection accepted then closed at once, until cleared", "delays grow from backoff_initial to backoff_max and never exceed it; the client really waits them; recovers when cleared")
            .steps(after_opening(vec![
                mark("outage"),
                until_cleared(Fault::AcceptThenClose),
                inject(Fault::DropAll),
                wait(Await::Reconnects(6)),
                expect(Expect::Backoff { since: "outage", grows: true }),
                clear(FaultKind::AcceptThenClose),
                live(),
                restored_ab(),
            ])),
        sc("backoff_full_jitter_within_bounds", "accept-then-close outage with full jitter", "every delay within [0, backoff_max]; recovers when cleared")
            .client(|s| s.jitter = Jitter::Full)
            .steps(after_opening(vec![
                mark("outage"),
                until_cleared(Fault::AcceptThenClose),
                inject(Fault::DropAll),
                wait(Await::Reconnects(8)),
                expect(Expect::Backoff { since: "outage", grows: false }),
                clear(FaultKind::AcceptThenClose),
                live(),
            ])),
        sc("reset_on_accept_retried", "the next three connections reset at accept", "retries through the resets, the fourth attempt goes live")
            .steps(after_opening(vec![
                mark("outage"),
                Step::Inject(Fault::ResetOnAccept, Persist::Times(3)),
                inject(Fault::DropAll),
                wait(Await::Disconnected),
                live(),
                restored_ab(),
                expect(Expect::AcceptedSince("outage", 4)),
            ])),
        sc("short_uptime_keeps_backoff_growing", "every new session closed (1012) right after its handshake, until cleared", "uptime below min_uptime does not reset the backoff: delays keep growing")
            .steps(after_opening(vec![
                mark("outage"),
                until_cleared(Fault::close(1012, "flapping")),
                wait(Await::Reconnects(5)),
                expect(Expect::Backoff { since: "outage", grows: true }),
                clear(FaultKind::Close),
                live(),
                restored_ab(),
            ])),
        sc("stable_uptime_resets_backoff", "an outage of three failed attempts, then a connection that stays up past min_uptime, then a drop", "the first delay after the drop is backoff_initial again")
            .steps(after_opening(vec![
                Step::Inject(Fault::AcceptThenClose, Persist::Times(3)),
                inject(Fault::DropAll),
                live(),
                Step::Sleep(ms(400)),
                mark("stable"),
                inject(Fault::Drop),
                wait(Await::ReconnectScheduled),
                expect(Expect::BackoffReset("stable")),
                live(),
            ])),
        sc("max_attempts_gives_up", "every connection accepted then closed; max_attempts 3", "stops with GaveUp after exactly three attempts")
            .client(|s| s.max_attempts = Some(3))
            .steps(vec![
                until_cleared(Fault::AcceptThenClose),
                mark("start"),
                start(),
                wait(Await::Stopped),
                expect(Expect::Stopped(StopKind::GaveUp)),
                expect(Expect::NoReconnectFor(ms(400))),
                expect(Expect::AcceptedSince("start", 3)),
            ]),
        // ----- subscriptions and data -----
        sc("nack_subscription_omitted", "the server leaves b out of every subscribe ack", "never reports b as subscribed; a is subscribed and flows")
            .relax(&[Invariant::OncePerConnection])
            .steps(vec![
                until_cleared(Fault::nack_omit("b")),
                start(),
                wait(Await::Subscribed("a")),
                wait(Await::Messages("a", 5)),
                expect(Expect::NeverSubscribed("b")),
            ]),
        sc("nack_subscription_error", "every subscribe request answered with error 11050", "never reports a channel as subscribed and receives no data")
            .relax(&[Invariant::OncePerConnection])
            .steps(vec![
                until_cleared(Fault::nack_error(11050, "bad_request")),
                start(),
                wait(Await::Connected),
                Step::Sleep(ms(300)),
                expect(Expect::NeverSubscribed("a")),
                expect(Expect::NeverSubscribed("b")),
                expect(Expect::NoMessages),
            ]),
        sc("skipped_seq_reported_as_gap", "one sequence number of a skipped", "reports a Gap for a, exactly one number wide")
            .steps(after_opening(vec![
                inject(Fault::skip_seq("a")),
                wait(Await::Gap),
                expect(Expect::GapReported("a")),
            ])),
        sc("unsubscribed_channel_not_restored", "b unsubscribed, then the connection drops", "the new connection restores a only; b is never subscribed again")
            .steps(after_opening(vec![
                Step::Unsubscribe("b"),
                Step::Sleep(ms(100)),
                mark("after"),
                inject(Fault::Drop),
                wait(Await::Disconnected),
                live(),
                expect(Expect::Restored(&["a"])),
                expect(Expect::NotRestoredSince("after", "b")),
            ])),
        sc("subscribed_while_live_is_restored", "c subscribed while live, then the connection drops", "c is subscribed at once and restored with a and b")
            .steps(after_opening(vec![
                Step::Subscribe("c"),
                wait(Await::Subscribed("c")),
                wait(Await::Messages("c", 2)),
                inject(Fault::Drop),
                wait(Await::Disconnected),
                live(),
                expect(Expect::Restored(&["a", "b", "c"])),
            ])),
        sc("sends_queued_until_live", "two sends issued while the listener is closed", "both arrive once, in order, after the restore")
            .steps(vec![
                inject(Fault::CloseListener),
                start(),
                wait(Await::ReconnectScheduled),
                Step::Send("hello-1"),
                Step::Send("hello-2"),
                inject(Fault::ReopenListener),
                live(),
                Step::Sleep(ms(100)),
                expect(Expect::TextsAfterLive(&["hello-1", "hello-2"])),
            ]),
        // ----- garbage -----
        sc("oversized_frame_reconnects", "a 32 MiB text frame (client limit 1 MiB)", "treats it as a protocol error: reconnects and restores, no panic")
            .steps(after_opening(then(vec![inject(Fault::Oversized { bytes: 32 << 20 })], recovers()))),
        sc("invalid_utf8_reconnects", "a text frame with invalid UTF-8", "treats it as a protocol error: reconnects and restores, no panic")
            .steps(after_opening(then(vec![inject(Fault::InvalidUtf8)], recovers()))),
        sc("non_json_text_survives", "a text frame that is not JSON", "ignores it or reconnects; either way is live again with data flowing, no panic")
            .steps(after_opening(vec![
                inject(Fault::NonJson),
                Step::Sleep(ms(300)),
                wait(Await::Messages("a", 5)),
                expect(Expect::LiveNow),
            ])),
        sc("binary_garbage_survives", "a binary frame of garbage", "ignores it or reconnects; either way is live again with data flowing, no panic")
            .steps(after_opening(vec![
                inject(Fault::BinaryGarbage),
                Step::Sleep(ms(300)),
                wait(Await::Messages("a", 5)),
                expect(Expect::LiveNow),
            ])),
        // ----- closing -----
        sc("client_close_is_clean", "the application closes the client", "a close frame 1000 reaches the server, Stopped(Closed), never a reconnect")
            .steps(after_opening(vec![
                Step::Close,
                wait(Await::Stopped),
                expect(Expect::Stopped(StopKind::Closed)),
                expect(Expect::CloseFrame(1000)),
                expect(Expect::NoReconnectFor(ms(400))),
            ])),
        sc("close_during_backoff_stops", "the application closes the client while it waits to reconnect", "Stopped(Closed) at once, no further attempt even once the server is back")
            .steps(after_opening(vec![
                inject(Fault::CloseListener),
                inject(Fault::DropAll),
                wait(Await::ReconnectScheduled),
                Step::Close,
                wait(Await::Stopped),
                expect(Expect::Stopped(StopKind::Closed)),
                inject(Fault::ReopenListener),
                expect(Expect::NoReconnectFor(ms(400))),
            ])),
        // ----- through the proxy -----
        sc("proxy_latency_no_false_stall", "60 ms latency each way; pong timeout 300 ms", "stays connected (a slow round trip is not a dead one), data flows")
            .client(|s| s.pong_timeout = ms(300))
            .on(Transport::Proxy)
            .steps(after_opening(vec![
                Step::Proxy(ProxyAction::Latency(ms(60))),
                expect(Expect::StaysConnectedFor(ms(700))),
                wait(Await::Messages("a", 3)),
            ])),
        sc("proxy_blackhole_detected", "the network drops every byte both ways, sockets stay open", "detects it within ping interval + pong timeout (+250 ms), reconnects once the network is back")
            .on(Transport::Proxy)
            .steps(after_opening(vec![
                mark("hole"),
                Step::Proxy(ProxyAction::Blackhole(true)),
                wait(Await::Disconnected),
                expect(Expect::DisconnectedWithin("hole", Within::PingPong(MARGIN))),
                Step::Proxy(ProxyAction::Blackhole(false)),
                live(),
                restored_ab(),
            ])),
        sc("proxy_cut_reconnects", "the network resets both sides", "reconnects and restores")
            .on(Transport::Proxy)
            .steps(after_opening(then(vec![Step::Proxy(ProxyAction::Cut)], recovers()))),
        sc("proxy_bandwidth_limited_still_live", "bandwidth limited to 20 kB/s each way", "stays connected, data flows")
            .on(Transport::Proxy)
            .steps(after_opening(vec![
                Step::Proxy(ProxyAction::Bandwidth(Some(20_000))),
                expect(Expect::StaysConnectedFor(ms(500))),
                wait(Await::Messages("a", 3)),
            ])),
        sc("wss_restart", "over wss://: a restart", "the TLS client trusts the kit's root, reconnects and restores")
            .on(Transport::Tls)
            .steps(after_opening(then(vec![inject(Fault::Restart { downtime: ms(100) })], recovers()))),
        // ----- hostile servers -----
        sc("malformed_status_line_retried", "upgrades answered with the status line `HTTP/1.1 000 Zero`, then `HTTP/1.1 099 X`, until cleared", "treats both as transient: retries (never stops), goes live once cleared")
            .steps(vec![
                mark("base"),
                until_cleared(Fault::malformed_status("HTTP/1.1 000 Zero")),
                start(),
                wait(Await::Reconnects(2)),
                clear(FaultKind::MalformedStatus),
                until_cleared(Fault::malformed_status("HTTP/1.1 099 X")),
                wait(Await::Reconnects(2)),
                clear(FaultKind::MalformedStatus),
                live(),
                restored_ab(),
                wait(Await::Messages("a", 3)),
                bounded(),
            ]),
        sc("wrong_accept_key_retried", "upgrades answered 101 with a wrong Sec-WebSocket-Accept, until cleared", "treats it as transient: retries (never stops), goes live once cleared")
            .steps(vec![
                mark("base"),
                until_cleared(Fault::WrongAccept),
                start(),
                wait(Await::Reconnects(3)),
                clear(FaultKind::WrongAccept),
                live(),
                restored_ab(),
                wait(Await::Messages("a", 3)),
                bounded(),
            ]),
        sc("trickled_upgrade_connect_timeout", "upgrades answered one byte per second, until cleared; connect timeout 400 ms", "abandons each within the connect timeout (+250 ms), retries, goes live once cleared")
            .client(|s| s.connect_timeout = ms(400))
            .steps(vec![
                mark("base"),
                until_cleared(Fault::TrickleUpgrade { interval: Duration::from_secs(1) }),
                mark("start"),
                start(),
                wait(Await::Reconnects(2)),
                expect(Expect::AbandonedWithin("start", Within::Connect(MARGIN))),
                clear(FaultKind::TrickleUpgrade),
                live(),
                restored_ab(),
                bounded(),
            ]),
        sc("huge_frame_header_refused", "a frame header announcing 2^62 payload bytes (client limit 1 MiB)", "refuses it from the header without allocating: reconnects and restores, memory bounded")
            .steps(after_opening(then(
                vec![mark("base"), inject(Fault::HugeFrameHeader { announced: 1 << 62 })],
                then(recovers(), vec![bounded()]),
            ))),
        sc("empty_continuations_idle_timeout", "a non-final text frame, then empty continuation frames without end; no pings, idle timeout 350 ms", "no message completes, so the idle watchdog fires within idle timeout (+250 ms): reconnects, restores; memory bounded")
            .client(|s| {
                s.ping_interval = None;
                s.idle_timeout = Some(ms(350));
            })
            .steps(after_opening(vec![
                mark("base"),
                inject(Fault::EmptyContinuations),
                wait(Await::Disconnected),
                expect(Expect::DisconnectedWithin("base", Within::Idle(MARGIN))),
                live(),
                restored_ab(),
                wait(Await::Messages("a", 3)),
                bounded(),
            ])),
        sc("ping_flood_still_live", "pings as fast as the client takes them, until cleared", "keeps answering with pongs and stays connected; a subscription and a send made during the flood go through; memory bounded")
            .steps(after_opening(vec![
                mark("base"),
                until_cleared(Fault::PingFlood),
                expect(Expect::StaysConnectedFor(ms(300))),
                expect(Expect::PongsAnswered(20)),
                Step::Subscribe("c"),
                wait(Await::Subscribed("c")),
                wait(Await::Messages("c", 2)),
                Step::Send("sent-during-the-flood"),
                expect(Expect::StaysConnectedFor(ms(300))),
                expect(Expect::TextsAfterLive(&["sent-during-the-flood"])),
                expect(Expect::PongsAnswered(40)),
                expect(Expect::AcceptedSince("base", 0)),
                clear(FaultKind::PingFlood),
                bounded(),
            ])),
        invalid_close_code("invalid_close_code_999", "close frame with code 999 (below the valid range)", 999),
        invalid_close_code("invalid_close_code_1005", "close frame with code 1005 on the wire (reserved: never sent)", 1005),
        invalid_close_code("invalid_close_code_1006", "close frame with code 1006 on the wire (reserved: never sent)", 1006),
        invalid_close_code("invalid_close_code_5000", "close frame with code 5000 (above the valid range)", 5000),
        batch_rejected("batch_rejected_naming_the_channel", "subscribe requests naming bad refused whole with one error whose data.channel is bad, until cleared", true),
        batch_rejected("batch_rejected_without_naming", "subscribe requests naming bad refused whole with one error that does not say which channel, until cleared", false),
        sc("omitted_channel_reported_rejected", "the server leaves b out of every subscribe ack", "reports b rejected (never silently lost) and nothing else; a is subscribed and flows")
            .relax(&[Invariant::OncePerConnection])
            .steps(vec![
                mark("base"),
                until_cleared(Fault::nack_omit("b")),
                start(),
                wait(Await::Rejected("b")),
                wait(Await::Messages("a", 3)),
                expect(Expect::RejectedExactly(&["b"])),
                expect(Expect::NeverSubscribed("b")),
                bounded(),
            ]),
        sc("short_token_renewed_in_place", "auth answers expires_in 2 (seconds) with a refresh_token", "renews with grant_type refresh_token on the same connection before each token expires; no reconnect, no re-subscribe, no gap")
            .server(|c| c.token_lifetime(Duration::from_secs(2)))
            .steps(after_opening(vec![
                mark("base"),
                expect(Expect::StaysConnectedFor(ms(2600))),
                expect(Expect::AuthRenewed(1)),
                expect(Expect::AcceptedSince("base", 0)),
                restored_ab(),
                wait(Await::Messages("a", 3)),
                expect(Expect::NoGaps),
                bounded(),
            ])),
        // ----- resources -----
        sc("fd_stable_after_many_cycles", "200 reconnect cycles (every session closed right after its handshake)", "the process's open fds come back to where they were (slack 40)")
            .client(|s| {
                s.backoff_initial = ms(1);
                s.backoff_max = ms(2);
            })
            .steps(after_opening(vec![
                Step::Sleep(ms(100)),
                mark("base"),
                until_cleared(Fault::close(1012, "cycle")),
                Step::Await(Await::Reconnects(200), Duration::from_secs(30)),
                clear(FaultKind::Close),
                live(),
                expect(Expect::FdsStable("base", 40)),
            ])),
    ]
}
