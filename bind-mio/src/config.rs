//! Settings of a driver (not of its sessions: those are `reconnect_core::Config`, per session).

/// The shared budget of new connection attempts of one driver: on average `per_second`, at
/// most `burst` at once. Admission control, not policy: see [`DriverConfig::connect_rate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectRate {
    /// Attempts per second, on average. At least 1.
    pub per_second: u32,
    /// Attempts allowed back to back after a quiet period. At least 1.
    pub burst: u32,
}

/// Settings of a [`Driver`](crate::Driver) or an [`Embedded`](crate::Embedded) set of sessions.
///
/// ```
/// use bind_mio::{ConnectRate, DriverConfig};
///
/// let config = DriverConfig::default()
///     .connect_rate(Some(ConnectRate { per_second: 200, burst: 50 }))
///     .resolver_threads(4);
/// assert_eq!(config.read_budget, 64);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverConfig {
    /// Readiness events taken from the poll per iteration ([`Driver`](crate::Driver) only).
    /// Default 1,024.
    pub readiness_capacity: usize,
    /// New connection attempts admitted across all sessions. When the budget is spent, a
    /// session's `Connect` waits in a FIFO until a token frees up; the session's own connect
    /// timeout keeps running meanwhile (a wait that outlasts it is an ordinary connect
    /// timeout, and the session backs off as usual). This only spreads a reconnect storm (a
    /// server restart seen by thousands of sessions at once) over time; each session's backoff
    /// and seeded jitter stay the policy. Default: 1,000 per second, bursts of 100; `None`
    /// admits every attempt at once.
    pub connect_rate: Option<ConnectRate>,
    /// Threads resolving host names (started with the first name to resolve; IP literals never
    /// need them). A slow lookup occupies one thread. Default 2.
    pub resolver_threads: usize,
    /// Commands from handles that may wait unread; beyond it, handle methods fail with
    /// [`HandleError::Full`](crate::HandleError::Full), handing a send's frame back. Default
    /// 65,536.
    pub mailbox_capacity: usize,
    /// Payload bytes of the sends that may wait unread in the mailbox (all sessions of the
    /// driver together); beyond it, sends fail with
    /// [`HandleError::Full`](crate::HandleError::Full), the frame handed back. While nothing
    /// waits, one send of any size is taken, so a frame larger than the bound still passes
    /// alone. The memory bound when the loop falls behind. Default 16 MiB.
    pub mailbox_bytes: usize,
    /// Messages read from one connection per readiness pass before the others get their turn
    /// (the connection is served again before the loop sleeps). Default 64.
    pub read_budget: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            readiness_capacity: 1024,
            connect_rate: Some(ConnectRate {
                per_second: 1000,
                burst: 100,
            }),
            resolver_threads: 2,
            mailbox_capacity: 65_536,
            mailbox_bytes: 16 << 20,
            read_budget: 64,
        }
    }
}

impl DriverConfig {
    /// Sets [`DriverConfig::readiness_capacity`].
    pub fn readiness_capacity(mut self, n: usize) -> Self {
        self.readiness_capacity = n;
        self
    }
    /// Sets [`DriverConfig::connect_rate`].
    pub fn connect_rate(mut self, rate: Option<ConnectRate>) -> Self {
        self.connect_rate = rate;
        self
    }
    /// Sets [`DriverConfig::resolver_threads`].
    pub fn resolver_threads(mut self, n: usize) -> Self {
        self.resolver_threads = n;
        self
    }
    /// Sets [`DriverConfig::mailbox_capacity`].
    pub fn mailbox_capacity(mut self, n: usize) -> Self {
        self.mailbox_capacity = n;
        self
    }
    /// Sets [`DriverConfig::mailbox_bytes`].
    pub fn mailbox_bytes(mut self, bytes: usize) -> Self {
        self.mailbox_bytes = bytes;
        self
    }
    /// Sets [`DriverConfig::read_budget`].
    pub fn read_budget(mut self, n: usize) -> Self {
        self.read_budget = n;
        self
    }
}
