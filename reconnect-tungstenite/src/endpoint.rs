//! Where a session connects and how: the URL, TLS, WebSocket buffer sizes and the per-attempt
//! request.
//!
//! Nothing here is specific to a runtime: both bindings re-export these types, so an endpoint
//! means the same in both.

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

/// Why [`Endpoint::new`] refused a URL: nothing in it could ever connect, so it is refused
/// before any attempt (a session would only stop on it later, as a fatal
/// [`InvalidUrl`](reconnect_core::TransportErrorKind::InvalidUrl)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointError {
    /// The text does not parse as a URL (spaces, stray characters, a relative path).
    NotAUrl,
    /// The scheme is not `ws` or `wss`.
    UnsupportedScheme,
    /// The URL names no host (`ws:///path`, `ws://:80/`).
    NoHost,
    /// The port is not a number from 1 to 65,535 (`ws://host:99999/`, `ws://host:0/`): the
    /// binding never guesses another one.
    InvalidPort,
    /// The host of a `wss://` URL cannot be a TLS server name.
    InvalidTlsName,
    /// tungstenite cannot build an upgrade request from the URL.
    Unusable(String),
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unusable endpoint: ")?;
        match self {
            EndpointError::NotAUrl => f.write_str("not a URL"),
            EndpointError::UnsupportedScheme => f.write_str("the scheme must be ws or wss"),
            EndpointError::NoHost => f.write_str("no host"),
            EndpointError::InvalidPort => f.write_str("the port must be a number from 1 to 65535"),
            EndpointError::InvalidTlsName => f.write_str("the host is not a valid TLS server name"),
            EndpointError::Unusable(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for EndpointError {}

/// The port written in an authority (`host:port`, `[v6]:port`, with or without user info), if
/// any; `Some("")` for a colon with nothing after it.
fn written_port(authority: &str) -> Option<&str> {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if host_port.starts_with('[') {
        host_port
            .split_once(']')
            .and_then(|(_, rest)| rest.strip_prefix(':'))
    } else {
        host_port.split_once(':').map(|(_, port)| port)
    }
}

/// Buffer sizes and limits for one connection, suited to thousands of connections per process:
/// a 4 KiB read buffer (tungstenite allocates it for every connection, idle or not; its default
/// is 128 KiB) that grows only while a large message arrives, an 8 KiB write batch, writes that stay
/// blocked beyond 4 MiB treated as backpressure, and 16 MiB message and frame limits.
///
/// `max_write_buffer_size` bounds the largest message the application can send: a larger send
/// is refused with [`SendErrorKind::TooLarge`](reconnect_core::SendErrorKind::TooLarge) (see
/// [`max_frame_len`]), and writes that stay blocked beyond it are reported to the session as
/// [`TransportErrorKind::Backpressure`](reconnect_core::TransportErrorKind::Backpressure).
///
/// A received message's payload is a slice of the read buffer (no copy), so a payload the
/// application still holds keeps its buffer alive and tungstenite reads on into a new one. A
/// few bulk feeds of large messages read faster with a larger `read_buffer_size` (one buffer
/// then serves several messages), set with [`Endpoint::websocket_config`]; the repository's
/// BENCHMARKS.md measures the trade.
pub fn default_websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        // 4 KiB, not 8: 4 KiB less per idle connection (a third of an idle bind-mio session)
        // for about 10 % fewer 64-byte messages a second from one bulk connection (more reads
        // per message; BENCHMARKS.md). A bulk feed sets a larger `read_buffer_size`.
        .read_buffer_size(4 << 10)
        .write_buffer_size(8 << 10)
        .max_write_buffer_size(4 << 20)
        .max_message_size(Some(16 << 20))
        .max_frame_size(Some(16 << 20))
}

/// The largest payload a connection with `config` can always write, in bytes: the smallest of
/// `max_frame_size`, `max_message_size` and what fits in `max_write_buffer_size` beside one
/// batch of frames waiting to be written (`write_buffer_size`) and the largest frame header
/// (14 bytes). A larger frame would come back from tungstenite as `WriteBufferFull` and end the
/// connection as backpressure; the bindings lower each session's
/// [`max_frame_len`](reconnect_core::Config::max_frame_len) to this value, so such a send is
/// refused instead.
///
/// ```
/// let max = reconnect_tungstenite::max_frame_len(&reconnect_tungstenite::default_websocket_config());
/// assert_eq!(max, (4 << 20) - (8 << 10) - 14);
/// ```
pub fn max_frame_len(config: &WebSocketConfig) -> usize {
    const LARGEST_HEADER: usize = 14;
    let writable = config
        .max_write_buffer_size
        .saturating_sub(config.write_buffer_size)
        .saturating_sub(LARGEST_HEADER);
    [config.max_frame_size, config.max_message_size]
        .into_iter()
        .flatten()
        .fold(writable, usize::min)
}

/// Where a session connects: a `ws://` or `wss://` URL, the TLS configuration for `wss://`,
/// the WebSocket buffer sizes, and an optional hook that edits each attempt's upgrade request.
///
/// A server whose certificate a private CA signed (or a self-signed one): trust that root
/// alone with `.tls_config(tls::config_with_pem_roots(pem)?)`
/// ([`tls::config_with_pem_roots`](crate::tls::config_with_pem_roots)), or in addition to the
/// web PKI roots with [`tls::config_with_extra_pem_roots`](crate::tls::config_with_extra_pem_roots).
///
/// ```
/// use reconnect_tungstenite::Endpoint;
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
    /// Everything that could never connect is refused here, before any attempt: text that is
    /// not a URL, another scheme, a missing or empty host, a port outside 1..=65535 (never
    /// replaced by the default port), a `wss://` host that is not a TLS server name, and a URL
    /// tungstenite cannot make an upgrade request from.
    pub fn new(url: &str) -> Result<Self, EndpointError> {
        let uri: Uri = url.parse().map_err(|_| EndpointError::NotAUrl)?;
        let tls = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            _ => return Err(EndpointError::UnsupportedScheme),
        };
        let authority = uri.authority().ok_or(EndpointError::NoHost)?;
        let host = authority.host();
        // IPv6 literals come bracketed; the resolver and SNI want them bare.
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(EndpointError::NoHost);
        }
        // `Authority::port_u16` reads a port that does not fit in 16 bits as no port at all,
        // which would connect to 80 or 443: a service the user never named.
        let port = match written_port(authority.as_str()) {
            None | Some("") => {
                if tls {
                    443
                } else {
                    80
                }
            }
            Some(written) => match written.parse::<u16>() {
                Ok(port) if port != 0 && written.bytes().all(|b| b.is_ascii_digit()) => port,
                _ => return Err(EndpointError::InvalidPort),
            },
        };
        let host = host.to_owned();
        if tls {
            rustls_pki_types::ServerName::try_from(host.as_str())
                .map_err(|_| EndpointError::InvalidTlsName)?;
        }
        // Every attempt builds its request this way: a URL it refuses is refused now.
        (&uri)
            .into_client_request()
            .map_err(|e| EndpointError::Unusable(e.to_string()))?;
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

    /// The host as an IP address, when it is a literal: a driver needs no name resolution for
    /// it.
    pub fn ip_literal(&self) -> Option<IpAddr> {
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
        assert_eq!(Endpoint::new("ws://[::1]/").unwrap().port(), 80);
        assert_eq!(
            Endpoint::new("ws://h:/").unwrap().port(),
            80,
            "an empty port"
        );
        assert_eq!(Endpoint::new("ws://u:p@h:81/").unwrap().port(), 81);
        assert_eq!(Endpoint::new("ws://h:65535/").unwrap().port(), 65535);
        assert_eq!(Endpoint::new("ws://h:1/").unwrap().port(), 1);
    }

    #[test]
    fn unusable_urls_are_refused_with_their_reason() {
        use EndpointError as E;
        let rows = [
            ("ws://127.0.0.1:99999/", E::InvalidPort),
            ("ws://127.0.0.1:65536/", E::InvalidPort),
            ("ws://127.0.0.1:0/", E::InvalidPort),
            ("wss://example.com:70000/", E::InvalidPort),
            ("ws://[::1]:99999/", E::InvalidPort),
            ("ws://u:p@h:99999/", E::InvalidPort),
            ("ws://:80/", E::NoHost),
            ("ws:///nohost", E::NotAUrl),
            ("ws://[]/", E::NoHost),
            ("http://example.com/", E::UnsupportedScheme),
            ("https://example.com/", E::UnsupportedScheme),
            ("ftp://example.com/", E::UnsupportedScheme),
            ("example.com/ws", E::NotAUrl),
            ("ws://exa mple.com/", E::NotAUrl),
            ("ws://example.com/a b", E::NotAUrl),
            (" ws://example.com/", E::NotAUrl),
            ("", E::NotAUrl),
            ("ws://", E::NotAUrl),
            ("wss://exa_mple..com/", E::InvalidTlsName),
        ];
        let wrong: Vec<_> = rows
            .into_iter()
            .map(|(url, expected)| (url, expected, Endpoint::new(url).map(|_| ())))
            .filter(|(_, expected, got)| got.as_ref() != Err(expected))
            .collect();
        assert!(wrong.is_empty(), "(url, expected, got): {wrong:#?}");
        assert_eq!(
            EndpointError::InvalidPort.to_string(),
            "unusable endpoint: the port must be a number from 1 to 65535"
        );
    }

    #[test]
    fn each_attempt_gets_a_fresh_key_and_the_hook_runs() {
        let mut e = Endpoint::new("ws://127.0.0.1:1/x")
            .unwrap()
            .on_request(|r, a| {
                let v = format!("t{}", a.attempt);
                r.headers_mut().insert("x-token", v.parse().unwrap());
            });
        let conn = crate::test_conn_id();
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
