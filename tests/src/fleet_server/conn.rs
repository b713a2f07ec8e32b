//! One connection of the fleet server: a non-blocking tungstenite handshake, then a WebSocket
//! that answers requests, on readiness only.
//!
//! The event loop must call [`Conn::drive`] on every readiness event of the connection's token
//! (it is registered edge-triggered for both directions): `drive` reads until `WouldBlock`,
//! queues the answers and flushes, so nothing is left for a later event to find.

use std::io;

use mio::net::TcpStream;
use tungstenite::handshake::server::{NoCallback, ServerHandshake};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Error, Message, WebSocket};

use super::answer::answer;

/// The read buffer of each server-side WebSocket: the fleet's requests are a few hundred
/// bytes, and 10,000 of tungstenite's default 128 KiB buffers would be 1.3 GB.
const READ_BUFFER: usize = 4096;

/// The WebSocket configuration of every connection.
fn config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(READ_BUFFER)
}

/// A connection, mid-handshake or open.
pub(super) enum Conn {
    /// The upgrade request is not complete yet.
    Handshaking(MidHandshake<ServerHandshake<TcpStream, NoCallback>>),
    /// The handshake is done: a WebSocket.
    Open(WebSocket<TcpStream>),
}

impl Conn {
    /// Starts the handshake on a freshly accepted (and already registered) stream. `None`
    /// when the handshake failed at once.
    pub(super) fn accept(stream: TcpStream) -> Option<Conn> {
        Conn::handshake_result(tungstenite::accept_with_config(stream, Some(config())))
    }

    /// Whether the handshake is done.
    pub(super) fn is_open(&self) -> bool {
        matches!(self, Conn::Open(_))
    }

    /// The TCP stream under either state.
    pub(super) fn stream(&self) -> &TcpStream {
        match self {
            Conn::Handshaking(mid) => mid.get_ref().get_ref(),
            Conn::Open(ws) => ws.get_ref(),
        }
    }

    /// Makes all the progress the socket allows: the handshake, then reading every frame
    /// (answering requests, tungstenite queueing pongs and close replies) and flushing.
    /// Returns the connection, or `None` when it ended (the caller drops it, which closes the
    /// socket).
    pub(super) fn drive(self) -> Option<Conn> {
        match self {
            Conn::Handshaking(mid) => Conn::handshake_result(mid.handshake()),
            Conn::Open(ws) => serve(ws).map(Conn::Open),
        }
    }

    fn handshake_result(
        result: Result<
            WebSocket<TcpStream>,
            HandshakeError<ServerHandshake<TcpStream, NoCallback>>,
        >,
    ) -> Option<Conn> {
        match result {
            // Bytes that came with the request are already buffered: read them now, since
            // no new readiness event will announce them.
            Ok(ws) => serve(ws).map(Conn::Open),
            Err(HandshakeError::Interrupted(mid)) => Some(Conn::Handshaking(mid)),
            Err(HandshakeError::Failure(_)) => None,
        }
    }
}

fn would_block(e: &Error) -> bool {
    matches!(e, Error::Io(io) if io.kind() == io::ErrorKind::WouldBlock)
}

/// Reads until `WouldBlock`, answering each request, then flushes. `None` when the
/// connection ended: closed by the peer (after tungstenite's close reply), reset, or a
/// protocol error.
fn serve(mut ws: WebSocket<TcpStream>) -> Option<WebSocket<TcpStream>> {
    loop {
        match ws.read() {
            Ok(Message::Text(text)) => {
                if let Some(reply) = answer(text.as_str()) {
                    // A `WouldBlock` here means queued: the flush below or a later writable
                    // event sends it.
                    match ws.write(Message::text(reply)) {
                        Ok(()) => {}
                        Err(e) if would_block(&e) => {}
                        Err(_) => return None,
                    }
                }
            }
            // Pings: tungstenite queued the pong. Close: it queued the reply. Anything else
            // the fleet server ignores.
            Ok(_) => {}
            Err(e) if would_block(&e) => break,
            Err(_) => return None,
        }
    }
    match ws.flush() {
        Ok(()) => Some(ws),
        Err(e) if would_block(&e) => Some(ws),
        Err(_) => None,
    }
}
