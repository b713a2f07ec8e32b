//! The conversions between the core's frames and inputs and tungstenite's messages: one copy,
//! so that a frame, a ping or a close means the same on the wire for every binding.

use reconnect_core::{ConnId, Frame, Input};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::Message;

use crate::close::closed_input;

/// The message that carries a data frame of an
/// [`Action::Send`](reconnect_core::Action::Send): text as text, binary as binary.
pub fn data_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::Text(text.into()),
        Frame::Binary(bytes) => Message::Binary(bytes.into()),
    }
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
/// Text and binary messages become [`Input::Frame`], pings [`Input::Ping`] (tungstenite has
/// queued the pong: the driver must flush it), pongs [`Input::Pong`]. A close frame becomes
/// what [`closed_input`] makes of it given `wire_close`, the close the driver's
/// [`CloseTap`](crate::close::CloseTap) saw on the wire: [`Input::Closed`], or
/// [`Input::Failed`] for a code no peer may send. Only a close frame can give `Input::Closed`
/// or `Input::Failed`, and the tap is read only for one.
pub fn inbound(conn: ConnId, message: Message, wire_close: Option<Option<u16>>) -> Option<Input> {
    Some(match message {
        Message::Text(text) => Input::Frame {
            conn,
            frame: Frame::Text(text.as_str().to_owned()),
        },
        Message::Binary(bytes) => Input::Frame {
            conn,
            frame: Frame::Binary(bytes.into()),
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
        let conn = reconnect_core::sim::first_conn_id();
        assert_eq!(
            data_message(Frame::Text("héllo".into())),
            Message::Text("héllo".into())
        );
        assert_eq!(
            data_message(Frame::Binary(vec![0, 159, 255])),
            Message::Binary(vec![0, 159, 255].into())
        );
        assert_eq!(
            inbound(conn, Message::Text("héllo".into()), None),
            Some(Input::Frame {
                conn,
                frame: Frame::Text("héllo".into())
            })
        );
        assert_eq!(
            inbound(conn, Message::Binary(vec![0, 159, 255].into()), None),
            Some(Input::Frame {
                conn,
                frame: Frame::Binary(vec![0, 159, 255])
            })
        );
    }

    #[test]
    fn pings_pongs_and_raw_frames() {
        let conn = reconnect_core::sim::first_conn_id();
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
        let conn = reconnect_core::sim::first_conn_id();
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
