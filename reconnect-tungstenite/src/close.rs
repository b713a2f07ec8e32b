//! The peer's close frame, as the core should hear of it.
//!
//! tungstenite hides an invalid close code: when a server sends 999, 1004, 1005, 1006, 1015,
//! 5000 or any other code RFC 6455 does not allow on the wire, it hands the application a close
//! frame with 1002 "Protocol violation" (the answer it sends back) and the code the server sent
//! is gone. A user would then read "the server closed with 1002" and look for a bug in the
//! client. [`CloseTap`] watches the bytes under tungstenite for the code itself, and
//! [`closed_input`] reports an invalid one as what it is: a protocol failure whose detail says
//! "the server sent invalid close code 999".
//!
//! Not specific to any runtime: both bindings tap their byte streams the same way.

use reconnect_core::{ConnId, Input, TransportError, TransportErrorKind};
use tungstenite::protocol::frame::CloseFrame;

const CLOSE_OPCODE: u8 = 0x8;

/// Where the tap stands in the byte stream.
#[derive(Clone, Copy, Debug)]
enum State {
    /// In the HTTP upgrade response: how many bytes of its final `\r\n\r\n` were just seen.
    Http(u8),
    /// Collecting a frame header (at most 14 bytes).
    Header { bytes: [u8; 14], len: u8 },
    /// Skipping `left` payload bytes of a frame.
    Payload {
        left: u64,
        /// For a close frame: its masking key, if any, and the code bytes seen so far.
        close: Option<Capture>,
    },
}

#[derive(Clone, Copy, Debug)]
struct Capture {
    mask: Option<[u8; 4]>,
    code: [u8; 2],
    have: u8,
}

/// Watches the bytes a client reads from its server (the HTTP upgrade response, then frames)
/// and remembers the status code of the first close frame, as it was on the wire.
///
/// The driver must feed it every byte read from the stream under the WebSocket, in order, from
/// the first byte of the upgrade response on ([`observe`](Self::observe)). It keeps a few bytes
/// of state and skips payloads without looking at them.
#[derive(Clone, Debug)]
pub struct CloseTap {
    state: State,
    first_close: Option<Option<u16>>,
}

impl Default for CloseTap {
    fn default() -> Self {
        CloseTap::new()
    }
}

impl CloseTap {
    /// A tap at the start of the upgrade response.
    pub fn new() -> Self {
        CloseTap {
            state: State::Http(0),
            first_close: None,
        }
    }

    /// The first close frame seen: `Some(Some(code))`, `Some(None)` for a close frame without
    /// a code, `None` before any close frame.
    pub fn first_close(&self) -> Option<Option<u16>> {
        self.first_close
    }

    /// Takes in the next bytes read from the stream.
    pub fn observe(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.first_close.is_none() {
            if matches!(self.state, State::Header { len: 0, .. }) {
                // At a frame boundary: the frames that lie wholly in `bytes` and are not close
                // frames leave no state behind, so they are skipped without any.
                bytes = skip_whole_frames(bytes);
                if bytes.is_empty() {
                    return;
                }
            }
            bytes = self.step(bytes);
        }
    }

    /// Consumes some of `bytes`, returns the rest.
    fn step<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        match &mut self.state {
            State::Http(matched) => {
                const END: &[u8; 4] = b"\r\n\r\n";
                for (i, &b) in bytes.iter().enumerate() {
                    *matched = if b == END[*matched as usize] {
                        *matched + 1
                    } else if b == b'\r' {
                        1
                    } else {
                        0
                    };
                    if *matched == 4 {
                        self.state = State::Header {
                            bytes: [0; 14],
                            len: 0,
                        };
                        return &bytes[i + 1..];
                    }
                }
                &[]
            }
            // The common case: a whole header at the start of what was read, parsed in place
            // rather than a byte at a time (this runs on every message).
            State::Header { len: 0, .. } if bytes.len() >= 2 => {
                let needed = header_len(bytes[1]);
                match bytes
                    .get(..needed)
                    .and_then(|h| parse_header(h).map(|p| (h, p)))
                {
                    Some((header, payload)) => {
                        self.start_payload(header, payload);
                        &bytes[needed..]
                    }
                    None => self.step_header_byte(bytes),
                }
            }
            State::Header { .. } => self.step_header_byte(bytes),
            State::Payload { left, close } => {
                let n = usize::try_from(*left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                if let Some(capture) = close {
                    for &b in &bytes[..n] {
                        if capture.have >= 2 {
                            break;
                        }
                        // The code is the payload's first two bytes: mask bytes 0 and 1.
                        let i = capture.have as usize;
                        capture.code[i] = b ^ capture.mask.map_or(0, |m| m[i]);
                        capture.have += 1;
                    }
                }
                *left -= n as u64;
                if *left == 0 {
                    if let Some(capture) = close {
                        self.first_close =
                            Some((capture.have == 2).then(|| u16::from_be_bytes(capture.code)));
                    }
                    self.state = State::Header {
                        bytes: [0; 14],
                        len: 0,
                    };
                }
                &bytes[n..]
            }
        }
    }

    /// Takes one byte of a header that arrived split across reads.
    fn step_header_byte<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        let State::Header { bytes: header, len } = &mut self.state else {
            unreachable!("only called in the header state");
        };
        header[*len as usize] = bytes[0];
        *len += 1;
        let header = *header;
        let len = *len as usize;
        if let Some(payload) = parse_header(&header[..len]) {
            self.start_payload(&header[..len], payload);
        }
        &bytes[1..]
    }

    fn start_payload(&mut self, header: &[u8], payload: u64) {
        let is_close = header[0] & 0x0f == CLOSE_OPCODE;
        let mask = (header[1] & 0x80 != 0).then(|| {
            let at = header.len() - 4;
            [header[at], header[at + 1], header[at + 2], header[at + 3]]
        });
        if payload == 0 {
            if is_close {
                self.first_close = Some(None);
            }
            self.state = State::Header {
                bytes: [0; 14],
                len: 0,
            };
            return;
        }
        self.state = State::Payload {
            left: payload,
            close: is_close.then_some(Capture {
                mask,
                code: [0; 2],
                have: 0,
            }),
        };
    }
}

/// Skips the whole frames at the start of `bytes` (which starts at a frame boundary) until a
/// close frame or a frame that does not end in `bytes`; returns the rest, at a frame boundary.
/// Only the headers are read: a payload is skipped by its length.
fn skip_whole_frames(mut bytes: &[u8]) -> &[u8] {
    while bytes.len() >= 2 && bytes[0] & 0x0f != CLOSE_OPCODE {
        let needed = header_len(bytes[1]);
        let Some(payload) = bytes.get(..needed).and_then(parse_header) else {
            break;
        };
        let total = usize::try_from(payload)
            .ok()
            .and_then(|payload| payload.checked_add(needed));
        match total {
            Some(total) if total <= bytes.len() => bytes = &bytes[total..],
            _ => break,
        }
    }
    bytes
}

/// The length of a frame header whose second byte is `second`.
fn header_len(second: u8) -> usize {
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + extended + if second & 0x80 != 0 { 4 } else { 0 }
}

/// The payload length once `header` holds a whole frame header; `None` while it needs more.
fn parse_header(header: &[u8]) -> Option<u64> {
    if header.len() < 2 {
        return None;
    }
    let masked = header[1] & 0x80 != 0;
    let short = u64::from(header[1] & 0x7f);
    let extended = match short {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let needed = 2 + extended + if masked { 4 } else { 0 };
    if header.len() < needed {
        return None;
    }
    Some(match extended {
        0 => short,
        _ => header[2..2 + extended]
            .iter()
            .fold(0, |n, &b| (n << 8) | u64::from(b)),
    })
}

/// The input for the close frame tungstenite reported (`frame`), given what the tap saw on the
/// wire (`wire`, [`CloseTap::first_close`]).
///
/// A code that may not be sent on the wire (RFC 6455 section 7.4 and the IANA registry: below
/// 1000, 1004 to 1006, 1015 to 2999, from 5000 on) becomes [`Input::Failed`] with a
/// [`Protocol`](TransportErrorKind::Protocol) error whose detail names it ("the server sent
/// invalid close code 999"). Anything else is [`Input::Closed`] with the code the server sent
/// (tungstenite also replaces the registered 1012 to 1014; their reason is then lost) and its
/// reason.
pub fn closed_input(conn: ConnId, frame: Option<CloseFrame>, wire: Option<Option<u16>>) -> Input {
    let reported = frame.as_ref().map(|f| u16::from(f.code));
    if let Some(Some(code)) = wire {
        if !allowed_on_the_wire(code) {
            return Input::Failed {
                conn,
                error: TransportError::new(
                    TransportErrorKind::Protocol,
                    format!("the server sent invalid close code {code}"),
                ),
            };
        }
        if reported != Some(code) {
            return Input::Closed {
                conn,
                code: Some(code),
                reason: String::new(),
            };
        }
    }
    let (code, reason) = match frame {
        Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
        None => (None, String::new()),
    };
    Input::Closed { conn, code, reason }
}

/// Whether a peer may send `code` in a close frame.
fn allowed_on_the_wire(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests;
