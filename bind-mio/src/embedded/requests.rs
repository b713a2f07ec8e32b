//! The waker's news: the resolver's answers, then the handles' commands, each applied to its
//! session with the loop's clock reading.

use std::time::Instant;

use reconnect_core::Protocol;

use super::Embedded;
use crate::handle::Envelope;

impl<P: Protocol> Embedded<P> {
    pub(super) fn process_mailbox(&mut self, now: Instant) {
        self.wake.reset();
        while let Some(resolved) = self.resolver.try_next() {
            self.on_resolved(resolved, now);
        }
        // Bounded by the mailbox's capacity.
        while let Ok(Envelope(id, command)) = self.inbox.try_recv() {
            // A command for a session removed meanwhile has nobody to answer it: the owner
            // removed the session (`remove_session`), and its handles are `Gone` from then on.
            let Some(entry) = self.entry_mut(id) else {
                continue;
            };
            // A refusal is the session's own `Event::Refused`, after whatever the due
            // deadlines did first.
            entry.session.apply(now, command);
            self.drain(id, now);
            self.settle(id);
        }
    }
}
