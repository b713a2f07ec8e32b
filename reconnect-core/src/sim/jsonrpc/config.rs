//! What the simulated JSON-RPC server does: its error codes and its configuration.

use std::collections::BTreeSet;
use std::time::Duration;
/// The JSON-RPC error code of a fatal auth rejection (Deribit's `invalid_credentials`).
pub(crate) const AUTH_INVALID_CREDENTIALS: i64 = 13004;
/// The JSON-RPC error code of a transient rejection (Deribit's `too_many_requests`).
pub(crate) const TOO_MANY_REQUESTS: i64 = 10028;
/// The JSON-RPC error code of invalid parameters, such as an unknown channel: a permanent
/// subscribe rejection for the crate's JSON-RPC adapter.
pub(crate) const INVALID_PARAMS: i64 = -32602;

/// How a [`JsonRpcServer`](super::JsonRpcServer) refuses a subscribe request that asks for one of its
/// [bad channels](JsonRpcServerConfig::bad_channel).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BadChannelRefusal {
    /// Subscribes the other channels and leaves the bad ones out of the result array (the
    /// adapter reports each left-out channel rejected).
    #[default]
    PerChannel,
    /// Refuses the whole request with one error, without saying which channel is bad: the
    /// client must find out by itself (the session bisects the batch).
    WholeRequest,
    /// Refuses the whole request with one error whose `data.channel` names the bad channels: a
    /// string when there is one, an array of strings when there are several.
    WholeRequestNamed,
}

/// Settings of a [`JsonRpcServer`](super::JsonRpcServer).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JsonRpcServerConfig {
    /// Each subscribed channel gets one data notification this often. Default 1 s.
    pub data_interval: Duration,
    /// Close a connection whose last heartbeat `test_request` was not answered with
    /// `public/test` by the time the next one is due, as Deribit does. Default true.
    pub close_on_missed_heartbeat: bool,
    /// The `expires_in` of every successful `public/auth` answer (seconds, fractions written as
    /// decimals); `None` leaves it out. Default 900 s, as Deribit.
    pub token_lifetime: Option<Duration>,
    /// Hand out a fresh `refresh_token` with every successful `public/auth` answer, and accept
    /// `{"grant_type":"refresh_token","refresh_token":T}` only for the last one handed out on
    /// that connection (anything else is refused with [`JsonRpcServer::AUTH_INVALID_CREDENTIALS`](super::JsonRpcServer::AUTH_INVALID_CREDENTIALS)). Default
    /// true.
    pub refresh_tokens: bool,
    /// Channels the server always refuses to subscribe. Default none.
    pub bad_channels: BTreeSet<String>,
    /// How a subscribe request with a bad channel is refused. Default
    /// [`BadChannelRefusal::PerChannel`].
    pub bad_channel_refusal: BadChannelRefusal,
    /// The error code of a whole-request refusal. Default [`JsonRpcServer::INVALID_PARAMS`](super::JsonRpcServer::INVALID_PARAMS) (permanent); with
    /// [`JsonRpcServer::TOO_MANY_REQUESTS`](super::JsonRpcServer::TOO_MANY_REQUESTS) the refusal looks like a rate limit (transient).
    pub bad_channel_code: i64,
}

impl Default for JsonRpcServerConfig {
    fn default() -> Self {
        JsonRpcServerConfig {
            data_interval: Duration::from_secs(1),
            close_on_missed_heartbeat: true,
            token_lifetime: Some(Duration::from_secs(900)),
            refresh_tokens: true,
            bad_channels: BTreeSet::new(),
            bad_channel_refusal: BadChannelRefusal::PerChannel,
            bad_channel_code: INVALID_PARAMS,
        }
    }
}

impl JsonRpcServerConfig {
    /// Sets [`data_interval`](Self::data_interval).
    pub fn data_interval(mut self, d: Duration) -> Self {
        self.data_interval = d;
        self
    }
    /// Sets [`close_on_missed_heartbeat`](Self::close_on_missed_heartbeat).
    pub fn close_on_missed_heartbeat(mut self, close: bool) -> Self {
        self.close_on_missed_heartbeat = close;
        self
    }
    /// Sets [`token_lifetime`](Self::token_lifetime).
    pub fn token_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.token_lifetime = lifetime;
        self
    }
    /// Sets [`refresh_tokens`](Self::refresh_tokens).
    pub fn refresh_tokens(mut self, enabled: bool) -> Self {
        self.refresh_tokens = enabled;
        self
    }
    /// Adds `channel` to the [`bad_channels`](Self::bad_channels).
    pub fn bad_channel(mut self, channel: impl Into<String>) -> Self {
        self.bad_channels.insert(channel.into());
        self
    }
    /// Sets [`bad_channel_refusal`](Self::bad_channel_refusal).
    pub fn bad_channel_refusal(mut self, refusal: BadChannelRefusal) -> Self {
        self.bad_channel_refusal = refusal;
        self
    }
    /// Sets [`bad_channel_code`](Self::bad_channel_code).
    pub fn bad_channel_code(mut self, code: i64) -> Self {
        self.bad_channel_code = code;
        self
    }
}
