//! The shared test kit of the workspace: a fault-injecting WebSocket server, a fault proxy, an
//! independent Python peer and the scenario suite that every binding runs.
//!
//! The kit does not depend on `reconnect-core`: it is the referee of the bindings and must not
//! share the core's bugs. Everything runs on `127.0.0.1` with ephemeral ports, uses plain
//! threads and blocking `tungstenite`, and shuts down (threads joined, sockets closed, child
//! processes reaped) when its handle is dropped.
//!
//! | module | what it gives a test |
//! |---|---|
//! | [`server`] | [`TestServer`](server::TestServer): the JSON-RPC WebSocket server (ws or wss), its faults ([`server::fault`]) and what it observed ([`server::Stats`]) |
//! | [`fleet_server`] | [`FleetServer`](fleet_server::FleetServer): an event-driven (one `mio` thread) server for fleets of thousands of idle sessions, with restart and reset-all |
//! | [`proxy`] | [`FaultProxy`](proxy::FaultProxy): latency, bandwidth, blackhole and cut between client and server |
//! | [`scenario`] | the scenario list, the [`ScenarioClient`](scenario::ScenarioClient) trait a binding implements, and the runner |
//! | [`peer`] | the independent Python `websockets` peer as a child process |
//! | [`wsclient`] | a plain blocking tungstenite client, for fault tests |
//! | [`rpc`] | builders and a classifier for the wire format |
//! | [`tls`] | the throw-away certificate and rustls configs trusting it |
//! | [`fds`] | counting the process's open file descriptors |
//! | [`bench`](mod@bench) | the bindings' shared benchmark fixtures: a flood server, the server in a child process, RSS and rate measures |
//!
//! # The wire protocol
//!
//! JSON-RPC 2.0 over text frames, Deribit style. The client identity is the `client` query
//! parameter of the request URL (`ws://127.0.0.1:PORT/ws?client=abc`), or `anonymous`.
//!
//! | client sends | server answers |
//! |---|---|
//! | `{"jsonrpc":"2.0","id":N,"method":"public/auth","params":{..}}` | `{"jsonrpc":"2.0","id":N,"result":{"access_token":"..","expires_in":900}}` (with [`ServerConfig::token_lifetime`](server::ServerConfig::token_lifetime): its `expires_in` and a `refresh_token`, renewed on the same connection by `public/auth` with `{"grant_type":"refresh_token","refresh_token":".."}`), or `{"jsonrpc":"2.0","id":N,"error":{"code":13004,"message":"invalid_credentials"}}` (fatal) / `10028 too_many_requests` (transient) |
//! | `{"jsonrpc":"2.0","id":N,"method":"public/subscribe","params":{"channels":["a","b"]}}` | `{"jsonrpc":"2.0","id":N,"result":["a","b"]}`: a requested channel missing from the result is a per-channel nack; an error object nacks the whole request |
//! | `public/unsubscribe` with the same params | the channels unsubscribed |
//! | `public/set_heartbeat` with `{"interval":S}` (seconds, fractional allowed) | `"ok"`; then every `S` the notification `{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}`, to be answered with a `public/test` request before the next one, or the server closes with code 4000 |
//! | `{"jsonrpc":"2.0","id":N,"method":"public/test","params":{}}` | `{"jsonrpc":"2.0","id":N,"result":{"version":"1.0.0"}}` |
//! | any other method | error `-32601` |
//! | any other text or binary frame | nothing (recorded) |
//!
//! For every subscribed channel the server sends
//! `{"jsonrpc":"2.0","method":"subscription","params":{"channel":"X","data":{"seq":N,"payload":".."}}}`
//! at a configurable interval. `seq` counts from 1 per channel and continues across the
//! connections of one client identity, so a reconnecting client sees continuity and a skipped
//! number is a real gap.
//!
//! The same server runs on its own for trying a client by hand, offline:
//! `cargo run -p reconnect-testkit --example feed_server` listens on `ws://127.0.0.1:9944/ws`
//! (`--help` for the port, the interval and TLS) and publishes on whatever is subscribed.
//!
//! # Faults
//!
//! [`server::Fault`] lists them all: refused connections (listener closed, reopened on the same
//! port), accept-then-close, RST, silent stall, data stall, blackholed upgrade, HTTP 401/403/429
//! (with `Retry-After`)/503, close frames, fatal and transient auth rejections, subscription
//! nacks (by omission, or a whole batch refused with or without `error.data.channel` naming the
//! bad channel), skipped sequence numbers, oversized frames, invalid UTF-8, non-JSON text, binary
//! garbage, restart, drop-all and an accept rate limit; and the hostile ones: a malformed status
//! line or a wrong `Sec-WebSocket-Accept` in the upgrade reply, an upgrade reply trickled one
//! byte at a time, a frame header announcing 2^62 bytes, endless empty continuation frames and a
//! ping flood. Close frames may carry any code, invalid ones included (999, 1005, 1006, 5000). They are injected at any moment through
//! a cloneable [`ServerHandle`](server::ServerHandle) or on a schedule; what "once" and "until
//! cleared" mean for each family is in [`server::fault`]. The network faults live in the
//! [`proxy`]. Each fault is proven by a test in `tests/tests/` against a plain tungstenite client.
//!
//! # The scenario suite
//!
//! [`scenario::all()`] is the list, documented with the expected outcome of each scenario in
//! the [`scenario`] module docs. A binding implements [`scenario::ScenarioClient`] and calls
//! [`scenario::run_suite`]; the kit's own tests run the suite against a small reference client
//! (over ws, wss and through the proxy) and check that planted client bugs are caught.
//!
//! # The independent peer
//!
//! `python/peer.py` speaks the same protocol on the Python `websockets` library.
//! `python/setup.sh VENV_DIR` creates a virtualenv with the pinned requirements and prints its
//! interpreter; tests take it from `RECONNECT_PYTHON`, or make one on first use in the cargo
//! target directory (see [`peer::python`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
pub mod example;
pub mod fds;
pub mod fleet_server;
pub mod peer;
pub mod proxy;
pub mod rpc;
pub mod scenario;
pub mod server;
pub mod tls;
pub mod wsclient;
