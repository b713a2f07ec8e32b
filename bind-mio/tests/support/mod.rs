//! The kit's `ScenarioClient` on this binding: a driver on its own thread with one JSON-RPC
//! session, commands through the session's handle, events mapped onto the kit's vocabulary.

#![allow(dead_code)] // each test binary uses a different part

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use bind_mio::{default_websocket_config, Driver, DriverConfig, DriverHandle, Endpoint, Event};
use bind_mio::{SessionHandle, SessionId};
use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{BackoffConfig, Config, FirstRetry, Jitter, Session, StopReason};
use reconnect_testkit::scenario::{
    ClientError, ClientEvent, ClientSpec, Jitter as KitJitter, ScenarioClient, StopKind,
};

/// The session the spec describes, with its channels and credentials, not yet started.
pub fn session_for(spec: &ClientSpec) -> Result<Session<JsonRpcAdapter>, ClientError> {
    let err = |e: &dyn std::fmt::Display| ClientError(e.to_string());
    let jitter = match spec.jitter {
        KitJitter::None => Jitter::None,
        KitJitter::Full => Jitter::Full,
        KitJitter::Equal => Jitter::Equal,
        KitJitter::Decorrelated => Jitter::Decorrelated,
    };
    let backoff = BackoffConfig::default()
        .initial(spec.backoff_initial)
        .max(spec.backoff_max)
        .jitter(jitter)
        .min_uptime(spec.min_uptime)
        // The kit's spec has no notion of a quicker first retry: every delay is the backoff's.
        .first_retry(FirstRetry::Jittered);
    let mut config = Config::new(spec.seed)
        .backoff(backoff)
        .ping_interval(spec.ping_interval)
        .pong_timeout(spec.pong_timeout)
        .idle_timeout(spec.idle_timeout)
        .connect_timeout(spec.connect_timeout)
        .max_attempts(spec.max_attempts);
    // Acks on a loaded test machine are fast; keep the step deadlines short but safe.
    config.timeouts.auth = Duration::from_secs(2);
    config.timeouts.setup = Duration::from_secs(2);
    config.timeouts.subscribe = Duration::from_secs(2);
    config.timeouts.close = Duration::from_secs(1);
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default()
            .server_heartbeat(spec.heartbeat)
            .seq_pointer(Some(SeqPointer::parse("/seq").map_err(|e| err(&e))?)),
    );
    let mut session = Session::new(config, adapter).map_err(|e| err(&e))?;
    if let Some(auth) = &spec.auth {
        session.set_credentials(JsonRpcAdapter::auth_params(auth).map_err(|e| err(&e))?);
    }
    let now = std::time::Instant::now();
    for channel in &spec.channels {
        session
            .subscribe(now, channel.as_str())
            .map_err(|e| err(&e))?;
    }
    Ok(session)
}

/// The endpoint the spec describes.
pub fn endpoint_for(spec: &ClientSpec) -> Result<Endpoint, ClientError> {
    let mut endpoint = Endpoint::new(&spec.url).map_err(|e| ClientError(e.to_string()))?;
    if let Some(pem) = &spec.root_cert_pem {
        let tls =
            bind_mio::tls::config_with_pem_roots(pem).map_err(|e| ClientError(e.to_string()))?;
        endpoint = endpoint.tls_config(tls);
    }
    let websocket = default_websocket_config()
        .max_message_size(Some(spec.max_message_size))
        .max_frame_size(Some(spec.max_message_size));
    Ok(endpoint.websocket_config(websocket))
}

/// A session event in the kit's words.
pub fn kit_event(event: Event) -> ClientEvent {
    use reconnect_core::Event as E;
    let core = match event {
        Event::Session(e) => e,
        other => return ClientEvent::Other(format!("{other:?}")),
    };
    match core {
        E::Connecting { attempt, .. } => ClientEvent::Connecting { attempt },
        E::Connected { .. } => ClientEvent::Connected,
        E::Authenticated { .. } => ClientEvent::Authenticated,
        E::Subscribed { topic, .. } => ClientEvent::Subscribed {
            channel: topic.as_str().to_owned(),
        },
        E::Live { .. } => ClientEvent::Live,
        E::Message {
            topic: Some(topic),
            seq: Some(seq),
            ..
        } => ClientEvent::Message {
            channel: topic.as_str().to_owned(),
            seq,
        },
        E::Gap {
            topic,
            expected,
            received,
        } => ClientEvent::Gap {
            channel: topic.as_str().to_owned(),
            expected,
            got: received,
        },
        E::Disconnected { cause, .. } => ClientEvent::Disconnected {
            reason: cause.to_string(),
        },
        E::ReconnectScheduled { attempt, delay, .. } => ClientEvent::ReconnectScheduled {
            attempt,
            delay: delay.drawn,
        },
        E::Stopped { reason } => {
            let kind = match &reason {
                StopReason::Closed { .. } => StopKind::Closed,
                StopReason::Fatal(_) => StopKind::Fatal,
                _ => StopKind::GaveUp,
            };
            ClientEvent::Stopped {
                kind,
                reason: format!("{reason:?}"),
            }
        }
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
