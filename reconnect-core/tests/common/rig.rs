//! The test rig: a session on a virtual clock that records every output as a readable line,
//! fires the next deadline, feeds transport inputs and server frames, and asserts the lines
//! since the last check ([`Rig::expect`]).
//!
//! The rig drives any adapter; the helpers that read requests back from the wire
//! ([`Rig::last_request`], [`Rig::go_live`], …) speak the line protocol of
//! [`line_adapter`](super::line_adapter).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reconnect_core::{
    Action, Config, ConnId, Event, Frame, Input, Output, Protocol, Purpose, Session, State,
    TransportError, TransportErrorKind,
};

use super::line_adapter::{parse_request, LineAdapter};

/// The one instant every virtual clock in a test process starts from. Tests may read the real
/// clock once for this; everything after it is `base() + offset`.
pub fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// A driver with a virtual clock that records every output as a line.
pub struct Rig<P: Protocol = LineAdapter> {
    /// The session under test; tests call its commands and getters directly.
    pub session: Session<P>,
    /// Where the virtual clock started.
    pub origin: Instant,
    /// The virtual clock: every input the rig feeds carries it.
    pub now: Instant,
    /// Whether auth frames print their first word and request id (`send #1 auth 2
    /// <redacted>`, to tell a renewal with the refresh token from one with the credentials)
    /// instead of only `send #1 <auth redacted>`. Never the secret either way.
    pub auth_heads: bool,
    /// Every output so far, formatted.
    pub log: Vec<String>,
    /// Every output so far, as values.
    pub outputs: Vec<Output>,
    /// The virtual time each output was drained at (time since `origin`), one per output.
    pub times: Vec<Duration>,
    taken: usize,
}

/// A config for tests: no jitter and round numbers, so transcripts are exact.
///
/// Every deadline has a value of its own (the library's defaults give connect, auth, setup,
/// subscribe and pong the same 10 s, and close the same 5 s as this config's `min_uptime`): a
/// timer armed with the wrong setting then fires at a time no test expects.
pub fn config() -> Config {
    let mut c = Config::new(7);
    c.backoff.initial = Duration::from_millis(100);
    c.backoff.max = Duration::from_secs(2);
    c.backoff.jitter = reconnect_core::Jitter::None;
    c.backoff.first_retry = reconnect_core::FirstRetry::Immediate;
    c.backoff.min_uptime = Duration::from_secs(5);
    c.timeouts.connect = Duration::from_millis(10_000);
    c.timeouts.credentials = Duration::from_millis(30_000);
    c.timeouts.auth = Duration::from_millis(11_000);
    c.timeouts.setup = Duration::from_millis(12_000);
    c.timeouts.subscribe = Duration::from_millis(13_000);
    c.timeouts.close = Duration::from_millis(4_000);
    c.liveness.ping_interval = None;
    c.liveness.pong_timeout = Duration::from_millis(14_000);
    c.resubscribe.frames_per_second = None;
    c
}

/// Every deadline and interval `config` sets, by name: what tests check their own values
/// against, so that a value under test is shared with no other timer.
pub fn timer_settings(c: &Config) -> Vec<(&'static str, Option<Duration>)> {
    vec![
        ("backoff.initial", Some(c.backoff.initial)),
        ("backoff.max", Some(c.backoff.max)),
        ("backoff.min_uptime", Some(c.backoff.min_uptime)),
        ("timeouts.connect", Some(c.timeouts.connect)),
        ("timeouts.credentials", Some(c.timeouts.credentials)),
        ("timeouts.auth", Some(c.timeouts.auth)),
        ("timeouts.setup", Some(c.timeouts.setup)),
        ("timeouts.subscribe", Some(c.timeouts.subscribe)),
        ("timeouts.close", Some(c.timeouts.close)),
        ("liveness.ping_interval", c.liveness.ping_interval),
        ("liveness.pong_timeout", Some(c.liveness.pong_timeout)),
        ("liveness.heartbeat_interval", c.liveness.heartbeat_interval),
        ("liveness.idle_timeout", c.liveness.idle_timeout),
        ("liveness.topic_stale_after", c.liveness.topic_stale_after),
        (
            "credentials.renewal_interval",
            c.credentials.renewal_interval,
        ),
        ("max_lifetime", c.max_lifetime),
        ("limits.max_outage", c.limits.max_outage),
        (
            "limits.retry_after_ceiling",
            Some(c.limits.retry_after_ceiling),
        ),
        (
            "limits.circuit_breaker.cooldown",
            c.limits.circuit_breaker.as_ref().map(|cb| cb.cooldown),
        ),
        (
            "resubscribe.nack_retry_initial",
            Some(c.resubscribe.nack_retry_initial),
        ),
        (
            "resubscribe.nack_retry_max",
            Some(c.resubscribe.nack_retry_max),
        ),
    ]
}

/// Panics unless the setting `name` has a value no other setting of `c` shares.
#[track_caller]
pub fn assert_unique_timer(c: &Config, name: &str) {
    let settings = timer_settings(c);
    let value = settings
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| *v)
        .unwrap_or_else(|| panic!("{name} is not set"));
    let sharing: Vec<_> = settings
        .iter()
        .filter(|(n, v)| *n != name && *v == Some(value))
        .map(|(n, _)| *n)
        .collect();
    assert!(
        sharing.is_empty(),
        "{name} = {value:?} is shared with {sharing:?}: a mixed-up timer would go unnoticed"
    );
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

impl Rig<LineAdapter> {
    /// A rig over the default line adapter.
    pub fn new(config: Config) -> Self {
        Self::with_adapter(config, LineAdapter::new())
    }
}

impl<P: Protocol> Rig<P> {
    /// A rig over `adapter`, its clock at [`base`]; panics on a config the session refuses.
    pub fn with_adapter(config: Config, adapter: P) -> Self {
        Rig {
            session: Session::new(config, adapter).expect("valid config"),
            origin: base(),
            now: base(),
            auth_heads: false,
            log: Vec::new(),
            outputs: Vec::new(),
            times: Vec::new(),
            taken: 0,
        }
    }

    /// Drains the session's outputs into the log (the contract's rule 2).
    pub fn drain(&mut self) {
        for o in self.session.drain() {
            self.log.push(format_output(&o, self.auth_heads));
            self.outputs.push(o);
            self.times.push(self.now - self.origin);
        }
    }

    /// The lines logged since the last call.
    pub fn take(&mut self) -> Vec<String> {
        self.drain();
        let lines = self.log[self.taken..].to_vec();
        self.taken = self.log.len();
        lines
    }

    /// Asserts the lines logged since the last call, exactly.
    #[track_caller]
    pub fn expect(&mut self, expected: &[&str]) {
        let got = self.take();
        assert_eq!(got, expected, "\n got: {got:#?}\nwant: {expected:#?}");
    }

    /// Skips the lines logged so far.
    pub fn skip(&mut self) {
        self.take();
    }

    pub fn conn(&self) -> ConnId {
        self.session.current_conn().expect("a transport in flight")
    }

    pub fn start(&mut self) {
        self.session.start(self.now).unwrap();
        self.drain();
    }

    /// Advances the virtual clock by `d` and reports it.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.session.handle_timeout(self.now);
        self.drain();
    }

    /// Jumps to the next deadline and reports it; returns how far the clock moved.
    pub fn fire_next(&mut self) -> Duration {
        let at = self.session.poll_timeout().expect("a deadline");
        let moved = at.saturating_duration_since(self.now);
        self.now = self.now.max(at);
        self.session.handle_timeout(self.now);
        self.drain();
        moved
    }

    /// The instant `ms` milliseconds after the rig's start.
    pub fn at(&self, ms: u64) -> Instant {
        self.origin + Duration::from_millis(ms)
    }

    /// The outputs since the last call (or [`take`](Self::take)), as values.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        self.drain();
        let outputs = self.outputs[self.taken..].to_vec();
        self.taken = self.outputs.len();
        outputs
    }

    /// Time since the rig's start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.origin
    }

    pub fn input(&mut self, input: Input) {
        self.session.handle_input(self.now, input);
        self.drain();
    }

    pub fn open(&mut self) {
        let conn = self.conn();
        self.input(Input::Opened { conn });
    }

    pub fn recv(&mut self, text: &str) {
        let conn = self.conn();
        self.input(Input::Frame {
            conn,
            frame: Frame::from(text),
        });
    }

    pub fn fail(&mut self, kind: TransportErrorKind) {
        let conn = self.conn();
        self.input(Input::Failed {
            conn,
            error: TransportError::new(kind, "test"),
        });
    }

    pub fn connect_failed(&mut self, kind: TransportErrorKind) {
        let conn = self.conn();
        self.input(Input::ConnectFailed {
            conn,
            error: TransportError::new(kind, "test"),
        });
    }

    pub fn server_close(&mut self, code: u16) {
        let conn = self.conn();
        self.input(Input::Closed {
            conn,
            code: Some(code),
            reason: "bye".into(),
        });
    }

    /// Texts of every frame sent so far.
    pub fn sent_texts(&self) -> Vec<String> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Action(Action::Send { frame, .. }) => frame.as_text().map(str::to_owned),
                _ => None,
            })
            .collect()
    }

    /// Events so far, as values.
    pub fn events(&self) -> Vec<Event> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every frame written so far (sends and pings), as (virtual time in ms, line).
    pub fn written(&self) -> Vec<(u128, String)> {
        self.outputs
            .iter()
            .zip(&self.times)
            .zip(&self.log)
            .filter(|((o, _), _)| {
                matches!(o, Output::Action(Action::Send { .. } | Action::Ping { .. }))
            })
            .map(|((_, at), line)| (at.as_millis(), line.clone()))
            .collect()
    }

    /// How many lines so far start with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.log.iter().filter(|l| l.starts_with(prefix)).count()
    }
}

impl Rig<LineAdapter> {
    /// The request id embedded in the last frame sent with the given first word.
    pub fn last_request(&mut self, word: &str) -> u64 {
        self.drain();
        self.sent_texts()
            .iter()
            .rev()
            .find_map(|t| {
                let mut w = t.split(' ');
                (w.next() == Some(word)).then(|| w.next().unwrap().parse().unwrap())
            })
            .unwrap_or_else(|| panic!("no {word} request sent"))
    }

    /// Connects, opens, authenticates, acks every restore request: returns once live.
    pub fn go_live(&mut self) {
        if self.session.current_conn().is_none() {
            self.fire_next();
        }
        self.open();
        self.ack_all_pending();
        assert!(
            matches!(self.session.state(), State::Live { .. }),
            "not live: {:?}\n{:#?}",
            self.session.state(),
            self.log
        );
    }

    /// Acks every request sent on the current connection that has not been answered, repeatedly
    /// (restore batches are sent as earlier ones are acked).
    pub fn ack_all_pending(&mut self) {
        let mut acked = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let conn = self.session.current_conn();
            let next = self.outputs.iter().rev().find_map(|o| match o {
                Output::Action(Action::Send { conn: c, frame, .. }) if Some(*c) == conn => {
                    parse_request(frame)?.id().filter(|id| !acked.contains(id))
                }
                _ => None,
            });
            let Some(id) = next else { return };
            acked.insert(id);
            self.recv(&format!("ack {id}"));
        }
        panic!("requests kept coming");
    }
}

fn d(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// One compact line per output. Auth frames print redacted, as `Action`'s `Debug` does.
///
/// With `auth_heads`, auth frames print their first word and request id, never the secret.
pub fn format_output(o: &Output, auth_heads: bool) -> String {
    match o {
        Output::Action(a) => match a {
            Action::Connect { conn, attempt } => format!("connect {conn} attempt={attempt}"),
            Action::Send {
                conn,
                frame,
                purpose: Purpose::Auth,
            } => {
                if auth_heads {
                    let text = frame.as_text().unwrap_or_default();
                    let head: Vec<&str> = text.split(' ').take(2).collect();
                    format!("send {conn} {} <redacted>", head.join(" "))
                } else {
                    format!("send {conn} <auth redacted>")
                }
            }
            Action::Send { conn, frame, .. } => match frame {
                Frame::Text(t) => format!("send {conn} {t}"),
                Frame::Binary(b) => format!("send {conn} <{} bytes>", b.len()),
            },
            Action::Ping { conn } => format!("ping {conn}"),
            Action::Close { conn, code, reason } => format!("close {conn} {code} {reason}"),
            Action::Release { conn } => format!("release {conn}"),
        },
        Output::Event(e) => match e {
            Event::Connecting { conn, attempt } => format!("> connecting {conn} attempt={attempt}"),
            Event::Connected { conn } => format!("> connected {conn}"),
            Event::AttemptFailed {
                attempt,
                cause,
                disposition,
                ..
            } => format!("> attempt {attempt} failed: {cause} => {disposition:?}"),
            Event::Authenticated { conn } => format!("> authenticated {conn}"),
            Event::SetupComplete { conn } => format!("> setup complete {conn}"),
            Event::Subscribed { topic, .. } => format!("> subscribed {topic}"),
            Event::SubscribeRejected {
                topic, retry_in, ..
            } => match retry_in {
                Some(r) => format!("> rejected {topic}, retry in {}", d(*r)),
                None => format!("> rejected {topic} for good"),
            },
            Event::Unsubscribed { topic, .. } => format!("> unsubscribed {topic}"),
            Event::Live {
                conn,
                resubscribed,
                outage,
            } => format!(
                "> live {conn} resubscribed={resubscribed} outage={}",
                d(*outage)
            ),
            Event::Stable { conn } => format!("> stable {conn}"),
            Event::Message {
                topic, seq, frame, ..
            } => format!(
                "> message {} seq={} {:?}",
                topic.as_ref().map_or("-", |t| t.as_str()),
                seq.map_or("-".to_string(), |s| s.to_string()),
                frame.as_text().unwrap_or("<binary>")
            ),
            Event::Gap {
                topic,
                expected,
                received,
            } => format!("> gap {topic} expected={expected} received={received}"),
            Event::Disconnected {
                conn,
                cause,
                disposition,
                ..
            } => format!("> disconnected {conn}: {cause} => {disposition:?}"),
            Event::ReconnectScheduled {
                attempt,
                delay,
                source,
                ..
            } => format!(
                "> reconnect attempt={attempt} in {} ({source:?})",
                d(delay.drawn)
            ),
            Event::TopicStale {
                topic,
                silent_for,
                times,
                ..
            } => format!(
                "> stale {topic} after {} ({times} in a row)",
                d(*silent_for)
            ),
            Event::Resynced { topic, reason, .. } => format!("> resynced {topic} ({reason:?})"),
            Event::Stopped { reason } => format!("> stopped: {reason:?}"),
            other => format!("> {other:?}"),
        },
    }
}
