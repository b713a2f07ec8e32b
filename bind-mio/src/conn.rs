//! One transport attempt, from name resolution to an open WebSocket, driven by readiness.
//!
//! A `Conn` turns readiness into [`Input`]s for its session and performs the session's actions
//! on its socket. It makes no decisions: it reports what happened, precisely classified, and
//! waits for the session's [`Action::Release`](reconnect_core::Action::Release), when the
//! driver deregisters and drops it.
//!
//! The tungstenite rules it keeps:
//! - a write that returns `WouldBlock` has queued the frame: it is never written again, and the
//!   next writable readiness flushes it;
//! - `WriteBufferFull` means the frame was not queued: the peer has stopped reading for
//!   `max_write_buffer_size` bytes, which is reported as backpressure;
//! - every readiness reads until `WouldBlock` (or a per-pass budget, after which the driver
//!   comes back to it before sleeping), and the first read happens right after the upgrade;
//! - an interrupted upgrade (`HandshakeError::Interrupted`) is kept and resumed on readiness.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use reconnect_core::{ConnId, Frame, Input, TransportError, TransportErrorKind};
use reconnect_tungstenite::{errors, message};
use rustls::ClientConnection;
use rustls_pki_types::ServerName;
use tungstenite::handshake::client::{ClientHandshake, Request};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Error as WsError, Message, WebSocket};

use crate::handle::SessionId;
use crate::stream::{HandshakeProgress, Stream, Tapped, TlsStream};

/// Where the attempt stands.
enum Phase {
    /// Waiting for the driver's connection budget.
    Admission,
    /// Waiting for the resolver.
    Resolving,
    /// TCP connect in flight.
    Connecting(TcpStream),
    /// TLS handshake in flight.
    Tls(Box<TlsStream>),
    /// WebSocket upgrade in flight.
    Upgrading(Box<MidHandshake<ClientHandshake<Tapped>>>),
    /// Open (possibly closing).
    Open(Box<WebSocket<Tapped>>),
    /// The end was reported; the socket, if any, is gone. Waiting for `Release`.
    Ended,
}

/// The TLS side of a `wss://` attempt.
pub(crate) struct TlsTarget {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) name: ServerName<'static>,
}

/// One transport attempt of one session.
pub(crate) struct Conn {
    /// The session that owns it.
    pub(crate) session: SessionId,
    /// The session's name for it.
    pub(crate) id: ConnId,
    /// Unique within the driver, for matching resolver answers.
    pub(crate) serial: u64,
    token: Token,
    phase: Phase,
    request: Option<Request>,
    tls: Option<TlsTarget>,
    websocket: WebSocketConfig,
    addrs: VecDeque<SocketAddr>,
    last_error: Option<io::Error>,
    /// `Input::Opened` was reported: failures are `Failed`, not `ConnectFailed`.
    opened: bool,
    /// The peer's close frame was reported: what follows is the end of the close handshake.
    closed: bool,
    /// The end (`ConnectFailed` or `Failed`) was reported; nothing more will be.
    ended: bool,
    /// Waiting in the driver's list of connections not read while its event queue was full.
    pub(crate) held: bool,
}

impl Conn {
    pub(crate) fn new(
        session: SessionId,
        id: ConnId,
        serial: u64,
        token: Token,
        request: Request,
        tls: Option<TlsTarget>,
        websocket: WebSocketConfig,
    ) -> Self {
        Conn {
            session,
            id,
            serial,
            token,
            phase: Phase::Admission,
            request: Some(request),
            tls,
            websocket,
            addrs: VecDeque::new(),
            last_error: None,
            opened: false,
            closed: false,
            ended: false,
            held: false,
        }
    }

    /// Whether the attempt still waits for the connection budget.
    pub(crate) fn awaits_admission(&self) -> bool {
        matches!(self.phase, Phase::Admission)
    }

    /// Admitted; the name is being resolved.
    pub(crate) fn set_resolving(&mut self) {
        self.phase = Phase::Resolving;
    }

    /// Whether a resolver answer is expected.
    pub(crate) fn awaits_resolution(&self) -> bool {
        matches!(self.phase, Phase::Resolving)
    }

    /// Reports a failure that happened before any socket existed (no token, resolver gone).
    pub(crate) fn fail_early(&mut self, error: TransportError, out: &mut Vec<Input>) {
        self.fail(error, out);
    }

    /// Starts connecting to `addrs` in order (each refusal moves on to the next address).
    pub(crate) fn connect(
        &mut self,
        registry: &Registry,
        addrs: impl IntoIterator<Item = SocketAddr>,
        out: &mut Vec<Input>,
    ) {
        self.addrs = addrs.into_iter().collect();
        if self.addrs.is_empty() {
            self.fail(
                TransportError::new(TransportErrorKind::Dns, "the name has no address"),
                out,
            );
            return;
        }
        self.connect_next(registry, out);
    }

    fn connect_next(&mut self, registry: &Registry, out: &mut Vec<Input>) {
        while let Some(addr) = self.addrs.pop_front() {
            match TcpStream::connect(addr) {
                Ok(mut tcp) => {
                    match registry.register(
                        &mut tcp,
                        self.token,
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        Ok(()) => {
                            self.phase = Phase::Connecting(tcp);
                            return;
                        }
                        Err(e) => self.last_error = Some(e),
                    }
                }
                Err(e) => self.last_error = Some(e),
            }
        }
        let error = self
            .last_error
            .take()
            .unwrap_or_else(|| io::Error::other("no address left to try"));
        self.fail(errors::from_io(&error), out);
    }

    /// Advances on readiness (spurious readiness is harmless). Returns true when the read
    /// budget ran out before the socket said `WouldBlock`: call again before sleeping.
    pub(crate) fn on_ready(
        &mut self,
        registry: &Registry,
        budget: usize,
        out: &mut Vec<Input>,
    ) -> bool {
        let more = match std::mem::replace(&mut self.phase, Phase::Ended) {
            Phase::Connecting(tcp) => self.on_connecting(registry, tcp, budget, out),
            Phase::Tls(tls) => self.on_tls(tls, budget, out),
            Phase::Upgrading(mut mid) => {
                // The request may sit in rustls's buffer after the upgrade machine moved on to
                // reading: push it out first.
                match mid.get_mut().get_mut().flush() {
                    Ok(()) => self.on_upgrade(mid.handshake(), budget, out),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.on_upgrade(mid.handshake(), budget, out)
                    }
                    Err(e) => {
                        self.fail(errors::from_io(&e), out);
                        false
                    }
                }
            }
            Phase::Open(mut ws) => {
                let more = self.flush_and_read(&mut ws, budget, out);
                self.phase = Phase::Open(ws);
                more
            }
            other => {
                self.phase = other;
                false
            }
        };
        if self.ended {
            self.drop_socket(registry);
        }
        more
    }

    fn on_connecting(
        &mut self,
        registry: &Registry,
        tcp: TcpStream,
        budget: usize,
        out: &mut Vec<Input>,
    ) -> bool {
        // `take_error` first: a refused connect shows up there; then `peer_addr` says whether
        // the connect completed (NotConnected: not yet, a spurious wake-up).
        let failure = match tcp.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match tcp.peer_addr() {
                Ok(_) => None,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    self.phase = Phase::Connecting(tcp);
                    return false;
                }
                Err(e) => Some(e),
            },
        };
        if let Some(e) = failure {
            let mut tcp = tcp;
            let _ = registry.deregister(&mut tcp);
            drop(tcp);
            self.last_error = Some(e);
            self.connect_next(registry, out);
            return false;
        }
        // Small frames (acks, heartbeats, orders) must not wait for Nagle.
        let _ = tcp.set_nodelay(true);
        match self.tls.take() {
            Some(target) => match ClientConnection::new(target.config, target.name) {
                Ok(tls) => self.on_tls(Box::new(TlsStream::new(tls, tcp)), budget, out),
                Err(e) => {
                    let error = TransportError::new(errors::tls_kind(&e), e.to_string());
                    self.fail(error, out);
                    false
                }
            },
            None => self.start_upgrade(Stream::Plain(tcp), budget, out),
        }
    }

    fn on_tls(&mut self, mut tls: Box<TlsStream>, budget: usize, out: &mut Vec<Input>) -> bool {
        match tls.drive_handshake() {
            Ok(HandshakeProgress::Done) => self.start_upgrade(Stream::Tls(tls), budget, out),
            Ok(HandshakeProgress::Pending) => {
                self.phase = Phase::Tls(tls);
                false
            }
            Err(e) => {
                self.fail(errors::from_io(&e), out);
                false
            }
        }
    }

    fn start_upgrade(&mut self, stream: Stream, budget: usize, out: &mut Vec<Input>) -> bool {
        let Some(request) = self.request.take() else {
            // Cannot happen: an attempt upgrades once.
            self.fail(
                TransportError::new(TransportErrorKind::Io, "the upgrade request was used"),
                out,
            );
            return false;
        };
        match ClientHandshake::start(Tapped::new(stream), request, Some(self.websocket)) {
            Ok(mid) => self.on_upgrade(mid.handshake(), budget, out),
            Err(e) => {
                self.fail(errors::from_ws(&e), out);
                false
            }
        }
    }

    fn on_upgrade(
        &mut self,
        result: Result<
            (WebSocket<Tapped>, tungstenite::handshake::client::Response),
            HandshakeError<ClientHandshake<Tapped>>,
        >,
        budget: usize,
        out: &mut Vec<Input>,
    ) -> bool {
        match result {
            Ok((ws, _response)) => {
                self.opened = true;
                out.push(Input::Opened { conn: self.id });
                // Bytes that came with the 101 response are already buffered: read them now,
                // since no readiness event will announce them.
                let mut ws = Box::new(ws);
                let more = self.flush_and_read(&mut ws, budget, out);
                self.phase = Phase::Open(ws);
                more
            }
            Err(HandshakeError::Interrupted(mid)) => {
                self.phase = Phase::Upgrading(Box::new(mid));
                false
            }
            Err(HandshakeError::Failure(e)) => {
                self.fail(errors::from_ws(&e), out);
                false
            }
        }
    }

    /// Flushes queued writes (pongs, a close reply, frames that met `WouldBlock`), then reads
    /// until `WouldBlock` or the budget. Reports the end of the connection into `out`.
    fn flush_and_read(
        &mut self,
        ws: &mut WebSocket<Tapped>,
        budget: usize,
        out: &mut Vec<Input>,
    ) -> bool {
        if let Err(e) = flush(ws) {
            if !self.closed {
                self.fail(errors::from_ws(&e), out);
                return false;
            }
        }
        for _ in 0..budget {
            match ws.read() {
                // Only the first close frame counts: the rest of the stream is the handshake's.
                Ok(Message::Close(_)) if self.closed => {}
                Ok(message) => {
                    self.closed |= matches!(message, Message::Close(_));
                    let wire = ws.get_ref().tap.first_close();
                    match message::inbound(self.id, message, wire) {
                        // Only a close frame fails, on an invalid code: tungstenite queued its
                        // 1002 answer; send it before the socket is dropped with the failure.
                        Some(Input::Failed { error, .. }) => {
                            let _ = ws.flush();
                            self.fail(error, out);
                            return false;
                        }
                        Some(input) => out.push(input),
                        None => {}
                    }
                }
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => return false,
                // After the close frame, the end of the stream is the end of the handshake.
                Err(_) if self.closed => return false,
                Err(e) => {
                    self.fail(errors::from_ws(&e), out);
                    return false;
                }
            }
        }
        true
    }

    /// Queues a data frame (`Action::Send`).
    pub(crate) fn send(&mut self, frame: Frame, out: &mut Vec<Input>) {
        self.write(message::data_message(frame), out);
    }

    /// Queues a ping (`Action::Ping`).
    pub(crate) fn ping(&mut self, out: &mut Vec<Input>) {
        self.write(message::ping_message(), out);
    }

    fn write(&mut self, message: Message, out: &mut Vec<Input>) {
        let Phase::Open(ws) = &mut self.phase else {
            // Not open (or already ended): the session will learn of it through the end it
            // was or will be told about; nothing to write on.
            return;
        };
        if self.closed || self.ended {
            return;
        }
        match ws.write(message) {
            Ok(()) => {}
            // Queued in tungstenite's buffer: the next flush sends it. Never write it again.
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e @ WsError::WriteBufferFull(_)) => {
                let error = TransportError::new(
                    TransportErrorKind::Backpressure,
                    format!("{e}: the peer stopped reading"),
                );
                self.fail(error, out);
            }
            Err(e) => self.fail(errors::from_ws(&e), out),
        }
    }

    /// Starts the close handshake (`Action::Close`); the peer's close frame completes it.
    pub(crate) fn close(&mut self, code: u16, reason: &'static str, out: &mut Vec<Input>) {
        let Phase::Open(ws) = &mut self.phase else {
            return;
        };
        match ws.close(Some(message::close_frame(code, reason))) {
            Ok(()) => {}
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
            // The peer's close came first: the handshake is already done.
            Err(_) if self.closed => {}
            Err(e) => self.fail(errors::from_ws(&e), out),
        }
    }

    /// Pushes queued writes to the socket, after a batch of actions.
    pub(crate) fn flush(&mut self, out: &mut Vec<Input>) {
        let Phase::Open(ws) = &mut self.phase else {
            return;
        };
        if let Err(e) = flush(ws) {
            if !self.closed {
                self.fail(errors::from_ws(&e), out);
            }
        }
    }

    /// Reports the end of the attempt, once. The caller drops the socket afterwards
    /// ([`Conn::drop_socket`]): a failed socket is of no further use.
    fn fail(&mut self, error: TransportError, out: &mut Vec<Input>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let conn = self.id;
        out.push(if self.opened {
            Input::Failed { conn, error }
        } else {
            Input::ConnectFailed { conn, error }
        });
    }

    /// Whether the end was reported (the driver then drops the socket after the batch).
    pub(crate) fn has_ended(&self) -> bool {
        self.ended
    }

    /// Deregisters and drops the socket, if there is one.
    pub(crate) fn drop_socket(&mut self, registry: &Registry) {
        let tcp = match &mut self.phase {
            Phase::Connecting(tcp) => Some(tcp),
            Phase::Tls(tls) => Some(tls.tcp_mut()),
            Phase::Upgrading(mid) => Some(mid.get_mut().get_mut().tcp_mut()),
            Phase::Open(ws) => Some(ws.get_mut().tcp_mut()),
            Phase::Admission | Phase::Resolving | Phase::Ended => None,
        };
        if let Some(tcp) = tcp {
            let _ = registry.deregister(tcp);
        }
        // Dropping the phase closes the descriptor.
        self.phase = Phase::Ended;
    }

    /// Deregisters and drops the socket (`Action::Release`). Frames queued in the same batch
    /// (a close frame right before the release, say) get one last non-blocking try first.
    pub(crate) fn release(mut self, registry: &Registry) {
        if let Phase::Open(ws) = &mut self.phase {
            let _ = ws.flush();
        }
        self.drop_socket(registry);
    }
}

/// tungstenite's flush, with `WouldBlock` meaning "queued, more on the next writable".
fn flush(ws: &mut WebSocket<Tapped>) -> Result<(), WsError> {
    match ws.flush() {
        Ok(()) => Ok(()),
        Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err(e) => Err(e),
    }
}
