//! A sans-IO, deterministic reconnection state machine for long-lived WebSocket clients.
//!
//! Trading bots, market-data collectors and telemetry feeds lose their connections every day:
//! resets, half-open sockets, server restarts, expired credentials. This crate holds the whole
//! reconnection policy — backoff with jitter, limits and a circuit breaker, timeouts, liveness,
//! authentication, session setup, resubscription after every reconnect with sequence tracking,
//! the repair of one stale or gapped topic on the live connection, an outbox — as a
//! pure state machine, [`Session`], with no IO, no clock, no threads and no randomness except a
//! seeded generator.
//!
//! A driver (the `bind-mio` or `bind-smol` crates, or your own event loop) turns socket
//! readiness, bytes and clock readings into [`Input`]s and calls, and performs the [`Action`]s
//! the session returns. Because the session is pure, every behaviour replays bit for bit: see
//! the [`sim`] module for a simulator that runs hours of outages in milliseconds.
//!
//! # The contract
//!
//! [`Session`]'s documentation states it in full, with a run loop. In short:
//!
//! - getters (`state`, `stats`, `health`, `subscriptions`), handlers (`handle_input`,
//!   `handle_timeout`), commands (`start`, `send`, `subscribe`, `close`, …, or as values, a
//!   [`Command`] given to `apply`) and outputs (`drain` / `poll_output`, `poll_timeout`);
//! - time is only a parameter and never goes backwards; overdue deadlines run first;
//! - the driver drains the outputs (`drain`) after every call, and feeds the inputs its IO
//!   produced only after the drain;
//! - every transport attempt has a fresh [`ConnId`]; inputs for stale ids are dropped and
//!   counted;
//! - the same config, seed and inputs give the same outputs.
//!
//! # The lifecycle
//!
//! ```text
//! Idle -> Connecting -> Authenticating -> SettingUp -> Resubscribing -> Live
//!           ^    |            |               |              |          |
//!           |    v            v               v              v          v
//!           +-- Backoff <-----+---------------+--------------+----------+   (transient failure)
//!                  |
//!                  +--> Stopped{reason}                      (fatal error, gave up, closed)
//! ```
//!
//! "Live" means the transport is open, authentication (if any) was acknowledged, setup requests
//! were acknowledged and every wanted subscription was re-sent and acknowledged (or sent, for
//! protocols without acks). Application sends queued while not live are released only then, in
//! order.
//!
//! # Adapters
//!
//! Exchanges differ in how they authenticate, subscribe, acknowledge, heartbeat and number their
//! messages; a [`Protocol`] adapter captures that. [`adapters`] has a JSON-RPC 2.0 adapter
//! (feature `json`) and a raw adapter.
//!
//! # Property-test your adapter
//!
//! Your adapter is the part of the reconnection logic this crate cannot test for you. The
//! invariants the crate holds its own session to are public, so you can hold your adapter to
//! them too, against the faults you fear, without sleeping through a single timeout:
//!
//! 1. **A fake of your exchange.** Implement [`sim::SimServer`] for your wire format: answer
//!    requests, publish data, apply the [`sim::ServerFault`]s you support, and report through
//!    [`SimServer::topics`](sim::SimServer::topics) which topics a connection holds, so that the
//!    checker can compare the server's view with the session's (the wire check: it is what
//!    catches a subscribe frame that forgets a topic).
//! 2. **The checker.** [`sim::Invariants`] watches every call into a session
//!    ([`sim::Call`]: `start`, an input, a tick, or an application [`Command`]), its outputs,
//!    the session's getters and the wire, and reports the first broken rule as a
//!    [`sim::Violation`]: the step, the [`sim::Invariant`] and the evidence. The rules (delay
//!    bounds worked out from the configuration by the documented formula, spread at the cap,
//!    growth; one connection at a time; exactly the wanted topics restored after every
//!    reconnect; no frame before ready or after close; `poll_timeout()` never in the past and
//!    every deadline in time; the outbox; the send rate; close terminal; credentials when the
//!    policy says; same seed, same transcript) are listed in [`sim::invariants`]. Attach it to a
//!    [`sim::Simulator`] with [`check`](sim::Simulator::check), or feed it from your own driver
//!    or fuzz target: it needs no proptest.
//! 3. **The property.** With the `proptest` feature, [`sim::proptest::Kit`] generates
//!    configurations (every jitter mode, limits, breaker, pings, recycling, send rates),
//!    fault scripts (resets, stalls, refusals, HTTP rejections with `Retry-After`, restarts,
//!    auth and subscribe rejections, skipped sequence numbers) and command sequences,
//!    weighted so that the rare paths (a close during a recycle, giving up, the breaker
//!    opening) come up in every run; runs your adapter and server through each with the
//!    checker attached; requires the session to be live again once the network is healthy;
//!    and shrinks a failure to a short script. Its generator has a fixed seed, so CI tries
//!    the same cases every run, and [`Kit::regressions`](sim::proptest::Kit::regressions)
//!    persists failing cases in a file to check in.
//!
//! A whole property test of a small line protocol, server included:
//!
//! ```
//! # #[cfg(feature = "proptest")] {
//! use std::collections::BTreeMap;
//! use reconnect_core::sim::proptest::Kit;
//! use reconnect_core::sim::{ServerCtx, SimServer};
//! use reconnect_core::{ConnId, Frame, Inbound, Protocol, RequestId, Resume, TopicLookup};
//!
//! /// `sub <id> <topic>...` is answered `ok <id>`; data is `data <topic>`.
//! struct Lines;
//!
//! impl Protocol for Lines {
//!     fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
//!         let names: Vec<&str> = topics.iter().map(|r| r.topic.as_str()).collect();
//!         Frame::from(format!("sub {} {}", id.0, names.join(" ")))
//!     }
//!     fn max_batch(&self) -> usize {
//!         10
//!     }
//!     fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
//!         let text = frame.as_text().unwrap_or_default();
//!         match text.split_once(' ') {
//!             Some(("ok", id)) => match id.parse() {
//!                 Ok(id) => Inbound::Ack { id: RequestId(id), rejected: vec![] },
//!                 Err(_) => Inbound::Other,
//!             },
//!             Some(("data", topic)) => Inbound::Data { topic: topics.find(topic), seq: None },
//!             _ => Inbound::Other,
//!         }
//!     }
//! }
//!
//! /// The fake exchange: remembers each connection's topics and acknowledges by id.
//! #[derive(Default)]
//! struct LineServer(BTreeMap<ConnId, Vec<String>>);
//!
//! impl SimServer for LineServer {
//!     fn on_connect(&mut self, _ctx: &mut ServerCtx<'_>, conn: ConnId) {
//!         self.0.insert(conn, Vec::new());
//!     }
//!     fn on_frame(&mut self, ctx: &mut ServerCtx<'_>, conn: ConnId, frame: &Frame) {
//!         let mut words = frame.as_text().unwrap_or_default().split(' ');
//!         if let (Some("sub"), Some(id)) = (words.next(), words.next()) {
//!             self.0.entry(conn).or_default().extend(words.map(str::to_owned));
//!             ctx.send(conn, format!("ok {id}"));
//!         }
//!     }
//!     fn on_disconnect(&mut self, _ctx: &mut ServerCtx<'_>, conn: ConnId) {
//!         self.0.remove(&conn);
//!     }
//!     fn on_restart(&mut self, _ctx: &mut ServerCtx<'_>) {
//!         self.0.clear();
//!     }
//!     fn topics(&self, conn: ConnId) -> Option<Vec<String>> {
//!         self.0.get(&conn).cloned()
//!     }
//! }
//!
//! // The crate reads no clock: the virtual clocks start at an instant you read once.
//! let kit = Kit::new(std::time::Instant::now(), ["ticks", "quotes"]).cases(8);
//! if let Err(failure) = kit.check(|| Lines, LineServer::default) {
//!     panic!("{failure}"); // the step, the invariant, the evidence and the shrunk script
//! }
//! # }
//! ```
//!
//! `examples/binance_property.rs` does the same for the Binance-style example adapter, and
//! `tests/kit_broken_adapter.rs` plants bugs in it (a topic forgotten on resubscribe, acks for
//! the wrong request id, refusals swallowed as successes) that the kit catches, each shrunk to
//! a script of two steps or fewer.
//!
//! # Features
//!
//! - `json` (default): the JSON-RPC 2.0 adapter, on `serde_json`.
//! - `serde`: `snapshot` serialisation of a session's durable state to JSON.
//! - `proptest`: [`sim::proptest`], the strategies and the runner that property-test an
//!   adapter with the [`sim::Invariants`] checker attached. The checker itself needs no
//!   feature.
// Unsafe code is denied, not forbidden, for one module: `frame/text.rs` reads tungstenite's
// already validated UTF-8 as `&str` without validating it again (see its docs and DESIGN.md).
#![cfg_attr(docsrs, feature(doc_cfg))]
// The guide above links into `sim`, which only the `sim` feature compiles (docs.rs builds with
// every feature, where the links resolve); without it they are plain text, not a broken promise.
#![cfg_attr(not(feature = "sim"), allow(rustdoc::broken_intra_doc_links))]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod adapters;
mod backoff;
mod boundary;
mod classify;
mod command;
mod config;
mod config_error;
mod conn_id;
mod connect_budget;
mod credentials;
mod error;
mod event_accessors;
mod frame;
mod handle_error;
mod outbox;
mod protocol;
mod rng;
mod send_rate;
mod session;
#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;
#[cfg(feature = "serde")]
pub mod snapshot;
mod staleness;
mod stats;
mod subscribe_options;
mod subscriptions;
mod topic;

pub use backoff::{BackoffConfig, Delay, FirstRetry, Jitter};
pub use boundary::{
    Action, CircuitState, DelaySource, DropReason, Event, Input, Output, Purpose, RenewalSource,
    State, StopReason,
};
/// The `bytes` crate, whose [`Bytes`](bytes::Bytes) holds every frame's payload: re-exported so
/// that code naming it needs no dependency of its own (and always gets the same version).
pub use bytes;
pub use classify::{Classifier, FixedCloseCode};
pub use command::{Command, CommandKind, Refusal, Refused};
pub use config::{
    CircuitBreaker, Config, ConfigError, CredentialPolicy, LifetimeRenewal, Limits, Liveness,
    OutboxPolicy, OverflowPolicy, ResubscribePolicy, Timeouts,
};
pub use conn_id::ConnId;
pub use connect_budget::ConnectBudget;
pub use credentials::{Credentials, Grant};
pub use error::{
    Disposition, EndCause, ServerError, TimeoutKind, TransportError, TransportErrorKind,
};
pub use frame::{Frame, Text};
pub use handle_error::HandleError;
pub use outbox::{SendError, SendErrorKind, SendOptions};
pub use protocol::{Inbound, NackKind, Protocol, RequestId, Resume, TopicLookup, TopicRejection};
pub use send_rate::SendRate;
pub use session::{
    CommandError, ResyncStatus, SendStatus, Session, SubscribeError, SubscribeStatus,
    UnsubscribeStatus,
};
pub use stats::{FailureCounts, Health, Stats};
pub use subscribe_options::{GapPolicy, ResyncReason, StaleAfter, SubscribeOptions};
pub use subscriptions::{Subscription, SubscriptionStatus};
pub use topic::Topic;

/// A hash map whose hasher has fixed keys: the core draws no randomness but its seeded
/// generator, not even the per-process keys of `RandomState`. Keys are topics the application
/// chose and request ids the session allocated, so collision flooding from the network cannot
/// reach it (network input only ever looks keys up).
/// foldhash's `FixedState` is fast on short keys and seeded with a constant.
pub(crate) type FixedHashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
