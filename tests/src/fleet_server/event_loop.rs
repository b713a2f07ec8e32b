//! The fleet server's one thread: a `mio` poll over the listener, a waker for the controls and
//! every connection. It blocks in `poll` with no timeout while idle; the only timer is the end
//! of a restart's downtime.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use super::conn::Conn;
use super::listener;

/// The listener's token.
pub(super) const LISTENER: Token = Token(0);
/// The control waker's token.
pub(super) const WAKER: Token = Token(1);
/// Connection `i` of the table has token `FIRST_CONN + i`.
const FIRST_CONN: usize = 2;
/// How soon a reopen that failed (the port taken meanwhile), or an accept that failed, is tried
/// again.
const REOPEN_RETRY: Duration = Duration::from_millis(100);

/// What the handle asks of the loop. Every command answers on its channel once it is done.
pub(super) enum Command {
    /// Drop every connection and the listener; reopen on the same port after `downtime`.
    Restart {
        /// How long the port refuses connections.
        downtime: Duration,
        /// Told once everything is dropped.
        done: Sender<()>,
    },
    /// Reset every connection (`SO_LINGER` 0, then close: the peer sees an RST); the listener
    /// stays open. Answers how many were reset.
    ResetAll(Sender<usize>),
    /// Answers the counts.
    Counts(Sender<Counts>),
    /// Ends the loop (dropping everything).
    Shutdown,
}

/// What the server holds, as the handle reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Connections whose WebSocket handshake is done and that are still open.
    pub open: usize,
    /// Accepted connections still in the handshake.
    pub handshaking: usize,
    /// Every connection accepted since the server started.
    pub accepted: u64,
    /// Whether the listener is open (false during a restart's downtime).
    pub listening: bool,
}

/// The loop's state.
pub(super) struct EventLoop {
    poll: Poll,
    addr: SocketAddr,
    listener: Option<TcpListener>,
    /// When a restarted listener reopens; `None` while it is open.
    reopen_at: Option<Instant>,
    /// When to try accepting again after an accept error (out of descriptors): the listener is
    /// edge-triggered, so the connections left in the backlog would announce nothing.
    accept_again_at: Option<Instant>,
    /// The connections by token; `free` lists the empty slots.
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    accepted: u64,
    commands: Receiver<Command>,
}

impl EventLoop {
    /// A loop on `poll` (whose waker uses [`WAKER`]) serving `listener`.
    pub(super) fn new(
        poll: Poll,
        mut listener: TcpListener,
        commands: Receiver<Command>,
    ) -> io::Result<EventLoop> {
        let addr = listener.local_addr()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(EventLoop {
            poll,
            addr,
            listener: Some(listener),
            reopen_at: None,
            accept_again_at: None,
            conns: Vec::new(),
            free: Vec::new(),
            accepted: 0,
            commands,
        })
    }

    /// The listening address.
    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until [`Command::Shutdown`] or the handle is gone.
    pub(super) fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = [self.reopen_at, self.accept_again_at]
                .into_iter()
                .flatten()
                .min()
                .map(|at| at.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                eprintln!("fleet server: poll failed: {e}");
                return;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {
                        if !self.obey() {
                            return;
                        }
                    }
                    Token(t) => self.drive(t - FIRST_CONN),
                }
            }
            if self.reopen_at.is_some_and(|at| Instant::now() >= at) {
                self.reopen();
            }
            if self.accept_again_at.is_some_and(|at| Instant::now() >= at) {
                self.accept_again_at = None;
                self.accept_all();
            }
        }
    }

    /// Accepts until `WouldBlock` (the listener is edge-triggered).
    fn accept_all(&mut self) {
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((mut stream, _)) => {
                    self.accepted += 1;
                    let _ = stream.set_nodelay(true);
                    let slot = self.free.pop().unwrap_or_else(|| {
                        self.conns.push(None);
                        self.conns.len() - 1
                    });
                    let token = Token(FIRST_CONN + slot);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, token, interest)
                        .is_err()
                    {
                        self.free.push(slot);
                        continue;
                    }
                    self.put(slot, Conn::accept(stream));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Out of descriptors, typically: the connections stay in the backlog, and the
                // edge-triggered listener will not announce them again, so try again soon.
                Err(e) => {
                    eprintln!("fleet server: accept failed: {e}");
                    self.accept_again_at = Some(Instant::now() + REOPEN_RETRY);
                    return;
                }
            }
        }
    }

    /// Stores the state of slot `slot`, or frees it when the connection ended (dropping the
    /// stream closes the socket, which also removes it from the poll).
    fn put(&mut self, slot: usize, conn: Option<Conn>) {
        if conn.is_none() {
            self.free.push(slot);
        }
        self.conns[slot] = conn;
    }

    fn drive(&mut self, slot: usize) {
        // An event for a slot emptied earlier in the same batch is stale: nothing to do.
        if let Some(conn) = self.conns.get_mut(slot).and_then(Option::take) {
            let next = conn.drive();
            self.put(slot, next);
        }
    }

    /// Runs every queued command; false on shutdown or when the handle is gone.
    fn obey(&mut self) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(Command::Restart { downtime, done }) => {
                    self.drop_all(false);
                    self.listener = None;
                    self.reopen_at = Some(Instant::now() + downtime);
                    let _ = done.send(());
                }
                Ok(Command::ResetAll(done)) => {
                    let _ = done.send(self.drop_all(true));
                }
                Ok(Command::Counts(reply)) => {
                    let _ = reply.send(self.counts());
                }
                Ok(Command::Shutdown) => return false,
                Err(std::sync::mpsc::TryRecvError::Empty) => return true,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return false,
            }
        }
    }

    /// Drops every connection, each with an RST if `reset` (else an ordinary close); returns
    /// how many there were.
    fn drop_all(&mut self, reset: bool) -> usize {
        let mut dropped = 0;
        for (slot, conn) in self.conns.iter_mut().enumerate() {
            if let Some(conn) = conn.take() {
                if reset {
                    let _ = socket2::SockRef::from(conn.stream()).set_linger(Some(Duration::ZERO));
                }
                drop(conn);
                self.free.push(slot);
                dropped += 1;
            }
        }
        dropped
    }

    fn reopen(&mut self) {
        match listener::bind(self.addr) {
            Ok(mut listener) => {
                match self
                    .poll
                    .registry()
                    .register(&mut listener, LISTENER, Interest::READABLE)
                {
                    Ok(()) => {
                        self.listener = Some(listener);
                        self.reopen_at = None;
                        // Connections may have queued between `listen` and `register`.
                        self.accept_all();
                    }
                    Err(_) => self.reopen_at = Some(Instant::now() + REOPEN_RETRY),
                }
            }
            Err(e) => {
                eprintln!("fleet server: reopening {} failed: {e}", self.addr);
                self.reopen_at = Some(Instant::now() + REOPEN_RETRY);
            }
        }
    }

    fn counts(&self) -> Counts {
        let open = self.conns.iter().flatten().filter(|c| c.is_open()).count();
        let held = self.conns.iter().flatten().count();
        Counts {
            open,
            handshaking: held - open,
            accepted: self.accepted,
            listening: self.listener.is_some(),
        }
    }
}
