//! What the server observed, for assertions.
//!
//! [`Stats`] is a snapshot: [`ServerHandle::stats`](super::ServerHandle::stats) clones it, and
//! [`ServerHandle::wait_until`](super::ServerHandle::wait_until) evaluates a predicate on the live
//! value every time it changes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use serde_json::Value;

/// Everything the server observed since it started.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// TCP connections accepted.
    pub accepted: u64,
    /// WebSocket handshakes completed.
    pub handshakes: u64,
    /// WebSocket sessions open now.
    pub open: usize,
    /// The most WebSocket sessions ever open at once.
    pub peak_open: usize,
    /// Per client identity (the `client` query parameter, or `anonymous`).
    pub clients: BTreeMap<String, ClientStats>,
    /// Every connection, in accept order.
    pub connections: Vec<ConnRecord>,
    /// Whether the listening socket is open now.
    pub listening: bool,
    /// How many times the listener was (re)bound, including the first time.
    pub binds: u64,
    /// Errors from re-binding the listener (another process took the port, …).
    pub bind_errors: Vec<String>,
}

/// Counters of one client identity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// WebSocket handshakes completed.
    pub handshakes: u64,
    /// Sessions open now.
    pub open: usize,
    /// The most sessions ever open at once.
    pub peak_open: usize,
}

impl Stats {
    /// The counters of `client` (all zero if it never connected).
    pub fn client(&self, client: &str) -> ClientStats {
        self.clients.get(client).copied().unwrap_or_default()
    }

    /// The connections of `client` (known once its upgrade request was read), in accept order.
    pub fn connections_of<'a>(&'a self, client: &str) -> impl Iterator<Item = &'a ConnRecord> {
        let client = client.to_owned();
        self.connections
            .iter()
            .filter(move |c| c.client.as_deref() == Some(client.as_str()))
    }

    /// The connections that completed the WebSocket handshake, in accept order.
    pub fn sessions(&self) -> impl Iterator<Item = &ConnRecord> {
        self.connections.iter().filter(|c| c.handshake_at.is_some())
    }

    /// The most recent connection, if any.
    pub fn last(&self) -> Option<&ConnRecord> {
        self.connections.last()
    }

    /// Every close frame received from clients, in connection order.
    pub fn close_frames(&self) -> Vec<CloseRecord> {
        self.connections
            .iter()
            .filter_map(|c| c.close_received.clone())
            .collect()
    }
}

/// One accepted TCP connection.
#[derive(Debug, Clone)]
pub struct ConnRecord {
    /// Server-wide connection number, from 1.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// When the TCP connection was accepted.
    pub accepted_at: Instant,
    /// The client identity, once the upgrade request was read.
    pub client: Option<String>,
    /// The request path and query, once the upgrade request was read.
    pub path: Option<String>,
    /// When the WebSocket handshake completed.
    pub handshake_at: Option<Instant>,
    /// When the server sent the first successful auth response.
    pub authenticated_at: Option<Instant>,
    /// When the server sent each successful auth response (the first, then renewals).
    pub auth_acks: Vec<Instant>,
    /// Every frame received from the client, in order (pings and pongs are only counted).
    pub received: Vec<Received>,
    /// Ping frames received.
    pub pings: u32,
    /// Pong frames received (answers to the server's pings).
    pub pongs: u32,
    /// Pings the server sent ([`Fault::PingFlood`](super::Fault::PingFlood)).
    pub pings_sent: u64,
    /// Data notifications sent, per channel: (count, last sequence number).
    pub data_sent: BTreeMap<String, (u64, u64)>,
    /// The close frame the client sent, if any.
    pub close_received: Option<CloseRecord>,
    /// The close frame the server sent, if any.
    pub close_sent: Option<CloseRecord>,
    /// When the server let go of the connection.
    pub ended_at: Option<Instant>,
    /// Why the server let go of the connection.
    pub end: Option<ConnEnd>,
}

impl ConnRecord {
    pub(crate) fn new(id: u64, peer: SocketAddr, accepted_at: Instant) -> Self {
        ConnRecord {
            id,
            peer,
            accepted_at,
            client: None,
            path: None,
            handshake_at: None,
            authenticated_at: None,
            auth_acks: Vec::new(),
            received: Vec::new(),
            pings: 0,
            pongs: 0,
            pings_sent: 0,
            data_sent: BTreeMap::new(),
            close_received: None,
            close_sent: None,
            ended_at: None,
            end: None,
        }
    }

    /// The requests with this method, in order.
    pub fn requests<'a>(&'a self, method: &'a str) -> impl Iterator<Item = &'a Received> {
        self.received
            .iter()
            .filter(move |r| r.method() == Some(method))
    }

    /// The methods of every JSON-RPC request, in order (`"<text>"` / `"<binary>"` for others).
    pub fn methods(&self) -> Vec<&str> {
        self.received
            .iter()
            .map(|r| match &r.frame {
                ClientFrame::Request { method, .. } => method.as_str(),
                ClientFrame::Text(_) => "<text>",
                ClientFrame::Binary(_) => "<binary>",
            })
            .collect()
    }

    /// Every channel named in `public/subscribe` requests, in order, with repeats.
    pub fn subscribed_channels(&self) -> Vec<String> {
        self.requests(crate::rpc::SUBSCRIBE)
            .flat_map(Received::channels)
            .collect()
    }

    /// Every channel named in `public/unsubscribe` requests, in order, with repeats.
    pub fn unsubscribed_channels(&self) -> Vec<String> {
        self.requests(crate::rpc::UNSUBSCRIBE)
            .flat_map(Received::channels)
            .collect()
    }

    /// The text frames that were not JSON-RPC requests, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.received
            .iter()
            .filter_map(|r| match &r.frame {
                ClientFrame::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// One frame received from a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// When the server read it.
    pub at: Instant,
    /// The frame.
    pub frame: ClientFrame,
}

impl Received {
    /// The JSON-RPC method, if this is a request.
    pub fn method(&self) -> Option<&str> {
        match &self.frame {
            ClientFrame::Request { method, .. } => Some(method),
            _ => None,
        }
    }

    /// The request params (`Null` if absent or not a request).
    pub fn params(&self) -> &Value {
        match &self.frame {
            ClientFrame::Request { params, .. } => params,
            _ => &Value::Null,
        }
    }

    /// The `channels` array of the params, if any.
    pub fn channels(&self) -> Vec<String> {
        self.params()
            .get("channels")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A client frame, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    /// A JSON-RPC request (or notification, when `id` is `None`).
    Request {
        /// The request id.
        id: Option<Value>,
        /// The method.
        method: String,
        /// The params (`Null` if absent).
        params: Value,
    },
    /// Any other text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

/// A close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRecord {
    /// The close code (1005 when the frame had no code).
    pub code: u16,
    /// The close reason.
    pub reason: String,
}

/// Why the server let go of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnEnd {
    /// The close handshake completed (either side started it).
    Closed,
    /// The client closed TCP without a close handshake.
    Eof,
    /// The client (or something between) reset the connection.
    PeerReset,
    /// An IO or protocol error (text of the error).
    Error(String),
    /// The server closed right after accept ([`Fault::AcceptThenClose`](super::Fault)).
    AcceptThenClose,
    /// The server reset the connection.
    Reset,
    /// The server dropped the connection without a close frame.
    Dropped,
    /// The server answered the upgrade with this HTTP status.
    HttpRejected(u16),
    /// The handshake failed or timed out (text of the error).
    HandshakeFailed(String),
    /// The client did not answer a heartbeat in time.
    HeartbeatTimeout,
    /// The server shut down.
    Shutdown,
}
