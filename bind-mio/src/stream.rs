//! The byte stream under tungstenite: a non-blocking mio socket, plain or wrapped in rustls.
//!
//! rustls is driven here directly rather than through `rustls::StreamOwned`, whose `read` first
//! completes pending writes and so can report `WouldBlock` while readable bytes wait in the
//! socket: with edge-triggered readiness that would lose a wake-up. The rules kept here:
//!
//! - `read` returns buffered plaintext first, then reads TLS records until the socket says
//!   `WouldBlock`, so a caller that reads until `WouldBlock` has drained the socket;
//! - `write` hands plaintext to rustls (which encrypts and buffers it, within its own limit) and
//!   writes what it can; bytes it accepted are never lost, and any that could not reach the
//!   socket go out on the next `write` or `flush`;
//! - `flush` returns `WouldBlock` while encrypted bytes are still queued, so tungstenite's
//!   `flush` keeps reporting it until the socket took everything.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use reconnect_tungstenite::close::CloseTap;
use rustls::ClientConnection;

/// A TCP connection with a client TLS session on top.
pub(crate) struct TlsStream {
    tls: ClientConnection,
    tcp: TcpStream,
}

/// What [`TlsStream::drive_handshake`] reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandshakeProgress {
    /// The handshake needs more readiness.
    Pending,
    /// The handshake is complete (some of its last bytes may still be queued for writing).
    Done,
}

impl TlsStream {
    pub(crate) fn new(tls: ClientConnection, tcp: TcpStream) -> Self {
        TlsStream { tls, tcp }
    }

    /// Advances the TLS handshake as far as the socket allows without blocking.
    ///
    /// A TLS failure comes back as an `io::Error` of kind `InvalidData` wrapping the
    /// `rustls::Error`, so that the classification can tell certificate errors apart.
    pub(crate) fn drive_handshake(&mut self) -> io::Result<HandshakeProgress> {
        loop {
            match self.write_pending() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if !self.tls.is_handshaking() {
                return Ok(HandshakeProgress::Done);
            }
            if !self.tls.wants_read() {
                // Only writes are outstanding and the socket is full: wait for writable.
                return Ok(HandshakeProgress::Pending);
            }
            match self.tls.read_tls(&mut self.tcp) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed the connection during the TLS handshake",
                    ))
                }
                Ok(_) => self.process_records()?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(HandshakeProgress::Pending)
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn tcp_mut(&mut self) -> &mut TcpStream {
        &mut self.tcp
    }

    /// Decrypts what `read_tls` buffered; on a TLS error, sends the alert rustls queued (best
    /// effort) and reports the error.
    fn process_records(&mut self) -> io::Result<()> {
        if let Err(e) = self.tls.process_new_packets() {
            let _ = self.write_pending();
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        Ok(())
    }

    /// Writes queued TLS records until done or the socket would block.
    fn write_pending(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.tcp) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            match self.tls.read_tls(&mut self.tcp) {
                Ok(0) => {
                    // rustls now knows about the end of the stream: the reader says whether it
                    // was clean (after close_notify: Ok(0)) or not (UnexpectedEof).
                    return match self.tls.reader().read(buf) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            Err(io::ErrorKind::UnexpectedEof.into())
                        }
                        other => other,
                    };
                }
                Ok(_) => {
                    self.process_records()?;
                    // Key updates and alerts may have queued records: send them if we can.
                    match self.write_pending() {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let accepted = self.tls.writer().write(buf)?;
            let flushed = self.write_pending();
            if accepted > 0 {
                // The bytes are rustls's now; a socket error surfaces on the next call.
                return Ok(accepted);
            }
            // rustls's buffer was full; retry only if writing made room.
            flushed?;
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_pending()?;
        self.tcp.flush()
    }
}

/// The stream tungstenite runs on.
pub(crate) enum Stream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`. Boxed: a rustls connection is much larger than a socket.
    Tls(Box<TlsStream>),
}

impl Stream {
    pub(crate) fn tcp_mut(&mut self) -> &mut TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.tcp_mut(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

/// The stream tungstenite runs on, with a [`CloseTap`] on everything read from it (the upgrade
/// response included), so that the close code the server really sent can be told.
pub(crate) struct Tapped {
    pub(crate) stream: Stream,
    pub(crate) tap: CloseTap,
}

impl Tapped {
    pub(crate) fn new(stream: Stream) -> Self {
        Tapped {
            stream,
            tap: CloseTap::new(),
        }
    }

    pub(crate) fn tcp_mut(&mut self) -> &mut TcpStream {
        self.stream.tcp_mut()
    }
}

impl Read for Tapped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.tap.observe(&buf[..n]);
        Ok(n)
    }
}

impl Write for Tapped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}
