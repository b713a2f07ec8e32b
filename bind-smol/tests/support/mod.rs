//! This binding's side of the shared suites: [`SmolHarness`], the one [`Harness`] the suites in
//! `bind-support` drive (the kit's scenario suite included, through
//! `bind_support::scenario_client`).

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::time::Duration;

use bind_smol::{Endpoint, EventStream, Options, SessionHandle, SessionTask, SharedConnectBudget};
use futures_lite::StreamExt;
use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{Command, ConnectBudget, Event, HandleError, Session};

pub use bind_support::harness::{self, Harness, Settings};
pub use bind_support::kit::{endpoint_for, session_for};

/// A session whose task runs on smol's global executor; the test awaits its event stream and
/// calls its handle, the way an async application does.
///
/// The task is spawned at the first [`step`](Harness::step), not at the start: until then the
/// handle's commands wait in the mailbox, as they do in a bind-mio driver whose loop has not
/// run, so that the shared suites can test the mailbox's bounds on both bindings alike.
pub struct SmolHarness {
    handle: SessionHandle,
    events: EventStream,
    task: Option<SessionTask<JsonRpcAdapter>>,
    ended: bool,
}

impl Harness for SmolHarness {
    fn start_with(
        session: Session<JsonRpcAdapter>,
        endpoint: Endpoint,
        settings: &Settings,
    ) -> Self {
        let mut options = Options::default().connect_budget(
            settings
                .connect_budget
                .clone()
                .map(SharedConnectBudget::new),
        );
        if let Some(n) = settings.mailbox_capacity {
            options = options.mailbox_capacity(n);
        }
        if let Some(n) = settings.mailbox_bytes {
            options = options.mailbox_bytes(n);
        }
        if let Some(n) = settings.event_capacity {
            options = options.event_capacity(n);
        }
        if let Some(n) = settings.event_bytes {
            options = options.event_bytes(n);
        }
        let (handle, events, task) = bind_smol::connect(session, endpoint, options);
        SmolHarness {
            handle,
            events,
            task: Some(task),
            ended: false,
        }
    }

    fn default_connect_budget() -> Option<ConnectBudget> {
        Options::default()
            .connect_budget
            .map(|budget| budget.limits().clone())
    }

    fn step(&mut self, seen: &mut Vec<Event>, wait: Duration) {
        if let Some(task) = self.task.take() {
            smol::spawn(task).detach();
        }
        let events = &mut self.events;
        let next = smol::block_on(futures_lite::future::or(
            async { Some(events.next().await) },
            async {
                async_io::Timer::after(wait).await;
                None
            },
        ));
        match next {
            Some(Some(e)) => {
                seen.push(e);
                // Whatever else is waiting, at once: the suites see what a batch would.
                self.events.try_next_batch(seen);
            }
            Some(None) => self.ended = true,
            None => {}
        }
    }

    fn ended(&self) -> bool {
        self.ended
    }

    fn idle(&mut self, span: Duration) {
        if let Some(task) = self.task.take() {
            smol::spawn(task).detach();
        }
        // The task runs on smol's executor threads meanwhile; nobody polls the stream.
        std::thread::sleep(span);
    }

    fn try_command(&mut self, command: Command) -> Result<(), HandleError> {
        self.handle.try_command(command)
    }

    fn close(&mut self) -> Result<(), HandleError> {
        self.handle.try_close()
    }

    fn assert_released(&mut self) {
        // The stream ends when the task does, which is after the session released every socket.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut rest = Vec::new();
        while !self.ended {
            assert!(
                std::time::Instant::now() < deadline,
                "the task did not end: {rest:#?}"
            );
            self.step(&mut rest, harness::STEP);
        }
        assert!(self.handle.is_ended());
    }
}
