//! A minimal blocking WebSocket client for fault tests: plain `tungstenite`, no reconnection
//! logic, optional TLS trusting one root certificate.
//!
//! It exists so every fault can be proven against the simplest possible client, independent of
//! the bindings under test.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tungstenite::{Message, WebSocket};

use crate::rpc::{self, Inbound};

/// Plain TCP or client-side TLS over TCP.
#[derive(Debug)]
pub enum ClientStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl ClientStream {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            ClientStream::Plain(s) => s,
            ClientStream::Tls(s) => s.get_ref(),
        }
    }
}

// Every call retries EINTR. The sockets have a read timeout (SO_RCVTIMEO), and Linux fails such
// a blocking call with EINTR when the process was stopped and continued, handler or not (see
// signal(7)); tungstenite would take that for a broken connection, in the middle of the
// upgrade too, and a test would fail with "Interrupted system call" on a loaded machine.
fn retrying<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

impl Read for ClientStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        retrying(|| match self {
            ClientStream::Plain(s) => s.read(buf),
            ClientStream::Tls(s) => s.read(buf),
        })
    }
}

impl Write for ClientStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        retrying(|| match self {
            ClientStream::Plain(s) => s.write(buf),
            ClientStream::Tls(s) => s.write(buf),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        retrying(|| match self {
            ClientStream::Plain(s) => s.flush(),
            ClientStream::Tls(s) => s.flush(),
        })
    }
}

/// The socket address of a `ws://` or `wss://` URL with a literal IP host.
///
/// # Panics
/// Panics on any other URL: the kit only ever hands out `127.0.0.1` URLs.
pub fn addr_of(url: &str) -> SocketAddr {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host_port = rest.split('/').next().unwrap_or(rest);
    host_port
        .parse()
        .unwrap_or_else(|_| panic!("not an IP URL: {url}"))
}

/// Opens a TCP connection (with `timeout`) and performs the WebSocket upgrade.
///
/// `tls` must be set for `wss://` URLs; reads block for at most `timeout` (the socket keeps that
/// read timeout afterwards, so a stalled server surfaces as a `WouldBlock` IO error).
pub fn connect(
    url: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> Result<WebSocket<ClientStream>, tungstenite::Error> {
    let tcp = TcpStream::connect_timeout(&addr_of(url), timeout)?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    tcp.set_nodelay(true)?;
    let stream = match (url.starts_with("wss://"), tls) {
        (true, Some(cfg)) => {
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("valid name");
            let conn = rustls::ClientConnection::new(cfg, name)
                .map_err(|e| tungstenite::Error::Io(io::Error::other(e)))?;
            ClientStream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)))
        }
        (true, None) => panic!("wss:// URL without a TLS config"),
        (false, _) => ClientStream::Plain(tcp),
    };
    match tungstenite::client(url, stream) {
        Ok((ws, _response)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(e)) => Err(e),
        Err(tungstenite::HandshakeError::Interrupted(_)) => {
            Err(tungstenite::Error::Io(io::ErrorKind::TimedOut.into()))
        }
    }
}

/// Sends one text frame.
pub fn send(ws: &mut WebSocket<ClientStream>, text: &str) -> Result<(), tungstenite::Error> {
    ws.send(Message::text(text))
}

/// Reads until a text frame arrives (answering heartbeats is the caller's business), giving up
/// at `timeout`. Non-text frames are skipped.
pub fn next_text(
    ws: &mut WebSocket<ClientStream>,
    timeout: Duration,
) -> Result<String, tungstenite::Error> {
    let deadline = Instant::now() + timeout;
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => return Ok(t.to_string()),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) && Instant::now() < deadline => {}
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Err(tungstenite::Error::Io(io::ErrorKind::TimedOut.into()));
        }
    }
}

/// Sends a request and reads until the response with the same id, skipping notifications.
pub fn call(
    ws: &mut WebSocket<ClientStream>,
    id: u64,
    request: &str,
    timeout: Duration,
) -> Result<Inbound, tungstenite::Error> {
    send(ws, request)?;
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let text = next_text(ws, left)?;
        match rpc::classify(&text) {
            r @ (Inbound::Result { .. } | Inbound::Error { .. }) if r_id(&r) == Some(id) => {
                return Ok(r)
            }
            _ => {}
        }
    }
}

fn r_id(r: &Inbound) -> Option<u64> {
    match r {
        Inbound::Result { id, .. } | Inbound::Error { id, .. } => id.as_u64(),
        _ => None,
    }
}
