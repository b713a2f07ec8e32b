//! WebSocket message payloads as the core sees them.

use std::fmt;

/// One WebSocket data message, inbound or outbound.
///
/// Control frames (ping, pong, close) are not `Frame`s: they have their own
/// [`Input`](crate::Input) and [`Action`](crate::Action) variants.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Frame {
    /// A text message. The driver must hand the core only valid UTF-8 (tungstenite checks it).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Frame {
    /// The payload length in bytes; outbox bounds count these.
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(s) => s.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, when this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Frame::Text(s) => Some(s),
            Frame::Binary(_) => None,
        }
    }

    /// The payload as bytes, whatever the message type.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Frame::Text(s) => s.as_bytes(),
            Frame::Binary(b) => b,
        }
    }
}

impl From<String> for Frame {
    fn from(s: String) -> Self {
        Frame::Text(s)
    }
}

impl From<&str> for Frame {
    fn from(s: &str) -> Self {
        Frame::Text(s.to_owned())
    }
}

impl From<Vec<u8>> for Frame {
    fn from(b: Vec<u8>) -> Self {
        Frame::Binary(b)
    }
}

/// Debug output shows at most the first 96 bytes, so that logging a market-data frame does not
/// flood a log line. Frames that carry credentials are never printed at all: see
/// [`Action`](crate::Action)'s `Debug`.
impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 96;
        match self {
            Frame::Text(s) => {
                let mut end = s.len().min(SHOWN);
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                if end < s.len() {
                    write!(f, "Text({:?}… {} bytes)", &s[..end], s.len())
                } else {
                    write!(f, "Text({s:?})")
                }
            }
            Frame::Binary(b) => write!(f, "Binary({} bytes)", b.len()),
        }
    }
}
