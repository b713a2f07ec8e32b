//! The feed tools' and the demo's metrics endpoint: the Prometheus text format at
//! `http://ADDR/metrics`, rendered by `metrics-exporter-prometheus`'s recorder (without its
//! tokio-based listener) and served by a thread of the tool's own over std's `TcpListener`.
//!
//! The server is deliberately small: one connection at a time, `Connection: close`, a request
//! head read up to [`MAX_REQUEST`] bytes within [`IO_TIMEOUT`]. `GET /metrics` (a query string
//! is ignored) answers 200 with `Content-Type: text/plain; version=0.0.4`; any other path or
//! method 404; a request that is not HTTP/1.x, too long or too slow 400. Bad input ends that
//! connection, never the server.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The longest request head read; a longer one is answered 400.
pub const MAX_REQUEST: usize = 8 * 1024;

/// How long a client may take to send its request or read the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Upper bounds of `reconnect_time_to_resubscribe_seconds`' buckets: from 10 ms to 10 minutes.
const RESUBSCRIBE_BUCKETS: [f64; 14] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 600.0,
];

/// Installs the Prometheus recorder as the process's global `metrics` recorder (the
/// restore-time histogram as a real histogram with buckets), to render with
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

/// Listens on `addr` and serves `handle`'s metrics from a thread of its own, for the rest of
/// the process. Returns the address listened on (its port is the system's choice when `addr`
/// has port 0).
///
/// # Errors
/// Fails when `addr` cannot be listened on.
pub fn serve(addr: SocketAddr, handle: PrometheusHandle) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new()
        .name("metrics-http".into())
        .spawn(move || {
            for stream in listener.incoming() {
                // A failed accept (a client gone before it was accepted, no descriptors left
                // for a moment) concerns that client alone.
                let Ok(stream) = stream else { continue };
                let _ = answer_on(stream, &handle);
            }
        })?;
    Ok(local)
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

fn answer_on(mut stream: TcpStream, handle: &PrometheusHandle) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let result = answer(&mut stream, || {
        // Upkeep drains the histograms' buckets; the recorder runs none by itself.
        handle.run_upkeep();
        handle.render()
    });
    let _ = stream.shutdown(std::net::Shutdown::Write);
    result
}

/// Reads one request head from `client` and writes the answer: the body `render` makes for
/// `GET /metrics`, 404 for anything else, 400 for a request that is not one.
pub fn answer<S: Read + Write>(client: &mut S, render: impl FnOnce() -> String) -> io::Result<()> {
    let (status, body) = match read_head(client) {
        Some(head) => match request_target(&head) {
            Some(("GET", "/metrics")) => ("200 OK", render()),
            Some(_) => (
                "404 Not Found",
                "not found; metrics are at /metrics\n".to_owned(),
            ),
            None => ("400 Bad Request", "bad request\n".to_owned()),
        },
        None => ("400 Bad Request", "bad request\n".to_owned()),
    };
    let content_type = if status.starts_with("200") {
        "text/plain; version=0.0.4"
    } else {
        "text/plain; charset=utf-8"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes())?;
    client.write_all(body.as_bytes())?;
    client.flush()
}

/// The request head (up to its blank line), or `None` when the client ended, failed, timed out
/// or sent more than [`MAX_REQUEST`] bytes before its end.
fn read_head<R: Read>(client: &mut R) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while head.len() <= MAX_REQUEST {
        let n = match client.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end);
            return String::from_utf8(head).ok();
        }
    }
    None
}

/// The method and the path (without a query string) of an HTTP/1.x request head.
fn request_target(head: &str) -> Option<(&str, &str)> {
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !version.starts_with("HTTP/1.") || method.is_empty() {
        return None;
    }
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    Some((method, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client: `request` to read, the answer written.
    struct Client {
        request: io::Cursor<Vec<u8>>,
        answer: Vec<u8>,
    }

    impl Read for Client {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.request.read(buf)
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

    fn ask(request: &[u8]) -> String {
        let mut client = Client {
            request: io::Cursor::new(request.to_vec()),
            answer: Vec::new(),
        };
        answer(&mut client, || "m 1\n".to_owned()).unwrap();
        String::from_utf8(client.answer).unwrap()
    }

    #[test]
    fn get_metrics_is_the_rendered_text_with_the_prometheus_content_type() {
        let answer = ask(b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(
            answer,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
             Content-Length: 4\r\nConnection: close\r\n\r\nm 1\n"
        );
    }

    #[test]
    fn other_paths_and_methods_are_404_and_garbage_is_400() {
        assert!(ask(b"GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
        assert!(ask(b"POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
        assert!(ask(b"GET /metrics\r\n\r\n").starts_with("HTTP/1.1 400 "));
        assert!(ask(b"GET /metrics SPDY/3\r\n\r\n").starts_with("HTTP/1.1 400 "));
        assert!(ask(b"\xff\xfe /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));
        // The client stopped before the end of its head.
        assert!(ask(b"GET /metrics HTTP/1.1\r\n").starts_with("HTTP/1.1 400 "));
        // A head longer than the bound, never ended.
        let endless = vec![b'a'; MAX_REQUEST * 4];
        assert!(ask(&endless).starts_with("HTTP/1.1 400 "));
    }
}
