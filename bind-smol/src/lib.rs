//! Reconnecting WebSocket sessions as `smol` tasks, driven by [`reconnect_core::Session`].
//!
//! The binding does IO and nothing else. Every decision — when to connect, how long an attempt
//! or an acknowledgement may take, how long to back off, when a silent connection is dead, what
//! to restore and in which order — is made by the session's pure state machine. Each session
//! runs as one task that turns its socket, one [`async_io::Timer`] (re-armed to the session's
//! `poll_timeout()`) and the commands of its handles into calls on the session, and the
//! session's actions into IO. It reads `Instant::now()` once per batch of inputs (and for an
//! attempt's outcome, which may come long after its batch began).
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use bind_smol::prelude::*; // the binding's types, the core's a session is made of, StreamExt
//!
//! smol::block_on(async {
//!     // The policy (backoff, timeouts, liveness) and the protocol adapter.
//!     let mut config = Config::for_client("collector-7");
//!     config.liveness.ping_interval = Some(Duration::from_secs(5));
//!     let mut session = Session::new(config, RawAdapter::new())?;
//!     session.subscribe(Instant::now(), r#"{"op":"subscribe","args":["trades"]}"#)?;
//!
//!     // Where it connects: ws:// or wss:// (web PKI roots unless you give others).
//!     let endpoint = Endpoint::new("wss://stream.example.com/ws")?;
//!     let (handle, mut events, task) = bind_smol::connect(session, endpoint, Options::default());
//!     smol::spawn(task).detach(); // or any executor: the task needs only async-io
//!
//!     // The handle is Clone + Send + Sync: command the session from anywhere.
//!     handle.send(r#"{"op":"ping"}"#).await?;
//!
//!     while let Some(event) = events.next().await {
//!         match event.text() {
//!             Some(text) => println!("{text}"),
//!             None => println!("{event:?}"),
//!         }
//!     }
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! README.md has the same program complete, with the dependencies it needs and a clean stop
//! (`examples/smol_quickstart.rs`).
//!
//! # The pieces
//!
//! - [`connect`] (or [`connect_with`], from a config and an adapter) returns a
//!   [`SessionHandle`], an [`EventStream`] and the [`SessionTask`] to spawn; [`spawn`] spawns it
//!   on a `smol::Executor` for you. The task resolves to the [`Session`] once it has stopped,
//!   for its stats or a snapshot.
//! - [`SessionHandle`]: subscribe, unsubscribe, send (waiting for room in the mailbox, or
//!   `try_send` failing at once and handing the frame back), reconnect now, pause, resume,
//!   credentials, any core [`Command`], and `close`, which starts the close and returns (as
//!   bind-mio's does); [`SessionHandle::closed`] waits for the end. Once the session has
//!   stopped, every handle answers [`HandleError::Gone`], as in bind-mio.
//! - [`EventStream`]: a `futures_core::Stream` of the core's own [`Event`]s, in order, the
//!   commands the session refused among them ([`Event::Refused`]); it ends after `Stopped`
//!   (and the refusals of commands still queued when it stopped).
//! - When every handle and the stream are dropped, the session closes cleanly (a close frame
//!   if connected) and the task ends.
//!
//! # Bounds and batching
//!
//! Nothing grows without a bound ([`Options`]): the mailbox (the handles' command queue) holds
//! `mailbox_capacity` commands and `mailbox_bytes` payload bytes; the events waiting for the
//! stream are bounded in number (`event_capacity`) and in payload bytes (`event_bytes`), and while either bound is reached the task stops reading its
//! socket, so a slow consumer slows its own session and loses nothing. Both queues grow only as
//! items wait: an idle session holds about 21 KiB in all (see `BENCHMARKS.md`).
//!
//! The task takes every input that is ready (up to 128, then it yields to the executor) before
//! it hands the events to the stream in one batch with at most one wake-up, reads the clock
//! once per batch and flushes once per batch. Only the task's own timer is re-armed, and only
//! when the session's next deadline moves earlier.
//!
//! # Transport
//!
//! [`Endpoint`]: `ws://` and `wss://` (rustls with the `ring` provider; web PKI roots by
//! default, custom roots or a whole `ClientConfig` when given), the WebSocket limits, and a hook
//! called on every attempt to set headers and subprotocols. The session's connect deadline
//! bounds each attempt: on `Action::Release` the task drops the attempt's future or the open
//! stream at once, closing its socket. A non-101 answer to the upgrade reaches the session as
//! [`TransportErrorKind::Handshake`](reconnect_core::TransportErrorKind::Handshake) with its
//! status and `Retry-After`.
//!
//! A fleet of sessions can share one [`SharedConnectBudget`] ([`Options::connect_budget`]):
//! each attempt then waits for a token before it dials, so a server restart seen by thousands
//! of sessions does not open thousands of sockets at once (admission control, not policy: each
//! session's backoff and jitter still decide when it wants to connect).
//!
//! # Logs (the `tracing` feature)
//!
//! With the `tracing` cargo feature (off by default), every session event is also logged as one
//! structured [`tracing`](https://docs.rs/tracing) event with the target `reconnect`, a fixed
//! short message and everything variable in fields: `session` (the session's name, the same as its metrics' label), `conn` (the
//! `ConnId` as a number), `attempt`, durations in milliseconds (`delay_ms`, `uptime_ms`,
//! `outage_ms`, …), and a cause as a stable word (`cause_kind`) and as text (`cause`). The
//! mapping is the WebSocket layer's (`reconnect_tungstenite::tracing_events`), the same for both
//! bindings.
//!
//! - `INFO`: connecting, connected, authenticated, setup complete, subscribed, unsubscribed,
//!   live, stable, reconnect scheduled (`delay_ms`: the drawn delay), circuit half-open or
//!   closed, credentials requested, credentials renewed, paused, resumed,
//!   recycling, and a disconnect or a stop the application asked for.
//! - `WARN`: attempt failed, disconnected (any other cause), subscription rejected, gap
//!   detected, sequence regressed, server error, circuit open, renewal failed, stopped for any
//!   other reason (`reason`: `fatal`, `gave_up`, `outage_too_long`).
//! - `DEBUG`: each message received (topic, sequence number, kind and length) and each dropped outbox
//!   message: nothing per message is logged above `DEBUG`.
//!
//! No secret is logged: no frame's content (a message is logged by its length, auth requests
//! not at all) and no credentials. Install any subscriber, for instance `tracing-subscriber`'s:
//!
//! ```
//! tracing_subscriber::fmt()
//!     .with_max_level(tracing::Level::INFO) // lifecycle and failures, no per-message lines
//!     .init();
//! // INFO reconnect: live session=… conn=3 resubscribed=2 outage_ms=412
//! ```
//! # Metrics
//!
//! With the `metrics` feature, the task records its session's events through the `metrics`
//! facade (the application installs the exporter, before it connects sessions), labelled
//! `session="<name>"`: [`Options::name`], else `session-<n>`. The metrics are
//! `reconnect_tungstenite::metrics`' table, the same as bind-mio's. With the Prometheus
//! exporter (`metrics-exporter-prometheus`, without its tokio listener):
//!
//! ```no_run
//! # #[cfg(feature = "metrics")] {
//! use bind_smol::prelude::*;
//! use metrics_exporter_prometheus::PrometheusBuilder;
//!
//! // The recorder first: a session takes its metric handles when it is connected.
//! let prometheus = PrometheusBuilder::new().install_recorder().unwrap();
//! let session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
//! let endpoint = Endpoint::new("wss://example.com/feed").unwrap();
//! let options = Options::default().name("orders");
//! let (handle, events, task) = bind_smol::connect(session, endpoint, options);
//! let task = smol::spawn(task);
//! // ... later, from an HTTP handler of your own:
//! let page = prometheus.render(); // reconnect_live{session="orders"} 1, ...
//! # drop((handle, events, task, page));
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connect_budget;
mod event;
mod handle;
mod mailbox;
mod metrics;
pub mod prelude;
mod queue;
mod task;
#[cfg(test)]
mod test_waker;
mod transport;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use reconnect_core::{Config, ConfigError, Protocol, Session};

pub use connect_budget::SharedConnectBudget;
pub use event::EventStream;
pub use handle::SessionHandle;
/// The session's events, the handles' error and the command types, from the core: the same
/// types, with the same meaning, as bind-mio's (this binding wraps none of them).
pub use reconnect_core::{Command, CommandKind, Event, HandleError, Refusal, Refused};
// Where a session connects is not smol's: it belongs to the WebSocket layer both bindings
// share, so an endpoint means the same in both. (Its error table and close-code tap are for
// writers of drivers: `reconnect_tungstenite::{errors, close}`.)
pub use reconnect_tungstenite::tls;
pub use reconnect_tungstenite::{
    default_websocket_config, max_frame_len, AttemptInfo, Endpoint, EndpointError, RequestHook,
};
/// The tungstenite types the API uses (the upgrade request, the WebSocket configuration).
pub use tungstenite;

/// The core crate this binding drives, so that an application needs no dependency of its
/// own on it: `bind_smol::core::Config`, `bind_smol::core::adapters`, … (the common names are
/// in [`prelude`]). Its `serde` feature (snapshots) is enabled in your own `Cargo.toml`, as
/// `reconnect-core = { version = "0.1", features = ["serde"] }`.
pub use reconnect_core as core;

/// Queue bounds of one session, and the connection budget it shares with others.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Commands the handles may queue before `send().await` waits and `try_send` fails with
    /// [`HandleError::Full`] (the same option as `bind_mio::DriverConfig::mailbox_capacity`,
    /// here per session).
    pub mailbox_capacity: usize,
    /// Payload bytes of the sends the handles may queue before `send().await` waits and
    /// `try_send` fails with [`HandleError::Full`], the frame handed back (the same option as
    /// `bind_mio::DriverConfig::mailbox_bytes`, here per session). While nothing waits, one
    /// send of any size is taken, so a frame larger than the bound still passes alone.
    pub mailbox_bytes: usize,
    /// Events waiting for the stream before the session's task stops reading its socket. The
    /// stream takes them in batches, so up to about twice this many can be in memory at once.
    pub event_capacity: usize,
    /// Payload bytes (of messages and of frames handed back) waiting for the stream before the
    /// task stops reading, whatever the number of events: the memory bound for large messages.
    /// As with [`event_capacity`](Self::event_capacity), up to about twice this (plus one
    /// message) can be in memory at once.
    pub event_bytes: usize,
    /// The connection budget this session shares with every other session given a clone of
    /// the same handle: each connection attempt waits for a token before it dials. The same
    /// knob, with the same name and default, as `bind_mio::DriverConfig::connect_budget`:
    /// by default [`SharedConnectBudget::process_default`], one
    /// [`ConnectBudget::default`](reconnect_core::ConnectBudget) (1,000 attempts a second in
    /// bursts of 100) for every session of the process that keeps the default, as bind-mio's
    /// is one per driver; `None` dials at once.
    pub connect_budget: Option<SharedConnectBudget>,
    /// The session's name: the `session` label of its metrics (feature `metrics`) and the
    /// `session` field of its log events and span (feature `tracing`). `None` (the default) names it `session-<n>`, `n` counting the
    /// sessions this process connected. The application must keep names unique among the
    /// sessions of a process, and small (the name is in every series).
    pub name: Option<String>,
}

impl Default for Options {
    /// 1,024 commands or 1 MiB of payload; 1,024 events or 1 MiB of payload, whichever comes
    /// first; the process's default connect budget.
    fn default() -> Self {
        Options {
            mailbox_capacity: 1024,
            mailbox_bytes: 1 << 20,
            event_capacity: 1024,
            event_bytes: 1 << 20,
            connect_budget: Some(SharedConnectBudget::process_default()),
            name: None,
        }
    }
}

impl Options {
    /// Sets [`mailbox_capacity`](Self::mailbox_capacity) (at least 1).
    pub fn mailbox_capacity(mut self, n: usize) -> Self {
        self.mailbox_capacity = n.max(1);
        self
    }

    /// Sets [`mailbox_bytes`](Self::mailbox_bytes).
    pub fn mailbox_bytes(mut self, bytes: usize) -> Self {
        self.mailbox_bytes = bytes;
        self
    }

    /// Sets [`event_capacity`](Self::event_capacity) (at least 1).
    pub fn event_capacity(mut self, n: usize) -> Self {
        self.event_capacity = n.max(1);
        self
    }

    /// Sets [`event_bytes`](Self::event_bytes) (at least 1).
    pub fn event_bytes(mut self, bytes: usize) -> Self {
        self.event_bytes = bytes.max(1);
        self
    }

    /// Sets [`connect_budget`](Self::connect_budget): give every session of a fleet a clone of
    /// one budget, or `None` to dial at once.
    pub fn connect_budget(mut self, budget: Option<SharedConnectBudget>) -> Self {
        self.connect_budget = budget;
        self
    }

    /// Sets [`name`](Self::name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// A session's whole life as one future: spawn it on any executor (it needs only `async-io`'s
/// reactor, which runs on its own). It resolves once the session has stopped and its transport
/// is released, to the session itself (boxed): its [`stats`](Session::stats), what it still wanted,
/// and (feature `serde` of the core) a snapshot to start the next process from. Dropping it
/// before then drops the session and its socket at once, without a close handshake.
///
/// ```no_run
/// # async fn run(session: reconnect_core::Session<reconnect_core::adapters::RawAdapter>,
/// #              endpoint: bind_smol::Endpoint) {
/// let (handle, _events, task) = bind_smol::connect(session, endpoint, Default::default());
/// let task = smol::spawn(task);
/// handle.close().await.ok(); // Err(Gone) if it had stopped already
/// let session = task.await;
/// println!("{} reconnections", session.stats().reconnections);
/// # }
/// ```
///
/// The session comes back boxed because it lives in a box for the whole task: an idle session
/// then costs the box and one small executor allocation (the task's other state, under 1 KiB,
/// and the output: a pointer), instead of the session twice (the future's and the output's
/// room in the task).
#[must_use = "the session does nothing until its task is spawned or awaited"]
pub struct SessionTask<P> {
    /// `None` once it has resolved.
    driver: Option<task::Driver<P>>,
}

// Nothing in the driver is pinned through the task (its futures are boxed, the session is
// only ever used through `&mut`), so moving the task after a poll is sound whatever `P` is.
impl<P> Unpin for SessionTask<P> {}

impl<P> fmt::Debug for SessionTask<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTask").finish_non_exhaustive()
    }
}

impl<P: Protocol> Future for SessionTask<P> {
    type Output = Box<Session<P>>;

    /// # Panics
    /// If polled again after it resolved.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Box<Session<P>>> {
        let this = self.get_mut();
        let driver = this
            .driver
            .as_mut()
            .expect("SessionTask polled after it resolved");
        if driver.poll_run(cx).is_pending() {
            return Poll::Pending;
        }
        let driver = this.driver.take().expect("checked above");
        Poll::Ready(driver.into_session())
    }
}

/// Prepares `session` (configured, with credentials and subscriptions as you like, started or
/// not) to run on `endpoint`. Nothing happens until the returned task runs; it starts the
/// session if it is idle.
///
/// The session's [`max_frame_len`](reconnect_core::Config::max_frame_len) is lowered to what
/// the endpoint's WebSocket configuration can write ([`max_frame_len`]), so an oversized send is
/// refused (by the handle at once) instead of ending the connection.
pub fn connect<P>(
    mut session: Session<P>,
    endpoint: Endpoint,
    options: Options,
) -> (SessionHandle, EventStream, SessionTask<P>)
where
    P: Protocol + Send + 'static,
{
    session.limit_frame_len(max_frame_len(&endpoint.websocket()));
    let max_frame_len = session.config().max_frame_len;
    let (command_tx, command_rx) =
        mailbox::mailbox(options.mailbox_capacity, options.mailbox_bytes);
    let (event_tx, event_rx) = queue::event_queue(options.event_capacity, options.event_bytes);
    let driver = task::Driver::new(
        session,
        endpoint,
        options.connect_budget,
        command_rx,
        event_tx,
        options.name,
    );
    let handle = SessionHandle {
        commands: command_tx.clone(),
        max_frame_len,
    };
    let events = EventStream {
        events: event_rx,
        _keepalive: command_tx,
    };
    let task = SessionTask {
        driver: Some(driver),
    };
    (handle, events, task)
}

/// [`connect`] for a new session made of `config` and `adapter`.
///
/// # Errors
/// Fails if the configuration is invalid.
pub fn connect_with<P>(
    endpoint: Endpoint,
    config: Config,
    adapter: P,
    options: Options,
) -> Result<(SessionHandle, EventStream, SessionTask<P>), ConfigError>
where
    P: Protocol + Send + 'static,
{
    let session = Session::new(config, adapter)?;
    Ok(connect(session, endpoint, options))
}

/// [`connect`], with the task spawned (detached) on `executor`.
pub fn spawn<P>(
    executor: &smol::Executor<'_>,
    session: Session<P>,
    endpoint: Endpoint,
    options: Options,
) -> (SessionHandle, EventStream)
where
    P: Protocol + Send + 'static,
{
    let (handle, events, task) = connect(session, endpoint, options);
    executor.spawn(task).detach();
    (handle, events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reconnect_core::adapters::RawAdapter;
    use reconnect_core::Frame;

    fn unspawned(options: Options) -> (SessionHandle, EventStream, SessionTask<RawAdapter>) {
        let session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
        connect(
            session,
            Endpoint::new("ws://127.0.0.1:1/").unwrap(),
            options,
        )
    }

    #[test]
    fn try_send_fails_at_once_on_a_full_queue_and_hands_the_frame_back() {
        let (handle, _events, _task) = unspawned(Options::default().mailbox_capacity(1));
        handle.try_send("first").unwrap();
        assert_eq!(
            handle.try_send("second"),
            Err(HandleError::Full(Some(Frame::Text("second".into()))))
        );
        assert_eq!(handle.try_subscribe("t"), Err(HandleError::Full(None)));
    }

    #[test]
    fn a_dropped_task_makes_every_command_fail_as_gone_and_closed_resolve() {
        let (handle, _events, task) = unspawned(Options::default());
        drop(task);
        assert!(handle.is_ended());
        assert_eq!(handle.try_send("x"), Err(HandleError::Gone));
        smol::block_on(async {
            assert_eq!(handle.send("x").await, Err(HandleError::Gone));
            assert_eq!(handle.close().await, Err(HandleError::Gone));
            handle.closed().await;
        });
    }

    #[test]
    fn the_task_state_is_small_enough_for_an_executor_to_hold_inline() {
        // async-task (smol's executor) boxes a future of 2 KiB or more apart from its task
        // allocation; the session (the bulk) is boxed once by the driver instead.
        let task = std::mem::size_of::<SessionTask<RawAdapter>>();
        assert!(task < 1024, "the task's state is {task} bytes");
    }

    #[test]
    fn handles_are_clone_send_and_sync_and_the_stream_is_send() {
        fn assert_traits<T: Clone + Send + Sync>() {}
        fn assert_send<T: Send>() {}
        assert_traits::<SessionHandle>();
        assert_send::<EventStream>();
        assert_send::<SessionTask<RawAdapter>>();
    }
}
