//! A line-based test protocol with acks, and a driver that records a readable transcript.
//!
//! Client frames: `auth <id> <secret>`, `setup <id> <index>`, `sub <id> <topic>[@<last_seq>],…`,
//! `unsub <id> <topic>,…`, `hb <id>`. Server frames: `ack <id> [-<rejected topic>…]`,
//! `nack <id> <code> [<retry_after_ms>] [blame=<topic>,…]`, `data <topic> <seq>`, `hbreq` (answered with
//! `hbreply`), `beat`, `err <code> <retry_after_ms>`. Auth nack codes: 1 fatal, 3 refresh,
//! anything else transient; subscribe nack code 5 is transient, anything else permanent.

use std::time::{Duration, Instant};

use reconnect_core::{
    Action, Config, ConnId, Credentials, Disposition, Event, Frame, Inbound, Input, NackKind,
    Output, Protocol, RequestId, Resume, ServerError, Session, Topic, TopicLookup, TopicRejection,
    TransportError, TransportErrorKind,
};

#[derive(Clone, Debug, Default)]
pub struct LineAdapter {
    pub setup_requests: usize,
    pub batch: usize,
    pub heartbeat: bool,
    pub reauth: bool,
    pub no_acks: bool,
    /// The topics the last nack blamed (`blame=…`), with its request id.
    pub blamed: Option<(RequestId, Vec<String>)>,
}

impl LineAdapter {
    pub fn new() -> Self {
        LineAdapter {
            batch: 1,
            ..Default::default()
        }
    }
}

fn server_error(code: &str, retry: Option<&str>) -> ServerError {
    let mut e = ServerError::new(code.parse().ok(), format!("code {code}"));
    e.retry_after = retry
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis);
    e
}

impl Protocol for LineAdapter {
    fn auth_request(&mut self, id: RequestId, credentials: &Credentials) -> Option<Frame> {
        Some(Frame::Text(format!(
            "auth {} {}",
            id.0,
            credentials.expose()
        )))
    }
    fn setup_request(&mut self, index: usize, id: RequestId) -> Option<Frame> {
        (index < self.setup_requests).then(|| Frame::Text(format!("setup {} {index}", id.0)))
    }
    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        let list: Vec<String> = topics
            .iter()
            .map(|r| match r.last_seq {
                Some(seq) => format!("{}@{seq}", r.topic),
                None => r.topic.to_string(),
            })
            .collect();
        Frame::Text(format!("sub {} {}", id.0, list.join(",")))
    }
    fn unsubscribe_request(&mut self, id: RequestId, topics: &[Topic]) -> Option<Frame> {
        let list: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
        Some(Frame::Text(format!("unsub {} {}", id.0, list.join(","))))
    }
    fn max_batch(&self) -> usize {
        self.batch
    }
    fn acknowledges(&self) -> bool {
        !self.no_acks
    }
    fn has_heartbeat(&self) -> bool {
        self.heartbeat
    }
    fn heartbeat_request(&mut self, id: RequestId) -> Option<Frame> {
        self.heartbeat.then(|| Frame::Text(format!("hb {}", id.0)))
    }
    fn reauth_on_renewal(&self) -> bool {
        self.reauth
    }
    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        let Some(text) = frame.as_text() else {
            return Inbound::Other;
        };
        let words: Vec<&str> = text.split(' ').collect();
        let id = |w: Option<&&str>| w.and_then(|w| w.parse().ok()).map(RequestId);
        match words.as_slice() {
            ["ack", rest @ ..] if id(rest.first()).is_some() => Inbound::Ack {
                id: id(rest.first()).unwrap(),
                rejected: rest[1..]
                    .iter()
                    .filter_map(|w| w.strip_prefix('-'))
                    .map(|t| TopicRejection {
                        topic: t.to_owned(),
                        error: server_error("5", None),
                    })
                    .collect(),
            },
            ["nack", n, code, rest @ ..] if id(Some(n)).is_some() => {
                let blame = rest.iter().find_map(|w| w.strip_prefix("blame="));
                self.blamed = blame.map(|b| {
                    let names = b.split(',').map(str::to_owned).collect();
                    (id(Some(n)).unwrap(), names)
                });
                let retry = rest.first().copied().filter(|w| !w.starts_with("blame="));
                Inbound::Nack {
                    id: id(Some(n)).unwrap(),
                    error: server_error(code, retry),
                }
            }
            ["data", topic, seq] => Inbound::Data {
                topic: topics.find(topic),
                seq: seq.parse().ok(),
            },
            ["hbreq"] => Inbound::HeartbeatRequest {
                reply: Frame::from("hbreply"),
            },
            ["beat"] => Inbound::Heartbeat,
            ["err", code, ms] => Inbound::ServerError(server_error(code, Some(ms))),
            _ => Inbound::Other,
        }
    }
    fn auth_rejection(&self, error: &ServerError) -> Disposition {
        match error.code {
            Some(1) => Disposition::Fatal,
            Some(3) => Disposition::RefreshCredentials,
            _ => error
                .retry_after
                .map_or(Disposition::Retry, Disposition::RetryAfter),
        }
    }
    fn subscribe_rejection(&self, error: &ServerError) -> NackKind {
        if error.code == Some(5) {
            NackKind::Transient
        } else {
            NackKind::Permanent
        }
    }
    fn blamed_topics(
        &mut self,
        id: RequestId,
        _error: &ServerError,
        topics: &[Topic],
    ) -> Option<Vec<Topic>> {
        let (_, names) = self.blamed.take().filter(|(nacked, _)| *nacked == id)?;
        Some(
            topics
                .iter()
                .filter(|t| names.iter().any(|n| n == t.as_str()))
                .cloned()
                .collect(),
        )
    }
}

/// A driver with a virtual clock that records every output as a line.
pub struct Harness {
    pub session: Session<LineAdapter>,
    pub now: Instant,
    /// Every output so far, formatted.
    pub log: Vec<String>,
    /// Every output so far, as values.
    pub outputs: Vec<Output>,
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
    c.restore.frames_per_second = None;
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
            "restore.nack_retry_initial",
            Some(c.restore.nack_retry_initial),
        ),
        ("restore.nack_retry_max", Some(c.restore.nack_retry_max)),
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

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

impl Harness {
    pub fn new(config: Config) -> Self {
        Self::with_adapter(config, LineAdapter::new())
    }

    pub fn with_adapter(config: Config, adapter: LineAdapter) -> Self {
        let base = Instant::now();
        Harness {
            session: Session::new(config, adapter).expect("valid config"),
            now: base,
            log: Vec::new(),
            outputs: Vec::new(),
            taken: 0,
        }
    }

    /// Drains the session's outputs into the log (the contract's rule 2).
    pub fn drain(&mut self) {
        while let Some(o) = self.session.poll_output() {
            self.log.push(format_output(&o));
            self.outputs.push(o);
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

    /// Connects, opens, authenticates, acks every restore request: returns once live.
    pub fn go_live(&mut self) {
        if self.session.current_conn().is_none() {
            self.fire_next();
        }
        self.open();
        self.ack_all_pending();
        assert!(
            matches!(self.session.state(), reconnect_core::State::Live { .. }),
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
                    let t = frame.as_text()?;
                    let mut w = t.split(' ');
                    let kind = w.next()?;
                    let id: u64 = w.next()?.parse().ok()?;
                    (["auth", "setup", "sub", "unsub", "hb"].contains(&kind)
                        && !acked.contains(&id))
                    .then_some(id)
                }
                _ => None,
            });
            let Some(id) = next else { return };
            acked.insert(id);
            self.recv(&format!("ack {id}"));
        }
        panic!("requests kept coming");
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

    pub fn count(&self, prefix: &str) -> usize {
        self.log.iter().filter(|l| l.starts_with(prefix)).count()
    }
}

fn d(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// One compact line per output. Auth frames print redacted, as `Action`'s `Debug` does.
pub fn format_output(o: &Output) -> String {
    match o {
        Output::Action(a) => match a {
            Action::Connect { conn, attempt } => format!("connect {conn} attempt={attempt}"),
            Action::Send {
                conn,
                purpose: reconnect_core::Purpose::Auth,
                ..
            } => format!("send {conn} <auth redacted>"),
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
                restored,
                outage,
            } => format!("> live {conn} restored={restored} outage={}", d(*outage)),
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
            Event::Stopped { reason } => format!("> stopped: {reason:?}"),
            other => format!("> {other:?}"),
        },
    }
}
