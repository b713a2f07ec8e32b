//! A sans-IO, deterministic reconnection state machine for long-lived WebSocket clients.
//!
//! Trading bots, market-data collectors and telemetry feeds lose their connections every day:
//! resets, half-open sockets, server restarts, expired credentials. This crate holds the whole
//! reconnection policy — backoff with jitter, limits and a circuit breaker, timeouts, liveness,
//! authentication, session setup, resubscription after every reconnect with sequence tracking, an outbox — as a
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
//!   `handle_timeout`), commands (`start`, `send`, `subscribe`, `close`, …) and outputs
//!   (`drain` / `poll_output`, `poll_timeout`);
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
//! Idle -> Connecting -> Authenticating -> SettingUp -> Restoring -> Live
//!           ^    |            |               |            |          |
//!           |    v            v               v            v          v
//!           +-- Backoff <-----+---------------+------------+----------+   (transient failure)
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
//! # Features
//!
//! - `json` (default): the JSON-RPC 2.0 adapter, on `serde_json`.
//! - `serde`: `snapshot` serialisation of a session's durable state to JSON.
// Unsafe code is denied, not forbidden, for one module: `frame/text.rs` reads tungstenite's
// already validated UTF-8 as `&str` without validating it again (see its docs and DESIGN.md).
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
mod outbox;
mod protocol;
mod rng;
mod session;
pub mod sim;
#[cfg(feature = "serde")]
pub mod snapshot;
mod stats;
mod subscriptions;
mod topic;

pub use backoff::{BackoffConfig, Delay, FirstRetry, Jitter};
pub use boundary::{
    Action, CircuitState, DelaySource, DropReason, Event, Input, Output, Purpose, State, StopReason,
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
pub use outbox::{SendError, SendErrorKind, SendOptions};
pub use protocol::{
    parse_retry_after_seconds, Inbound, NackKind, Protocol, RequestId, Resume, TopicLookup,
    TopicRejection,
};
pub use rng::{seed_for_replica, seed_from_client_id};
pub use session::{
    CommandError, SendStatus, Session, SubscribeError, SubscribeStatus, UnsubscribeStatus,
};
pub use stats::{FailureCounts, Health, Stats};
pub use subscriptions::{Subscription, SubscriptionStatus};
pub use topic::Topic;

/// A hash map whose hasher has fixed keys: the core draws no randomness but its seeded
/// generator, not even the per-process keys of `RandomState`. Keys are topics the application
/// chose and request ids the session allocated, so collision flooding from the network cannot
/// reach it (network input only ever looks keys up).
/// foldhash's `FixedState` is fast on short keys and seeded with a constant.
pub(crate) type FixedHashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
