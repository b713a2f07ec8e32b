//! Socket readiness: serve a connection up to the read budget, come back to those with unread
//! input, and feed what the connection produced to its session.

use std::time::Instant;

use reconnect_core::{Input, Protocol};

use super::slab::conn_in;
use super::Embedded;

impl<P: Protocol> Embedded<P> {
    /// Feeds inputs of the connection in `slot` to its session, one at a time, each followed
    /// by a drain; the session is settled (deadline, metrics) once, after the last.
    pub(super) fn feed_all(
        &mut self,
        slot: usize,
        serial: u64,
        now: Instant,
        mut inputs: Vec<Input>,
    ) {
        self.feed_batch(slot, serial, now, &mut inputs);
    }

    /// [`feed_all`](Self::feed_all) from a buffer the caller keeps: it is left empty (with its
    /// capacity), so a connection's reads reuse one allocation.
    fn feed_batch(&mut self, slot: usize, serial: u64, now: Instant, batch: &mut Vec<Input>) {
        let mut inputs = batch.drain(..);
        let Some(c) = conn_in(&mut self.conns, slot, serial) else {
            return;
        };
        let id = c.session;
        if c.has_ended() {
            c.drop_socket(&self.registry);
        }
        if inputs.len() == 0 {
            return;
        }
        for input in inputs.by_ref() {
            let Some(entry) = self.entry_mut(id) else {
                return;
            };
            entry.session.handle_input(now, input);
            self.drain_outputs(id, now);
        }
        self.settle(id);
    }

    pub(super) fn serve_conn(&mut self, slot: usize, now: Instant) {
        let budget = self.read_budget;
        let registry = &self.registry;
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let serial = conn.serial;
        // The driver's buffer, reused from read to read (empty here: a nested read would find
        // an empty one of its own).
        let mut produced = std::mem::take(&mut self.read_inputs);
        if conn.on_ready(registry, budget, &mut produced) {
            self.again.push_back((slot, serial));
        }
        self.feed_batch(slot, serial, now, &mut produced);
        self.read_inputs = produced;
    }

    pub(super) fn serve_again(&mut self, now: Instant) {
        for _ in 0..self.again.len() {
            let Some((slot, serial)) = self.again.pop_front() else {
                break;
            };
            if self.conn_mut(slot, serial).is_some() {
                self.serve_conn(slot, now);
            }
        }
    }
}
