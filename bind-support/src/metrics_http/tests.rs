//! The endpoint's answers, read back by a parser of the tests' own, and the server on real
//! sockets (127.0.0.1) against slow, idle and trickling clients. Each test gives its server a
//! timeout of its own, so that a failure names the bound at fault.

use std::sync::mpsc;
use std::thread;

use super::*;

/// How long a test's client waits for something that happens at once unless the server hangs.
const HANG: Duration = Duration::from_secs(10);

/// The pause between a trickling client's bytes: shorter than any test's whole-request timeout,
/// so only a bound on the whole request cuts such a client off.
const PACE: Duration = Duration::from_millis(200);

/// A client: `request` to read, a few bytes at a time (so that the blank line straddles
/// reads), the answer written.
struct Client {
    request: io::Cursor<Vec<u8>>,
    answer: Vec<u8>,
}

impl Read for Client {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(7);
        self.request.read(&mut buf[..len])
    }
}

impl Write for Client {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.answer.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn ask(request: &[u8]) -> Vec<u8> {
    let mut client = Client {
        request: io::Cursor::new(request.to_vec()),
        answer: Vec::new(),
    };
    answer(&mut client, || "m 1\n".to_owned()).unwrap();
    client.answer
}

/// An HTTP/1.1 answer as this test reads it, independently of the server's code: the status
/// code, the header fields (names in lower case) and the body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(raw)));
        let head = std::str::from_utf8(&raw[..end]).expect("an ASCII head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line:?}");
        let status = parts
            .next()
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status code in {status_line:?}"));
        let headers = lines
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("not a header field: {line:?}"));
                (name.to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        Reply {
            status,
            headers,
            body: raw[end + 4..].to_vec(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        let value = values.next().map(|(_, v)| v.as_str());
        assert!(values.next().is_none(), "{name} twice");
        value
    }
}

/// A server on 127.0.0.1 whose page is `m 1`, each connection bounded by `timeout`.
fn server(timeout: Duration) -> Server {
    let render: Render = Arc::new(|| "m 1\n".to_owned());
    Server::start(([127, 0, 0, 1], 0).into(), timeout, render).unwrap()
}

/// Sends `request` on a new connection to `addr` and reads the answer to its end.
fn fetch(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect_timeout(&addr, HANG).unwrap();
    stream.set_read_timeout(Some(HANG)).unwrap();
    stream.set_write_timeout(Some(HANG)).unwrap();
    stream.write_all(request).unwrap();
    let mut raw = Vec::new();
    // The server closes the connection after its answer.
    stream
        .read_to_end(&mut raw)
        .expect("a whole answer in time");
    Reply::parse(&raw)
}

const SCRAPE: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// A client that sends the start of a request head, then one byte every [`PACE`], never ending
/// the head, until the server ends the connection, the test stops it, or [`HANG`] passes.
struct Trickler {
    stop: mpsc::Sender<()>,
    /// A message after each byte sent.
    sent: mpsc::Receiver<()>,
    thread: thread::JoinHandle<Trickled>,
}

/// What became of a trickling client.
struct Trickled {
    /// When the server ended the connection, from the end of the client's connect.
    cut_after: Option<Duration>,
    /// The bytes sent after the first write.
    bytes: usize,
}

impl Trickler {
    fn start(addr: SocketAddr) -> Trickler {
        let mut stream = TcpStream::connect_timeout(&addr, HANG).unwrap();
        let connected = Instant::now();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
            .unwrap();
        // Each read waits one pace for the server to end the connection: it paces the bytes
        // and notices the end as it comes.
        stream.set_read_timeout(Some(PACE)).unwrap();
        let (stop, stopped) = mpsc::channel();
        let (sent_tx, sent) = mpsc::channel();
        let thread = thread::spawn(move || {
            let mut bytes = 0;
            // Until a stop message: a test that dropped the sender waits for the server.
            while connected.elapsed() < HANG && stopped.try_recv().is_err() {
                let ended = match stream.read(&mut [0u8; 256]) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => false,
                    // Data (no answer is due), the end, or a reset.
                    Ok(_) | Err(_) => true,
                };
                if ended || stream.write_all(b"a").is_err() {
                    return Trickled {
                        cut_after: Some(connected.elapsed()),
                        bytes,
                    };
                }
                bytes += 1;
                let _ = sent_tx.send(());
            }
            Trickled {
                cut_after: None,
                bytes,
            }
        });
        Trickler { stop, sent, thread }
    }

    /// Waits until the client has sent `n` more bytes (the server has not cut it off).
    fn wait_bytes(&self, n: usize) {
        for _ in 0..n {
            self.sent
                .recv_timeout(HANG)
                .expect("the trickler goes on sending");
        }
    }

    /// Stops the client (if the server has not) and tells what became of it.
    fn finish(self) -> Trickled {
        let _ = self.stop.send(());
        self.thread.join().unwrap()
    }
}

#[test]
fn get_metrics_is_the_rendered_text_with_the_prometheus_content_type() {
    let answer = ask(b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        String::from_utf8(answer).unwrap(),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
         Content-Length: 4\r\nConnection: close\r\n\r\nm 1\n"
    );
}

#[test]
fn other_methods_are_405_with_allow_get_other_paths_404_and_garbage_400() {
    for method in ["HEAD", "POST", "PUT", "get"] {
        let reply = Reply::parse(&ask(
            format!("{method} /metrics HTTP/1.1\r\n\r\n").as_bytes()
        ));
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(reply.header("allow"), Some("GET"), "{method}");
    }
    for request in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"POST /metricsx HTTP/1.1\r\n\r\n",
    ] {
        let reply = Reply::parse(&ask(request));
        assert_eq!(reply.status, 404);
        assert_eq!(reply.header("allow"), None);
    }
    // The longest head taken, and one byte more.
    let longest = |len: usize| {
        let mut head = b"GET /metrics HTTP/1.1\r\nX-Pad: ".to_vec();
        head.resize(len - 4, b'a');
        head.extend_from_slice(b"\r\n\r\n");
        head
    };
    assert_eq!(Reply::parse(&ask(&longest(MAX_REQUEST))).status, 200);
    let too_long = longest(MAX_REQUEST + 1);
    let endless = vec![b'a'; MAX_REQUEST * 4];
    for request in [
        &b"GET /metrics\r\n\r\n"[..],
        b"GET /metrics SPDY/3\r\n\r\n",
        b"\xff\xfe /metrics HTTP/1.1\r\n\r\n",
        b"G(T /metrics HTTP/1.1\r\n\r\n",
        // The client stopped before the end of its head.
        b"GET /metrics HTTP/1.1\r\n",
        &too_long,
        // A head longer than the bound, never ended.
        &endless,
    ] {
        let reply = Reply::parse(&ask(request));
        assert_eq!(reply.status, 400, "{:?}", String::from_utf8_lossy(request));
    }
}

#[test]
fn head_and_post_on_metrics_are_405_with_allow_get_over_a_socket() {
    let server = server(Duration::from_millis(4300));
    for method in ["HEAD", "POST"] {
        let reply = fetch(
            server.addr,
            format!("{method} /metrics HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes(),
        );
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(reply.header("allow"), Some("GET"), "{method}");
        assert_eq!(reply.header("connection"), Some("close"), "{method}");
    }
    let reply = fetch(server.addr, b"GET /other HTTP/1.1\r\n\r\n");
    assert_eq!(reply.status, 404);
    let reply = fetch(server.addr, b"GET /metrics FTP/1.0\r\n\r\n");
    assert_eq!(reply.status, 400);
    let reply = fetch(server.addr, SCRAPE);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"m 1\n");
    server.stop();
}

/// A client trickling its request a byte every 200 ms holds a worker, not the server: a scrape
/// made meanwhile is answered while the trickler's connection is still open.
#[test]
fn a_trickling_client_does_not_delay_a_concurrent_scrape() {
    let server = server(Duration::from_millis(3100));
    let trickler = Trickler::start(server.addr);
    trickler.wait_bytes(2);
    let reply = fetch(server.addr, SCRAPE);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"m 1\n");
    let trickled = trickler.finish();
    assert_eq!(
        trickled.cut_after, None,
        "the trickler was cut off before the scrape was answered: one waited for the other"
    );
    server.stop();
}

/// A trickling client is cut off when its whole request has taken the timeout, although no
/// single read waits that long.
#[test]
fn a_trickling_client_is_cut_off_after_the_whole_request_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(700);
    let server = server(TIMEOUT);
    let trickled = Trickler::start(server.addr).finish_when_cut();
    let cut_after = trickled
        .cut_after
        .expect("the server cut the trickler off within 10 s");
    // A few milliseconds of slack: the server may start its clock a little before the
    // client's connect returns.
    assert!(
        cut_after >= TIMEOUT - Duration::from_millis(50),
        "{cut_after:?}"
    );
    // Well before the public default (5 s): the bound is this server's own.
    assert!(cut_after < Duration::from_secs(4), "{cut_after:?}");
    assert!(
        trickled.bytes >= 2,
        "bytes {PACE:?} apart reached the server: a bound per read would not have fired"
    );
    server.stop();
}

impl Trickler {
    /// Waits for the client to end, cut off by the server or after [`HANG`].
    fn finish_when_cut(self) -> Trickled {
        drop(self.stop);
        self.thread.join().unwrap()
    }
}

/// A client that asks for a large page and reads it slowly, a little at a time (so no single
/// write waits long), is cut off when its whole connection has taken the timeout.
#[test]
fn a_slow_reader_is_cut_off_after_the_whole_request_timeout() {
    const PAGE: usize = 64 << 20;
    // Past what loopback buffers hold and the client reads within the timeout.
    const TOO_MUCH: usize = 32 << 20;
    let render: Render = Arc::new(|| "a".repeat(PAGE));
    let server = Server::start(
        ([127, 0, 0, 1], 0).into(),
        Duration::from_millis(900),
        render,
    )
    .unwrap();
    let mut stream = TcpStream::connect_timeout(&server.addr, HANG).unwrap();
    stream.set_read_timeout(Some(HANG)).unwrap();
    stream.write_all(SCRAPE).unwrap();
    let mut first = Vec::new();
    let mut received = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let ended = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => {
                if first.len() < 12 {
                    first.extend_from_slice(&buf[..n.min(12)]);
                }
                received += n;
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break true,
            Err(e) => panic!("reading the page: {e}"),
        }
        if received > TOO_MUCH {
            break false;
        }
        // The slowness itself: about 6 MB/s.
        thread::sleep(Duration::from_millis(10));
    };
    assert!(first.starts_with(b"HTTP/1.1 200"), "{first:?}");
    assert!(
        ended,
        "more than {TOO_MUCH} bytes of the page arrived: the write was not cut off"
    );
    drop(stream);
    server.stop();
}

/// Hundreds of idle connections, each of which would hold a worker for the whole (long)
/// timeout, do not keep a scrape that comes after them from being answered.
#[test]
fn five_hundred_idle_connections_do_not_stop_a_scrape() {
    const IDLE: usize = 500;
    // Both ends of each idle connection may be open at once in this process, and other tests
    // run beside this one.
    let limit = rlimit::increase_nofile_limit(4 * IDLE as u64).unwrap();
    assert!(limit >= 2 * IDLE as u64 + 256, "RLIMIT_NOFILE only {limit}");
    // Longer than the test: no idle connection ends by its timeout.
    let server = server(Duration::from_secs(61));
    let idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| TcpStream::connect_timeout(&server.addr, HANG).unwrap())
        .collect();
    let started = Instant::now();
    let reply = fetch(server.addr, SCRAPE);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"m 1\n");
    assert!(started.elapsed() < HANG);
    drop(idle);
    server.stop();
}
