//! A TCP proxy between a client and a server, on 127.0.0.1, for network faults the server itself
//! cannot fake: added latency, a bandwidth limit, a blackhole (bytes silently dropped both ways
//! while both sockets stay open) and a cut (both sides reset).
//!
//! ```no_run
//! use std::time::Duration;
//! use reconnect_testkit::proxy::FaultProxy;
//! use reconnect_testkit::server::{ServerConfig, TestServer};
//!
//! let server = TestServer::start(ServerConfig::default()).unwrap();
//! let proxy = FaultProxy::start(server.addr()).unwrap();
//! let url = proxy.url(&server.url("alice")); // same path, the proxy's port
//! proxy.set_latency(Duration::from_millis(50));
//! proxy.set_blackhole(true);
//! proxy.cut();
//! ```
//!
//! Settings apply at once to every connection, open or new. A cut resets the connections open at
//! that moment; later connections are proxied normally.

mod pump;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often idle proxy threads wake up to look at settings and shutdown.
const TICK: Duration = Duration::from_millis(2);

/// The proxy's current network conditions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conditions {
    /// Delay added to every byte, in each direction (a round trip grows by twice this).
    pub latency: Duration,
    /// Bytes per second in each direction (`None`: unlimited).
    pub bandwidth: Option<u64>,
    /// Drop every byte, both ways, while keeping both sockets open.
    pub blackhole: bool,
}

/// Counters of the proxy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Client connections accepted.
    pub accepted: u64,
    /// Connection pairs open now.
    pub open: usize,
    /// Bytes delivered client → server.
    pub bytes_up: u64,
    /// Bytes delivered server → client.
    pub bytes_down: u64,
    /// Bytes dropped by the blackhole.
    pub dropped: u64,
    /// Connection pairs reset by [`ProxyHandle::cut`].
    pub cut: u64,
}

pub(crate) struct State {
    pub(crate) conditions: Conditions,
    /// Incremented by every cut; a pair opened before the current value is reset.
    pub(crate) cut_epoch: u64,
    pub(crate) stats: ProxyStats,
}

pub(crate) struct Shared {
    upstream: SocketAddr,
    addr: SocketAddr,
    state: Mutex<State>,
    shutdown: AtomicBool,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }
}

/// A running proxy; dropping it closes every connection and joins every thread.
pub struct FaultProxy {
    handle: ProxyHandle,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.handle.shared.addr)
            .field("upstream", &self.handle.shared.upstream)
            .finish()
    }
}

impl FaultProxy {
    /// Listens on `127.0.0.1:0` and forwards every connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            upstream,
            addr: listener.local_addr()?,
            state: Mutex::new(State {
                conditions: Conditions::default(),
                cut_epoch: 0,
                stats: ProxyStats::default(),
            }),
            shutdown: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("testkit-proxy".into())
                .spawn(move || accept_loop(shared, listener))?
        };
        Ok(FaultProxy {
            handle: ProxyHandle { shared },
            acceptor: Some(acceptor),
        })
    }

    /// A cloneable control handle.
    pub fn handle(&self) -> ProxyHandle {
        self.handle.clone()
    }
}

impl std::ops::Deref for FaultProxy {
    type Target = ProxyHandle;

    fn deref(&self) -> &ProxyHandle {
        &self.handle
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.handle.shared.shutdown.store(true, Ordering::Release);
        if let Some(h) = self.acceptor.take() {
            // The acceptor joins every pump thread before it returns.
            let _ = h.join();
        }
    }
}

/// Controls a running [`FaultProxy`]; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct ProxyHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ProxyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHandle")
            .field("addr", &self.shared.addr)
            .finish()
    }
}

impl ProxyHandle {
    /// The proxy's listening address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `url` (a `ws://` or `wss://` URL of the upstream server) rewritten to go through the
    /// proxy: same scheme, path and query, the proxy's address.
    pub fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap_or(("ws", url));
        let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
        format!("{scheme}://{}{path}", self.shared.addr)
    }

    /// Sets the one-way latency added in each direction.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().conditions.latency = latency;
    }

    /// Limits each direction to `bytes_per_sec` (`None`: unlimited).
    pub fn set_bandwidth(&self, bytes_per_sec: Option<u64>) {
        self.shared.lock().conditions.bandwidth = bytes_per_sec.map(|b| b.max(1));
    }

    /// Starts or stops dropping every byte both ways (sockets stay open).
    pub fn set_blackhole(&self, on: bool) {
        self.shared.lock().conditions.blackhole = on;
    }

    /// Resets both sides of every connection open now (RST to the client and to the server).
    pub fn cut(&self) {
        self.shared.lock().cut_epoch += 1;
    }

    /// Back to a transparent proxy (no latency, no limit, no blackhole).
    pub fn clear(&self) {
        self.shared.lock().conditions = Conditions::default();
    }

    /// The current conditions.
    pub fn conditions(&self) -> Conditions {
        self.shared.lock().conditions
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ProxyStats {
        self.shared.lock().stats
    }

    /// Polls (every few milliseconds, at most `timeout`) until `pred` holds on the counters.
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&ProxyStats) -> bool,
    ) -> Result<ProxyStats, ProxyStats> {
        let deadline = Instant::now() + timeout;
        loop {
            let stats = self.stats();
            if pred(&stats) {
                return Ok(stats);
            }
            if Instant::now() >= deadline {
                return Err(stats);
            }
            std::thread::sleep(TICK);
        }
    }
}

fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut pumps: Vec<JoinHandle<()>> = Vec::new();
    while !shared.is_shutdown() {
        match listener.accept() {
            Ok((client, _)) => {
                let epoch = {
                    let mut s = shared.lock();
                    s.stats.accepted += 1;
                    s.cut_epoch
                };
                match TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(5)) {
                    Ok(server) => {
                        shared.lock().stats.open += 1;
                        match pump::spawn_pair(shared.clone(), client, server, epoch) {
                            Ok(handles) => pumps.extend(handles),
                            Err(_) => shared.lock().stats.open -= 1,
                        }
                    }
                    // Upstream down: the client sees what it would see from the server itself.
                    Err(_) => pump::reset(&client),
                }
            }
            Err(_) => std::thread::sleep(TICK),
        }
        pumps.retain(|h| !h.is_finished());
    }
    drop(listener);
    for h in pumps {
        let _ = h.join();
    }
}
