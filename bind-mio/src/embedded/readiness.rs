//! Socket readiness: serve a connection up to the read budget, come back to those with unread
//! input, and feed what the connection produced to its session.

use std::time::Instant;

use reconnect_core::{Input, Protocol};

use super::slab::conn_in;
use super::Embedded;

impl<P: Protocol> Embedded<P> {
    /// Feeds inputs of the connection in `slot` to its session, one at a time, each followed
    /// by a drain; the session is settled (deadline, metrics) once, after the last.
    pub(super) fn feed_all(&mut self, slot: usize, serial: u64, now: Instant, inputs: Vec<Input>) {
        let Some(c) = conn_in(&mut self.conns, slot, serial) else {
            return;
        };
        let id = c.session;
        if c.has_ended() {
            c.drop_socket(&self.registry);
        }
        if inputs.is_empty() {
            return;
        }
        for input in inputs {
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
        let mut produced = Vec::new();
        if conn.on_ready(registry, budget, &mut produced) {
            self.again.push_back((slot, serial));
        }
        self.feed_all(slot, serial, now, produced);
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
