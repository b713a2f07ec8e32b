//! A deterministic simulator: a virtual clock, a scripted fake network and a fake server that
//! drive a [`Session`](crate::Session) through hours of outages in milliseconds, and a
//! readable transcript of what it did.
//!
//! Use it to test your own [`Protocol`](crate::Protocol) adapter against a fake of your
//! exchange: implement [`SimServer`] for its wire format (it sees client frames and connection
//! lifecycle callbacks, and answers with frames), script the faults you fear with a
//! [`Script`], run, and assert on the [`events`](Simulator::events), the
//! [`Transcript`] and the [`Summary`]. A built-in `JsonRpcServer` (feature `json`) speaks the
//! Deribit-style protocol of the crate's JSON-RPC adapter.
//!
//! # The driver loop it implements
//!
//! The [`Simulator`] is the session's driver, and keeps the rules every driver must keep:
//!
//! 1. after every call into the session (`start`, a command, `handle_input`,
//!    `handle_timeout`) it drains its outputs ([`drain`](crate::Session::drain));
//! 2. it performs each action in order: `Connect` opens a simulated connection (which the
//!    network accepts, refuses, rejects with an HTTP status, or ignores), `Send`, `Ping` and
//!    `Close` put frames in flight, `Release` drops the connection at once; an
//!    `Event::CredentialsRequested` is answered if [`Simulator::credentials`] was given;
//! 3. it feeds each input tagged with the [`ConnId`](crate::ConnId) of the connection it came
//!    from;
//! 4. it advances the virtual clock only by jumping to the next thing that happens: the
//!    session's [`poll_timeout`](crate::Session::poll_timeout) (then
//!    [`handle_timeout`](crate::Session::handle_timeout)), the next delivery, the server's next
//!    deadline, or the next scripted fault.
//!
//! The caller supplies the base instant (the crate itself never reads a clock); every time in
//! a script, a transcript or a summary is an offset from it, written `+12.345s`.
//!
//! # The network
//!
//! Each connection has a one-way latency ([`Network`], with optional seeded jitter) and
//! delivers in order each way, like TCP. Faults act on the latest connection or on the
//! attempts that follow (see [`Fault`]): a reset (`Input::Failed` with `Reset`), a stall
//! (nothing delivered either way, so only pings notice), a server close with a code, refusals
//! (`Input::ConnectFailed` with `Refused`), blackholes (no answer, so the connect timeout
//! fires), HTTP statuses with `Retry-After`, added latency, and server restarts. Faults only
//! the server can apply (reject auth, refuse a topic, skip a sequence number, stop data) are
//! [`ServerFault`]s, handed to [`SimServer::inject`].
//!
//! # Determinism
//!
//! The same session configuration and seed, server, network seed and script give the same
//! transcript, byte for byte, run after run: ties are broken in a fixed order, every draw comes
//! from a seeded generator, and nothing reads a clock. A server must keep that promise too
//! (see [`SimServer`]).
//!
//! # Secrets
//!
//! The transcript writes auth frames as their length only, as [`Action`](crate::Action)'s
//! `Debug` does; no event carries credentials.
//!
//! # Example: a custom server
//!
//! A feed that sends a tick every second, driven through a reset, a silent stall and a
//! refused reconnect, an hour of virtual time:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use reconnect_core::adapters::RawAdapter;
//! use reconnect_core::sim::{Fault, Script, ServerCtx, SimServer, Simulator};
//! use reconnect_core::{Config, ConnId, Frame, Session};
//!
//! /// Sends "tick" every second to every open connection.
//! #[derive(Default)]
//! struct Ticker {
//!     open: Vec<ConnId>,
//!     next_tick: Option<Instant>,
//! }
//!
//! impl SimServer for Ticker {
//!     fn on_connect(&mut self, ctx: &mut ServerCtx<'_>, conn: ConnId) {
//!         self.open.push(conn);
//!         self.next_tick.get_or_insert(ctx.now() + Duration::from_secs(1));
//!     }
//!     fn on_frame(&mut self, _ctx: &mut ServerCtx<'_>, _conn: ConnId, _frame: &Frame) {}
//!     fn on_disconnect(&mut self, _ctx: &mut ServerCtx<'_>, conn: ConnId) {
//!         self.open.retain(|c| *c != conn);
//!         if self.open.is_empty() {
//!             self.next_tick = None;
//!         }
//!     }
//!     fn poll_timeout(&self) -> Option<Instant> {
//!         self.next_tick
//!     }
//!     fn handle_timeout(&mut self, ctx: &mut ServerCtx<'_>) {
//!         for conn in &self.open {
//!             ctx.send(*conn, "tick");
//!         }
//!         self.next_tick = Some(ctx.now() + Duration::from_secs(1));
//!     }
//! }
//!
//! let mut config = Config::new(7);
//! config.liveness.ping_interval = Some(Duration::from_secs(5));
//! config.liveness.pong_timeout = Duration::from_secs(3);
//! let mut session = Session::new(config, RawAdapter::new()).unwrap();
//! let base = Instant::now(); // read once: from here on, time is virtual
//! session.subscribe(base, r#"{"op":"subscribe","args":["ticks"]}"#).unwrap();
//!
//! let script = Script::new()
//!     .at(Duration::from_secs(30), Fault::Reset)
//!     .at(Duration::from_secs(90), Fault::Stall)
//!     .at(Duration::from_secs(150), Fault::RefuseFor(Duration::from_secs(20)))
//!     .at(Duration::from_secs(150), Fault::Reset);
//! let mut sim = Simulator::new(base, session, Ticker::default()).script(script);
//! sim.start().unwrap();
//! sim.run_until(Duration::from_secs(3600));
//!
//! let summary = sim.summary();
//! assert_eq!(summary.outages_survived, 3);
//! assert!(summary.messages > 3000);
//! // The stall was noticed by the ping/pong check, within ping interval + pong timeout.
//! assert!(sim.transcript().contains("Pong timeout"));
//! for line in sim.transcript().timeline() {
//!     println!("{line}"); // +30.000s fault: reset #1 ...
//! }
//! ```

mod format;
pub mod invariants;
#[cfg(feature = "json")]
mod jsonrpc;
mod network;
#[cfg(feature = "proptest")]
pub mod proptest;
mod queue;
mod script;
mod server;
mod simulator;
mod summary;
mod transcript;

pub use invariants::{Call, Invariant, Invariants, Violation};
#[cfg(feature = "json")]
pub use jsonrpc::{BadChannelRefusal, JsonRpcServer, JsonRpcServerConfig};
pub use network::Network;
pub use script::{AuthRejection, Fault, Script, ServerFault};
pub use server::{ServerCtx, SimServer};
pub use simulator::{Simulator, TimedEvent};
pub use summary::Summary;
pub use transcript::{Line, LineKind, Transcript};
