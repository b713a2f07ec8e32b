//! The WebSocket layer every binding of [`reconnect_core`] shares: WebSocket over TCP and
//! rustls, with no runtime.
//!
//! The project is layered the way QUIC stacks such as quinn are:
//!
//! 1. `reconnect-core`, the sans-IO state machine: every decision, no IO, no clock.
//! 2. This crate, the WebSocket layer: what a session's transport means on tungstenite and
//!    rustls, the same for every runtime. It reads no socket and spawns nothing; it holds no
//!    mio, no smol, nothing async.
//! 3. The bindings (`bind-mio`, `bind-smol`): a runtime's sockets, timers and tasks, and
//!    nothing else. Each re-exports the types of this crate its users name, so an
//!    [`Endpoint`] means the same in both.
//!
//! What is here:
//!
//! - [`Endpoint`]: the URL (parsed and refused up front when it could never connect), its
//!   TLS configuration, the WebSocket limits ([`default_websocket_config`], [`max_frame_len`])
//!   and the per-attempt request hook ([`Endpoint::on_request`], [`AttemptInfo`]).
//! - [`tls`]: rustls client configurations with the `ring` provider, the web PKI roots, and
//!   extra or private roots.
//! - [`errors`]: the classification of tungstenite, rustls and IO failures into the core's
//!   [`TransportErrorKind`](reconnect_core::TransportErrorKind), with the whole table.
//! - [`close`]: the close code a server really sent, which tungstenite hides when it is one no
//!   peer may send ([`close::CloseTap`], [`close::closed_input`]).
//! - [`message`]: the conversions between the core's frames and inputs and tungstenite's
//!   messages, close frames included.
//! - [`default_session_name`]: the name of a session its application did not name, the same
//!   scheme in every binding.
//! - `tracing_events` (with the `tracing` feature): one structured `tracing` event per session
//!   event, the one mapping both bindings log through.
//!
//! A driver of your own (another runtime) uses this crate the way the bindings do: build each
//! attempt's request with [`Endpoint::request`], feed every byte read under the WebSocket to a
//! [`close::CloseTap`], turn each message read into an input with [`message::inbound`] and each
//! failure into a transport error with [`errors::from_ws`] or [`errors::from_io`].
// Unsafe code is denied, not forbidden, for one module: `message.rs` passes text that
// tungstenite (inbound) or the core (outbound) already validated as UTF-8 across without
// validating it again (see its docs and DESIGN.md).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod cause;
pub mod close;
mod endpoint;
pub mod errors;
pub mod message;
#[cfg(feature = "metrics")]
pub mod metrics;
mod session_name;
pub mod tls;
#[cfg(feature = "tracing")]
pub mod tracing_events;

pub use cause::cause_word;
pub use endpoint::{
    default_websocket_config, max_frame_len, AttemptInfo, Endpoint, EndpointError, RequestHook,
};
pub use session_name::default_session_name;

/// The tungstenite types the API uses (the upgrade request, the WebSocket configuration).
pub use tungstenite;

/// A real [`ConnId`](reconnect_core::ConnId) for unit tests: ids are handed out only by
/// sessions, so this one comes from a session's first attempt.
#[cfg(test)]
pub(crate) fn test_conn_id() -> reconnect_core::ConnId {
    let mut session = reconnect_core::Session::new(
        reconnect_core::Config::new(1),
        reconnect_core::adapters::RawAdapter::new(),
    )
    .expect("a valid config");
    session
        .start(std::time::Instant::now())
        .expect("a new session starts");
    session.state().conn().expect("an attempt is in flight")
}
