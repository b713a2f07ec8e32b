//! The kit's `ScenarioClient` on this binding: the session's task runs on its own thread (with
//! `smol::block_on`), commands go through the handle, events are mapped onto the kit's words.
//!
//! The spec-to-session mapping, the binding-neutral [`Harness`] and the suites written on it
//! are `bind-support`'s, shared with bind-mio, not copied; [`SmolHarness`] is this binding's
//! side of them.

#![allow(dead_code)] // each test binary uses a different part

use std::thread::JoinHandle;
use std::time::Duration;

use bind_smol::{Endpoint, Event, EventStream, Options, SessionHandle};
use futures_lite::StreamExt;
use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{Command, Session};
use reconnect_testkit::scenario::{ClientError, ClientEvent, ClientSpec, ScenarioClient};

pub use bind_support::harness::{self, Harness};
pub use bind_support::kit::{self, endpoint_for, session_for};

/// A session event in the kit's words.
pub fn kit_event(event: Event) -> ClientEvent {
    match event {
        Event::Session(e) => kit::kit_event_of(e),
        other => ClientEvent::Other(format!("{other:?}")),
    }
}

/// One session whose task runs on its own thread.
pub struct SmolClient {
    handle: Option<SessionHandle>,
    events: Option<EventStream>,
    thread: Option<JoinHandle<()>>,
}

impl SmolClient {
    /// Runs `session` on `endpoint` on a new thread.
    pub fn spawn(
        session: Session<JsonRpcAdapter>,
        endpoint: Endpoint,
    ) -> Result<Self, ClientError> {
        let (handle, events, task) = bind_smol::connect(session, endpoint, Options::default());
        let thread = std::thread::Builder::new()
            .name("bind-smol-session".into())
            .spawn(move || drop(smol::block_on(task)))
            .map_err(|e| ClientError(e.to_string()))?;
        Ok(SmolClient {
            handle: Some(handle),
            events: Some(events),
            thread: Some(thread),
        })
    }

    /// The session's handle.
    pub fn handle(&self) -> &SessionHandle {
        self.handle.as_ref().expect("present until drop")
    }

    /// The next event of the session, waiting at most `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Option<Event> {
        let events = self.events.as_mut().expect("present until drop");
        smol::block_on(async {
            futures_lite::future::or(events.next(), async {
                async_io::Timer::after(timeout).await;
                None
            })
            .await
        })
    }
}

impl Drop for SmolClient {
    fn drop(&mut self) {
        // Dropping the handle and the stream closes the session cleanly; its task then ends.
        self.handle.take();
        self.events.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn handle_result(r: Result<(), bind_smol::HandleError>) -> Result<(), ClientError> {
    // A stopped session ignores commands, like any client after it stopped.
    match r {
        Ok(()) | Err(bind_smol::HandleError::Gone) => Ok(()),
        Err(e) => Err(ClientError(e.to_string())),
    }
}

impl ScenarioClient for SmolClient {
    fn start(spec: &ClientSpec) -> Result<Self, ClientError> {
        SmolClient::spawn(session_for(spec)?, endpoint_for(spec)?)
    }

    fn subscribe(&mut self, channel: &str) -> Result<(), ClientError> {
        handle_result(smol::block_on(self.handle().subscribe(channel)))
    }

    fn unsubscribe(&mut self, channel: &str) -> Result<(), ClientError> {
        handle_result(smol::block_on(self.handle().unsubscribe(channel)))
    }

    fn send(&mut self, text: &str) -> Result<(), ClientError> {
        handle_result(smol::block_on(self.handle().send(text)))
    }

    fn close(&mut self) -> Result<(), ClientError> {
        // The kit only asks for the close to start; events tell the rest.
        handle_result(self.handle().try_close())
    }

    fn next_event(&mut self, timeout: Duration) -> Option<ClientEvent> {
        self.next(timeout).map(kit_event)
    }
}

/// A session whose task runs on smol's global executor; the test awaits its event stream and
/// calls its handle, the way an async application does.
pub struct SmolHarness {
    handle: SessionHandle,
    events: EventStream,
    ended: bool,
}

impl Harness for SmolHarness {
    fn start(session: Session<JsonRpcAdapter>, endpoint: Endpoint) -> Self {
        let (handle, events, task) = bind_smol::connect(session, endpoint, Options::default());
        smol::spawn(task).detach();
        SmolHarness {
            handle,
            events,
            ended: false,
        }
    }

    fn step(&mut self, seen: &mut Vec<reconnect_core::Event>, wait: Duration) {
        let events = &mut self.events;
        let next = smol::block_on(futures_lite::future::or(
            async { Some(events.next().await) },
            async {
                async_io::Timer::after(wait).await;
                None
            },
        ));
        match next {
            Some(Some(Event::Session(e))) => seen.push(e),
            Some(Some(_)) | None => {}
            Some(None) => self.ended = true,
        }
    }

    fn ended(&self) -> bool {
        self.ended
    }

    fn command(&mut self, command: Command) {
        smol::block_on(self.handle.command(command)).expect("the task takes it");
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
