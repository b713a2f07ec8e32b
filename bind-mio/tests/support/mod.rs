//! The kit's `ScenarioClient` on this binding: a driver on its own thread with one JSON-RPC
//! session, commands through the session's handle, events mapped onto the kit's vocabulary
//! (`bind_support::kit`, which bind-smol's tests share). The suites written on the
//! binding-neutral [`Harness`] are in `bind-support`; [`MioHarness`] is this binding's side.

#![allow(dead_code)] // each test binary uses a different part

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use bind_mio::{Driver, DriverConfig, DriverHandle, Endpoint, Event};
use bind_mio::{SessionHandle, SessionId};
use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{Command, Session};
use reconnect_testkit::scenario::{ClientError, ClientEvent, ClientSpec, ScenarioClient};

pub use bind_support::harness::Harness;
pub use bind_support::kit::{self, endpoint_for, session_for};

/// A session event in the kit's words.
pub fn kit_event(event: Event) -> ClientEvent {
    match event {
        Event::Session(e) => kit::kit_event_of(e),
        other => ClientEvent::Other(format!("{other:?}")),
    }
}

/// A driver thread with one session.
pub struct MioClient {
    handle: SessionHandle,
    driver: DriverHandle,
    events: mpsc::Receiver<ClientEvent>,
    thread: Option<JoinHandle<()>>,
}

impl MioClient {
    /// Starts a driver thread running `session` on `endpoint`; events are mapped by `map`.
    pub fn spawn(
        session: Session<JsonRpcAdapter>,
        endpoint: Endpoint,
        config: DriverConfig,
    ) -> Result<(Self, SessionId), ClientError> {
        let (tx, events) = mpsc::channel();
        let mut driver = Driver::new(config).map_err(|e| ClientError(e.to_string()))?;
        driver.set_event_handler(move |_, event| {
            let _ = tx.send(kit_event(event));
        });
        let id = driver.add_session(session, endpoint);
        let handle = driver.handle(id).expect("just added");
        let driver_handle = driver.driver_handle();
        let thread = std::thread::Builder::new()
            .name("bind-mio-driver".into())
            .spawn(move || {
                driver.run().expect("the poll does not fail");
            })
            .map_err(|e| ClientError(e.to_string()))?;
        Ok((
            MioClient {
                handle,
                driver: driver_handle,
                events,
                thread: Some(thread),
            },
            id,
        ))
    }

    /// The session's handle.
    pub fn handle(&self) -> &SessionHandle {
        &self.handle
    }
}

impl Drop for MioClient {
    fn drop(&mut self) {
        self.driver.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn handle_result(r: Result<(), bind_mio::HandleError>) -> Result<(), ClientError> {
    // A stopped or removed session ignores commands, like any client after it stopped.
    match r {
        Ok(()) | Err(bind_mio::HandleError::Gone) => Ok(()),
        Err(e) => Err(ClientError(e.to_string())),
    }
}

impl ScenarioClient for MioClient {
    fn start(spec: &ClientSpec) -> Result<Self, ClientError> {
        let session = session_for(spec)?;
        let endpoint = endpoint_for(spec)?;
        MioClient::spawn(session, endpoint, DriverConfig::default()).map(|(c, _)| c)
    }

    fn subscribe(&mut self, channel: &str) -> Result<(), ClientError> {
        handle_result(self.handle.subscribe(channel))
    }

    fn unsubscribe(&mut self, channel: &str) -> Result<(), ClientError> {
        handle_result(self.handle.unsubscribe(channel))
    }

    fn send(&mut self, text: &str) -> Result<(), ClientError> {
        handle_result(self.handle.send(text))
    }

    fn close(&mut self) -> Result<(), ClientError> {
        handle_result(self.handle.close())
    }

    fn next_event(&mut self, timeout: Duration) -> Option<ClientEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

/// Runs `driver` on this thread until `done` holds on the core events seen so far (panics after
/// `limit`, showing the last events). Events of every session are collected, in order.
pub fn run_until<P: reconnect_core::Protocol>(
    driver: &mut Driver<P>,
    seen: &mut Vec<(SessionId, reconnect_core::Event)>,
    limit: Duration,
    mut done: impl FnMut(&[(SessionId, reconnect_core::Event)]) -> bool,
) {
    let deadline = std::time::Instant::now() + limit;
    while !done(seen) {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out; last events: {:#?}",
            &seen[seen.len().saturating_sub(20)..]
        );
        driver
            .run_once(Some(Duration::from_millis(20)))
            .expect("the poll does not fail");
        while let Some((id, event)) = driver.poll_event() {
            if let Event::Session(e) = event {
                seen.push((id, e));
            }
        }
    }
}

/// A driver on the test thread with one session, the way an application that owns its loop uses
/// it: `run_once` and `poll_event`.
pub struct MioHarness {
    driver: Driver<JsonRpcAdapter>,
    id: SessionId,
}

impl Harness for MioHarness {
    fn start(session: Session<JsonRpcAdapter>, endpoint: Endpoint) -> Self {
        // No connection budget: tests reconnect faster than any budget is meant for.
        let config = DriverConfig::default().connect_rate(None);
        let mut driver = Driver::new(config).expect("a poll");
        let id = driver.add_session(session, endpoint);
        MioHarness { driver, id }
    }

    fn step(&mut self, seen: &mut Vec<reconnect_core::Event>, wait: Duration) {
        self.driver
            .run_once(Some(wait))
            .expect("the poll does not fail");
        while let Some((_, event)) = self.driver.poll_event() {
            if let Event::Session(e) = event {
                seen.push(e);
            }
        }
    }

    fn ended(&self) -> bool {
        // A driver keeps a stopped session until it is removed.
        false
    }

    fn command(&mut self, command: Command) {
        let handle = self.driver.handle(self.id).expect("the session exists");
        handle.command(command).expect("the mailbox takes it");
    }

    fn assert_released(&mut self) {
        self.assert_sockets(0);
    }

    fn assert_sockets(&self, n: usize) {
        assert_eq!(self.driver.sockets(), n, "sockets the driver holds");
    }
}
