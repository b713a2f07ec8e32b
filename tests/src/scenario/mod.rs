#![doc = include_str!("SCENARIOS.md")]

mod checks;
pub mod client;
mod list;
mod runner;

use std::time::Duration;

pub use client::{ClientError, ClientEvent, ClientSpec, Jitter, ScenarioClient, StopKind};
pub use list::all;
pub use runner::{
    assert_scenarios_pass, assert_suite_passes, run_scenario, run_suite, Report, RunOptions,
    ScenarioFailure, SuiteReport,
};

use crate::server::{Fault, Persist, ServerConfig};

/// One scenario: a fault (or a sequence of them) and the outcome a correct client must show,
/// as data the [runner](run_scenario) interprets.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Unique name (snake_case).
    pub name: &'static str,
    /// The fault, in words.
    pub fault: &'static str,
    /// The outcome a correct client shows, in words.
    pub expect: &'static str,
    /// Where the scenario runs.
    pub transport: Transport,
    /// Adjusts the scenario server's configuration.
    pub server: fn(ServerConfig) -> ServerConfig,
    /// Adjusts the client spec (after the defaults of [`ClientSpec::new`]).
    pub client: fn(&mut ClientSpec),
    /// What happens, in order.
    pub steps: Vec<Step>,
    /// Global invariants this scenario does not check (with the reason in its docs).
    pub relax: Vec<Invariant>,
}

/// Where a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `ws://` or `wss://` as [`RunOptions::tls`] says, through the proxy if
    /// [`RunOptions::proxy`] says so.
    Any,
    /// Always `wss://`.
    Tls,
    /// Always through the [fault proxy](crate::proxy).
    Proxy,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Start the client.
    Start,
    /// Wait (at most the duration) for something; fails the scenario on timeout.
    Await(Await, Duration),
    /// Inject a server fault.
    Inject(Fault, Persist),
    /// Change the proxy's conditions.
    Proxy(ProxyAction),
    /// `ScenarioClient::subscribe`.
    Subscribe(&'static str),
    /// `ScenarioClient::unsubscribe`.
    Unsubscribe(&'static str),
    /// `ScenarioClient::send`.
    Send(&'static str),
    /// `ScenarioClient::close`.
    Close,
    /// Let time pass (events are still collected).
    Sleep(Duration),
    /// Remember this moment (time, server counters, open fds) under a name.
    Mark(&'static str),
    /// Check something now.
    Expect(Expect),
}

/// Something to wait for. Client events are searched from the event after the one the previous
/// `Await` matched, so `Await(Live)` twice waits for two `Live` events.
#[derive(Debug, Clone, PartialEq)]
pub enum Await {
    /// A `Live` event.
    Live,
    /// A `Connected` event.
    Connected,
    /// A `Disconnected` event.
    Disconnected,
    /// A `Stopped` event.
    Stopped,
    /// A `ReconnectScheduled` event.
    ReconnectScheduled,
    /// `n` `ReconnectScheduled` events.
    Reconnects(usize),
    /// A `Gap` event.
    Gap,
    /// A `Subscribed` event for the channel.
    Subscribed(&'static str),
    /// A `SubscribeRejected` event for the channel.
    Rejected(&'static str),
    /// `n` `Message` events of the channel.
    Messages(&'static str, usize),
}

/// A bound on how long detection may take, derived from the client spec where possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within {
    /// A fixed time.
    Fixed(Duration),
    /// `ping_interval + pong_timeout + margin`.
    PingPong(Duration),
    /// `idle_timeout + margin`.
    Idle(Duration),
    /// `connect_timeout + margin`.
    Connect(Duration),
}

/// A check made at a point of the scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// The client's latest WebSocket session subscribed exactly these channels, each once.
    Restored(&'static [&'static str]),
    /// No connection accepted after the mark subscribed the channel.
    NotRestoredSince(&'static str, &'static str),
    /// The first `Disconnected` after the mark came within the bound.
    DisconnectedWithin(&'static str, Within),
    /// The first connection accepted after the mark was abandoned by the client (closed at the
    /// server) within the bound.
    AbandonedWithin(&'static str, Within),
    /// For this long: no new connection reaches the server, no `Connecting` event.
    NoReconnectFor(Duration),
    /// For this long: no `Disconnected`/`Stopped` event, no new handshake at the server.
    StaysConnectedFor(Duration),
    /// The client stopped with this kind.
    Stopped(StopKind),
    /// The `ReconnectScheduled` delays since the mark respect the spec's bounds (and never
    /// shrink, when `grows`), and the server saw the client wait at least that long.
    Backoff {
        /// The mark the outage starts at.
        since: &'static str,
        /// Whether the delays must grow (jitter `None` only).
        grows: bool,
    },
    /// The first `ReconnectScheduled` since the mark is back at `backoff_initial`.
    BackoffReset(&'static str),
    /// The connection after the first HTTP-rejected one came at least this much later.
    RetryAfterHonoured(Duration),
    /// A `Gap` event for the channel, one number wide.
    GapReported(&'static str),
    /// No `Gap` event at all.
    NoGaps,
    /// The server received a close frame with this code from the client.
    CloseFrame(u16),
    /// Exactly these text frames reached the server, once each, in order, each after the
    /// restore of the connection it came on.
    TextsAfterLive(&'static [&'static str]),
    /// Exactly `n` connections reached the server since the mark.
    AcceptedSince(&'static str, u64),
    /// No `Subscribed` event for the channel so far.
    NeverSubscribed(&'static str),
    /// No `Message` event at all so far.
    NoMessages,
    /// The latest session answered at least `n` heartbeat test requests.
    HeartbeatsAnswered(usize),
    /// The latest connection-state event is `Live` (not `Disconnected`/`Stopped`).
    LiveNow,
    /// The process's open fds fell back to at most the count at the mark plus the slack
    /// (waited for, up to 3 s, while the server reaps closed connections).
    FdsStable(&'static str, usize),
    /// The process's open fds are at most the count at the mark plus `fds` (waited for as in
    /// [`Expect::FdsStable`]) and its resident memory grew by at most `rss_mib` MiB since the
    /// mark. Process-wide figures: the bounds must leave room for the scenarios running beside.
    ResourcesBounded {
        /// The mark the figures are compared with.
        since: &'static str,
        /// Descriptors allowed beyond the mark's count.
        fds: usize,
        /// Resident memory growth allowed, in MiB.
        rss_mib: u64,
    },
    /// Exactly these channels (each at least once, no other) were reported by
    /// `SubscribeRejected` events so far.
    RejectedExactly(&'static [&'static str]),
    /// The latest `Disconnected` event's reason names this invalid close code: it contains the
    /// word "invalid" and the code as a number of its own (not only the 1002 the client answers
    /// with).
    DisconnectNamesCloseCode(u16),
    /// On the latest session, the first auth was followed by at least this many renewals, each
    /// a `public/auth` with `grant_type` `refresh_token` sent before the previous token expired
    /// (the server's [`token_lifetime`](crate::server::ServerConfig::token_lifetime) after its
    /// ack) and accepted; no two auth requests closer than a tenth of the lifetime; and the
    /// latest token has not expired.
    AuthRenewed(usize),
    /// The latest session answered at least `n` of the server's pings with pongs.
    PongsAnswered(u32),
}

/// A change of the proxy's conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyAction {
    /// One-way latency.
    Latency(Duration),
    /// Bytes per second each way.
    Bandwidth(Option<u64>),
    /// Drop everything both ways.
    Blackhole(bool),
    /// Reset every open connection on both sides.
    Cut,
    /// Transparent again.
    Clear,
}

/// Checks the runner applies to every scenario after its steps (unless the scenario relaxes
/// them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invariant {
    /// Never two connections of the client open at once at the server (beyond a 25 ms grace
    /// for the server noticing a close).
    NeverConcurrent,
    /// With auth configured, every subscribe request came after the server sent the auth ack.
    SubscribeAfterAuth,
    /// No channel was subscribed twice on one connection.
    OncePerConnection,
    /// Per channel, sequence numbers never repeat or go back, and `Gap` events are reported
    /// exactly for the jumps.
    HonestGaps,
    /// After `Stopped`, no further attempt reaches the server and no connection event follows.
    SilentAfterStop,
    /// Dropping the client closes all of its connections (within 2 s).
    ReleasedOnDrop,
}

impl Invariant {
    /// Every invariant.
    pub const ALL: [Invariant; 6] = [
        Invariant::NeverConcurrent,
        Invariant::SubscribeAfterAuth,
        Invariant::OncePerConnection,
        Invariant::HonestGaps,
        Invariant::SilentAfterStop,
        Invariant::ReleasedOnDrop,
    ];
}

/// The scenario list as a Markdown table (name, fault, expected outcome), exactly as it appears
/// in these docs; a test keeps the two identical.
pub fn markdown_table(scenarios: &[Scenario]) -> String {
    let mut out = String::from("| # | scenario | fault | a correct client |\n|---|---|---|---|\n");
    for (i, s) in scenarios.iter().enumerate() {
        let on = match s.transport {
            Transport::Any => "",
            Transport::Tls => " (wss)",
            Transport::Proxy => " (proxy)",
        };
        out.push_str(&format!(
            "| {} | `{}`{on} | {} | {} |\n",
            i + 1,
            s.name,
            s.fault,
            s.expect
        ));
    }
    out
}
