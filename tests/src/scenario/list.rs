//! The scenario list: each entry is data (steps and checks), documented in `SCENARIOS.md`.

use std::time::Duration;

use super::{Await, ClientSpec, Expect, Invariant, Jitter, ProxyAction, Scenario, Step, StopKind};
use super::{Transport, Within};
use crate::server::{AuthRejection, Fault, FaultKind, Persist, ServerConfig};

mod hostile;

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

/// Every scenario, in documentation order.
pub fn all() -> Vec<Scenario> {
    let mut list = before_hostile();
    list.extend(hostile::scenarios());
    list.extend(after_hostile());
    list
}

fn before_hostile() -> Vec<Scenario> {
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
    ]
}

fn after_hostile() -> Vec<Scenario> {
    vec![
        // ----- resources -----
        sc(
            "fd_stable_after_many_cycles",
            "200 reconnect cycles (every session closed right after its handshake)",
            "the process's open fds come back to where they were (slack 40)",
        )
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
