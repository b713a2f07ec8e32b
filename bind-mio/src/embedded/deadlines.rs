//! The deadline heap: one entry per session's next deadline, superseded entries skipped when
//! popped and dropped when the heap grows past twice the sessions.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use reconnect_core::Protocol;

use super::Embedded;
use crate::handle::SessionId;

impl<P: Protocol> Embedded<P> {
    pub(super) fn reschedule(&mut self, id: SessionId) {
        let Some(entry) = self.entry_mut(id) else {
            return;
        };
        let next = entry.session.poll_timeout();
        if next == entry.scheduled {
            return;
        }
        entry.scheduled = next;
        if let Some(t) = next {
            self.deadlines.push(Reverse((t, id.index, id.generation)));
        }
        // Superseded deadlines stay in the heap until popped; keep them from piling up.
        if self.deadlines.len() > 2 * self.live_sessions + 64 {
            self.rebuild_deadlines();
        }
    }

    pub(super) fn rebuild_deadlines(&mut self) {
        let mut heap = BinaryHeap::with_capacity(self.live_sessions);
        for (i, slot) in self.sessions.iter().enumerate() {
            if let Some(t) = slot.entry.as_ref().and_then(|e| e.scheduled) {
                heap.push(Reverse((t, i as u32, slot.generation)));
            }
        }
        self.deadlines = heap;
    }

    pub(super) fn run_deadlines(&mut self, now: Instant) {
        while let Some(&Reverse((t, index, generation))) = self.deadlines.peek() {
            if t > now {
                break;
            }
            self.deadlines.pop();
            let id = SessionId { index, generation };
            let Some(entry) = self.entry_mut(id) else {
                continue;
            };
            if entry.scheduled != Some(t) {
                continue; // superseded
            }
            entry.scheduled = None;
            entry.session.handle_timeout(now);
            self.drain(id, now);
            self.settle(id);
        }
    }
}
