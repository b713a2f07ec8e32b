//! A fake server of the line protocol for the simulator ([`LineServer`]), and a simulator over
//! it with the line adapter ([`line_sim`]): what a user writes to test their own adapter with
//! the simulator.
//!
//! The server acknowledges auth (or refuses it with [`AUTH_FATAL`] or a transient code, when a
//! fault asks), acknowledges subscriptions (refusing with a permanent code the topics a fault
//! names), and publishes `data <topic> <seq>` for every subscribed topic every `data_interval`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use reconnect_core::sim::{AuthRejection, ServerCtx, ServerFault, SimServer, Simulator};
use reconnect_core::{Config, ConnId, Credentials, Event, Frame, Session};

use super::line_adapter::{parse_request, LineAdapter, Request, AUTH_FATAL};
use super::rig::base;

/// The code of a transient auth refusal (a rate limit).
pub const AUTH_TRANSIENT: i64 = 429;
/// The code of a permanent subscription refusal (no such topic).
pub const SUB_PERMANENT: i64 = 404;
/// The code of a request the server does not know.
pub const UNKNOWN_REQUEST: i64 = 400;

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
        let Some(request) = parse_request(frame) else {
            return;
        };
        match request {
            Request::Auth { id } => {
                self.auth_requests += 1;
                match self.auth_rejections.pop_front() {
                    Some(AuthRejection::Fatal) => ctx.send(conn, format!("nack {id} {AUTH_FATAL}")),
                    Some(AuthRejection::Transient) => {
                        ctx.send(conn, format!("nack {id} {AUTH_TRANSIENT}"))
                    }
                    None => ctx.send(conn, format!("ack {id}")),
                }
            }
            Request::Subscribe { id, topics } => {
                let mut answer = format!("ack {id}");
                for (topic, _resume) in topics {
                    if let Some(i) = self.nacks.iter().position(|n| *n == topic) {
                        self.nacks.remove(i);
                        answer.push_str(&format!(" -{topic}:{SUB_PERMANENT}"));
                        continue;
                    }
                    if let Some(c) = self.clients.get_mut(&conn) {
                        c.topics.insert(topic);
                    }
                }
                if self.next_data.is_none() {
                    self.next_data = Some(ctx.now() + self.data_interval);
                }
                ctx.send(conn, answer);
            }
            Request::Unsubscribe { id, topics } => {
                if let Some(c) = self.clients.get_mut(&conn) {
                    for topic in topics {
                        c.topics.remove(&topic);
                    }
                }
                ctx.send(conn, format!("ack {id}"));
            }
            other => {
                if let Some(id) = other.id() {
                    ctx.send(conn, format!("nack {id} {UNKNOWN_REQUEST}"));
                }
            }
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
pub fn sim_config(seed: u64) -> Config {
    let mut config = Config::new(seed);
    config.liveness.ping_interval = Some(Duration::from_secs(5));
    config.liveness.pong_timeout = Duration::from_secs(3);
    config
}

/// A simulator over the line protocol with `topics` subscribed and credentials set; data every
/// 100 ms. Not started.
pub fn line_sim(config: Config, topics: &[&str]) -> Simulator<LineAdapter, LineServer> {
    let base = base();
    let adapter = LineAdapter {
        max_batch: 10,
        ..LineAdapter::default()
    };
    let mut session = Session::new(config, adapter).expect("valid config");
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
