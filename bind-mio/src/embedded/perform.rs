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
    /// Feeds one input, then drains.
    pub(super) fn feed(&mut self, id: SessionId, now: Instant, input: Input) {
        let Some(entry) = self.entry_mut(id) else {
            return;
        };
        entry.session.handle_input(now, input);
        self.drain(id, now);
    }

    /// Drains the session's outputs, performing actions and delivering events, until it has
    /// nothing left; inputs that performing produced are fed one at a time, each followed by
    /// another drain. Then the session's deadline is rescheduled.
    pub(super) fn drain(&mut self, id: SessionId, now: Instant) {
        let mut inputs: VecDeque<Input> = VecDeque::new();
        let mut touched: Vec<(usize, u64)> = Vec::new();
        // The drain buffer is the driver's, reused from drain to drain: the session's
        // `drain()` borrows the session, and performing needs the whole driver.
        let mut outputs = std::mem::take(&mut self.outputs);
        loop {
            let Some(entry) = self.entry_mut(id) else {
                self.outputs = outputs;
                return;
            };
            outputs.extend(entry.session.drain());
            for output in outputs.drain(..) {
                match output {
                    Output::Event(event) => self.deliver(id, Event::Session(event)),
                    Output::Action(action) => {
                        let mut produced = Vec::new();
                        self.perform(id, action, now, &mut produced, &mut touched);
                        inputs.extend(produced);
                    }
                }
            }
            // One flush per connection per batch: tungstenite buffers the frames.
            for (slot, serial) in touched.drain(..) {
                let mut produced = Vec::new();
                if let Some(conn) = conn_in(&mut self.conns, slot, serial) {
                    conn.flush(&mut produced);
                    if conn.has_ended() {
                        conn.drop_socket(&self.registry);
                    }
                }
                inputs.extend(produced);
            }
            let Some(input) = inputs.pop_front() else {
                break;
            };
            let Some(entry) = self.entry_mut(id) else {
                self.outputs = outputs;
                return;
            };
            entry.session.handle_input(now, input);
        }
        self.outputs = outputs;
        self.reschedule(id);
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
