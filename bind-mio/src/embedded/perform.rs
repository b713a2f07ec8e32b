//! The data path's one loop: [`feed`](Embedded::feed) a connection's inputs to its session,
//! [`drain`](Embedded::drain) the session after each (events delivered, actions
//! [`perform`](Embedded::perform)ed, the inputs performing produced fed back), and
//! [`settle`](Embedded::settle) the session once per batch.

use std::collections::VecDeque;
use std::time::Instant;

use reconnect_core::{Action, Input, Output, Protocol};

use super::slab::conn_in;
use super::Embedded;
use crate::handle::SessionId;

impl<P: Protocol> Embedded<P> {
    /// Feeds the inputs of the connection in `slot` (one read, or what starting it produced)
    /// to its session, one at a time, each followed by a drain, then settles the session once.
    /// `inputs` is left empty with its capacity, so a connection's reads reuse one buffer.
    pub(super) fn feed(&mut self, slot: usize, serial: u64, now: Instant, inputs: &mut Vec<Input>) {
        let mut inputs = inputs.drain(..);
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
            self.drain(id, now);
        }
        self.settle(id);
    }

    /// What ends a batch of inputs to the session `id` (one read's, one command's, one
    /// deadline's): its deadline is rescheduled and its metrics brought up to date. Both are per
    /// batch, not per input: the session's next deadline only matters once the driver is
    /// about to wait, and the metrics need only be as of the batch's last event.
    pub(super) fn settle(&mut self, id: SessionId) {
        #[cfg(feature = "metrics")]
        if let Some(entry) = self.entry_mut(id) {
            entry.metrics.publish(&entry.session);
        }
        self.reschedule(id);
    }

    /// Drains the session's outputs until it has nothing left: events are delivered as they
    /// come, actions performed in order, every touched connection flushed once, and the inputs
    /// performing produced fed back one at a time, each followed by another round. The caller
    /// must [`settle`](Self::settle) the session before the driver waits.
    ///
    /// Performing never feeds the session while its queue holds outputs (the inputs it
    /// produces wait until the queue is empty), so the order is the session's. A received
    /// message produces an event and no action, so the data path returns from the first
    /// [`next_action`](Self::next_action) without building anything.
    pub(super) fn drain(&mut self, id: SessionId, now: Instant) {
        // The data path ends here: a message is an event, and no action follows it.
        let Some(Some(first)) = self.next_action(id) else {
            return;
        };
        let mut action = Some(first);
        let mut inputs: VecDeque<Input> = VecDeque::new();
        let mut produced = Vec::new();
        let mut touched: Vec<(usize, u64)> = Vec::new();
        loop {
            while let Some(a) = action {
                self.perform(id, a, now, &mut produced, &mut touched);
                inputs.extend(produced.drain(..));
                action = self.next_action(id).flatten();
            }
            // One flush per connection per round: tungstenite buffers the frames.
            for (slot, serial) in touched.drain(..) {
                if let Some(conn) = conn_in(&mut self.conns, slot, serial) {
                    conn.flush(&mut produced);
                    if conn.has_ended() {
                        conn.drop_socket(&self.registry);
                    }
                }
                inputs.extend(produced.drain(..));
            }
            let Some(input) = inputs.pop_front() else {
                return;
            };
            let Some(entry) = self.entry_mut(id) else {
                return;
            };
            entry.session.handle_input(now, input);
            action = self.next_action(id).flatten();
        }
    }

    /// Delivers the session's events up to its next action: `Some(Some(action))`, or
    /// `Some(None)` when its queue is empty; `None` when the session is gone.
    fn next_action(&mut self, id: SessionId) -> Option<Option<Action>> {
        loop {
            match self.entry_mut(id)?.session.poll_output() {
                None => return Some(None),
                Some(Output::Event(event)) => self.deliver(id, event),
                Some(Output::Action(action)) => return Some(Some(action)),
            }
        }
    }

    /// Carries out one action on the session's connections.
    pub(super) fn perform(
        &mut self,
        id: SessionId,
        action: Action,
        now: Instant,
        produced: &mut Vec<Input>,
        touched: &mut Vec<(usize, u64)>,
    ) {
        match action {
            Action::Connect { conn, attempt } => {
                self.begin_attempt(id, conn, attempt, now, produced)
            }
            Action::Send { conn, frame, .. } => {
                if let Some(slot) = self.find_conn(id, conn) {
                    let c = self.conns[slot].as_mut().expect("found above");
                    c.send(frame, produced);
                    touched.push((slot, c.serial));
                }
            }
            Action::Ping { conn } => {
                if let Some(slot) = self.find_conn(id, conn) {
                    let c = self.conns[slot].as_mut().expect("found above");
                    c.ping(produced);
                    touched.push((slot, c.serial));
                }
            }
            Action::Close { conn, code, reason } => {
                if let Some(slot) = self.find_conn(id, conn) {
                    let c = self.conns[slot].as_mut().expect("found above");
                    c.close(code, reason, produced);
                    touched.push((slot, c.serial));
                }
            }
            Action::Release { conn } => {
                if let Some(slot) = self.find_conn(id, conn) {
                    if let Some(entry) = self.entry_mut(id) {
                        entry.conns.retain(|&s| s != slot);
                    }
                    self.release_slot(slot);
                }
            }
        }
    }
}
