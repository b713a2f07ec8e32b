//! State shared between the supervisor, the connection threads and the control handles.
//!
//! One mutex guards everything: the server is a test fixture, contention is tiny, and a single
//! lock makes every snapshot of [`Stats`] consistent. Every mutation notifies the condition
//! variable so [`ServerHandle::wait_until`](super::ServerHandle::wait_until) wakes up at once.

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::fault::{Family, Fault, FaultKind, Nack, Persist, Point, Scheduled};
use super::stats::{CloseRecord, ConnEnd, ConnRecord, Received, Stats};
use super::ServerConfig;
use crate::tls::TlsIdentity;

/// The session faults that clearing also lifts from the sessions they already hit.
const LIFTED_BY_CLEARING: [FaultKind; 3] = [
    FaultKind::DataStall,
    FaultKind::EmptyContinuations,
    FaultKind::PingFlood,
];

/// What a control handle asks one connection thread to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    /// Apply a session fault (or, for connections still in the handshake, only `Drop`/`Reset`).
    Fault(Fault),
    /// Lift a state-like fault (a data stall).
    Lift(FaultKind),
}

/// An armed fault with its remaining uses (`None`: until cleared).
#[derive(Debug)]
struct Armed {
    fault: Fault,
    uses: Option<u32>,
}

impl Armed {
    /// Uses one use; returns whether the fault is used up.
    fn consume(&mut self) -> bool {
        match &mut self.uses {
            Some(n) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
            None => false,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct ConnSlot {
    /// Whether the WebSocket handshake completed (session faults only hit sessions).
    session: bool,
    client: Option<String>,
    commands: Vec<Command>,
}

pub(crate) struct State {
    pub(crate) stats: Stats,
    armed: Vec<Armed>,
    pending_session: Vec<Armed>,
    conns: BTreeMap<u64, ConnSlot>,
    /// Last sequence number sent, per (client identity, channel).
    seq: HashMap<(String, String), u64>,
    refusing: bool,
    closed_until: Option<Instant>,
    pub(crate) accept_interval: Option<Duration>,
    schedule: Vec<(Instant, Scheduled)>,
}

pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    pub(crate) tls: Option<(TlsIdentity, Arc<rustls::ServerConfig>)>,
    pub(crate) addr: SocketAddr,
    state: Mutex<State>,
    changed: Condvar,
    shutdown: AtomicBool,
}

impl Shared {
    pub(crate) fn new(
        config: ServerConfig,
        tls: Option<TlsIdentity>,
        listener: &TcpListener,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let now = Instant::now();
        let schedule = config
            .schedule
            .iter()
            .map(|s| (now + s.after, s.clone()))
            .collect();
        let stats = Stats {
            listening: true,
            binds: 1,
            ..Stats::default()
        };
        let state = State {
            stats,
            armed: Vec::new(),
            pending_session: Vec::new(),
            conns: BTreeMap::new(),
            seq: HashMap::new(),
            refusing: false,
            closed_until: None,
            accept_interval: None,
            schedule,
        };
        let tls = tls.map(|id| {
            let cfg = id.server_config();
            (id, cfg)
        });
        Ok(Shared {
            config,
            tls,
            addr,
            state: Mutex::new(state),
            changed: Condvar::new(),
            shutdown: AtomicBool::new(false),
        })
    }

    /// Locks the state. A panicking connection thread must not take the whole fixture down with
    /// a poisoned lock, so poison is ignored: every mutation below leaves the state consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state, then wakes every waiter.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = f(&mut self.lock());
        self.changed.notify_all();
        r
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
        self.changed.notify_all();
    }

    /// Waits until `pred` holds or `timeout` passes; returns the last snapshot either way.
    pub(crate) fn wait_until(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&Stats) -> bool,
    ) -> (bool, Stats) {
        let deadline = Instant::now() + timeout;
        let mut guard = self.lock();
        loop {
            if pred(&guard.stats) {
                return (true, guard.stats.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return (false, guard.stats.clone());
            }
            guard = self
                .changed
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    pub(crate) fn inject(&self, fault: Fault, persist: Persist) {
        let now = Instant::now();
        self.update(|s| s.inject(fault, persist, now));
    }

    pub(crate) fn schedule(&self, items: Vec<Scheduled>) {
        let now = Instant::now();
        self.update(|s| {
            s.schedule
                .extend(items.into_iter().map(|i| (now + i.after, i)))
        });
    }

    pub(crate) fn register_conn(&self, peer: SocketAddr, now: Instant) -> u64 {
        self.update(|s| {
            let id = s.stats.connections.len() as u64 + 1;
            s.stats.accepted += 1;
            s.stats.connections.push(ConnRecord::new(id, peer, now));
            s.conns.insert(id, ConnSlot::default());
            id
        })
    }

    /// Updates the record of connection `id` (ids are dense from 1).
    pub(crate) fn record(&self, id: u64, f: impl FnOnce(&mut ConnRecord)) {
        self.update(|s| s.record(id, f));
    }

    pub(crate) fn take_admission(&self, point: Point) -> Option<Fault> {
        self.update(|s| s.take_admission(point, |_| true))
    }

    /// The nacks that apply to a subscribe request for `channels` (each uses one use).
    pub(crate) fn take_nacks(&self, channels: &[String]) -> Vec<(Option<String>, Nack)> {
        self.update(|s| {
            let mut out = Vec::new();
            let mut i = 0;
            while i < s.armed.len() {
                if let Fault::NackSubscribe { channel, nack } = &s.armed[i].fault {
                    if channel.as_ref().is_none_or(|c| channels.contains(c)) {
                        out.push((channel.clone(), nack.clone()));
                        if s.armed[i].consume() {
                            s.armed.remove(i);
                            continue;
                        }
                    }
                }
                i += 1;
            }
            out
        })
    }

    pub(crate) fn set_client(&self, id: u64, client: &str, path: &str) {
        self.update(|s| {
            if let Some(slot) = s.conns.get_mut(&id) {
                slot.client = Some(client.to_owned());
            }
            s.record(id, |r| {
                r.client = Some(client.to_owned());
                r.path = Some(path.to_owned());
            });
        });
    }

    /// Marks the handshake of `id` complete and hands it the pending session faults.
    pub(crate) fn session_started(&self, id: u64, client: &str, now: Instant) {
        self.update(|s| {
            s.stats.handshakes += 1;
            s.stats.open += 1;
            s.stats.peak_open = s.stats.peak_open.max(s.stats.open);
            let c = s.stats.clients.entry(client.to_owned()).or_default();
            c.handshakes += 1;
            c.open += 1;
            c.peak_open = c.peak_open.max(c.open);
            s.record(id, |r| r.handshake_at = Some(now));
            let mut handed = Vec::new();
            s.pending_session.retain_mut(|a| {
                handed.push(Command::Fault(a.fault.clone()));
                !a.consume()
            });
            if let Some(slot) = s.conns.get_mut(&id) {
                slot.session = true;
                slot.commands.extend(handed);
            }
        });
    }

    pub(crate) fn take_commands(&self, id: u64) -> Vec<Command> {
        // Hot path (every tick of every connection): no notification needed, nothing recorded.
        let mut s = self.lock();
        s.conns
            .get_mut(&id)
            .map(|c| std::mem::take(&mut c.commands))
            .unwrap_or_default()
    }

    /// Records a successful auth answer leaving for connection `id`.
    pub(crate) fn auth_acked(&self, id: u64, at: Instant) {
        self.record(id, |r| {
            r.authenticated_at.get_or_insert(at);
            r.auth_acks.push(at);
        });
    }

    pub(crate) fn received(&self, id: u64, r: Received) {
        self.record(id, |c| c.received.push(r));
    }

    pub(crate) fn close_received(&self, id: u64, close: CloseRecord) {
        self.record(id, |c| c.close_received = Some(close));
    }

    /// The next sequence number for `(client, channel)`, skipping one if `skip`.
    pub(crate) fn peek_seq(&self, client: &str, channel: &str, skip: bool) -> u64 {
        let s = self.lock();
        let last = s
            .seq
            .get(&(client.to_owned(), channel.to_owned()))
            .copied()
            .unwrap_or(0);
        last + if skip { 2 } else { 1 }
    }

    /// Records that `seq` was queued on connection `id`.
    pub(crate) fn commit_seq(&self, id: u64, client: &str, channel: &str, seq: u64) {
        self.update(|s| {
            s.seq.insert((client.to_owned(), channel.to_owned()), seq);
            s.record(id, |r| {
                let e = r.data_sent.entry(channel.to_owned()).or_insert((0, 0));
                e.0 += 1;
                e.1 = seq;
            });
        });
    }

    pub(crate) fn finish_conn(&self, id: u64, end: ConnEnd) {
        let now = Instant::now();
        self.update(|s| {
            if let Some(slot) = s.conns.remove(&id) {
                if slot.session {
                    s.stats.open = s.stats.open.saturating_sub(1);
                    if let Some(c) = slot.client.and_then(|c| s.stats.clients.get_mut(&c)) {
                        c.open = c.open.saturating_sub(1);
                    }
                }
            }
            s.record(id, |r| {
                r.ended_at = Some(now);
                r.end = Some(end);
            });
        });
    }

    /// For the supervisor: runs due scheduled faults and says whether the listener should be
    /// open now.
    pub(crate) fn supervise(&self, now: Instant) -> (bool, Option<Duration>) {
        let mut s = self.lock();
        let mut due = Vec::new();
        s.schedule.retain(|(at, item)| {
            if *at <= now {
                due.push(item.clone());
                false
            } else {
                true
            }
        });
        // Keep the schedule's own order for faults due at the same moment.
        due.sort_by_key(|i| i.after);
        let changed = !due.is_empty();
        for item in due {
            s.inject(item.fault, item.persist, now);
        }
        if s.closed_until.is_some_and(|t| t <= now) {
            s.closed_until = None;
        }
        let open = !s.refusing && s.closed_until.is_none();
        let interval = s.accept_interval;
        drop(s);
        if changed {
            self.changed.notify_all();
        }
        (open, interval)
    }

    pub(crate) fn set_listening(&self, listening: bool, bound: bool) {
        self.update(|s| {
            s.stats.listening = listening;
            if bound {
                s.stats.binds += 1;
            }
        });
    }

    pub(crate) fn bind_error(&self, e: String) {
        self.update(|s| {
            // One entry per distinct error: the supervisor retries every tick.
            if s.stats.bind_errors.last() != Some(&e) {
                s.stats.bind_errors.push(e);
            }
        });
    }
}

impl State {
    fn record(&mut self, id: u64, f: impl FnOnce(&mut ConnRecord)) {
        if let Some(r) = id
            .checked_sub(1)
            .and_then(|i| self.stats.connections.get_mut(i as usize))
        {
            f(r);
        }
    }

    fn inject(&mut self, fault: Fault, persist: Persist, now: Instant) {
        match fault.family() {
            Family::Action => self.act(fault, now),
            Family::Admission(_) => {
                if persist.uses() != Some(0) {
                    self.armed.push(Armed {
                        fault,
                        uses: persist.uses(),
                    });
                }
            }
            Family::Session => {
                let mut uses = persist.uses();
                let mut hit = false;
                for slot in self.conns.values_mut().filter(|c| c.session) {
                    slot.commands.push(Command::Fault(fault.clone()));
                    hit = true;
                }
                if hit {
                    uses = uses.map(|u| u.saturating_sub(1));
                }
                if uses != Some(0) {
                    self.pending_session.push(Armed { fault, uses });
                }
            }
        }
    }

    fn act(&mut self, fault: Fault, now: Instant) {
        match fault {
            Fault::CloseListener => self.refusing = true,
            Fault::ReopenListener => {
                self.refusing = false;
                self.closed_until = None;
            }
            Fault::Restart { downtime } => {
                self.closed_until = Some(now + downtime);
                self.drop_all();
            }
            Fault::DropAll => self.drop_all(),
            Fault::AcceptInterval(interval) => self.accept_interval = interval,
            Fault::Clear(kind) => self.clear(kind),
            Fault::ClearAll => {
                self.armed.clear();
                self.pending_session.clear();
                self.refusing = false;
                self.closed_until = None;
                self.accept_interval = None;
                for kind in LIFTED_BY_CLEARING {
                    self.lift(kind);
                }
            }
            _ => unreachable!("only server actions reach act()"),
        }
    }

    fn clear(&mut self, kind: FaultKind) {
        self.armed.retain(|a| a.fault.kind() != kind);
        self.pending_session.retain(|a| a.fault.kind() != kind);
        match kind {
            FaultKind::CloseListener => self.refusing = false,
            FaultKind::Restart => self.closed_until = None,
            FaultKind::AcceptInterval => self.accept_interval = None,
            k if LIFTED_BY_CLEARING.contains(&k) => self.lift(k),
            _ => {}
        }
    }

    /// Tells every open session that `kind` no longer applies to it.
    fn lift(&mut self, kind: FaultKind) {
        for slot in self.conns.values_mut().filter(|c| c.session) {
            slot.commands.push(Command::Lift(kind));
        }
    }

    fn drop_all(&mut self) {
        for slot in self.conns.values_mut() {
            slot.commands.push(Command::Fault(Fault::Drop));
        }
    }

    fn take_admission(&mut self, point: Point, pred: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let i = self
            .armed
            .iter()
            .position(|a| a.fault.family() == Family::Admission(point) && pred(&a.fault))?;
        let fault = self.armed[i].fault.clone();
        if self.armed[i].consume() {
            self.armed.remove(i);
        }
        Some(fault)
    }
}
