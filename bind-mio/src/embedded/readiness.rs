//! Socket readiness: serve a connection up to the read budget, come back to those with unread
//! input, hold back reading while the application's event queue is at its bound, and feed what
//! the connection produced to its session.

use std::time::Instant;

use reconnect_core::Protocol;

use super::Embedded;

impl<P: Protocol> Embedded<P> {
    pub(super) fn serve_conn(&mut self, slot: usize, now: Instant) {
        let budget = self.read_budget;
        let full = self.events_full();
        let registry = &self.registry;
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let serial = conn.serial;
        if full {
            // Backpressure: the socket keeps its bytes (and the peer, in time, its writes)
            // until the application takes events; `release_held` serves it again then.
            if !conn.held {
                conn.held = true;
                self.held.push((slot, serial));
            }
            return;
        }
        // The driver's buffer, reused from read to read (empty here: a nested read would find
        // an empty one of its own).
        let mut produced = std::mem::take(&mut self.read_inputs);
        if conn.on_ready(registry, budget, &mut produced) {
            self.again.push_back((slot, serial));
        }
        self.feed(slot, serial, now, &mut produced);
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
