//! The kit's [`ScenarioClient`] made of any [`Harness`]: a binding implements the harness once
//! and runs the kit's whole scenario suite on it ([`scenario_suite!`](crate::scenario_suite!)).
//!
//! The harness runs on a thread of its own, stepped without pause, so the session keeps its
//! timers and sockets going while the scenario runner is busy with the server: the same as an
//! application whose loop never waits for its own logic.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use reconnect_core::{Command, HandleError};
use reconnect_testkit::scenario::{ClientError, ClientEvent, ClientSpec, ScenarioClient};

use crate::harness::Harness;
use crate::kit::{endpoint_for, kit_event_of, session_for};

/// How long the harness thread waits for news before it looks at its commands again.
const STEP: Duration = Duration::from_millis(5);

/// A harness on its own thread, commanded and heard through channels.
pub struct HarnessClient {
    commands: mpsc::Sender<(Command, mpsc::Sender<Result<(), HandleError>>)>,
    events: mpsc::Receiver<ClientEvent>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HarnessClient {
    /// Starts `H` on a new thread with the session and endpoint `spec` describes.
    ///
    /// # Errors
    /// The spec does not map to a session or an endpoint, or the thread cannot start.
    pub fn spawn<H: Harness + Send + 'static>(spec: &ClientSpec) -> Result<Self, ClientError> {
        let session = session_for(spec)?;
        let endpoint = endpoint_for(spec)?;
        let (command_tx, command_rx) =
            mpsc::channel::<(Command, mpsc::Sender<Result<(), HandleError>>)>();
        let (event_tx, events) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("harness-client".into())
            .spawn(move || {
                let mut harness = H::start(session, endpoint);
                let mut seen = Vec::new();
                while !stopping.load(Ordering::Acquire) {
                    while let Ok((command, answer)) = command_rx.try_recv() {
                        let _ = answer.send(harness.try_command(command));
                    }
                    harness.step(&mut seen, STEP);
                    for event in seen.drain(..) {
                        let _ = event_tx.send(kit_event_of(event));
                    }
                    if harness.ended() {
                        break;
                    }
                }
                // Dropping the harness here releases the session's sockets and threads.
            })
            .map_err(|e| ClientError(e.to_string()))?;
        Ok(HarnessClient {
            commands: command_tx,
            events,
            stop,
            thread: Some(thread),
        })
    }

    fn command(&mut self, command: Command) -> Result<(), ClientError> {
        let (answer_tx, answer) = mpsc::channel();
        if self.commands.send((command, answer_tx)).is_err() {
            return Ok(()); // the harness ended: like any client after it stopped
        }
        match answer.recv() {
            // A stopped session ignores commands, like any client after it stopped.
            Ok(Ok(())) | Ok(Err(HandleError::Gone)) | Err(_) => Ok(()),
            Ok(Err(e)) => Err(ClientError(e.to_string())),
        }
    }
}

impl Drop for HarnessClient {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// [`HarnessClient`] typed by its harness, which [`ScenarioClient::start`] needs.
pub struct KitClient<H> {
    client: HarnessClient,
    _harness: std::marker::PhantomData<fn() -> H>,
}

impl<H: Harness + Send + 'static> ScenarioClient for KitClient<H> {
    fn start(spec: &ClientSpec) -> Result<Self, ClientError> {
        Ok(KitClient {
            client: HarnessClient::spawn::<H>(spec)?,
            _harness: std::marker::PhantomData,
        })
    }

    fn subscribe(&mut self, channel: &str) -> Result<(), ClientError> {
        self.client.command(Command::Subscribe(channel.into()))
    }

    fn unsubscribe(&mut self, channel: &str) -> Result<(), ClientError> {
        self.client.command(Command::Unsubscribe(channel.into()))
    }

    fn send(&mut self, text: &str) -> Result<(), ClientError> {
        self.client
            .command(Command::Send(text.into(), Default::default()))
    }

    fn close(&mut self) -> Result<(), ClientError> {
        // The kit only asks for the close to start; events tell the rest.
        self.client.command(Command::Close)
    }

    fn next_event(&mut self, timeout: Duration) -> Option<ClientEvent> {
        self.client.events.recv_timeout(timeout).ok()
    }
}

/// The kit's whole scenario suite, over `ws://` and `wss://`, as `#[test]` functions on the
/// harness type `$harness`.
#[macro_export]
macro_rules! scenario_suite {
    ($harness:ty) => {
        #[test]
        fn every_scenario_passes_over_ws() {
            reconnect_testkit::scenario::assert_suite_passes::<
                $crate::scenario_client::KitClient<$harness>,
            >(reconnect_testkit::scenario::RunOptions::default());
        }

        #[test]
        fn every_scenario_passes_over_wss() {
            reconnect_testkit::scenario::assert_suite_passes::<
                $crate::scenario_client::KitClient<$harness>,
            >(reconnect_testkit::scenario::RunOptions {
                tls: true,
                ..reconnect_testkit::scenario::RunOptions::default()
            });
        }
    };
}
