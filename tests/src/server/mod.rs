//! The fault-injecting WebSocket server.
//!
//! A real server on `127.0.0.1:0` built on blocking `tungstenite` and plain threads: one
//! supervisor thread owns the listener, one thread serves each connection. Tests control it
//! through a cloneable [`ServerHandle`] and read what it saw through [`Stats`].
//!
//! ```no_run
//! use std::time::Duration;
//! use reconnect_testkit::server::{Fault, ServerConfig, TestServer};
//!
//! let server = TestServer::start(ServerConfig::default()).unwrap();
//! let url = server.url("alice"); // ws://127.0.0.1:PORT/ws?client=alice
//! // ... start a client on `url` ...
//! server.wait_until(Duration::from_secs(5), |s| s.client("alice").handshakes == 1).unwrap();
//! server.inject(Fault::SilentStall);
//! ```
//!
//! The protocol is the JSON-RPC 2.0 subset described in the [crate docs](crate); the faults and
//! what "once" means for each are described in [`fault`].

mod auth;
pub mod fault;
mod hostile;
mod reply;
mod session;
mod state;
pub mod stats;
// The bench fixtures build their frames with the same encoder.
pub(crate) mod stream;
mod supervisor;
mod upgrade;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

pub use fault::{AuthRejection, Fault, FaultKind, Nack, Persist, RpcError, Scheduled};
pub use stats::{ClientFrame, ClientStats, CloseRecord, ConnEnd, ConnRecord, Received, Stats};

use crate::tls::TlsIdentity;
use state::Shared;

/// Which credentials `public/auth` accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    /// Any params at all.
    AcceptAny,
    /// Params equal to this JSON value; anything else gets the fatal auth error.
    Exactly(Value),
}

/// Server configuration, with by-value setters.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub(crate) tls: bool,
    pub(crate) credentials: Credentials,
    pub(crate) require_auth: bool,
    pub(crate) auth_delay: Duration,
    pub(crate) token_lifetime: Option<Duration>,
    pub(crate) fatal_auth_error: RpcError,
    pub(crate) transient_auth_error: RpcError,
    pub(crate) data_interval: Duration,
    pub(crate) payload: String,
    pub(crate) enforce_heartbeat: bool,
    pub(crate) min_heartbeat: Duration,
    pub(crate) handshake_timeout: Duration,
    pub(crate) max_message_size: usize,
    pub(crate) schedule: Vec<Scheduled>,
    pub(crate) tick: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            tls: false,
            credentials: Credentials::AcceptAny,
            require_auth: false,
            auth_delay: Duration::ZERO,
            token_lifetime: None,
            fatal_auth_error: RpcError::invalid_credentials(),
            transient_auth_error: RpcError::too_many_requests(),
            data_interval: Duration::from_millis(20),
            payload: "data".to_owned(),
            enforce_heartbeat: true,
            min_heartbeat: Duration::from_millis(10),
            handshake_timeout: Duration::from_secs(10),
            max_message_size: 1 << 20,
            schedule: Vec::new(),
            tick: Duration::from_millis(2),
        }
    }
}

impl ServerConfig {
    /// Serve `wss://` with a fresh self-signed certificate (default: plain `ws://`).
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Which credentials `public/auth` accepts (default: anything).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Answer subscribe requests before a successful auth with error 13009 (default: false).
    pub fn require_auth(mut self, require: bool) -> Self {
        self.require_auth = require;
        self
    }

    /// Hold every successful auth response back this long (default: none), so a client that
    /// subscribes before the ack is caught.
    pub fn auth_delay(mut self, delay: Duration) -> Self {
        self.auth_delay = delay;
        self
    }

    /// Hand out tokens that expire: every successful auth answers `expires_in` (whole seconds
    /// of `lifetime`) and a `refresh_token`, and a `public/auth` with
    /// `{"grant_type": "refresh_token", "refresh_token": ..}` presenting the latest one renews
    /// on the same connection (any other refresh token is refused with the fatal auth error).
    /// Default: `expires_in` 900 and no refresh token.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = Some(lifetime);
        self
    }

    /// The error for wrong credentials and [`AuthRejection::Fatal`] (default 13004).
    pub fn fatal_auth_error(mut self, error: RpcError) -> Self {
        self.fatal_auth_error = error;
        self
    }

    /// The error for [`AuthRejection::Transient`] (default 10028).
    pub fn transient_auth_error(mut self, error: RpcError) -> Self {
        self.transient_auth_error = error;
        self
    }

    /// Time between two notifications of each subscribed channel (default 20 ms).
    pub fn data_interval(mut self, interval: Duration) -> Self {
        self.data_interval = interval;
        self
    }

    /// The `payload` string of every notification (default `"data"`).
    pub fn payload(mut self, payload: impl Into<String>) -> Self {
        self.payload = payload.into();
        self
    }

    /// Close the connection (code 4000) when a heartbeat `test_request` is still unanswered at
    /// the next interval (default: true).
    pub fn enforce_heartbeat(mut self, enforce: bool) -> Self {
        self.enforce_heartbeat = enforce;
        self
    }

    /// How long the upgrade (and TLS handshake) may take (default 10 s).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The largest message accepted from clients (default 1 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Faults to inject at fixed delays after the server starts.
    pub fn schedule(mut self, schedule: Vec<Scheduled>) -> Self {
        self.schedule = schedule;
        self
    }

    /// How often idle threads wake up to look at commands and timers (default 2 ms). Every
    /// reaction of the server (a fault, a drop, noticing a closed client) can lag this much.
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick.max(Duration::from_micros(100));
        self
    }
}

/// A running server. Dropping it shuts everything down: the listener and every connection are
/// closed and every thread is joined before `drop` returns.
///
/// It dereferences to its [`ServerHandle`], so `server.inject(..)` works directly.
pub struct TestServer {
    handle: ServerHandle,
    supervisor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Binds `127.0.0.1:0` and starts serving.
    pub fn start(config: ServerConfig) -> std::io::Result<TestServer> {
        TestServer::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config)
    }

    /// Binds `addr` and starts serving: a fixed port for a server people point a client at by
    /// hand (the `feed_server` example). Tests use [`TestServer::start`], whose free port cannot
    /// collide with another test's.
    pub fn start_on(addr: SocketAddr, config: ServerConfig) -> std::io::Result<TestServer> {
        let tls = config.tls.then(TlsIdentity::generate);
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared::new(config, tls, &listener)?);
        let supervisor = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("testkit-server".into())
                .spawn(move || supervisor::run(shared, listener))?
        };
        Ok(TestServer {
            handle: ServerHandle { shared },
            supervisor: Some(supervisor),
        })
    }

    /// A cloneable control handle.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }
}

impl std::ops::Deref for TestServer {
    type Target = ServerHandle;

    fn deref(&self) -> &ServerHandle {
        &self.handle
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shared.begin_shutdown();
        if let Some(h) = self.supervisor.take() {
            // The supervisor joins every connection thread before it returns.
            let _ = h.join();
        }
    }
}

/// Error of [`ServerHandle::wait_until`]: the condition did not hold in time.
#[derive(Debug, Clone)]
pub struct WaitTimeout {
    /// The stats when the wait gave up, for the failure message.
    pub last: Box<Stats>,
}

impl std::fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.last;
        write!(
            f,
            "server condition not met in time (accepted {}, handshakes {}, open {}, peak {})",
            s.accepted, s.handshakes, s.open, s.peak_open
        )
    }
}

impl std::error::Error for WaitTimeout {}

/// Controls a running [`TestServer`]: inject faults, read stats, wait for conditions.
///
/// Cheap to clone and safe to use from any thread. Using it after the server was dropped does
/// nothing (faults are recorded but no thread acts on them).
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.shared.addr)
            .finish()
    }
}

impl ServerHandle {
    /// The listening address (stays the same across listener closes and restarts).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `ws://127.0.0.1:PORT/ws?client=NAME` (or `wss://`).
    pub fn url(&self, client: &str) -> String {
        let scheme = if self.shared.tls.is_some() {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}/ws?client={client}", self.shared.addr)
    }

    /// The server's certificate (its own root) when it serves TLS.
    pub fn tls_identity(&self) -> Option<&TlsIdentity> {
        self.shared.tls.as_ref().map(|(id, _)| id)
    }

    /// The root certificate in PEM form when the server serves TLS.
    pub fn root_cert_pem(&self) -> Option<String> {
        self.tls_identity().map(|id| id.cert_pem().to_owned())
    }

    /// The root certificate in DER form when the server serves TLS.
    pub fn root_cert_der(&self) -> Option<Vec<u8>> {
        self.tls_identity().map(|id| id.cert_der().to_vec())
    }

    /// Injects `fault` once ([`Persist::Once`]); see [`fault`] for what once means.
    pub fn inject(&self, fault: Fault) {
        self.shared.inject(fault, Persist::Once);
    }

    /// Injects `fault` with the given persistence.
    pub fn inject_with(&self, fault: Fault, persist: Persist) {
        self.shared.inject(fault, persist);
    }

    /// Disarms every fault of `kind` (see [`fault`] for what clearing lifts).
    pub fn clear(&self, kind: FaultKind) {
        self.shared.inject(Fault::Clear(kind), Persist::Once);
    }

    /// Disarms every fault, reopens the listener and lifts the accept rate limit.
    pub fn clear_all(&self) {
        self.shared.inject(Fault::ClearAll, Persist::Once);
    }

    /// Injects each item `after` its delay from now (delays are measured from this call).
    pub fn schedule(&self, items: Vec<Scheduled>) {
        self.shared.schedule(items);
    }

    /// Closes the listener: connections are refused until [`ServerHandle::accept_connections`].
    pub fn refuse_connections(&self) {
        self.inject(Fault::CloseListener);
    }

    /// Reopens the listener on the same port.
    pub fn accept_connections(&self) {
        self.inject(Fault::ReopenListener);
    }

    /// Drops every connection, closes the listener and reopens it on the same port after
    /// `downtime`.
    pub fn restart(&self, downtime: Duration) {
        self.inject(Fault::Restart { downtime });
    }

    /// Drops every open connection at once.
    pub fn drop_all(&self) {
        self.inject(Fault::DropAll);
    }

    /// Accepts at most one connection per `interval` (`None`: no limit).
    pub fn limit_accept_rate(&self, interval: Option<Duration>) {
        self.inject(Fault::AcceptInterval(interval));
    }

    /// The token lifetime of [`ServerConfig::token_lifetime`], if set.
    pub fn token_lifetime(&self) -> Option<Duration> {
        self.shared.config.token_lifetime
    }

    /// A snapshot of everything the server observed.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Waits (at most `timeout`) until `pred` holds on the stats; returns the stats that
    /// satisfied it. The predicate runs under the server's lock: keep it quick.
    pub fn wait_until(
        &self,
        timeout: Duration,
        pred: impl FnMut(&Stats) -> bool,
    ) -> Result<Stats, WaitTimeout> {
        match self.shared.wait_until(timeout, pred) {
            (true, stats) => Ok(stats),
            (false, last) => Err(WaitTimeout {
                last: Box::new(last),
            }),
        }
    }
}
