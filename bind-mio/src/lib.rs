//! Many reconnecting WebSocket sessions on one `mio` thread, driven by
//! [`reconnect_core::Session`].
//!
//! The binding does IO and nothing else. Every decision — when to connect, how long an attempt
//! or an acknowledgement may take, how long to back off, when a silent connection is dead, what
//! to restore and in which order — is made by each session's pure state machine. The binding
//! turns socket readiness, bytes and readings of `Instant::now()` (twice per loop iteration:
//! to size the wait, and for what woke it) into
//! [`Input`](reconnect_core::Input)s, and the session's [`Action`](reconnect_core::Action)s into
//! socket operations.
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use bind_mio::prelude::*; // the binding's types and the core's a session is made of
//!
//! let mut driver = Driver::new(DriverConfig::default())?;
//!
//! // A session: the policy (backoff, timeouts, liveness) and the protocol adapter.
//! let mut config = Config::for_client("collector-7");
//! config.liveness.ping_interval = Some(Duration::from_secs(5));
//! let mut session = Session::new(config, RawAdapter::new())?;
//! session.subscribe(Instant::now(), r#"{"op":"subscribe","args":["trades"]}"#)?;
//!
//! // Where it connects: ws:// or wss:// (web PKI roots unless you give others).
//! let endpoint = Endpoint::new("wss://stream.example.com/ws")?;
//! let id = driver.add_session(session, endpoint); // starts connecting
//!
//! // Commands from any thread go through a handle.
//! let handle = driver.handle(id).expect("the session was just added");
//! std::thread::spawn(move || handle.send(r#"{"op":"ping"}"#));
//!
//! loop {
//!     driver.run_once(None)?;
//!     while let Some((id, event)) = driver.poll_event() {
//!         match event.text() {
//!             Some(text) => println!("{id}: {text}"),
//!             None => println!("{id}: {event:?}"),
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! README.md has the same program complete, with the dependencies it needs and a clean stop
//! (`examples/mio_quickstart.rs`).
//!
//! # The driver loop
//!
//! [`Driver`] owns a `mio::Poll`. Each [`Driver::run_once`] waits for readiness, a command, a
//! resolver answer or the earliest deadline of any session; reads the clock once; feeds each
//! session what happened on its sockets (tagged with the `ConnId` of the socket, so that late
//! news of an old socket cannot harm a new one); runs due deadlines; and after every call into a
//! session drains its outputs: actions are performed at once, events go to the handler set with
//! [`Driver::set_event_handler`] or wait for [`Driver::poll_event`], in order. [`Driver::run`]
//! loops until a [`DriverHandle`] asks it to stop.
//!
//! Sessions are added and removed at runtime ([`Driver::add_session`],
//! [`Driver::remove_session`]); each has a cloneable, `Send` [`SessionHandle`] for subscribe,
//! unsubscribe, send, close and reconnect-now from other threads (a channel bounded in commands
//! and in payload bytes, [`DriverConfig::mailbox_capacity`] and [`DriverConfig::mailbox_bytes`],
//! plus the poll's `Waker`). A handle refuses at once, handing the frame back, a send while the
//! mailbox is full ([`HandleError::Full`]) and a send larger than the connection can ever write
//! ([`HandleError::TooLarge`]). What a session refuses comes back as [`Event::Refused`] among
//! its events; once it has stopped, its handles answer [`HandleError::Gone`]. The events wait
//! for the application in one queue per driver, bounded in number and in payload bytes
//! ([`DriverConfig::event_capacity`], [`DriverConfig::event_bytes`]): at a bound the driver
//! stops reading its sockets until events are taken, so a slow consumer loses nothing.
//!
//! Credentials: when a session needs fresh ones it emits
//! [`Event::CredentialsRequested`]; fetch them
//! wherever they come from and answer with [`SessionHandle::provide_credentials`] (or
//! [`SessionHandle::credentials_failed`]). The driver itself never blocks on that.
//!
//! # Embedding in your own loop
//!
//! If you already own a `mio::Poll`, use [`Embedded`]: it registers with your `Registry` inside
//! a token range you give, and your loop forwards its readiness events and honours its
//! [`poll_timeout`](Embedded::poll_timeout) (see [`Embedded`] for the three obligations).
//!
//! # Transport
//!
//! - `ws://` and `wss://`; TLS is rustls with the `ring` provider, the web PKI roots by
//!   default, custom roots ([`Endpoint::root_certificates`]) or a whole `ClientConfig`
//!   ([`Endpoint::tls_config`]). Verification is always on unless your config turns it off.
//! - Host names are resolved on a small thread pool; the loop never blocks. IP literals skip it.
//! - Connect, TLS and the upgrade are non-blocking and resumed on readiness; the session's
//!   connect timeout bounds them.
//! - [`Endpoint::on_request`] edits each attempt's upgrade request (a fresh token in a header,
//!   subprotocols). A non-101 answer reaches the session as
//!   [`TransportErrorKind::Handshake`](reconnect_core::TransportErrorKind::Handshake) with its
//!   status and `Retry-After` (delta-seconds; an HTTP date would need a wall clock, which the
//!   binding does not read).
//! - [`Endpoint::new`] refuses a URL that could never connect (another scheme, no host, a port
//!   outside 1..=65535) with an [`EndpointError`], before any attempt.
//! - Failures are classified precisely (DNS, refused, reset, certificate vs other TLS errors,
//!   HTTP status, protocol violations, oversized messages, EOF, other IO), since the session's
//!   policy depends on the class: the full table is in
//!   [`reconnect_tungstenite::errors`]. A malformed or unexpected
//!   reply from a server is transient; only what no retry can heal is fatal.
//! - A close code no peer may send (999, 1005, 5000, …) is reported as a protocol failure that
//!   names it, not as the 1002 the client answers with
//!   ([`reconnect_tungstenite::close`]).
//! - Each session's [`max_frame_len`](reconnect_core::Config::max_frame_len) is lowered to what
//!   the endpoint's WebSocket configuration can write ([`max_frame_len`]): a larger send is
//!   refused, and the connection stays up.
//! - Buffer sizes per connection ([`default_websocket_config`]) suit thousands of connections;
//!   a peer that stops reading for `max_write_buffer_size` bytes is reported as backpressure.
//! - Every socket is deregistered and closed when its session releases its `ConnId`.
//! - [`DriverConfig::connect_budget`] (on by default) spreads reconnect storms across the sessions of a driver
//!   (admission control, not policy: each session's backoff and jitter still decide).
//!
//! # Examples
//!
//! - `cargo run -p bind-mio --example demo [-- --seconds N]`: a JSON-RPC client riding through
//!   scripted faults (reset, silent stall, transient auth rejection, refused subscription,
//!   skipped sequence number, restart) on 127.0.0.1, with a timeline and a summary.
//! - `cargo run -p bind-mio --example wsfeed -- [OPTIONS] URL`: follow a real JSON-RPC feed
//!   from the command line; JSON lines out, commands (`sub`, `unsub`, `send`, `reconnect`,
//!   `close`) in. `--help` lists the options.
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
//! With the `metrics` feature, every session's events are recorded through the `metrics`
//! facade (the application installs the exporter, before it adds sessions), labelled
//! `session="<name>"`: the name given to [`Driver::add_named_session`], else `session-<n>`.
//! The metrics are `reconnect_tungstenite::metrics`' table, the same as bind-smol's. With the
//! Prometheus exporter (`metrics-exporter-prometheus`, without its tokio listener):
//!
//! ```
//! # #[cfg(feature = "metrics")] {
//! use std::time::Duration;
//! use bind_mio::prelude::*;
//! use metrics_exporter_prometheus::PrometheusBuilder;
//!
//! // The recorder first: a session takes its metric handles when it is added.
//! let prometheus = PrometheusBuilder::new().install_recorder().unwrap();
//! let mut driver = Driver::new(DriverConfig::default()).unwrap();
//! let session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
//! let endpoint = Endpoint::new("ws://127.0.0.1:9").unwrap(); // nothing listens: refused
//! driver.add_named_session(session, endpoint, "orders");
//! driver.run_once(Some(Duration::from_millis(50))).unwrap();
//! let page = prometheus.render(); // serve this at /metrics
//! assert!(page.contains(r#"reconnect_attempts_total{session="orders"}"#), "{page}");
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod admission;
mod config;
mod conn;
mod driver;
mod embedded;
mod handle;
pub mod prelude;
mod resolver;
mod stream;
mod wake;

pub use config::DriverConfig;
pub use driver::Driver;
pub use embedded::{Embedded, EventHandler};
pub use handle::{DriverHandle, SessionHandle, SessionId};
/// The session's events, the handles' error and the command types, from the core: the same
/// types, with the same meaning, as bind-smol's (this binding wraps none of them).
pub use reconnect_core::{Command, CommandKind, Event, HandleError, Refusal, Refused};

// Where a session connects is not mio's: it belongs to the WebSocket layer both bindings share,
// so an endpoint means the same in both. (Its error table and close-code tap are for writers of
// drivers: `reconnect_tungstenite::{errors, close}`.)
pub use reconnect_tungstenite::tls;
pub use reconnect_tungstenite::{
    default_websocket_config, max_frame_len, AttemptInfo, Endpoint, EndpointError, RequestHook,
};

/// The tungstenite types the API uses (the upgrade request, the WebSocket configuration).
pub use tungstenite;

/// The core crate this binding drives, so that an application needs no dependency of its
/// own on it: `bind_mio::core::Config`, `bind_mio::core::adapters`, … (the common names are
/// in [`prelude`]). Its `serde` feature (snapshots) is enabled in your own `Cargo.toml`, as
/// `reconnect-core = { version = "0.1", features = ["serde"] }`.
pub use reconnect_core as core;
