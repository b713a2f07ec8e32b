//! Everything the JSON-RPC adapter can be told: method names, setup, error codes, bounds.

use std::time::Duration;

use serde_json::{Map, Value};

use super::pointer::SeqPointer;

/// One extra setup request: a method and its `params` object, already serialised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SetupCall {
    pub(super) method: String,
    pub(super) params: String,
}

/// The configuration of a [`JsonRpcAdapter`](super::JsonRpcAdapter): `Default` gives Deribit's
/// method names and error codes; by-value setters change one thing each.
///
/// ```
/// use std::time::Duration;
/// use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
///
/// let mut cancel_on_disconnect = serde_json::Map::new();
/// cancel_on_disconnect.insert("scope".into(), "connection".into());
/// let adapter = JsonRpcAdapter::new(
///     JsonRpcConfig::default()
///         .server_heartbeat(Some(Duration::from_secs(10)))
///         .setup_request("private/enable_cancel_on_disconnect", cancel_on_disconnect)
///         .seq_pointer(Some(SeqPointer::parse("/change_id").unwrap()))
///         .max_batch(50),
/// );
/// # let _ = adapter;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonRpcConfig {
    pub(super) auth_method: String,
    pub(super) subscribe_method: String,
    pub(super) unsubscribe_method: String,
    pub(super) set_heartbeat_method: String,
    pub(super) test_method: String,
    pub(super) notification_method: String,
    pub(super) heartbeat_method: String,
    pub(super) server_heartbeat: Option<Duration>,
    pub(super) setup: Vec<SetupCall>,
    pub(super) seq_pointer: Option<SeqPointer>,
    pub(super) resume_field: Option<String>,
    pub(super) max_batch: usize,
    pub(super) remembered_requests: usize,
    pub(super) fatal_auth_codes: Vec<i64>,
    pub(super) refresh_auth_codes: Vec<i64>,
    pub(super) transient_subscribe_codes: Vec<i64>,
    pub(super) reauth_on_renewal: bool,
    pub(super) grant_lifetimes: bool,
}

impl Default for JsonRpcConfig {
    fn default() -> Self {
        JsonRpcConfig {
            auth_method: "public/auth".into(),
            subscribe_method: "public/subscribe".into(),
            unsubscribe_method: "public/unsubscribe".into(),
            set_heartbeat_method: "public/set_heartbeat".into(),
            test_method: "public/test".into(),
            notification_method: "subscription".into(),
            heartbeat_method: "heartbeat".into(),
            server_heartbeat: None,
            setup: Vec::new(),
            seq_pointer: None,
            resume_field: None,
            max_batch: 100,
            remembered_requests: 4096,
            // Deribit: 13004 invalid_credentials, 13009 unauthorized (bad signature, wrong
            // scope). Retrying the same credentials cannot help.
            fatal_auth_codes: vec![13004, 13009],
            // Deribit's error reference lists 13010 as a revoked token: new credentials (a
            // fresh refresh token) can help, the old ones cannot.
            refresh_auth_codes: vec![13010],
            // Deribit: 10028 too_many_requests, 10040 retry, 13028 temporarily_unavailable.
            transient_subscribe_codes: vec![10028, 10040, 13028],
            reauth_on_renewal: false,
            grant_lifetimes: true,
        }
    }
}

impl JsonRpcConfig {
    /// The method of the auth request. Default `public/auth`.
    pub fn auth_method(mut self, method: impl Into<String>) -> Self {
        self.auth_method = method.into();
        self
    }

    /// The method of subscribe requests. Default `public/subscribe` (Deribit's private channels
    /// need `private/subscribe`).
    pub fn subscribe_method(mut self, method: impl Into<String>) -> Self {
        self.subscribe_method = method.into();
        self
    }

    /// The method of unsubscribe requests. Default `public/unsubscribe`.
    pub fn unsubscribe_method(mut self, method: impl Into<String>) -> Self {
        self.unsubscribe_method = method.into();
        self
    }

    /// The method that asks the server for heartbeats. Default `public/set_heartbeat`.
    pub fn set_heartbeat_method(mut self, method: impl Into<String>) -> Self {
        self.set_heartbeat_method = method.into();
        self
    }

    /// The method that answers the server's `test_request` and serves as the application
    /// heartbeat, sent every
    /// [`Liveness::heartbeat_interval`](crate::Liveness::heartbeat_interval) when that is set
    /// (its answer is the pong). Default `public/test`.
    pub fn test_method(mut self, method: impl Into<String>) -> Self {
        self.test_method = method.into();
        self
    }

    /// The method of subscription notifications. Default `subscription`.
    pub fn notification_method(mut self, method: impl Into<String>) -> Self {
        self.notification_method = method.into();
        self
    }

    /// The method of server heartbeats. Default `heartbeat`.
    pub fn heartbeat_method(mut self, method: impl Into<String>) -> Self {
        self.heartbeat_method = method.into();
        self
    }

    /// Asks the server for a heartbeat every `interval` with the first setup request
    /// (`{"interval":S}`, S in seconds; fractions are written as decimals, for fast tests —
    /// Deribit itself wants at least 10). Default: none.
    pub fn server_heartbeat(mut self, interval: Option<Duration>) -> Self {
        self.server_heartbeat = interval;
        self
    }

    /// Adds a setup request (cancel-on-disconnect, say), sent after the heartbeat setup on every
    /// connection, in the order added. The params are an object by construction.
    pub fn setup_request(mut self, method: impl Into<String>, params: Map<String, Value>) -> Self {
        self.setup.push(SetupCall {
            method: method.into(),
            params: Value::Object(params).to_string(),
        });
        self
    }

    /// Where the sequence number sits inside a notification's `data`. Default: none (messages
    /// carry no sequence number, so the session detects no gaps).
    pub fn seq_pointer(mut self, pointer: Option<SeqPointer>) -> Self {
        self.seq_pointer = pointer;
        self
    }

    /// Sends resume positions: subscribe params get a member of this name mapping each channel
    /// with a known last sequence number to that number (`{"channels":[…],"FIELD":{"ch":41}}`).
    /// Default: none, because Deribit has no recovery — after a reconnect the application
    /// re-fetches a snapshot when the session reports a gap.
    pub fn resume_field(mut self, field: Option<String>) -> Self {
        self.resume_field = field;
        self
    }

    /// The most channels in one subscribe or unsubscribe request. Default 100; 0 counts as 1.
    pub fn max_batch(mut self, channels: usize) -> Self {
        self.max_batch = channels;
        self
    }

    /// How many in-flight subscribe and unsubscribe requests the adapter remembers the channels
    /// of (to tell which channels an answer left out). Beyond it the oldest is forgotten, and
    /// its answer then confirms every channel it carried. Default 4,096; 0 counts as 1. Raise it
    /// only if more requests than that wait for answers at once.
    pub fn remembered_requests(mut self, requests: usize) -> Self {
        self.remembered_requests = requests;
        self
    }

    /// Auth error codes that stop the session ([`Disposition::Fatal`](crate::Disposition)).
    /// Default 13004 (invalid_credentials) and 13009 (unauthorized).
    pub fn fatal_auth_codes(mut self, codes: impl IntoIterator<Item = i64>) -> Self {
        self.fatal_auth_codes = codes.into_iter().collect();
        self
    }

    /// Auth error codes that ask the application for fresh credentials
    /// ([`Disposition::RefreshCredentials`](crate::Disposition)). Default 13010 (token revoked).
    pub fn refresh_auth_codes(mut self, codes: impl IntoIterator<Item = i64>) -> Self {
        self.refresh_auth_codes = codes.into_iter().collect();
        self
    }

    /// Subscribe error codes worth retrying ([`NackKind::Transient`](crate::NackKind)); every
    /// other refusal is permanent. Default 10028 (too_many_requests), 10040 (retry) and 13028
    /// (temporarily_unavailable).
    pub fn transient_subscribe_codes(mut self, codes: impl IntoIterator<Item = i64>) -> Self {
        self.transient_subscribe_codes = codes.into_iter().collect();
        self
    }

    /// Sends renewed credentials in a new auth request on the live connection (a Deribit
    /// `refresh_token` grant, say). Default false: the next connection uses them.
    pub fn reauth_on_renewal(mut self, enabled: bool) -> Self {
        self.reauth_on_renewal = enabled;
        self
    }

    /// Reads `result.expires_in` (seconds) and `result.refresh_token` from auth answers and
    /// reports them to the session ([`Protocol::granted`](crate::Protocol::granted)), which then
    /// renews the credentials before they expire (per
    /// [`Config::lifetime_renewal`](crate::Config::lifetime_renewal)), with Deribit's
    /// `{"grant_type":"refresh_token","refresh_token":…}` when the answer had a refresh token.
    /// Default true; false reports no lifetime, so nothing is renewed.
    pub fn grant_lifetimes(mut self, enabled: bool) -> Self {
        self.grant_lifetimes = enabled;
        self
    }
}
