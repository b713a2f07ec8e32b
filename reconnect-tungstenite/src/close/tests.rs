//! The close tap against hand-built byte streams, and the mapping of wire codes to inputs.

use super::*;
use tungstenite::protocol::frame::coding::CloseCode;

const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";

fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(n as u8),
        n if n < 65536 => {
            f.push(126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

fn tapped(chunks: &[&[u8]]) -> Option<Option<u16>> {
    let mut tap = CloseTap::new();
    for c in chunks {
        tap.observe(c);
    }
    tap.first_close()
}

#[test]
fn finds_the_close_code_after_messages_of_every_length_form() {
    let mut wire = RESPONSE.to_vec();
    wire.extend(frame(0x1, b"hi"));
    wire.extend(frame(0x2, &[7; 300]));
    wire.extend(frame(0x2, &[7; 70_000]));
    // Payload bytes that look like a close frame are not one.
    wire.extend(frame(0x1, &[0x88, 0x02, 0x03, 0xe7]));
    wire.extend(frame(0x8, &[0x03, 0xe7, b'x']));
    assert_eq!(tapped(&[&wire]), Some(Some(999)), "all at once");
    let bytes: Vec<&[u8]> = wire.chunks(1).collect();
    assert_eq!(tapped(&bytes), Some(Some(999)), "a byte at a time");
    let bytes: Vec<&[u8]> = wire.chunks(7).collect();
    assert_eq!(tapped(&bytes), Some(Some(999)), "in odd chunks");
}

#[test]
fn whole_frames_in_one_read_masked_or_not_are_skipped_up_to_the_close() {
    let mut wire = RESPONSE.to_vec();
    for i in 0..50u8 {
        wire.extend(frame(0x1, &[b'a' + i % 26; 64]));
    }
    // A masked data frame whose masked payload reads like a close frame (0x88, length 2,
    // code 1000).
    let mask = [0x88 ^ b'x', 0x02 ^ b'y', 0x03 ^ b'z', 0xe8 ^ b'w'];
    wire.extend([0x81, 0x80 | 4]);
    wire.extend(mask);
    wire.extend([b'x', b'y', b'z', b'w']);
    wire.extend(frame(0x8, &4001u16.to_be_bytes()));
    wire.extend(frame(0x8, &1000u16.to_be_bytes()));
    assert_eq!(tapped(&[&wire]), Some(Some(4001)), "all at once");
    let (head, tail) = wire.split_at(RESPONSE.len());
    let chunks: Vec<&[u8]> = std::iter::once(head).chain(tail.chunks(100)).collect();
    assert_eq!(
        tapped(&chunks),
        Some(Some(4001)),
        "frames split across reads"
    );
}

#[test]
fn a_close_without_a_code_and_no_close_at_all() {
    let mut wire = RESPONSE.to_vec();
    wire.extend(frame(0x1, b"hi"));
    assert_eq!(tapped(&[&wire]), None);
    wire.extend(frame(0x8, b""));
    assert_eq!(tapped(&[&wire]), Some(None));
}

#[test]
fn a_masked_close_is_unmasked_and_only_the_first_close_counts() {
    let mut wire = RESPONSE.to_vec();
    let mask = [1, 2, 3, 4];
    let code = 5000u16.to_be_bytes();
    wire.extend([
        0x88,
        0x80 | 2,
        1,
        2,
        3,
        4,
        code[0] ^ mask[0],
        code[1] ^ mask[1],
    ]);
    wire.extend(frame(0x8, &1000u16.to_be_bytes()));
    assert_eq!(tapped(&[&wire]), Some(Some(5000)));
}

#[test]
fn invalid_wire_codes_are_protocol_failures_that_name_the_code() {
    let conn = reconnect_core::sim::first_conn_id();
    // What tungstenite hands over in their place.
    let replaced = || {
        Some(CloseFrame {
            code: CloseCode::Protocol,
            reason: "Protocol violation".into(),
        })
    };
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        match closed_input(conn, replaced(), Some(Some(code))) {
            Input::Failed { error, .. } => {
                assert_eq!(error.kind, TransportErrorKind::Protocol, "{code}");
                assert_eq!(
                    error.detail,
                    format!("the server sent invalid close code {code}")
                );
            }
            other => panic!("{code}: {other:?}"),
        }
    }
    for code in [1000, 1001, 1002, 1003, 1007, 1011, 3000, 4999] {
        let frame = Some(CloseFrame {
            code: CloseCode::from(code),
            reason: "bye".into(),
        });
        assert_eq!(
            closed_input(conn, frame, Some(Some(code))),
            Input::Closed {
                conn,
                code: Some(code),
                reason: "bye".into()
            },
            "{code}"
        );
    }
    // Registered codes tungstenite does not know: the code survives, its reason cannot.
    for code in [1012, 1013, 1014] {
        assert_eq!(
            closed_input(conn, replaced(), Some(Some(code))),
            Input::Closed {
                conn,
                code: Some(code),
                reason: String::new()
            },
            "{code}"
        );
    }
    assert_eq!(
        closed_input(conn, None, Some(None)),
        Input::Closed {
            conn,
            code: None,
            reason: String::new()
        }
    );
}
