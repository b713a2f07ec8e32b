//! Where a session connects and how: the URL, TLS, WebSocket buffer sizes and the per-attempt
//! request.
//!
//! Nothing here is specific to mio: `bind-smol` re-exports these types, so an endpoint means the
//! same in both bindings.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use reconnect_core::ConnId;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::Request;
use tungstenite::http::Uri;
use tungstenite::protocol::WebSocketConfig;

/// The attempt a request is being built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptInfo {
    /// The transport the request opens.
    pub conn: ConnId,
    /// The attempt number the session gave it (1-based, per outage).
    pub attempt: u32,
}

impl AttemptInfo {
    /// The attempt of an [`Action::Connect`](reconnect_core::Action::Connect).
    pub fn new(conn: ConnId, attempt: u32) -> Self {
        AttemptInfo { conn, attempt }
    }
}

/// Adjusts the upgrade request of each attempt (headers, subprotocols). Called once per attempt,
/// just before the connection starts, on the thread or task that drives the session: it must
/// not block.
pub type RequestHook = Box<dyn FnMut(&mut Request, AttemptInfo) + Send>;

/// A URL the binding cannot connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointError(String);

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unusable endpoint: {}", self.0)
    }
}

impl std::error::Error for EndpointError {}

/// Buffer sizes and limits for one connection, suited to thousands of connections per process:
/// an 8 KiB read buffer (tungstenite allocates it for every connection; its default is 128 KiB)
/// that grows only while a large message arrives, an 8 KiB write batch, writes that stay
/// blocked beyond 4 MiB treated as backpressure, and 16 MiB message and frame limits.
///
/// `max_write_buffer_size` must exceed the largest message the application sends: a message
/// that does not fit is reported to the session as
/// [`TransportErrorKind::Backpressure`](reconnect_core::TransportErrorKind::Backpressure).
pub fn default_websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 << 10)
        .write_buffer_size(8 << 10)
        .max_write_buffer_size(4 << 20)
        .max_message_size(Some(16 << 20))
        .max_frame_size(Some(16 << 20))
}

/// Where a session connects: a `ws://` or `wss://` URL, the TLS configuration for `wss://`,
/// the WebSocket buffer sizes, and an optional hook that edits each attempt's upgrade request.
///
/// ```
/// use bind_mio::Endpoint;
///
/// let endpoint = Endpoint::new("wss://example.com/ws/v2")
///     .unwrap()
///     .on_request(|request, attempt| {
///         // A fresh token on every attempt, and a subprotocol.
///         let token = format!("Bearer token-for-attempt-{}", attempt.attempt);
///         request.headers_mut().insert("Authorization", token.parse().unwrap());
///         request
///             .headers_mut()
///             .insert("Sec-WebSocket-Protocol", "v2.json".parse().unwrap());
///     });
/// assert!(endpoint.is_tls());
/// ```
pub struct Endpoint {
    uri: Uri,
    host: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
    websocket: WebSocketConfig,
    hook: Option<RequestHook>,
}

impl fmt::Debug for Endpoint {
    // The URL's query may carry a token: print only where it goes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .field("hook", &self.hook.is_some())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Parses a `ws://` or `wss://` URL. `wss://` trusts the web PKI roots until
    /// [`tls_config`](Self::tls_config) says otherwise.
    ///
    /// # Errors
    /// Fails for another scheme, a missing host, or a URL that does not parse.
    pub fn new(url: &str) -> Result<Self, EndpointError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| EndpointError(format!("not a URL: {e}")))?;
        let tls = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            _ => return Err(EndpointError("the scheme must be ws or wss".to_owned())),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| EndpointError("no host".to_owned()))?;
        let host = authority.host();
        // IPv6 literals come bracketed; the resolver and SNI want them bare.
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(EndpointError("no host".to_owned()));
        }
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let host = host.to_owned();
        if tls {
            rustls_pki_types::ServerName::try_from(host.as_str())
                .map_err(|_| EndpointError("the host is not a valid TLS server name".into()))?;
        }
        Ok(Endpoint {
            host,
            port,
            tls: tls.then(crate::tls::web_pki_config),
            websocket: default_websocket_config(),
            hook: None,
            uri,
        })
    }

    /// Uses this rustls configuration for `wss://` (custom roots, client certificates, or, if
    /// you build it that way, no verification at all). Ignored for `ws://`.
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        if self.tls.is_some() {
            self.tls = Some(config);
        }
        self
    }

    /// Trusts exactly these roots for `wss://` (verification stays on).
    pub fn root_certificates(self, roots: rustls::RootCertStore) -> Self {
        self.tls_config(crate::tls::config_with_roots(roots))
    }

    /// Sets the WebSocket buffer sizes and limits (see [`default_websocket_config`]).
    pub fn websocket_config(mut self, config: WebSocketConfig) -> Self {
        self.websocket = config;
        self
    }

    /// Calls `hook` on every attempt's upgrade request before it is sent: add headers (a fresh
    /// token), `Sec-WebSocket-Protocol`, and so on.
    pub fn on_request(
        mut self,
        hook: impl FnMut(&mut Request, AttemptInfo) + Send + 'static,
    ) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Whether this is a `wss://` endpoint.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The host, without brackets for IPv6 literals.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (the URL's, or 80 / 443).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The WebSocket configuration.
    pub fn websocket(&self) -> WebSocketConfig {
        self.websocket
    }

    /// The rustls configuration a `wss://` attempt uses; `None` for `ws://`.
    pub fn tls_client_config(&self) -> Option<&Arc<rustls::ClientConfig>> {
        self.tls.as_ref()
    }

    /// The host as an IP address, when it is a literal (no resolution needed).
    pub(crate) fn ip_literal(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// A fresh upgrade request for this attempt: a new `Sec-WebSocket-Key`, then the
    /// [`on_request`](Self::on_request) hook. A driver must build one per
    /// [`Action::Connect`](reconnect_core::Action::Connect), never reuse one.
    ///
    /// # Errors
    /// The URL cannot make a request (tungstenite refuses it).
    pub fn request(&mut self, attempt: AttemptInfo) -> Result<Request, tungstenite::Error> {
        let mut request = (&self.uri).into_client_request()?;
        if let Some(hook) = self.hook.as_mut() {
            hook(&mut request, attempt);
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes_hosts_and_ports() {
        let e = Endpoint::new("ws://127.0.0.1:9000/ws?client=a").unwrap();
        assert!(!e.is_tls());
        assert_eq!((e.host(), e.port()), ("127.0.0.1", 9000));
        assert!(e.ip_literal().is_some());
        let e = Endpoint::new("wss://example.com/feed").unwrap();
        assert!(e.is_tls());
        assert_eq!((e.host(), e.port()), ("example.com", 443));
        assert!(e.ip_literal().is_none());
        let e = Endpoint::new("ws://[::1]:81/").unwrap();
        assert_eq!(e.host(), "::1");
        assert!(e.ip_literal().is_some());
        assert!(Endpoint::new("http://example.com/").is_err());
        assert!(Endpoint::new("ws:///nohost").is_err());
    }

    /// A `ConnId` as a session hands them out (they cannot be made otherwise).
    fn a_conn_id() -> ConnId {
        use reconnect_core::{adapters::RawAdapter, Action, Config, Output, Session};
        let mut s = Session::new(Config::new(1), RawAdapter::new()).unwrap();
        s.start(std::time::Instant::now()).unwrap();
        std::iter::from_fn(|| s.poll_output())
            .find_map(|o| match o {
                Output::Action(Action::Connect { conn, .. }) => Some(conn),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn each_attempt_gets_a_fresh_key_and_the_hook_runs() {
        let mut e = Endpoint::new("ws://127.0.0.1:1/x")
            .unwrap()
            .on_request(|r, a| {
                let v = format!("t{}", a.attempt);
                r.headers_mut().insert("x-token", v.parse().unwrap());
            });
        let conn = a_conn_id();
        let r1 = e.request(AttemptInfo { conn, attempt: 1 }).unwrap();
        let r2 = e.request(AttemptInfo { conn, attempt: 2 }).unwrap();
        assert_eq!(r1.headers()["x-token"], "t1");
        assert_eq!(r2.headers()["x-token"], "t2");
        assert_ne!(
            r1.headers()["Sec-WebSocket-Key"],
            r2.headers()["Sec-WebSocket-Key"]
        );
    }
}
