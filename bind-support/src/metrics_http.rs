//! The feed tools' and the demo's metrics endpoint: the Prometheus text format at
//! `http://ADDR/metrics`, rendered by `metrics-exporter-prometheus`'s recorder (without its
//! tokio-based listener) and served by threads of the tool's own over std's `TcpListener`.
//!
//! The server is small and bounded in time, threads and memory:
//!
//! - One request per connection (`Connection: close`): a request head of at most
//!   [`MAX_REQUEST`] bytes, its blank line included; what follows it (a body) is ignored.
//! - [`IO_TIMEOUT`] bounds the whole connection, from its accept to the last byte of the
//!   answer: not each read or write, so a client that trickles its request a byte at a time, or
//!   reads the answer as slowly, is cut off all the same. A connection past its time is closed
//!   without an answer (no time is left to write one), and so is one whose read fails.
//! - [`WORKERS`] threads answer connections concurrently; an accept thread of its own hands
//!   them over through a queue, and a worker takes the newest waiting connection first. When a
//!   connection arrives while every worker holds one and none is on its way back to the queue,
//!   the connection held the longest is closed (shut down under its worker's read or write),
//!   which frees that worker; when more than [`MAX_QUEUED`] connections wait, the oldest
//!   waiting one is closed. Why: an idle or slow client is cheap to open and would hold a
//!   worker for up to the timeout, and a queue in arrival order would put a scrape behind every
//!   one of them. This way hundreds of idle connections cost the server at most 2 ×
//!   [`WORKERS`] + [`MAX_QUEUED`] descriptors (the accept thread keeps a second handle to each
//!   held connection), and the scrape that comes after them is answered at once.
//!   Why closed rather than answered `503`: such a connection has sent no complete request yet,
//!   or is not reading its answer, or was never read; writing to it could block the thread that
//!   decides, and closing a socket whose request was not read resets it, which can discard the
//!   answer at the client anyway. A scraper sees a failed scrape either way, and scrapes again
//!   at its next interval.
//! - `GET /metrics` (a query string is ignored) answers 200 with
//!   `Content-Type: text/plain; version=0.0.4`; any other method on `/metrics` (`HEAD` and
//!   `POST` too) 405 with `Allow: GET`; any other path 404; a request line that is not
//!   `METHOD TARGET HTTP/1.x`, a head longer than [`MAX_REQUEST`] or not UTF-8, or a client
//!   that ends its side before the blank line 400. Bad input ends that connection, never the
//!   server.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The longest request head read; a longer one is answered 400.
pub const MAX_REQUEST: usize = 8 * 1024;

/// How long one connection may take, from its accept to the last byte of its answer; a
/// connection still unanswered then is closed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The threads that answer connections, each one connection at a time.
pub const WORKERS: usize = 4;

/// The most accepted connections that wait for a worker; beyond, the oldest is closed.
pub const MAX_QUEUED: usize = 8;

/// Upper bounds of `reconnect_time_to_resubscribe_seconds`' buckets: from 10 ms to 10 minutes.
const RESUBSCRIBE_BUCKETS: [f64; 14] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 600.0,
];

/// Installs the Prometheus recorder as the process's global `metrics` recorder (the
/// resubscribe-time histogram as a real histogram with buckets), to render with
/// [`serve`]. The caller must install it before it adds a session, whose metrics'
/// handles are taken from the recorder installed then.
///
/// # Errors
/// Fails when a global recorder is installed already.
pub fn install() -> Result<PrometheusHandle, String> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("reconnect_time_to_resubscribe_seconds".into()),
            &RESUBSCRIBE_BUCKETS,
        )
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))
}

/// Listens on `addr` and serves `handle`'s metrics from threads of its own (an accept thread
/// and [`WORKERS`] workers), for the rest of the process. Returns the address listened on (its
/// port is the system's choice when `addr` has port 0).
///
/// # Errors
/// Fails when `addr` cannot be listened on or the threads cannot be started.
pub fn serve(addr: SocketAddr, handle: PrometheusHandle) -> io::Result<SocketAddr> {
    let render = move || {
        // Upkeep drains the histograms' buckets; the recorder runs none by itself.
        handle.run_upkeep();
        handle.render()
    };
    // The server is never stopped: dropping it leaves its threads running.
    Ok(Server::start(addr, IO_TIMEOUT, Arc::new(render))?.addr)
}

/// [`install`], then [`serve`] on `addr`: what `--metrics ADDR` does. Returns the URL of the
/// metrics.
///
/// # Errors
/// The message for the user when either fails.
pub fn start(addr: SocketAddr) -> Result<String, String> {
    let handle = install()?;
    let local =
        serve(addr, handle).map_err(|e| format!("--metrics: cannot listen on {addr}: {e}"))?;
    Ok(format!("http://{local}/metrics"))
}

/// What makes the page: the Prometheus handle, or a test's stand-in.
type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// A running server: the accept thread and the workers (see the module's documentation).
struct Server {
    addr: SocketAddr,
    // What stops the server; only a test does: the tools' server runs as long as the process.
    #[cfg_attr(not(test), allow(dead_code))]
    shared: Arc<Shared>,
    #[cfg_attr(not(test), allow(dead_code))]
    threads: Vec<JoinHandle<()>>,
}

/// What the accept thread and the workers share.
struct Shared {
    state: Mutex<State>,
    /// Signalled when a connection is queued and when the server stops.
    queued: Condvar,
    /// Each connection's time from its accept to the end of its answer.
    timeout: Duration,
    render: Render,
}

struct State {
    /// Accepted connections no worker has taken yet, oldest first, with their deadlines.
    waiting: VecDeque<(TcpStream, Instant)>,
    /// The connections the workers hold, oldest first.
    held: Vec<Held>,
    /// Workers waiting for a connection.
    idle: usize,
    next_id: u64,
    stopping: bool,
}

/// A connection a worker answers, as the accept thread sees it: a second handle to the socket,
/// to close it under the worker.
struct Held {
    id: u64,
    socket: TcpStream,
    closed: bool,
}

impl Held {
    /// Closes the connection under its worker: the worker's blocked read or write returns at
    /// once, and it comes back for the next connection.
    fn close(&mut self) {
        self.closed = true;
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}

impl Server {
    fn start(addr: SocketAddr, timeout: Duration, render: Render) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                waiting: VecDeque::new(),
                held: Vec::new(),
                idle: 0,
                next_id: 0,
                stopping: false,
            }),
            queued: Condvar::new(),
            timeout,
            render,
        });
        let mut threads = Vec::with_capacity(WORKERS + 1);
        for i in 0..WORKERS {
            let worker = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("metrics-http-{i}"))
                .spawn(move || worker.work());
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    // The workers started already would wait for connections forever.
                    shared.stop();
                    return Err(e);
                }
            }
        }
        let acceptor = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("metrics-http".into())
            .spawn(move || acceptor.accept_all(&listener));
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(e) => {
                shared.stop();
                return Err(e);
            }
        }
        Ok(Server {
            addr,
            shared,
            threads,
        })
    }

    /// Stops the server: closes every connection, ends and joins its threads.
    #[cfg(test)]
    fn stop(self) {
        self.shared.stop();
        // Wakes the accept thread, which then sees the server stopping.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(10));
        for thread in self.threads {
            thread.join().expect("no server thread panics");
        }
    }
}

/// The state, whether or not a thread panicked while it held the lock: no code that holds it
/// can leave it inconsistent.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The accept thread: hands every connection to the workers until the server stops.
    fn accept_all(&self, listener: &TcpListener) {
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => {
                    if !self.admit(stream) {
                        return;
                    }
                }
                // A client gone before it was accepted concerns that client alone.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // No descriptor or memory left for a moment: the pending connection stays in
                // the backlog and every retry fails at once, so a pause keeps this thread from
                // spinning until something is freed.
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Queues `stream` for a worker, closing what must go to make room (see the module's
    /// documentation). False once the server stops.
    fn admit(&self, stream: TcpStream) -> bool {
        let deadline = Instant::now() + self.timeout;
        let mut state = lock(&self.state);
        if state.stopping {
            return false;
        }
        state.waiting.push_back((stream, deadline));
        // The workers that will take a waiting connection soon: the idle ones, and those whose
        // connection was closed under them.
        let coming = state.idle + state.held.iter().filter(|h| h.closed).count();
        if state.waiting.len() > coming {
            if let Some(oldest) = state.held.iter_mut().find(|h| !h.closed) {
                oldest.close();
            }
        }
        if state.waiting.len() > MAX_QUEUED {
            // Dropped, it is closed.
            state.waiting.pop_front();
        }
        drop(state);
        self.queued.notify_one();
        true
    }

    /// A worker: answers connections until the server stops.
    fn work(&self) {
        while let Some((stream, deadline, id)) = self.next() {
            // A panic while rendering ends this connection, not the worker: the pool would
            // otherwise shrink with every such request.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
                answer_until(&stream, deadline, || (self.render)())
            }));
            drop(stream);
            lock(&self.state).held.retain(|h| h.id != id);
        }
    }

    /// The newest waiting connection, registered as held, or `None` once the server stops.
    fn next(&self) -> Option<(TcpStream, Instant, u64)> {
        let mut state = lock(&self.state);
        loop {
            if state.stopping {
                return None;
            }
            // The newest first: under a flood of idle connections the newest is the one least
            // likely to be stale, and it is the scrape that arrives after the flood.
            if let Some((stream, deadline)) = state.waiting.pop_back() {
                // Without a second handle the accept thread could not close it when it must:
                // dropped instead (this fails only when descriptors run out).
                let Ok(socket) = stream.try_clone() else {
                    continue;
                };
                let id = state.next_id;
                state.next_id += 1;
                state.held.push(Held {
                    id,
                    socket,
                    closed: false,
                });
                return Some((stream, deadline, id));
            }
            state.idle += 1;
            state = self
                .queued
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.idle -= 1;
        }
    }

    /// Marks the server stopping, closes every connection, and wakes the workers to end.
    fn stop(&self) {
        let mut state = lock(&self.state);
        state.stopping = true;
        state.waiting.clear();
        for held in &mut state.held {
            held.close();
        }
        drop(state);
        self.queued.notify_all();
    }
}

/// The socket with each read and write given only the time left until `deadline`: the
/// deadline bounds the whole exchange, however the client spreads it.
struct Deadlined<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl Deadlined<'_> {
    fn time_left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::ErrorKind::TimedOut.into())
        } else {
            Ok(left)
        }
    }
}

impl Read for Deadlined<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.time_left()?))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}

impl Write for Deadlined<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.time_left()?))?;
        let mut stream = self.stream;
        stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Answers the request on `stream` by `deadline`, then ends the connection.
fn answer_until(
    stream: &TcpStream,
    deadline: Instant,
    render: impl FnOnce() -> String,
) -> io::Result<()> {
    let result = answer(&mut Deadlined { stream, deadline }, render);
    let _ = stream.shutdown(Shutdown::Write);
    result
}

/// Reads one request head from `client` and writes the answer: the body `render` makes for
/// `GET /metrics`, 405 for another method on `/metrics`, 404 for another path, 400 for a
/// request that is not one. When reading fails (the client reset, or a read timed out) nothing
/// is written and the error is returned.
///
/// # Errors
/// Reading the request or writing the answer failed.
pub fn answer<S: Read + Write>(client: &mut S, render: impl FnOnce() -> String) -> io::Result<()> {
    let bad = || ("400 Bad Request", "", "bad request\n".to_owned());
    let (status, extra, body) = match read_head(client)? {
        Some(head) => match request_target(&head) {
            Some(("GET", "/metrics")) => ("200 OK", "", render()),
            Some((_, "/metrics")) => (
                "405 Method Not Allowed",
                "Allow: GET\r\n",
                "method not allowed; /metrics answers GET\n".to_owned(),
            ),
            Some(_) => (
                "404 Not Found",
                "",
                "not found; metrics are at /metrics\n".to_owned(),
            ),
            None => bad(),
        },
        None => bad(),
    };
    let content_type = if status.starts_with("200") {
        "text/plain; version=0.0.4"
    } else {
        "text/plain; charset=utf-8"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         {extra}Connection: close\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes())?;
    client.write_all(body.as_bytes())?;
    client.flush()
}

/// The request head (up to its blank line), `None` when the client ended its side before the
/// end of the head, or the head with its blank line is longer than [`MAX_REQUEST`] or not
/// UTF-8, or the error of a read that failed (a timeout among them).
fn read_head<R: Read>(client: &mut R) -> io::Result<Option<String>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    // Reads at most one byte past the bound: enough to tell a head that is too long.
    while head.len() <= MAX_REQUEST {
        let room = (MAX_REQUEST + 1 - head.len()).min(buf.len());
        let n = match client.read(&mut buf[..room]) {
            Ok(0) => return Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        // The blank line may straddle two reads.
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&buf[..n]);
        if let Some(at) = head[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            let end = from + at;
            if end + 4 > MAX_REQUEST {
                return Ok(None);
            }
            head.truncate(end);
            return Ok(String::from_utf8(head).ok());
        }
    }
    Ok(None)
}

/// The method and the path (without a query string) of an HTTP/1.x request head.
fn request_target(head: &str) -> Option<(&str, &str)> {
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    // A method is an HTTP token: what is not one is not a request, rather than a method this
    // server does not allow.
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if parts.next().is_some()
        || !version.starts_with("HTTP/1.")
        || method.is_empty()
        || !method.bytes().all(token)
    {
        return None;
    }
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    Some((method, path))
}

#[cfg(test)]
mod tests;
