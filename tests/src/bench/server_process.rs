//! The kit's [`FleetServer`] in a child process, for benchmarks of whole fleets of sessions.
//!
//! In the benchmark's own process the server's memory, CPU and descriptors would land in what
//! is being measured, and both ends would share one descriptor limit. So the benchmark binary
//! re-executes itself with [`SERVER_FLAG`]; its `main` sees the flag and calls
//! [`run_server_child`], which serves until its stdin ends. The parent drives it with
//! [`ServerProcess`], and can read the child's CPU time ([`ServerProcess::cpu_time`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use reconnect_testkit::bench::{run_server_child, ServerProcess, SERVER_FLAG};
//!
//! fn main() {
//!     if std::env::args().any(|a| a == SERVER_FLAG) {
//!         return run_server_child();
//!     }
//!     let mut server = ServerProcess::start().unwrap();
//!     let url = server.url("c0"); // ws://127.0.0.1:PORT/ws?client=c0
//!     // ... connect sessions ...
//!     println!("server holds {}", server.open_connections().unwrap());
//!     server.restart(Duration::from_millis(300)).unwrap();
//!     // Dropping `server` kills and reaps the child.
//! }
//! ```
//!
//! # The line protocol
//!
//! The child prints its listening address (`127.0.0.1:PORT`) as its first line, then reads
//! commands, one a line, from stdin:
//!
//! | line | what the child does |
//! |---|---|
//! | `restart MS` | [`restart`](FleetServer::restart) with `MS` milliseconds of downtime; prints nothing |
//! | `reset` | [`reset_all`](FleetServer::reset_all); prints how many connections were reset |
//! | `open` | prints the number of open WebSocket connections ([`Counts::open`](crate::fleet_server::Counts::open)) |
//! | `accepted` | prints the number of connections accepted since the start ([`Counts::accepted`](crate::fleet_server::Counts::accepted)) |
//! | anything else, or the end of stdin | stops the server and returns |
//!
//! Because the end of stdin stops it, a child whose parent died (even by `SIGKILL`) exits too.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::fleet_server::FleetServer;

use super::cpu::process_cpu_time;

/// The command-line flag that makes a benchmark binary run [`run_server_child`].
pub const SERVER_FLAG: &str = "--fleet-server";

/// How long the parent waits for a line from the child. Generous: it only fires when the child
/// hangs, not when a server with 10,000 connection threads on a busy machine is slow.
const REPLY_LIMIT: Duration = Duration::from_secs(120);

/// The server side, in the child process: raises the descriptor limit as far as allowed,
/// serves, prints the address, obeys stdin (see the [module docs](self)) and returns when stdin
/// ends.
///
/// # Panics
/// Panics if the server cannot start or stdout is gone; the parent sees the pipe close.
pub fn run_server_child() {
    // One descriptor per connection, in this process only.
    let _ = rlimit::increase_nofile_limit(1 << 20);
    let server = FleetServer::start().expect("the server starts");
    let mut stdout = io::stdout();
    writeln!(stdout, "{}", server.addr()).expect("the parent reads stdout");
    stdout.flush().expect("the parent reads stdout");
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.split_whitespace();
        let answer = match (words.next(), words.next().map(str::parse::<u64>)) {
            (Some("restart"), Some(Ok(ms))) => {
                server
                    .restart(Duration::from_millis(ms))
                    .expect("the server restarts");
                continue;
            }
            (Some("reset"), None) => server.reset_all().expect("the server resets") as u64,
            (Some("open"), None) => server.counts().expect("the server counts").open as u64,
            (Some("accepted"), None) => server.counts().expect("the server counts").accepted,
            _ => break,
        };
        writeln!(stdout, "{answer}").expect("the parent reads stdout");
        stdout.flush().expect("the parent reads stdout");
    }
}

/// The server child process, seen from the benchmark. Dropping it kills and reaps the child
/// (and joins the thread reading its stdout) on every path, panics included.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    stdin: ChildStdin,
    /// The child's stdout, line by line, from a reader thread: a pipe read cannot time out.
    lines: mpsc::Receiver<io::Result<String>>,
    reader: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Spawns this same executable with [`SERVER_FLAG`] (its `main` must call
    /// [`run_server_child`] when it sees the flag) and waits for the child's address.
    ///
    /// # Errors
    /// Fails if the child cannot be spawned, or exits or hangs before printing an address; the
    /// child is killed and reaped in every error case.
    pub fn start() -> io::Result<ServerProcess> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(SERVER_FLAG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        let reader = std::thread::Builder::new()
            .name("testkit-server-process".into())
            .spawn(move || {
                // Ends when the child's stdout closes (it exited or was killed).
                for line in BufReader::new(stdout).lines() {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        let reader = match reader {
            Ok(reader) => reader,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        // From here on, `Drop` cleans up whatever goes wrong.
        let mut process = ServerProcess {
            child,
            stdin,
            lines,
            reader: Some(reader),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let first = process.read_line()?;
        process.addr = first.trim().parse().map_err(|_| {
            io::Error::other(format!(
                "the server process printed {first:?}, not an address"
            ))
        })?;
        Ok(process)
    }

    /// The server's listening address (it stays the same across restarts).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/ws?client=NAME`.
    pub fn url(&self, client: &str) -> String {
        format!("ws://{}/ws?client={client}", self.addr)
    }

    /// Sends one raw command line (see the [module docs](self)).
    ///
    /// # Errors
    /// Fails if the child is gone.
    pub fn command(&mut self, line: &str) -> io::Result<()> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()
    }

    /// Drops every connection; the listener reopens on the same port after `downtime`.
    /// Returns once the command is sent, not when the restart has happened.
    ///
    /// # Errors
    /// Fails if the child is gone.
    pub fn restart(&mut self, downtime: Duration) -> io::Result<()> {
        self.command(&format!("restart {}", downtime.as_millis()))
    }

    /// The number of WebSocket connections the server holds open now.
    ///
    /// # Errors
    /// Fails if the child is gone, hangs, or answers something else than a number.
    pub fn open_connections(&mut self) -> io::Result<usize> {
        self.ask("open").map(|n| n as usize)
    }

    /// The number of connections the server accepted since it started.
    ///
    /// # Errors
    /// Fails if the child is gone, hangs, or answers something else than a number.
    pub fn accepted(&mut self) -> io::Result<u64> {
        self.ask("accepted")
    }

    /// Resets every connection (the clients see an RST); returns how many there were.
    ///
    /// # Errors
    /// Fails if the child is gone, hangs, or answers something else than a number.
    pub fn reset_all(&mut self) -> io::Result<usize> {
        self.ask("reset").map(|n| n as usize)
    }

    /// The CPU time (user + system) the child has used so far, from `/proc/PID/stat`.
    ///
    /// # Errors
    /// Fails where `/proc` does not have it (not Linux, or the child is gone).
    pub fn cpu_time(&self) -> io::Result<Duration> {
        process_cpu_time(self.pid())
    }

    fn ask(&mut self, command: &str) -> io::Result<u64> {
        self.command(command)?;
        let line = self.read_line()?;
        line.trim().parse().map_err(|_| {
            io::Error::other(format!("the server process printed {line:?}, not a count"))
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn read_line(&mut self) -> io::Result<String> {
        match self.lines.recv_timeout(REPLY_LIMIT) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the server process said nothing for {REPLY_LIMIT:?}"),
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server process closed its stdout",
            )),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The child is gone, so its stdout is closed and the reader thread ends.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
