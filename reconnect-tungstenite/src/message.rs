//! The conversions between the core's frames and inputs and tungstenite's messages: one copy,
//! so that a frame, a ping or a close means the same on the wire for every binding.
//!
//! # No copy, and the unsafe code that allows it
//!
//! A data message crosses in both directions without copying its payload: tungstenite's
//! `Utf8Bytes` and `Bytes` and the core's [`Text`] and `Bytes` are the same shared buffers.
//! Both sides carry the same invariant for text (the bytes are UTF-8) in their types, but
//! neither can take the other's word for it in safe Rust, and validating again costs about
//! 1,300 instructions for a 4 KiB message. So this module holds the crate's only unsafe code:
//! [`inbound`] calls [`Text::from_utf8_unchecked`] on tungstenite's `Utf8Bytes`, and
//! [`data_message`] calls `Utf8Bytes::from_bytes_unchecked` on the core's [`Text`]; each
//! states why the invariant holds.

use reconnect_core::{ConnId, Frame, Input, Text};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::Message;
use tungstenite::Utf8Bytes;

use crate::close::closed_input;

/// The message that carries a data frame of an
/// [`Action::Send`](reconnect_core::Action::Send): text as text, binary as binary.
///
/// The payload is not copied: the message holds the frame's buffer.
pub fn data_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::Text(utf8_bytes(text)),
        Frame::Binary(bytes) => Message::Binary(bytes),
    }
}

/// The core's text as tungstenite's, without validating it again.
#[allow(unsafe_code)]
fn utf8_bytes(text: Text) -> Utf8Bytes {
    // SAFETY: `Text` holds valid UTF-8 by its invariant (every safe constructor starts from a
    // `str` or validates; the unchecked one obliges its caller), and `Bytes` is immutable.
    unsafe { Utf8Bytes::from_bytes_unchecked(text.into_bytes()) }
}

/// tungstenite's validated text as the core's, without validating it again.
#[allow(unsafe_code)]
fn text(utf8: Utf8Bytes) -> Text {
    // SAFETY: `Utf8Bytes` holds valid UTF-8 by its invariant (tungstenite validates every text
    // message it reads; its own safe constructors start from a `str` or validate), and the
    // conversion into `Bytes` hands over the same immutable buffer.
    unsafe { Text::from_utf8_unchecked(utf8.into()) }
}

/// The message of an [`Action::Ping`](reconnect_core::Action::Ping): a ping with no payload.
pub fn ping_message() -> Message {
    Message::Ping(Default::default())
}

/// The close frame of an [`Action::Close`](reconnect_core::Action::Close), with its code and
/// reason.
pub fn close_frame(code: u16, reason: &str) -> CloseFrame {
    CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }
}

/// What a message read from transport `conn` means to the session, or `None` for nothing
/// (a raw frame, which tungstenite never yields when reading messages).
///
/// Text and binary messages become [`Input::Frame`], holding the message's own buffer (no copy,
/// and text is not validated again: tungstenite did that), pings [`Input::Ping`] (tungstenite has
/// queued the pong: the driver must flush it), pongs [`Input::Pong`]. A close frame becomes
/// what [`closed_input`] makes of it given `wire_close`, the close the driver's
/// [`CloseTap`](crate::close::CloseTap) saw on the wire: [`Input::Closed`], or
/// [`Input::Failed`] for a code no peer may send. Only a close frame can give `Input::Closed`
/// or `Input::Failed`, and the tap is read only for one.
pub fn inbound(conn: ConnId, message: Message, wire_close: Option<Option<u16>>) -> Option<Input> {
    Some(match message {
        Message::Text(utf8) => Input::Frame {
            conn,
            frame: Frame::Text(text(utf8)),
        },
        Message::Binary(bytes) => Input::Frame {
            conn,
            frame: Frame::Binary(bytes),
        },
        Message::Ping(_) => Input::Ping { conn },
        Message::Pong(_) => Input::Pong { conn },
        Message::Close(frame) => closed_input(conn, frame, wire_close),
        Message::Frame(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reconnect_core::TransportErrorKind;

    #[test]
    fn data_frames_keep_their_kind_and_bytes_both_ways() {
        let conn = crate::test_conn_id();
        assert_eq!(
            data_message(Frame::from("héllo")),
            Message::Text("héllo".into())
        );
        assert_eq!(
            data_message(Frame::from(vec![0, 159, 255])),
            Message::Binary(vec![0, 159, 255].into())
        );
        assert_eq!(
            inbound(conn, Message::Text("héllo".into()), None),
            Some(Input::Frame {
                conn,
                frame: Frame::from("héllo")
            })
        );
        assert_eq!(
            inbound(conn, Message::Binary(vec![0, 159, 255].into()), None),
            Some(Input::Frame {
                conn,
                frame: Frame::from(vec![0, 159, 255])
            })
        );
    }

    /// The payload the session gets is the buffer tungstenite produced, and the message the
    /// driver writes is the buffer the core's frame held: no copy either way.
    #[test]
    fn data_frames_cross_without_a_copy() {
        let conn = crate::test_conn_id();
        let utf8 = Utf8Bytes::from(String::from("a text payload, héllo"));
        let at = utf8.as_str().as_ptr();
        let Some(Input::Frame { frame, .. }) = inbound(conn, Message::Text(utf8), None) else {
            panic!("a text message is a frame");
        };
        assert_eq!(frame.as_text(), Some("a text payload, héllo"));
        assert_eq!(frame.as_bytes().as_ptr(), at);
        assert_eq!(frame.as_text().map(str::as_ptr), Some(at));

        let binary = tungstenite::Bytes::from(vec![7u8; 4096]);
        let at = binary.as_ptr();
        let Some(Input::Frame { frame, .. }) = inbound(conn, Message::Binary(binary), None) else {
            panic!("a binary message is a frame");
        };
        assert_eq!(frame.as_bytes().as_ptr(), at);

        let out = String::from("outbound text");
        let at = out.as_ptr();
        match data_message(Frame::from(out)) {
            Message::Text(utf8) => assert_eq!(utf8.as_str().as_ptr(), at),
            other => panic!("{other:?}"),
        }
        let out = vec![1u8; 64];
        let at = out.as_ptr();
        match data_message(Frame::from(out)) {
            Message::Binary(bytes) => assert_eq!(bytes.as_ptr(), at),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pings_pongs_and_raw_frames() {
        let conn = crate::test_conn_id();
        assert_eq!(ping_message(), Message::Ping(Vec::new().into()));
        assert_eq!(
            inbound(conn, Message::Ping(vec![1].into()), None),
            Some(Input::Ping { conn })
        );
        assert_eq!(
            inbound(conn, Message::Pong(vec![1].into()), None),
            Some(Input::Pong { conn })
        );
        let raw = tungstenite::protocol::frame::Frame::ping(vec![1]);
        assert_eq!(inbound(conn, Message::Frame(raw), None), None);
    }

    #[test]
    fn close_frames_carry_code_and_reason_and_an_invalid_wire_code_fails() {
        let conn = crate::test_conn_id();
        let frame = close_frame(4001, "going away for maintenance");
        assert_eq!(u16::from(frame.code), 4001);
        assert_eq!(frame.reason.as_str(), "going away for maintenance");
        assert_eq!(
            inbound(conn, Message::Close(Some(frame)), Some(Some(4001))),
            Some(Input::Closed {
                conn,
                code: Some(4001),
                reason: "going away for maintenance".into()
            })
        );
        assert_eq!(
            inbound(conn, Message::Close(None), Some(None)),
            Some(Input::Closed {
                conn,
                code: None,
                reason: String::new()
            })
        );
        match inbound(
            conn,
            Message::Close(Some(close_frame(1002, "x"))),
            Some(Some(5000)),
        ) {
            Some(Input::Failed { error, .. }) => {
                assert_eq!(error.kind, TransportErrorKind::Protocol);
                assert_eq!(error.detail, "the server sent invalid close code 5000");
            }
            other => panic!("{other:?}"),
        }
    }
}
