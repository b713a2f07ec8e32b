//! One session on a binding, driven from the test, seen through its core events: what a test
//! body needs to run unchanged on both bindings (each implements [`Harness`] in its own
//! `tests/support/mod.rs`; the suites written on it are
//! [`transport_suite`](mod@crate::transport_suite),
//! [`python_suite`](mod@crate::python_suite) and [`fd_suite`](mod@crate::fd_suite)).

use std::time::{Duration, Instant};

use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{Command, Event, Session};
use reconnect_tungstenite::Endpoint;

/// How long one [`Harness::step`] waits for news.
pub const STEP: Duration = Duration::from_millis(20);

/// One session on one binding.
pub trait Harness: Sized {
    /// Runs `session` on `endpoint`.
    fn start(session: Session<JsonRpcAdapter>, endpoint: Endpoint) -> Self;

    /// Drives the session for up to `wait` (less if something happens), appending the core
    /// events it reports to `seen`.
    fn step(&mut self, seen: &mut Vec<Event>, wait: Duration);

    /// Whether the binding will report nothing more (its event stream ended).
    fn ended(&self) -> bool;

    /// Passes `command` to the session through the binding's handle.
    fn command(&mut self, command: Command);

    /// Asserts that the binding holds no socket for the session any more.
    fn assert_released(&mut self);

    /// Asserts that the binding holds `n` sockets for the session, where it can tell (a
    /// binding that cannot count them checks nothing here).
    fn assert_sockets(&self, n: usize) {
        let _ = n;
    }

    /// Drives the session until `done` holds on the events seen so far; panics after `limit`
    /// (or if the binding ends first), showing the last events.
    fn run_until(
        &mut self,
        seen: &mut Vec<Event>,
        limit: Duration,
        mut done: impl FnMut(&[Event]) -> bool,
    ) {
        let deadline = Instant::now() + limit;
        while !done(seen) {
            let last = &seen[seen.len().saturating_sub(20)..];
            assert!(
                Instant::now() < deadline,
                "timed out; last events: {last:#?}"
            );
            assert!(!self.ended(), "the binding ended; last events: {last:#?}");
            self.step(seen, STEP);
        }
    }

    /// Drives the session for `span`; returns the events of that span.
    fn run_for(&mut self, span: Duration) -> Vec<Event> {
        let until = Instant::now() + span;
        let mut seen = Vec::new();
        while Instant::now() < until && !self.ended() {
            self.step(
                &mut seen,
                STEP.min(until.saturating_duration_since(Instant::now())),
            );
        }
        seen
    }
}

/// How many events satisfy `f`.
pub fn count(seen: &[Event], f: impl Fn(&Event) -> bool) -> usize {
    seen.iter().filter(|e| f(e)).count()
}
