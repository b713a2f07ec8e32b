//! The admission side of a connection: the blackholed upgrade, and tungstenite's handshake with
//! the HTTP rejections its callback answers.

use std::net::TcpStream;
use std::time::Instant;

use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::WebSocket;

use super::fault::{Fault, Point};
use super::state::{Command, Shared};
use super::stats::ConnEnd;
use super::stream::{self, Stream};

/// Accepts TCP and never answers; reads (and for plain ws, parses) the upgrade request only to
/// learn the client identity and to notice when the client gives up.
pub(crate) fn blackhole(shared: &Shared, id: u64, tcp: TcpStream) -> ConnEnd {
    use std::io::Read;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let mut tcp_ref = &tcp;
    loop {
        if shared.is_shutdown() {
            return ConnEnd::Shutdown;
        }
        for cmd in shared.take_commands(id) {
            if let Command::Fault(Fault::Drop) | Command::Fault(Fault::Reset) = cmd {
                return ConnEnd::Dropped;
            }
        }
        match tcp_ref.read(&mut buf) {
            Ok(0) => return ConnEnd::Eof,
            Ok(n) => {
                if head.len() < 16 * 1024 {
                    head.extend_from_slice(&buf[..n]);
                    if shared.tls.is_none() {
                        if let Some(path) = request_path(&head) {
                            let client = client_of(&path);
                            shared.set_client(id, &client, &path);
                        }
                    }
                }
            }
            Err(e) if stream::is_timeout(&e) => {}
            Err(e) => return ConnEnd::Error(e.to_string()),
        }
    }
}

/// The request target of an HTTP request head, once the first line is complete.
pub(crate) fn request_path(head: &[u8]) -> Option<String> {
    let line_end = head.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    line.split(' ').nth(1).map(str::to_owned)
}

/// The `client` query parameter of a request target, or `anonymous`.
pub(crate) fn client_of(path_and_query: &str) -> String {
    path_and_query
        .split_once('?')
        .and_then(|(_, q)| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("client=").filter(|v| !v.is_empty()))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| "anonymous".to_owned())
}

pub(crate) fn upgrade(
    shared: &Shared,
    id: u64,
    stream: Stream,
) -> Result<WebSocket<Stream>, ConnEnd> {
    let mut rejected = None;
    // The signature is tungstenite's; the large error type is not ours to shrink.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_owned();
        let client = client_of(&path);
        shared.set_client(id, &client, &path);
        match shared.take_admission(Point::Upgrade) {
            Some(Fault::HttpReject {
                status,
                retry_after,
            }) => {
                rejected = Some(status);
                Err(http_error(status, retry_after))
            }
            _ => {
                // Counted before the 101 is written, so no client can see its upgrade succeed
                // before the server's stats do.
                shared.session_started(id, &client, Instant::now());
                Ok(resp)
            }
        }
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(shared.config.max_message_size))
        .max_frame_size(Some(shared.config.max_message_size))
        .max_write_buffer_size(MAX_WRITE_BUFFER);
    let deadline = Instant::now() + shared.config.handshake_timeout;
    let mut result = tungstenite::accept_hdr_with_config(stream, callback, Some(config));
    loop {
        match result {
            Ok(ws) => return Ok(ws),
            Err(HandshakeError::Interrupted(mid)) => {
                if shared.is_shutdown() {
                    return Err(ConnEnd::Shutdown);
                }
                let dropped = shared
                    .take_commands(id)
                    .iter()
                    .any(|c| matches!(c, Command::Fault(Fault::Drop | Fault::Reset)));
                if dropped {
                    return Err(ConnEnd::Dropped);
                }
                if Instant::now() >= deadline {
                    return Err(ConnEnd::HandshakeFailed("handshake timed out".into()));
                }
                result = mid.handshake();
            }
            Err(HandshakeError::Failure(e)) => {
                // tungstenite has written our error response and dropped the stream.
                return Err(match rejected {
                    Some(status) => ConnEnd::HttpRejected(status),
                    None => ConnEnd::HandshakeFailed(e.to_string()),
                });
            }
        }
    }
}

/// Large enough for the biggest oversized frame a test is expected to ask for (32 MiB) plus
/// ordinary traffic; beyond it data notifications are postponed, not lost.
const MAX_WRITE_BUFFER: usize = 96 << 20;

fn http_error(status: u16, retry_after: Option<u32>) -> ErrorResponse {
    let body = format!("rejected by the test server with {status}");
    let mut builder = tungstenite::http::Response::builder()
        .status(status)
        .header("Content-Type", "text/plain")
        .header("Content-Length", body.len().to_string())
        .header("Connection", "close");
    if let Some(secs) = retry_after {
        builder = builder.header("Retry-After", secs.to_string());
    }
    builder
        .body(Some(body))
        .expect("status and headers are valid")
}

#[cfg(test)]
mod tests {
    use super::{client_of, request_path};

    #[test]
    fn client_identity_comes_from_the_query() {
        assert_eq!(client_of("/ws?client=abc"), "abc");
        assert_eq!(client_of("/ws?x=1&client=b2"), "b2");
        assert_eq!(client_of("/ws"), "anonymous");
        assert_eq!(client_of("/ws?client="), "anonymous");
        assert_eq!(
            request_path(b"GET /ws?client=z HTTP/1.1\r\nHost: x\r\n"),
            Some("/ws?client=z".into())
        );
        assert_eq!(request_path(b"GET /ws"), None);
    }
}
