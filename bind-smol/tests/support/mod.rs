//! The kit's `ScenarioClient` on this binding: the session's task runs on its own thread (with
//! `smol::block_on`), commands go through the handle, events are mapped onto the kit's words.
//!
//! `session_for` and `kit_event` translate the kit's spec and vocabulary to the core's; they are
//! the same mapping as bind-mio's test support (test glue, not runtime-specific).

#![allow(dead_code)] // each test binary uses a different part

use std::thread::JoinHandle;
use std::time::Duration;

use bind_smol::{default_websocket_config, Endpoint, Event, EventStream, Options, SessionHandle};
use futures_lite::StreamExt;
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
            bind_smol::tls::config_with_pem_roots(pem).map_err(|e| ClientError(e.to_string()))?;
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
            .spawn(move || smol::block_on(task))
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
