//! Hand-made answers to the upgrade request, for the hostile-server faults that no HTTP or
//! WebSocket library would write: a malformed status line, a wrong `Sec-WebSocket-Accept`, and
//! a valid reply written one byte at a time.
//!
//! They run on the same [`Stream`] as a real handshake (after TLS for `wss://`), so a client
//! meets them exactly where it would meet a real upgrade reply.

use std::io::Read;
use std::time::{Duration, Instant};

use super::fault::Fault;
use super::state::{Command, Shared};
use super::stats::ConnEnd;
use super::stream::{self, Stream};
use super::upgrade::{client_of, request_path};

/// The largest request head read before giving up on a client.
const MAX_HEAD: usize = 16 * 1024;

/// How long the server keeps reading after a one-shot hostile reply, so the client sees the
/// reply before the connection ends and the server sees the client leave.
const LINGER: Duration = Duration::from_millis(500);

/// Serves one connection with the hand-made `fault` reply.
pub(crate) fn serve(shared: &Shared, id: u64, mut stream: Stream, fault: Fault) -> ConnEnd {
    let head = match read_head(shared, id, &mut stream) {
        Ok(head) => head,
        Err(end) => return end,
    };
    if let Some(path) = request_path(&head) {
        shared.set_client(id, &client_of(&path), &path);
    }
    let accept = header(&head, "sec-websocket-key")
        .map(|key| tungstenite::handshake::derive_accept_key(key.as_bytes()))
        .unwrap_or_default();
    let deadline = Instant::now() + LINGER;
    match fault {
        Fault::MalformedStatus { line } => {
            let reply = format!("{line}\r\n{}", upgrade_headers(&accept));
            one_shot(shared, id, &mut stream, reply.as_bytes(), deadline)
        }
        Fault::WrongAccept => {
            // A well-formed accept value, but the digest of another key.
            let wrong = tungstenite::handshake::derive_accept_key(b"not the key the client sent");
            let reply = format!(
                "HTTP/1.1 101 Switching Protocols\r\n{}",
                upgrade_headers(&wrong)
            );
            one_shot(shared, id, &mut stream, reply.as_bytes(), deadline)
        }
        Fault::TrickleUpgrade { interval } => {
            let reply = format!(
                "HTTP/1.1 101 Switching Protocols\r\n{}",
                upgrade_headers(&accept)
            );
            trickle(shared, id, &mut stream, reply.as_bytes(), interval)
        }
        _ => ConnEnd::HandshakeFailed("not a hand-made reply".into()),
    }
}

fn upgrade_headers(accept: &str) -> String {
    format!("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n")
}

/// Whether a control handle dropped or reset this connection.
fn dropped(shared: &Shared, id: u64) -> bool {
    shared
        .take_commands(id)
        .iter()
        .any(|c| matches!(c, Command::Fault(Fault::Drop | Fault::Reset)))
}

/// Reads the request head (up to the blank line), within the server's handshake timeout.
fn read_head(shared: &Shared, id: u64, stream: &mut Stream) -> Result<Vec<u8>, ConnEnd> {
    let deadline = Instant::now() + shared.config.handshake_timeout;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if shared.is_shutdown() {
            return Err(ConnEnd::Shutdown);
        }
        if dropped(shared, id) {
            return Err(ConnEnd::Dropped);
        }
        if Instant::now() >= deadline || head.len() > MAX_HEAD {
            return Err(ConnEnd::HandshakeFailed("no complete request head".into()));
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err(ConnEnd::Eof),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if stream::is_timeout(&e) => {}
            Err(e) => return Err(ConnEnd::Error(e.to_string())),
        }
    }
    Ok(head)
}

/// The value of a header of the request head (name compared case-insensitively).
fn header(head: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(head).ok()?;
    text.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// Reads and discards until the client leaves (`Some(end)`) or `until` passes (`None`).
fn wait_for_departure(
    shared: &Shared,
    id: u64,
    stream: &mut Stream,
    until: Instant,
) -> Option<ConnEnd> {
    let mut buf = [0u8; 1024];
    while Instant::now() < until {
        if shared.is_shutdown() {
            return Some(ConnEnd::Shutdown);
        }
        if dropped(shared, id) {
            return Some(ConnEnd::Dropped);
        }
        match stream.read(&mut buf) {
            Ok(0) => return Some(ConnEnd::Eof),
            Ok(_) => {}
            Err(e) if stream::is_timeout(&e) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(ConnEnd::PeerReset)
            }
            // rustls reports a TCP end without close_notify as an error: the client left.
            Err(_) => return Some(ConnEnd::Eof),
        }
    }
    None
}

/// Writes the whole reply, then waits (briefly) for the client to give up on it.
fn one_shot(
    shared: &Shared,
    id: u64,
    stream: &mut Stream,
    reply: &[u8],
    linger_until: Instant,
) -> ConnEnd {
    if let Err(e) = stream::write_fully(stream, reply, Instant::now() + LINGER) {
        return ConnEnd::Error(e.to_string());
    }
    match wait_for_departure(shared, id, stream, linger_until + LINGER) {
        Some(end) => end,
        None => {
            stream::close_gracefully(stream.tcp(), LINGER);
            ConnEnd::Dropped
        }
    }
}

/// Writes `reply` one byte per `interval` while watching for the client to leave; after the
/// last byte, waits silently for it to leave.
fn trickle(
    shared: &Shared,
    id: u64,
    stream: &mut Stream,
    reply: &[u8],
    interval: Duration,
) -> ConnEnd {
    for byte in reply {
        if let Some(end) = wait_for_departure(shared, id, stream, Instant::now() + interval) {
            return end;
        }
        if let Err(e) = stream::write_fully(stream, &[*byte], Instant::now() + LINGER) {
            return match e.kind() {
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset => {
                    ConnEnd::PeerReset
                }
                _ => ConnEnd::Error(e.to_string()),
            };
        }
    }
    loop {
        let until = Instant::now() + Duration::from_secs(1);
        if let Some(end) = wait_for_departure(shared, id, stream, until) {
            return end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::header;

    #[test]
    fn headers_are_found_case_insensitively() {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\nsec-WebSocket-KEY:  abc== \r\n\r\n";
        assert_eq!(header(head, "Sec-WebSocket-Key").as_deref(), Some("abc=="));
        assert_eq!(header(head, "Upgrade"), None);
    }
}
