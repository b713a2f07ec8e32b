//! [`FleetServer`]: an event-driven WebSocket server for fleets of thousands of idle sessions.
//!
//! The kit's [`TestServer`](crate::server::TestServer) runs a thread per connection that wakes
//! every tick to look for faults: at 10,000 connections it ate most of a 2-core machine and
//! its accept backlog of 128 overflowed, so a fleet benchmark measured the server instead of
//! the client. This server is one `mio` thread:
//!
//! - non-blocking tungstenite handshakes (`HandshakeError::Interrupted` resumed on the next
//!   readiness) and one small WebSocket state per connection (4 KiB read buffer);
//! - no periodic wake-up: while nothing happens it blocks in `poll` with no timeout (the one
//!   timer is the end of a restart's downtime), so 10,000 idle connections cost no CPU;
//! - a listener with an accept backlog of [`BACKLOG`] (bound with `socket2`), so a fleet's
//!   cold start queues instead of overflowing;
//! - the JSON-RPC answers a fleet session needs (see the table in `answer.rs`: subscribe and
//!   unsubscribe acknowledged with their channels, `public/test`, `public/auth` always
//!   accepted, other methods refused); pings get pongs and close frames their reply;
//! - the controls of the fleet benchmarks: [`restart`](FleetServer::restart) (every
//!   connection and the listener dropped, the port reopened after a downtime),
//!   [`reset_all`](FleetServer::reset_all) (every connection reset: `SO_LINGER` 0, then
//!   close) and [`counts`](FleetServer::counts).
//!
//! It sends no data and injects no other fault: the fault catalogue stays with `TestServer`.
//! It also has no handshake timeout: it serves well-behaved clients, and a client that
//! connects and never sends its upgrade request keeps its slot until it leaves.
//!
//! ```no_run
//! use std::time::Duration;
//! use reconnect_testkit::fleet_server::FleetServer;
//!
//! let server = FleetServer::start().unwrap();
//! let url = server.url("c0"); // ws://127.0.0.1:PORT/ws?client=c0
//! // ... connect thousands of sessions ...
//! println!("{} open", server.counts().unwrap().open);
//! server.restart(Duration::from_millis(300)).unwrap();
//! // Dropping the server stops its thread and closes every socket.
//! ```

mod answer;
mod conn;
mod event_loop;
mod listener;

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use mio::{Poll, Waker};

pub use event_loop::Counts;
use event_loop::{Command, EventLoop, WAKER};
pub use listener::BACKLOG;

/// How long a control call waits for the loop's answer: only a hung loop reaches it.
const ANSWER_LIMIT: Duration = Duration::from_secs(60);

/// The handle of a running fleet server. Dropping it stops the server's thread and closes the
/// listener and every connection.
#[derive(Debug)]
pub struct FleetServer {
    addr: SocketAddr,
    commands: Sender<Command>,
    waker: Waker,
    thread: Option<JoinHandle<()>>,
}

impl FleetServer {
    /// Starts a server on an ephemeral port of 127.0.0.1.
    ///
    /// # Errors
    /// Fails if the socket, the poll or the thread cannot be created.
    pub fn start() -> io::Result<FleetServer> {
        FleetServer::start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts a server on `addr` (port 0 for an ephemeral one).
    ///
    /// # Errors
    /// Fails if the address cannot be bound, or the poll or the thread cannot be created.
    pub fn start_on(addr: SocketAddr) -> io::Result<FleetServer> {
        let listener = listener::bind(addr)?;
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let (commands, received) = mpsc::channel();
        let event_loop = EventLoop::new(poll, listener, received)?;
        let addr = event_loop.addr();
        let thread = std::thread::Builder::new()
            .name("testkit-fleet-server".into())
            .spawn(move || event_loop.run())?;
        Ok(FleetServer {
            addr,
            commands,
            waker,
            thread: Some(thread),
        })
    }

    /// The listening address (the same across restarts).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/ws?client=NAME`.
    pub fn url(&self, client: &str) -> String {
        format!("ws://{}/ws?client={client}", self.addr)
    }

    /// Drops every connection (an ordinary close: the clients read the end of the stream) and
    /// the listener, so that connection attempts are refused; reopens the same port after
    /// `downtime`. Returns once everything is dropped.
    ///
    /// # Errors
    /// Fails if the server's thread is gone or does not answer.
    pub fn restart(&self, downtime: Duration) -> io::Result<()> {
        let (done, answer) = mpsc::channel();
        self.ask(Command::Restart { downtime, done }, answer)
    }

    /// Resets every connection (`SO_LINGER` 0, then close: the clients see a connection
    /// reset); the listener stays open. Returns how many were reset.
    ///
    /// # Errors
    /// Fails if the server's thread is gone or does not answer.
    pub fn reset_all(&self) -> io::Result<usize> {
        let (done, answer) = mpsc::channel();
        self.ask(Command::ResetAll(done), answer)
    }

    /// What the server holds now.
    ///
    /// # Errors
    /// Fails if the server's thread is gone or does not answer.
    pub fn counts(&self) -> io::Result<Counts> {
        let (reply, answer) = mpsc::channel();
        self.ask(Command::Counts(reply), answer)
    }

    fn ask<T>(&self, command: Command, answer: mpsc::Receiver<T>) -> io::Result<T> {
        let gone = || io::Error::other("the fleet server's thread is gone");
        self.commands.send(command).map_err(|_| gone())?;
        self.waker.wake()?;
        answer.recv_timeout(ANSWER_LIMIT).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the fleet server did not answer in {ANSWER_LIMIT:?}"),
            ),
            mpsc::RecvTimeoutError::Disconnected => gone(),
        })
    }
}

impl Drop for FleetServer {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        let _ = self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
