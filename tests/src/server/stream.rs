//! The byte stream under a WebSocket session (plain TCP or TLS), and the raw-socket tricks that
//! tungstenite cannot do for us: RST, a graceful FIN, and hand-made frames.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// Plain TCP or server-side TLS over TCP.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Stream {
    /// The TCP socket underneath, for socket options and raw reads that bypass TLS.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Whether an IO error only means "nothing happened within the read/write timeout".
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Arms an RST: with `SO_LINGER` 0, closing the (last) descriptor sends RST instead of FIN.
pub(crate) fn arm_reset(tcp: &TcpStream) {
    // Best effort: if it fails the socket still closes, just with a FIN.
    let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
}

/// Closes with a FIN the client can see as a clean end of stream.
///
/// Closing a socket that still holds unread bytes makes Linux send RST instead of FIN, so the
/// write side is shut down first and the read side drained until the client closes too (or a
/// short deadline passes).
pub(crate) fn close_gracefully(tcp: &TcpStream, linger: Duration) {
    let _ = tcp.shutdown(Shutdown::Write);
    drain_until_eof(tcp, Instant::now() + linger, || false);
}

/// Reads and discards until EOF, an error, the deadline or `stop()`. Returns true on EOF/error.
pub(crate) fn drain_until_eof(
    mut tcp: &TcpStream,
    deadline: Instant,
    mut stop: impl FnMut() -> bool,
) -> bool {
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !stop() {
        match tcp.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return true,
        }
    }
    false
}

/// FIN | opcode 1: a whole text message in one frame.
const FINAL_TEXT: u8 = 0x81;

/// The header of an unmasked server text frame (FIN set) with a payload of `len` bytes.
fn text_frame_header(len: usize) -> Vec<u8> {
    frame_header(FINAL_TEXT, len as u64)
}

/// The header of an unmasked server frame: `first` (FIN, RSV and opcode bits), then the
/// payload length in the shortest of the three encodings.
fn frame_header(first: u8, len: u64) -> Vec<u8> {
    let mut header = Vec::with_capacity(10);
    header.push(first);
    match len {
        n if n < 126 => header.push(n as u8),
        n if n <= u64::from(u16::MAX) => {
            header.push(126);
            header.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            header.push(127);
            header.extend_from_slice(&n.to_be_bytes());
        }
    }
    header
}

/// The header alone of a final text frame announcing `announced` payload bytes (the most
/// significant bit is cleared, as RFC 6455 requires of the 64-bit length).
pub(crate) fn huge_text_header(announced: u64) -> Vec<u8> {
    frame_header(FINAL_TEXT, announced & (u64::MAX >> 1))
}

/// A non-final text frame (opcode 1, FIN clear): the start of a fragmented message.
pub(crate) fn first_fragment(payload: &[u8]) -> Vec<u8> {
    let mut frame = frame_header(0x01, payload.len() as u64);
    frame.extend_from_slice(payload);
    frame
}

/// `count` empty non-final continuation frames (opcode 0, FIN clear, no payload).
pub(crate) fn empty_continuations(count: usize) -> Vec<u8> {
    [0x00u8, 0x00].repeat(count)
}

/// The final continuation frame (opcode 0, FIN set) that completes a fragmented message.
pub(crate) fn last_fragment(payload: &[u8]) -> Vec<u8> {
    let mut frame = frame_header(0x80, payload.len() as u64);
    frame.extend_from_slice(payload);
    frame
}

/// A complete unmasked server text frame (FIN set) around `payload`, with no UTF-8 check:
/// the way to put invalid UTF-8 on the wire.
pub(crate) fn raw_text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = text_frame_header(payload.len());
    frame.extend_from_slice(payload);
    frame
}

/// A text frame of exactly `bytes` payload bytes holding a valid data notification (channel
/// `__oversized`, seq 0, a payload of `x`s). Built in one buffer: going through `serde_json`
/// would copy and scan tens of MiB several times and leave the session deaf meanwhile.
pub(crate) fn oversized_frame(bytes: usize) -> Vec<u8> {
    let prefix = br#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"__oversized","data":{"seq":0,"payload":""#;
    let suffix = br#""}}}"#;
    let pad = bytes.saturating_sub(prefix.len() + suffix.len());
    let len = prefix.len() + pad + suffix.len();
    let mut frame = text_frame_header(len);
    frame.reserve(len);
    frame.extend_from_slice(prefix);
    frame.resize(frame.len() + pad, b'x');
    frame.extend_from_slice(suffix);
    frame
}

/// Writes all of `buf` even though the socket has a short write timeout, giving up at
/// `deadline`. `write_all` cannot be used: it may fail half-way and lose track of how much of a
/// frame went out.
pub(crate) fn write_fully(w: &mut impl Write, mut buf: &[u8], deadline: Instant) -> io::Result<()> {
    while !buf.is_empty() {
        match w.write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if is_timeout(&e) && Instant::now() < deadline => {}
            Err(e) => return Err(e),
        }
    }
    loop {
        match w.flush() {
            Ok(()) => return Ok(()),
            Err(e) if is_timeout(&e) && Instant::now() < deadline => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{oversized_frame, raw_text_frame};

    #[test]
    fn oversized_frame_is_an_exact_size_notification() {
        let frame = oversized_frame(1000);
        assert_eq!(&frame[..4], &[0x81, 126, 3, 232]);
        let text = std::str::from_utf8(&frame[4..]).unwrap();
        assert_eq!(text.len(), 1000);
        let got: serde_json::Value = serde_json::from_str(text).unwrap();
        let payload = got["params"]["data"]["payload"].as_str().unwrap();
        assert!(!payload.is_empty() && payload.bytes().all(|b| b == b'x'));
        let want = crate::rpc::notification("__oversized", 0, payload);
        assert_eq!(
            got,
            serde_json::from_str::<serde_json::Value>(&want).unwrap()
        );
    }

    #[test]
    fn hostile_frames_have_the_announced_shapes() {
        use super::{empty_continuations, first_fragment, huge_text_header, last_fragment};
        let huge = huge_text_header(1 << 62);
        assert_eq!(huge.len(), 10);
        assert_eq!(&huge[..2], &[0x81, 127]);
        assert_eq!(u64::from_be_bytes(huge[2..].try_into().unwrap()), 1 << 62);
        assert_eq!(first_fragment(b"ab"), vec![0x01, 2, b'a', b'b']);
        assert_eq!(empty_continuations(3), vec![0; 6]);
        assert_eq!(last_fragment(b"}"), vec![0x80, 1, b'}']);
    }

    #[test]
    fn frame_lengths_use_the_three_encodings() {
        assert_eq!(raw_text_frame(b"ab"), vec![0x81, 2, b'a', b'b']);
        let mid = raw_text_frame(&[0; 300]);
        assert_eq!(&mid[..4], &[0x81, 126, 1, 44]);
        let big = raw_text_frame(&vec![0; 70_000]);
        assert_eq!(&big[..2], &[0x81, 127]);
        assert_eq!(u64::from_be_bytes(big[2..10].try_into().unwrap()), 70_000);
    }
}
