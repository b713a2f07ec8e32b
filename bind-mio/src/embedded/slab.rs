//! The slab of sessions (slots reused under a new generation, so a stale [`SessionId`] finds
//! nothing) and the slots of their connections, with the socket tokens that name them.

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use mio::Token;
use reconnect_core::{ConnId, Session};

use super::Embedded;
use crate::conn::Conn;
use crate::handle::SessionId;
use reconnect_tungstenite::Endpoint;

/// A session and what the driver keeps beside it.
pub(super) struct Entry<P> {
    pub(super) session: Session<P>,
    pub(super) endpoint: Endpoint,
    /// Connection slots of this session (at most one attempt is in flight; a closing one may
    /// linger until its `Release`).
    pub(super) conns: Vec<usize>,
    pub(super) alive: Arc<AtomicBool>,
    /// The deadline pushed on the heap for this session, if any.
    pub(super) scheduled: Option<Instant>,
    /// The session's name: the `session` label of its metrics and the `session` field of its
    /// log events (the name given to `add_named_session`, else `session-<slot index>`).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(super) name: String,
    /// The session's metrics, recorded with each of its events.
    #[cfg(feature = "metrics")]
    pub(super) metrics: reconnect_tungstenite::metrics::SessionMetrics,
}

pub(super) struct Slot<P> {
    pub(super) generation: u32,
    pub(super) entry: Option<Entry<P>>,
}

/// Socket tokens, handed out first-in first-out so a freed token is reused as late as
/// possible (a stale readiness event for it would only be a spurious wake-up anyway).
pub(super) struct TokenPool {
    pub(super) base: usize,
    pub(super) capacity: usize,
    pub(super) next: usize,
    pub(super) free: VecDeque<usize>,
}

impl TokenPool {
    pub(super) fn alloc(&mut self) -> Option<usize> {
        if let Some(i) = self.free.pop_front() {
            return Some(i);
        }
        (self.next < self.capacity).then(|| {
            self.next += 1;
            self.next - 1
        })
    }

    pub(super) fn release(&mut self, i: usize) {
        self.free.push_back(i);
    }

    pub(super) fn slot_of(&self, token: Token) -> Option<usize> {
        let i = token.0.checked_sub(self.base)?;
        (i < self.next).then_some(i)
    }

    pub(super) fn token(&self, i: usize) -> Token {
        Token(self.base + i)
    }
}

impl<P> Embedded<P> {
    pub(super) fn entry(&self, id: SessionId) -> Option<&Entry<P>> {
        let slot = self.sessions.get(id.index as usize)?;
        (slot.generation == id.generation)
            .then_some(slot.entry.as_ref())
            .flatten()
    }

    pub(super) fn entry_mut(&mut self, id: SessionId) -> Option<&mut Entry<P>> {
        let slot = self.sessions.get_mut(id.index as usize)?;
        (slot.generation == id.generation)
            .then_some(slot.entry.as_mut())
            .flatten()
    }

    pub(super) fn conn_mut(&mut self, slot: usize, serial: u64) -> Option<&mut Conn> {
        conn_in(&mut self.conns, slot, serial)
    }

    /// The slot of the session's connection `conn`.
    pub(super) fn find_conn(&self, id: SessionId, conn: ConnId) -> Option<usize> {
        let entry = self.entry(id)?;
        entry.conns.iter().copied().find(|&slot| {
            self.conns
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|c| c.id == conn)
        })
    }

    pub(super) fn release_slot(&mut self, slot: usize) {
        if let Some(conn) = self.conns.get_mut(slot).and_then(Option::take) {
            conn.release(&self.registry);
            self.tokens.release(slot);
        }
    }
}

/// The connection in `slot`, if it is still attempt `serial`.
pub(super) fn conn_in(conns: &mut [Option<Conn>], slot: usize, serial: u64) -> Option<&mut Conn> {
    conns.get_mut(slot)?.as_mut().filter(|c| c.serial == serial)
}
