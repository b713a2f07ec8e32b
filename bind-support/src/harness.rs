//! One session on a binding, driven from the test, seen through its core events: what a test
//! body needs to run unchanged on both bindings. Each binding implements [`Harness`], and
//! nothing else, in its own `tests/support/mod.rs`; every suite is written on it, the kit's
//! scenario suite included ([`scenario_client`](mod@crate::scenario_client) turns a harness
//! into the kit's client).

use std::time::{Duration, Instant};

use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{Command, ConnectBudget, Event, HandleError, Session};
use reconnect_tungstenite::Endpoint;

/// How long one [`Harness::step`] waits for news.
pub const STEP: Duration = Duration::from_millis(20);

/// What a suite may set of a binding's options; `None` keeps the binding's default, except the
/// connect budget, which is off unless given (tests reconnect faster than any budget is meant
/// for). Each binding maps these onto its own options, whose names are the same.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The connect budget (bind-mio: the driver's; bind-smol: the session's).
    pub connect_budget: Option<ConnectBudget>,
    /// Commands the mailbox holds.
    pub mailbox_capacity: Option<usize>,
    /// Payload bytes the mailbox holds.
    pub mailbox_bytes: Option<usize>,
    /// Events waiting for the application before the binding stops reading.
    pub event_capacity: Option<usize>,
    /// Payload bytes waiting for the application before the binding stops reading.
    pub event_bytes: Option<usize>,
}

/// One session on one binding.
///
/// The binding's loop must not take a command from the mailbox before the first
/// [`step`](Self::step) (bind-mio: its loop runs only in `step`; bind-smol: its task is spawned
/// at the first `step`), so that a suite can fill the mailbox first.
pub trait Harness: Sized {
    /// Runs `session` on `endpoint` with [`Settings::default`].
    fn start(session: Session<JsonRpcAdapter>, endpoint: Endpoint) -> Self {
        Self::start_with(session, endpoint, &Settings::default())
    }

    /// Runs `session` on `endpoint` with `settings`.
    fn start_with(
        session: Session<JsonRpcAdapter>,
        endpoint: Endpoint,
        settings: &Settings,
    ) -> Self;

    /// The connect budget the binding uses when the application sets none.
    fn default_connect_budget() -> Option<ConnectBudget>;

    /// Drives the session for up to `wait` (less if something happens), appending the core
    /// events it reports to `seen`.
    fn step(&mut self, seen: &mut Vec<Event>, wait: Duration);

    /// Whether the binding will report nothing more (its event stream ended).
    fn ended(&self) -> bool;

    /// Lets the binding run for `span` while the application takes no event (a consumer that
    /// looks away).
    fn idle(&mut self, span: Duration);

    /// Passes `command` to the session through the binding's handle, the way an application
    /// does (waiting for room in the mailbox where the binding's handle can), and returns the
    /// handle's answer.
    fn try_command(&mut self, command: Command) -> Result<(), HandleError>;

    /// Starts a clean close through the handle's `close`, which returns once the close is
    /// queued (it does not wait for the end), and returns the handle's answer.
    fn close(&mut self) -> Result<(), HandleError>;

    /// [`try_command`](Self::try_command), which must succeed.
    fn command(&mut self, command: Command) {
        if let Err(e) = self.try_command(command) {
            panic!("the handle refused a command: {e}");
        }
    }

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
