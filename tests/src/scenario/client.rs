//! What a binding implements to run the scenario suite: [`ScenarioClient`], fed a
//! [`ClientSpec`] and reporting [`ClientEvent`]s. All kit-owned types, so any binding can map
//! its own configuration and events onto them.

use std::time::Duration;

use serde_json::Value;

/// How reconnect delays are randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// No randomness: delay `n` is `min(max, initial * 2^(n-1))` (or the binding's own growth,
    /// as long as it never shrinks and never exceeds `max`).
    #[default]
    None,
    /// Uniform in `[0, cap]`.
    Full,
    /// Uniform in `[cap / 2, cap]`.
    Equal,
    /// "Decorrelated" jitter: uniform in `[initial, previous * 3]`, capped at `max`.
    Decorrelated,
}

/// The client a scenario starts. Field meanings are obligations on the binding's mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSpec {
    /// `ws://` or `wss://` URL, including the `client` query parameter.
    pub url: String,
    /// The client identity (the same value as the URL's `client` parameter).
    pub client_id: String,
    /// Channels to subscribe to, and to restore on every new connection.
    pub channels: Vec<String>,
    /// Params of the `public/auth` request, sent first on every connection; `None`: no auth.
    pub auth: Option<Value>,
    /// Send `public/set_heartbeat` with this interval (seconds, may be fractional) after auth,
    /// and answer every heartbeat `test_request` with `public/test`.
    pub heartbeat: Option<Duration>,
    /// Send a WebSocket ping this often while connected; `None`: no pings.
    pub ping_interval: Option<Duration>,
    /// A connection whose ping got no pong within this time is dead.
    pub pong_timeout: Duration,
    /// A connection that received nothing at all for this long is dead; `None`: no idle check.
    pub idle_timeout: Option<Duration>,
    /// TCP connect plus TLS plus upgrade must finish within this time.
    pub connect_timeout: Duration,
    /// First reconnect delay.
    pub backoff_initial: Duration,
    /// Largest reconnect delay.
    pub backoff_max: Duration,
    /// Delay randomisation.
    pub jitter: Jitter,
    /// A connection that stayed live at least this long resets the backoff to `backoff_initial`;
    /// a shorter one does not.
    pub min_uptime: Duration,
    /// Give up after this many consecutive failed attempts (the first attempt counts);
    /// `None`: never give up.
    pub max_attempts: Option<u32>,
    /// Seed of the jitter generator.
    pub seed: u64,
    /// PEM root certificate to trust for `wss://` (and nothing else).
    pub root_cert_pem: Option<String>,
    /// Largest inbound message the client accepts; a larger one is a protocol error that must
    /// lead to a reconnect.
    pub max_message_size: usize,
}

impl ClientSpec {
    /// The defaults the scenarios start from: channels `a` and `b`, auth, pings every 100 ms
    /// with a 150 ms pong timeout, a 300 ms connect timeout, backoff 20 ms doubling to 160 ms
    /// without jitter, 200 ms minimum uptime, no attempt limit, 1 MiB messages.
    pub fn new(url: impl Into<String>, client_id: impl Into<String>) -> Self {
        ClientSpec {
            url: url.into(),
            client_id: client_id.into(),
            channels: vec!["a".into(), "b".into()],
            auth: Some(default_auth()),
            heartbeat: None,
            ping_interval: Some(Duration::from_millis(100)),
            pong_timeout: Duration::from_millis(150),
            idle_timeout: None,
            connect_timeout: Duration::from_millis(300),
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(160),
            jitter: Jitter::None,
            min_uptime: Duration::from_millis(200),
            max_attempts: None,
            seed: 7,
            root_cert_pem: None,
            max_message_size: 1 << 20,
        }
    }
}

/// The auth params of the default spec; the scenario server accepts exactly these.
pub fn default_auth() -> Value {
    serde_json::json!({"grant_type": "client_credentials", "client_id": "kit", "client_secret": "s3cret"})
}

/// How a client stopped for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// The application closed it.
    Closed,
    /// A fatal error (rejected credentials, HTTP 401/403, …): retrying cannot help.
    Fatal,
    /// `max_attempts` consecutive attempts failed.
    GaveUp,
}

/// What a client reports. A binding maps its own events onto these; anything that has no
/// counterpart here goes into [`ClientEvent::Other`].
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// A transport attempt starts; `attempt` counts consecutive attempts since the last
    /// connection that reset the backoff, from 1.
    Connecting {
        /// The attempt number.
        attempt: u32,
    },
    /// The WebSocket handshake completed.
    Connected,
    /// The server acknowledged the auth request.
    Authenticated,
    /// The server acknowledged the subscription of `channel` (on every connection).
    Subscribed {
        /// The channel.
        channel: String,
    },
    /// The server refused the subscription of `channel` (an error answer, or an ack that left
    /// it out), reported for that channel alone.
    SubscribeRejected {
        /// The channel.
        channel: String,
        /// Why, as text.
        reason: String,
    },
    /// Authenticated (if configured) and every wanted subscription restored.
    Live,
    /// A data notification.
    Message {
        /// The channel.
        channel: String,
        /// Its sequence number.
        seq: u64,
    },
    /// A sequence number was skipped: `got` arrived when `expected` was due.
    Gap {
        /// The channel.
        channel: String,
        /// The sequence number that was due.
        expected: u64,
        /// The one that arrived.
        got: u64,
    },
    /// An established connection was lost.
    Disconnected {
        /// Why, as text.
        reason: String,
    },
    /// The next attempt will start after `delay`.
    ReconnectScheduled {
        /// The number of the attempt that is scheduled.
        attempt: u32,
        /// The delay before it.
        delay: Duration,
    },
    /// The client stopped for good; no event and no connection attempt may follow.
    Stopped {
        /// Why.
        kind: StopKind,
        /// Details, as text.
        reason: String,
    },
    /// Anything else.
    Other(String),
}

/// The error of a [`ScenarioClient`] operation, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError(pub String);

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClientError {}

/// A reconnecting client under test, as the scenario runner drives it.
///
/// Obligations:
/// - `start` returns at once; the client connects in the background and reports through
///   [`ScenarioClient::next_event`].
/// - Commands (`subscribe`, `unsubscribe`, `send`, `close`) are accepted in any state; sends
///   issued while not live are delivered after the next `Live`, in order, exactly once.
/// - `next_event` returns the next event in the order the client produced them, or `None` if
///   none came within `timeout`; it never blocks longer than `timeout`.
/// - Dropping the client stops it and releases every thread, socket and timer it owns.
pub trait ScenarioClient: Sized {
    /// Starts a client with `spec`.
    fn start(spec: &ClientSpec) -> Result<Self, ClientError>;
    /// Wants `channel` from now on (subscribe now if live; restore it on every connection).
    fn subscribe(&mut self, channel: &str) -> Result<(), ClientError>;
    /// No longer wants `channel` (unsubscribe now if live; never restore it again).
    fn unsubscribe(&mut self, channel: &str) -> Result<(), ClientError>;
    /// Sends one text frame (queued until live if need be).
    fn send(&mut self, text: &str) -> Result<(), ClientError>;
    /// Closes cleanly: a close frame to the server if connected, then `Stopped{Closed}`.
    fn close(&mut self) -> Result<(), ClientError>;
    /// The next event, waiting at most `timeout`.
    fn next_event(&mut self, timeout: Duration) -> Option<ClientEvent>;
}
