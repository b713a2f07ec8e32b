//! A flood server: one client gets `count` text frames of `size` bytes as fast as the kernel
//! takes them, so that the client side is the bottleneck a throughput benchmark compares.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::server::stream::{is_timeout, raw_text_frame};

/// Bytes handed to one `write` by the flood server: large enough that the server costs little
/// more than a syscall per chunk.
pub const CHUNK: usize = 256 << 10;

/// How often the server thread looks at the stop flag while it waits (for the client to
/// connect, to take more bytes, or to hang up).
const STOP_POLL: Duration = Duration::from_millis(20);

/// How long a connected client may take to send its upgrade request.
const UPGRADE_LIMIT: Duration = Duration::from_secs(10);

/// One flood: `count` text frames of `size` payload bytes to the first client that connects to
/// [`url`](Flood::url) and completes the WebSocket upgrade.
///
/// The server thread does the upgrade with tungstenite, then writes pre-encoded, unmasked
/// frames from one buffer, [`CHUNK`] bytes per `write`, and holds the connection until the
/// client hangs up, so the close never races the data. Meanwhile a second thread counts what the
/// client sends ([`received_bytes`](Flood::received_bytes)), so a test can tell whether a
/// client's writes get out while it is busy reading. Dropping the `Flood` stops both threads
/// (even if no client ever came or the client stopped reading) and joins them.
///
/// ```no_run
/// use reconnect_testkit::bench::Flood;
///
/// let flood = Flood::start(64, 1_000_000).unwrap();
/// let url = flood.url(); // ws://127.0.0.1:PORT/flood
/// // ... connect a client to `url` and read 1,000,000 messages of 64 bytes ...
/// ```
#[derive(Debug)]
pub struct Flood {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    received: Arc<AtomicUsize>,
    server: Option<JoinHandle<()>>,
}

impl Flood {
    /// Binds `127.0.0.1:0` and starts the server thread.
    ///
    /// # Errors
    /// Fails if the listener cannot be bound or the thread cannot be spawned.
    pub fn start(size: usize, count: usize) -> io::Result<Flood> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        // Non-blocking accept, so a flood nobody connects to can still be stopped.
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicUsize::new(0));
        let server = {
            let (stop, received) = (stop.clone(), received.clone());
            std::thread::Builder::new()
                .name("testkit-flood".into())
                .spawn(move || {
                    // A client that fails or leaves early ends the flood; nothing to report.
                    let _ = serve(&listener, size, count, &stop, &received);
                })?
        };
        Ok(Flood {
            addr,
            stop,
            received,
            server: Some(server),
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/flood`.
    pub fn url(&self) -> String {
        format!("ws://{}/flood", self.addr)
    }

    /// Bytes the client has sent since the upgrade (its frames as they came, masked).
    pub fn received_bytes(&self) -> usize {
        self.received.load(Ordering::Relaxed)
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

fn stopped(stop: &AtomicBool) -> io::Error {
    debug_assert!(stop.load(Ordering::Relaxed));
    io::Error::new(ErrorKind::Interrupted, "the flood was dropped")
}

fn serve(
    listener: &TcpListener,
    size: usize,
    count: usize,
    stop: &AtomicBool,
    received: &AtomicUsize,
) -> io::Result<()> {
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if stop.load(Ordering::Relaxed) {
                    return Err(stopped(stop));
                }
                std::thread::sleep(STOP_POLL);
            }
            Err(e) => return Err(e),
        }
    };
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(UPGRADE_LIMIT))?;
    let mut ws = tungstenite::accept(stream).map_err(|e| io::Error::other(e.to_string()))?;
    let stream = ws.get_mut();
    // From here on, blocking calls wake up now and then to look at the stop flag. The timeouts
    // cost nothing while the socket makes progress.
    stream.set_read_timeout(Some(STOP_POLL))?;
    stream.set_write_timeout(Some(STOP_POLL))?;

    let mut reader = stream.try_clone()?;
    std::thread::scope(|scope| {
        // Counts what the client sends until it hangs up, which is also what holds the
        // connection open once everything is written.
        let counting = scope.spawn(move || count_until_eof(&mut reader, stop, received));
        let written = write_frames(stream, size, count, stop);
        let counted = counting.join().unwrap_or(Ok(()));
        written.and(counted)
    })
}

fn write_frames(
    stream: &mut TcpStream,
    size: usize,
    count: usize,
    stop: &AtomicBool,
) -> io::Result<()> {
    let frame = encoded_text_frame(size);
    let per_chunk = (CHUNK / frame.len()).max(1);
    let chunk = frame.repeat(per_chunk);
    let mut left = count;
    while left >= per_chunk {
        write_all(stream, &chunk, stop)?;
        left -= per_chunk;
    }
    write_all(stream, &frame.repeat(left), stop)?;
    stream.flush()
}

fn count_until_eof(
    stream: &mut TcpStream,
    stop: &AtomicBool,
    received: &AtomicUsize,
) -> io::Result<()> {
    let mut scratch = [0u8; 4096];
    loop {
        match stream.read(&mut scratch) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                received.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) if is_timeout(&e) => {
                if stop.load(Ordering::Relaxed) {
                    return Err(stopped(stop));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// `write_all` that survives the socket's write timeout (a client slower than [`STOP_POLL`])
/// and gives up only when the flood is dropped or the client is gone. (The server's
/// `write_fully` gives up at a deadline instead, which would cut off a slow client here.)
fn write_all(stream: &mut TcpStream, mut bytes: &[u8], stop: &AtomicBool) -> io::Result<()> {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if is_timeout(&e) => {
                if stop.load(Ordering::Relaxed) {
                    return Err(stopped(stop));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// An unmasked server-to-client text frame (FIN set) of `size` payload bytes, all `x`, as it
/// goes on the wire.
pub fn encoded_text_frame(size: usize) -> Vec<u8> {
    raw_text_frame(&vec![b'x'; size])
}

#[cfg(test)]
mod tests {
    // The tests on sockets are in `tests/tests/flood.rs`: the descriptor-counting unit test
    // of this crate must not see other tests' sockets.
    use super::*;

    #[test]
    fn a_frame_is_a_header_and_that_many_xs() {
        // The length encodings themselves are tested with the server's encoder.
        assert_eq!(encoded_text_frame(3), b"\x81\x03xxx");
        let frame = encoded_text_frame(300);
        assert_eq!(frame.len(), 4 + 300);
        assert!(frame[4..].iter().all(|b| *b == b'x'));
    }
}
