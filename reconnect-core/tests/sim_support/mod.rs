//! A small line-based protocol, its adapter and its fake server: what a user writes to test
//! their own adapter with the simulator.
//!
//! Client to server: `auth <id> <secret>`, `sub <id> <topic>...`, `unsub <id> <topic>...`.
//! Server to client: `ok <id> [<topic>|!<topic>]...` (a `!` marks a refused topic),
//! `err <id> <code> <message>`, `data <topic> <seq>`.
#![allow(dead_code)] // each test binary uses a different part of it

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use reconnect_core::sim::{AuthRejection, ServerCtx, ServerFault, SimServer, Simulator};
use reconnect_core::{
    Config, ConnId, Credentials, Disposition, Event, Frame, Inbound, Protocol, RequestId, Resume,
    ServerError, Session, Topic, TopicLookup, TopicRejection,
};

/// The code of a fatal auth rejection.
pub const FATAL: i64 = 13004;
/// The code of a transient auth rejection.
pub const TRANSIENT: i64 = 10028;

/// The adapter for the line protocol.
#[derive(Clone, Debug, Default)]
pub struct LineAdapter;

impl Protocol for LineAdapter {
    fn auth_request(&mut self, id: RequestId, credentials: &Credentials) -> Option<Frame> {
        Some(format!("auth {} {}", id.0, credentials.expose()).into())
    }

    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        let names: Vec<&str> = topics.iter().map(|r| r.topic.as_str()).collect();
        format!("sub {} {}", id.0, names.join(" ")).into()
    }

    fn unsubscribe_request(&mut self, id: RequestId, topics: &[Topic]) -> Option<Frame> {
        let names: Vec<&str> = topics.iter().map(Topic::as_str).collect();
        Some(format!("unsub {} {}", id.0, names.join(" ")).into())
    }

    fn max_batch(&self) -> usize {
        10
    }

    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        let Some(text) = frame.as_text() else {
            return Inbound::Other;
        };
        let mut words = text.split(' ');
        let kind = words.next();
        let id = words.next();
        match (kind, id) {
            (Some("ok"), Some(id)) => {
                let Ok(id) = id.parse() else {
                    return Inbound::Other;
                };
                let rejected = words
                    .filter_map(|w| w.strip_prefix('!'))
                    .map(|topic| TopicRejection {
                        topic: topic.to_owned(),
                        error: ServerError::new(Some(1), "refused"),
                    })
                    .collect();
                Inbound::Ack {
                    id: RequestId(id),
                    rejected,
                }
            }
            (Some("err"), Some(id)) => {
                let Ok(id) = id.parse() else {
                    return Inbound::Other;
                };
                let code = words.next().and_then(|c| c.parse().ok());
                let message = words.collect::<Vec<_>>().join(" ");
                Inbound::Nack {
                    id: RequestId(id),
                    error: ServerError::new(code, message),
                }
            }
            (Some("data"), Some(topic)) => Inbound::Data {
                topic: topics.find(topic),
                seq: words.next().and_then(|s| s.parse().ok()),
            },
            _ => Inbound::Other,
        }
    }

    fn auth_rejection(&self, error: &ServerError) -> Disposition {
        if error.code == Some(FATAL) {
            Disposition::Fatal
        } else {
            Disposition::Retry
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Client {
    topics: BTreeSet<String>,
}

/// The fake server of the line protocol: acknowledges auth and subscriptions, and publishes
/// `data <topic> <seq>` for every subscribed topic every `data_interval`.
#[derive(Clone, Debug)]
pub struct LineServer {
    pub data_interval: Duration,
    clients: BTreeMap<ConnId, Client>,
    seqs: BTreeMap<String, u64>,
    next_data: Option<Instant>,
    stopped_until: Option<Instant>,
    auth_rejections: VecDeque<AuthRejection>,
    nacks: Vec<String>,
    skips: BTreeMap<String, u64>,
    pub auth_requests: u64,
    pub connects: u64,
}

impl LineServer {
    pub fn new(data_interval: Duration) -> Self {
        LineServer {
            data_interval,
            clients: BTreeMap::new(),
            seqs: BTreeMap::new(),
            next_data: None,
            stopped_until: None,
            auth_rejections: VecDeque::new(),
            nacks: Vec::new(),
            skips: BTreeMap::new(),
            auth_requests: 0,
            connects: 0,
        }
    }

    pub fn open(&self) -> usize {
        self.clients.len()
    }
}

impl SimServer for LineServer {
    fn on_connect(&mut self, _ctx: &mut ServerCtx<'_>, conn: ConnId) {
        self.connects += 1;
        self.clients.insert(conn, Client::default());
    }

    fn on_frame(&mut self, ctx: &mut ServerCtx<'_>, conn: ConnId, frame: &Frame) {
        let text = frame.as_text().unwrap_or_default();
        let mut words = text.split(' ');
        let (Some(kind), Some(id)) = (words.next(), words.next()) else {
            return;
        };
        match kind {
            "auth" => {
                self.auth_requests += 1;
                match self.auth_rejections.pop_front() {
                    Some(AuthRejection::Fatal) => {
                        ctx.send(conn, format!("err {id} {FATAL} bad key"))
                    }
                    Some(AuthRejection::Transient) => {
                        ctx.send(conn, format!("err {id} {TRANSIENT} slow down"))
                    }
                    None => ctx.send(conn, format!("ok {id}")),
                }
            }
            "sub" => {
                let mut answer = format!("ok {id}");
                for topic in words {
                    if let Some(i) = self.nacks.iter().position(|n| n == topic) {
                        self.nacks.remove(i);
                        answer.push_str(&format!(" !{topic}"));
                        continue;
                    }
                    if let Some(c) = self.clients.get_mut(&conn) {
                        c.topics.insert(topic.to_owned());
                    }
                    answer.push_str(&format!(" {topic}"));
                }
                if self.next_data.is_none() {
                    self.next_data = Some(ctx.now() + self.data_interval);
                }
                ctx.send(conn, answer);
            }
            "unsub" => {
                if let Some(c) = self.clients.get_mut(&conn) {
                    for topic in words {
                        c.topics.remove(topic);
                    }
                }
                ctx.send(conn, format!("ok {id}"));
            }
            _ => ctx.send(conn, format!("err {id} 1 unknown")),
        }
    }

    fn on_disconnect(&mut self, _ctx: &mut ServerCtx<'_>, conn: ConnId) {
        self.clients.remove(&conn);
        if self.clients.is_empty() {
            self.next_data = None;
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next_data
    }

    fn handle_timeout(&mut self, ctx: &mut ServerCtx<'_>) {
        let now = ctx.now();
        self.next_data = Some(now + self.data_interval);
        if self.stopped_until.is_some_and(|until| now < until) {
            return;
        }
        let wanted: BTreeSet<String> = self
            .clients
            .values()
            .flat_map(|c| c.topics.clone())
            .collect();
        for topic in wanted {
            let skip = self.skips.remove(&topic).unwrap_or(0);
            let seq = self.seqs.entry(topic.clone()).or_default();
            *seq += 1 + skip;
            let seq = *seq;
            for (conn, c) in &self.clients {
                if c.topics.contains(&topic) {
                    ctx.send(*conn, format!("data {topic} {seq}"));
                }
            }
        }
    }

    fn inject(&mut self, ctx: &mut ServerCtx<'_>, fault: &ServerFault) -> bool {
        match fault {
            ServerFault::RejectAuth(r) => self.auth_rejections.push_back(*r),
            ServerFault::Nack { topic } => self.nacks.push(topic.clone()),
            ServerFault::SkipSequence { topic, count } => {
                *self.skips.entry(topic.clone()).or_default() += count
            }
            ServerFault::StopData(d) => self.stopped_until = Some(ctx.now() + *d),
            _ => return false,
        }
        true
    }

    fn on_restart(&mut self, _ctx: &mut ServerCtx<'_>) {
        self.clients.clear();
        self.next_data = None;
    }
}

/// A configuration without jitter surprises: pings after 5 s of silence, 3 s pong timeout.
pub fn config(seed: u64) -> Config {
    let mut config = Config::new(seed);
    config.liveness.ping_interval = Some(Duration::from_secs(5));
    config.liveness.pong_timeout = Duration::from_secs(3);
    config
}

/// A simulator over the line protocol with `topics` subscribed and credentials set; data every
/// 100 ms. Not started.
pub fn line_sim(config: Config, topics: &[&str]) -> Simulator<LineAdapter, LineServer> {
    let base = Instant::now();
    let mut session = Session::new(config, LineAdapter).expect("valid config");
    session.set_credentials(Credentials::new("key=k1;secret=hunter2"));
    for topic in topics {
        session.subscribe(base, *topic).expect("subscribe");
    }
    Simulator::new(base, session, LineServer::new(Duration::from_millis(100)))
}

/// The virtual times at which events matching `pred` happened.
pub fn times_of(
    sim: &Simulator<LineAdapter, LineServer>,
    pred: impl Fn(&Event) -> bool,
) -> Vec<Duration> {
    sim.events()
        .iter()
        .filter(|e| pred(&e.event))
        .map(|e| e.at)
        .collect()
}
