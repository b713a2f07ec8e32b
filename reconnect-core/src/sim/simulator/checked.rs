//! The simulator with an [`Invariants`] checker attached: every call it makes into the session
//! is checked with its outputs, and the wire with the server's view of its subscriptions.

use std::time::Instant;

use super::Simulator;
use crate::boundary::{Output, State};
use crate::protocol::Protocol;
use crate::session::Session;
use crate::sim::invariants::{Call, Invariants, Violation};
use crate::sim::server::SimServer;

/// The attached checker and the call whose outputs the next drain checks.
#[derive(Debug)]
pub(super) struct Checker {
    invariants: Invariants,
    call: Option<Call>,
}

impl<P: Protocol, S: SimServer> Simulator<P, S> {
    /// Checks every call the simulator makes into the session, and the wire, with
    /// `invariants` (made for the session's configuration). Attach it before anything runs: a
    /// checker that misses outputs reports false violations. The first violation is kept; see
    /// [`violation`](Self::violation). Commands given to [`apply`](Self::apply) are checked as
    /// what they are; closures run through [`command`](Self::command) are checked as
    /// [`Call::Other`] (use [`command_as`](Self::command_as) to name them).
    pub fn check(mut self, invariants: Invariants) -> Self {
        self.checker = Some(Checker {
            invariants,
            call: None,
        });
        self
    }

    /// The attached checker.
    pub fn invariants(&self) -> Option<&Invariants> {
        self.checker.as_ref().map(|c| &c.invariants)
    }

    /// The attached checker, mutably (to report a violation a runner found).
    pub fn invariants_mut(&mut self) -> Option<&mut Invariants> {
        self.checker.as_mut().map(|c| &mut c.invariants)
    }

    /// The first violation the attached checker found.
    pub fn violation(&self) -> Option<&Violation> {
        self.checker.as_ref().and_then(|c| c.invariants.violation())
    }

    /// Like [`command`](Self::command), telling the attached checker which call it is: for a
    /// closure that calls a method directly, to read its typed result. The checker cannot see
    /// a refusal the closure did not report, so name a refused command [`Call::Other`] (a
    /// `Command::Subscribe` taken for a refused topic would make it expect the topic restored);
    /// [`apply`](Self::apply) needs none of this.
    pub fn command_as<R>(
        &mut self,
        call: Call,
        f: impl FnOnce(&mut Session<P>, Instant) -> R,
    ) -> R {
        let name = format!("{call:?}");
        self.expect_call(|| call);
        self.command(&name, f)
    }

    /// Names the call the next drain checks (built only when a checker is attached).
    pub(super) fn expect_call(&mut self, call: impl FnOnce() -> Call) {
        if let Some(checker) = self.checker.as_mut() {
            checker.call = Some(call());
        }
    }

    pub(super) fn check_outputs(&mut self, outputs: &[Output]) {
        if let Some(checker) = self.checker.as_mut() {
            let call = checker.call.take().unwrap_or(Call::Other);
            let _ = checker
                .invariants
                .check(self.now, call, outputs, &self.session);
        }
    }

    /// When the session is live on a healthy link and nothing it sent is still on the way to
    /// the server, compares the server's subscriptions with the session's.
    pub(super) fn check_wire(&mut self) {
        let Some(checker) = self.checker.as_mut() else {
            return;
        };
        let State::Live { conn } = self.session.state() else {
            return;
        };
        let quiet = self.links.get(&conn).is_some_and(|link| {
            link.server_open && !link.stalled && link.cut == 0 && link.to_server_at <= self.now
        });
        if !quiet {
            return;
        }
        if let Some(topics) = self.server.topics(conn) {
            let _ = checker.invariants.check_wire(conn, &topics);
        }
    }
}
