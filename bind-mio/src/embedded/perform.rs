//! The perform loop: drain a session's outputs, perform its actions on the connections, deliver
//! its events, and feed back the inputs that performing produced once the drain has ended.

use std::collections::VecDeque;
use std::time::Instant;

use reconnect_core::{Action, Input, Output, Protocol};

use super::slab::conn_in;
use super::Embedded;
use crate::event::Event;
use crate::handle::SessionId;

impl<P: Protocol> Embedded<P> {
    /// Drains the session's outputs, performing actions and delivering events, until it has
    /// nothing left; inputs that performing produced are fed one at a time, each followed by
    /// another drain. Then the session's deadline is rescheduled.
    pub(super) fn drain(&mut self, id: SessionId, now: Instant) {
        self.drain_outputs(id, now);
        self.settle(id);
    }

    /// What ends a batch of inputs to the session `id` (one drain, or every input of one
    /// read): its deadline is rescheduled and its metrics brought up to date. Both are per
    /// batch, not per input: the session's next deadline only matters once the driver is
    /// about to wait, and the metrics need only be as of the batch's last event.
    pub(super) fn settle(&mut self, id: SessionId) {
        #[cfg(feature = "metrics")]
        if let Some(entry) = self.entry_mut(id) {
            entry.metrics.publish(&entry.session);
        }
        self.reschedule(id);
    }

    /// [`drain`](Self::drain) without the [`settle`](Self::settle): the caller must settle
    /// the session before the driver waits.
    ///
    /// Each output is taken from the session and handled before the next is taken (performing
    /// never feeds the session: the inputs it produces wait until the session's queue is
    /// empty), so the order is the session's. Events are delivered as they come; the first
    /// action hands over to [`perform_all`](Self::perform_all) (a received message produces
    /// an event and no action, so the data path never gets there).
    pub(super) fn drain_outputs(&mut self, id: SessionId, now: Instant) {
        let action = loop {
            let Some(entry) = self.entry_mut(id) else {
                return;
            };
            match entry.session.poll_output() {
                None => return,
                Some(Output::Event(event)) => self.deliver(id, Event::Session(event)),
                Some(Output::Action(action)) => break action,
            }
        };
        self.perform_all(id, now, action);
    }

    /// Performs `action`, then the rest of the session's outputs; then flushes the touched
    /// connections and feeds the inputs performing produced, one at a time, each followed by
    /// another round, until the session has nothing left.
    fn perform_all(&mut self, id: SessionId, now: Instant, action: Action) {
        let mut inputs: VecDeque<Input> = VecDeque::new();
        let mut produced = Vec::new();
        let mut touched: Vec<(usize, u64)> = Vec::new();
        self.perform(id, action, now, &mut produced, &mut touched);
        inputs.extend(produced.drain(..));
        loop {
            loop {
                let Some(entry) = self.entry_mut(id) else {
                    return;
                };
                let Some(output) = entry.session.poll_output() else {
                    break;
                };
                match output {
                    Output::Event(event) => self.deliver(id, Event::Session(event)),
                    Output::Action(action) => {
                        self.perform(id, action, now, &mut produced, &mut touched);
                        inputs.extend(produced.drain(..));
                    }
                }
            }
            // One flush per connection per batch: tungstenite buffers the frames.
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
                break;
            };
            let Some(entry) = self.entry_mut(id) else {
                return;
            };
            entry.session.handle_input(now, input);
        }
    }

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
