//! The waker's news: the resolver's answers, then the handles' requests, each run on its
//! session with the loop's clock reading.

use std::time::Instant;

use reconnect_core::Protocol;

use super::Embedded;
use crate::event::Event;
use crate::handle::{Envelope, Request, SessionId};

impl<P: Protocol> Embedded<P> {
    pub(super) fn process_mailbox(&mut self, now: Instant) {
        self.wake.reset();
        while let Some(resolved) = self.resolver.try_next() {
            self.on_resolved(resolved, now);
        }
        // Bounded by the mailbox's capacity.
        while let Ok(Envelope(id, request)) = self.inbox.try_recv() {
            self.run_request(id, request, now);
        }
    }

    pub(super) fn run_request(&mut self, id: SessionId, request: Request, now: Instant) {
        let command = match request {
            Request::Command(command) => command,
            Request::Remove => {
                if self.remove_session(id).is_some() {
                    self.deliver(id, Event::Removed);
                }
                return;
            }
        };
        let Some(entry) = self.entry_mut(id) else {
            return;
        };
        let verdict = entry.session.apply(now, command);
        // Whatever due deadlines did before the command comes first.
        self.drain(id, now);
        if let Err(refused) = verdict {
            self.deliver(id, Event::Refused(refused));
        }
    }
}
