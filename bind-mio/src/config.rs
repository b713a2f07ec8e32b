//! Settings of a driver (not of its sessions: those are `reconnect_core::Config`, per session).

use reconnect_core::ConnectBudget;

/// Settings of a [`Driver`](crate::Driver) or an [`Embedded`](crate::Embedded) set of sessions.
///
/// ```
/// use bind_mio::DriverConfig;
/// use bind_mio::core::ConnectBudget;
///
/// let config = DriverConfig::default()
///     .connect_budget(Some(ConnectBudget::new(200, 50)))
///     .resolver_threads(4);
/// assert_eq!(config.read_budget, 64);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverConfig {
    /// Readiness events taken from the poll per iteration ([`Driver`](crate::Driver) only).
    /// Default 1,024.
    pub readiness_capacity: usize,
    /// New connection attempts admitted across all sessions of the driver (bind-smol's
    /// `Options::connect_budget` has the same name, type of budget and default). When the
    /// budget is spent, a session's `Connect` waits in a FIFO until a token frees up; the
    /// session's own connect timeout keeps running meanwhile (a wait that outlasts it is an
    /// ordinary connect timeout, and the session backs off as usual). This only spreads a
    /// reconnect storm (a server restart seen by thousands of sessions at once) over time;
    /// each session's backoff and seeded jitter stay the policy. Default:
    /// [`ConnectBudget::default`], 1,000 attempts a second in bursts of 100; `None` admits
    /// every attempt at once.
    pub connect_budget: Option<ConnectBudget>,
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
    /// Events waiting for [`poll_event`](crate::Driver::poll_event) /
    /// [`drain_events`](crate::Driver::drain_events) (all sessions of the driver together)
    /// before the driver stops reading its sockets. Reading resumes once the application has
    /// taken events below both bounds. Nothing is dropped: a consumer that stops taking events
    /// stalls the sessions' reading (their liveness deadlines may then expire) but loses
    /// nothing. Events that no socket produced (a command's, a deadline's, `add_session`'s)
    /// still queue past the bound. Unused while an event handler is set. Default 65,536.
    pub event_capacity: usize,
    /// Payload bytes (of messages and of frames handed back, [`Event::payload_len`]) waiting
    /// for the application before the driver stops reading, whatever the number of events: the
    /// memory bound for large messages. As with [`event_capacity`](Self::event_capacity), one
    /// read's worth past it can be queued. Default 64 MiB.
    ///
    /// [`Event::payload_len`]: reconnect_core::Event::payload_len
    pub event_bytes: usize,
    /// Messages read from one connection per readiness pass before the others get their turn
    /// (the connection is served again before the loop sleeps). Default 64.
    pub read_budget: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            readiness_capacity: 1024,
            connect_budget: Some(ConnectBudget::default()),
            resolver_threads: 2,
            mailbox_capacity: 65_536,
            mailbox_bytes: 16 << 20,
            event_capacity: 65_536,
            event_bytes: 64 << 20,
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
    /// Sets [`DriverConfig::connect_budget`].
    pub fn connect_budget(mut self, budget: Option<ConnectBudget>) -> Self {
        self.connect_budget = budget;
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
    /// Sets [`DriverConfig::event_capacity`] (at least 1).
    pub fn event_capacity(mut self, n: usize) -> Self {
        self.event_capacity = n.max(1);
        self
    }
    /// Sets [`DriverConfig::event_bytes`] (at least 1).
    pub fn event_bytes(mut self, bytes: usize) -> Self {
        self.event_bytes = bytes.max(1);
        self
    }
    /// Sets [`DriverConfig::read_budget`].
    pub fn read_budget(mut self, n: usize) -> Self {
        self.read_budget = n;
        self
    }
}
