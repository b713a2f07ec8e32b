//! What both bindings' tests, examples and benchmarks share: the glue between the test kit, the
//! core and a binding. Not published; each binding uses it as a dev-dependency.
//!
//! Why it is a crate of its own and not part of the kit (`reconnect-testkit`, in `tests/`): the
//! kit is the independent referee. It judges a binding from outside, through the wire and its
//! own vocabulary, and must not use the core, so that it cannot share the core's bugs. This
//! crate is the other side: it speaks the core's events, builds the core's sessions and the
//! WebSocket layer's endpoints from the kit's specs, and runs suites against a binding. It
//! depends on the core, the WebSocket layer and the kit, and on no binding: each binding
//! implements [`harness::Harness`] in its own `tests/support/mod.rs` and runs the suites on it.
//!
//! - [`kit`]: the kit's specs and vocabulary in the core's terms.
//! - [`harness`]: one session on a binding, driven from a test: the one trait a binding
//!   implements for every suite, the kit's scenario suite included ([`scenario_client`]).
//! - The suites, each a macro that writes the `#[test]` functions in the binding's test file:
//!   [`contract_suite!`] (the one contract of both bindings), [`scenario_suite!`], [`transport_suite!`], [`python_suite!`], [`fd_suite!`], [`feed_cli_suite!`],
//!   [`trace_suite!`] (what the bindings' `tracing` feature logs, and that no secret is).
//! - [`fleet`]: the many-session tests' and benchmarks' session and descriptor limit.
//! - [`feed_cli`] and [`feed_lines`]: the feed followers' command line and JSON lines, the same
//!   for `bind-mio`'s `wsfeed` and `bind-smol`'s `feed`.
//! - [`stdin_lines`]: the feed tools' reader of standard input, lines of bounded length.
//! - [`metrics_http`]: the feed tools' and the demo's `/metrics` endpoint.
//! - [`no_copy`]: the check that payloads reach the application where tungstenite read them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod contract_suite;
pub mod fd_suite;
pub mod feed_cli;
pub mod feed_cli_suite;
pub mod feed_lines;
pub mod fleet;
pub mod harness;
pub mod kit;
pub mod metrics_http;
pub mod no_copy;
pub mod python_suite;
pub mod scenario_client;
pub mod stdin_lines;
pub mod trace_suite;
pub mod transport_suite;
