//! WebSocket message payloads as the core sees them.
//!
//! A [`Frame`] holds its payload as [`bytes::Bytes`], so that a message read by the WebSocket
//! library reaches the application without a copy; text is a [`Text`], `Bytes` known to be
//! UTF-8 (see `text.rs` for the one place this crate uses unsafe code, and why).

use std::fmt;

use bytes::Bytes;

mod text;

pub use text::Text;

/// One WebSocket data message, inbound or outbound.
///
/// Control frames (ping, pong, close) are not `Frame`s: they have their own
/// [`Input`](crate::Input) and [`Action`](crate::Action) variants.
///
/// Easy to build from what a test or an adapter has: `Frame::from("text")`,
/// `Frame::from(String)` (no copy), `Frame::from(Vec<u8>)` (binary, no copy),
/// [`Frame::text`] and [`Frame::binary`]. Read it with [`as_text`](Frame::as_text) and
/// [`as_bytes`](Frame::as_bytes); [`bytes`](Frame::bytes) and [`into_bytes`](Frame::into_bytes)
/// give the shared buffer itself.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Frame {
    /// A text message (always valid UTF-8: [`Text`] guarantees it).
    Text(Text),
    /// A binary message.
    Binary(Bytes),
}

impl Frame {
    /// A text message.
    pub fn text(text: impl Into<Text>) -> Self {
        Frame::Text(text.into())
    }

    /// A binary message.
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Frame::Binary(bytes.into())
    }

    /// The payload length in bytes; outbox bounds count these.
    #[inline]
    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Frame::Text(_))
    }

    /// The text, when this is a text message.
    #[inline]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Frame::Text(s) => Some(s.as_str()),
            Frame::Binary(_) => None,
        }
    }

    /// The payload as bytes, whatever the message type.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes()
    }

    /// The payload's shared buffer, whatever the message type (cloning it is a reference
    /// count, not a copy).
    #[inline]
    pub fn bytes(&self) -> &Bytes {
        match self {
            Frame::Text(s) => s.bytes(),
            Frame::Binary(b) => b,
        }
    }

    /// The payload's buffer, without copying, whatever the message type.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Frame::Text(s) => s.into_bytes(),
            Frame::Binary(b) => b,
        }
    }
}

/// A text message; takes the string's buffer (no copy).
impl From<String> for Frame {
    fn from(s: String) -> Self {
        Frame::Text(s.into())
    }
}

/// A text message (one copy).
impl From<&str> for Frame {
    fn from(s: &str) -> Self {
        Frame::Text(s.into())
    }
}

/// A text message.
impl From<Text> for Frame {
    fn from(text: Text) -> Self {
        Frame::Text(text)
    }
}

/// A binary message; takes the vector's buffer (no copy).
impl From<Vec<u8>> for Frame {
    fn from(b: Vec<u8>) -> Self {
        Frame::Binary(b.into())
    }
}

/// A binary message.
impl From<Bytes> for Frame {
    fn from(b: Bytes) -> Self {
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
                let s = s.as_str();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_keep_kind_and_bytes() {
        assert_eq!(Frame::from("hé").as_text(), Some("hé"));
        assert_eq!(Frame::from(String::from("x")), Frame::text("x"));
        assert_eq!(Frame::from(vec![0u8, 255]).as_bytes(), &[0, 255]);
        assert_eq!(Frame::from(vec![0u8, 255]).as_text(), None);
        assert_eq!(
            Frame::binary(vec![1u8]),
            Frame::Binary(Bytes::from_static(&[1]))
        );
        assert_eq!(Frame::from("héllo").len(), 6);
        assert!(Frame::from("").is_empty());
        // The same bytes as text and as binary are different messages.
        assert_ne!(Frame::from("ab"), Frame::from(b"ab".to_vec()));
    }

    #[test]
    fn no_copy_from_owned_buffers_and_into_bytes() {
        let s = String::from("payload");
        let p = s.as_ptr();
        let frame = Frame::from(s);
        assert_eq!(frame.as_bytes().as_ptr(), p);
        assert_eq!(frame.bytes().as_ptr(), p);
        assert_eq!(frame.into_bytes().as_ptr(), p);
        let v = vec![9u8; 100];
        let p = v.as_ptr();
        assert_eq!(Frame::from(v).into_bytes().as_ptr(), p);
    }

    #[test]
    fn debug_is_short_for_long_text_and_says_length_for_binary() {
        assert_eq!(format!("{:?}", Frame::from("hi")), "Text(\"hi\")");
        let long = "é".repeat(100);
        let shown = format!("{:?}", Frame::from(long.as_str()));
        assert!(shown.ends_with("… 200 bytes)"), "{shown}");
        assert_eq!(
            format!("{:?}", Frame::from(vec![1u8, 2])),
            "Binary(2 bytes)"
        );
    }
}
