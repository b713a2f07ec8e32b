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
    let conn = crate::test_conn_id();
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

// Streams built by an encoder of the test's own (RFC 6455 section 5.2, written out here rather
// than borrowed from the tap), each fed whole and in reads of several sizes.

/// A full upgrade response, as a server sends it before its first frame.
const UPGRADE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

/// The read sizes every stream is also fed in: small and coprime, so that the upgrade
/// response's end and the headers of every length form (2, 4, 6, 8, 10 and 14 bytes) are
/// split at many different places.
const CHUNKS: [usize; 6] = [1, 2, 3, 5, 7, 13];

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;

/// One final frame: FIN and `opcode`, the mask bit and the payload length in the shortest of
/// the three forms (7 bits; 126 and 16 bits; 127 and 64 bits, all big-endian), the masking key
/// if any, then the payload, masked with it.
fn encode(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0x00 };
    let n = payload.len() as u64;
    if n <= 125 {
        out.push(mask_bit | n as u8);
    } else if n <= 0xffff {
        out.push(mask_bit | 126);
        out.push((n >> 8) as u8);
        out.push(n as u8);
    } else {
        out.push(mask_bit | 127);
        for shift in [56, 48, 40, 32, 24, 16, 8, 0] {
            out.push((n >> shift) as u8);
        }
    }
    match mask {
        Some(key) => {
            out.extend(key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend(payload),
    }
    out
}

/// A close frame's payload: the code, big-endian, then the reason.
fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = vec![(code >> 8) as u8, code as u8];
    payload.extend(reason);
    payload
}

/// `len` bytes that repeat a whole unmasked close frame with `code`: a tap that lost its place
/// in such a payload is likely to land on one and report `code`.
fn lookalikes(len: usize, code: u16) -> Vec<u8> {
    let one = [0x88, 0x02, (code >> 8) as u8, code as u8];
    one.iter().copied().cycle().take(len).collect()
}

/// A payload whose bytes on the wire, once masked with `key`, are `wire`.
fn masked_to(wire: &[u8], key: [u8; 4]) -> Vec<u8> {
    wire.iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect()
}

/// Feeds `wire` to fresh taps whole, then in reads of each size in [`CHUNKS`]; every one must
/// report `expected`.
fn assert_every_chunking(wire: &[u8], expected: Option<Option<u16>>, what: &str) {
    let mut tap = CloseTap::new();
    tap.observe(wire);
    assert_eq!(tap.first_close(), expected, "{what}: whole");
    for size in CHUNKS {
        let mut tap = CloseTap::new();
        for chunk in wire.chunks(size) {
            tap.observe(chunk);
        }
        assert_eq!(tap.first_close(), expected, "{what}: reads of {size}");
    }
}

#[test]
fn the_test_encoder_writes_the_three_length_forms_as_rfc_6455_does() {
    // Written out by hand from the RFC's layout.
    assert_eq!(encode(CLOSE, &[0x03, 0xe8], None), [0x88, 0x02, 0x03, 0xe8]);
    assert_eq!(
        encode(BINARY, &[0; 300], None)[..4],
        [0x82, 126, 0x01, 0x2c]
    );
    // 70,000 = 0x0001_1170.
    assert_eq!(
        encode(BINARY, &[0; 70_000], None)[..10],
        [0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]
    );
    assert_eq!(
        encode(TEXT, b"ab", Some([1, 2, 3, 4])),
        [0x81, 0x82, 1, 2, 3, 4, b'a' ^ 1, b'b' ^ 2]
    );
    // And byte for byte what tungstenite itself writes, at every boundary of the forms.
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    use tungstenite::protocol::frame::Frame;
    for len in [0, 1, 125, 126, 300, 65_535, 65_536, 70_000] {
        for mask in [None, Some([0xa1, 0xb2, 0xc3, 0xd4])] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut frame = Frame::message(payload.clone(), OpCode::Data(Data::Binary), true);
            frame.header_mut().mask = mask;
            let mut theirs = Vec::new();
            frame.format(&mut theirs).unwrap();
            assert_eq!(
                encode(BINARY, &payload, mask),
                theirs,
                "{len} bytes, {mask:?}"
            );
        }
    }
}

#[test]
fn a_close_lookalike_inside_a_payload_is_not_the_close() {
    // The lookalikes name 4001 (and, below, the invalid 999, which `closed_input` would turn
    // into a protocol failure); only the real close frame's 1001 counts.
    let real = encode(CLOSE, &close_payload(1001, b"going away"), None);
    let lookalike = encode(CLOSE, &close_payload(4001, b""), None);
    assert_eq!(lookalike, [0x88, 0x02, 0x0f, 0xa1]);
    let mut streams: Vec<(&str, Vec<u8>)> = Vec::new();
    streams.push(("a payload that is a whole close frame", lookalike.clone()));
    let mut middle = b"abc".to_vec();
    middle.extend(&lookalike);
    middle.extend(b"xyz");
    streams.push(("a lookalike in the middle of a payload", middle));
    let mut tail = vec![b'.'; 296];
    tail.extend(&lookalike);
    streams.push(("a lookalike ending a 300-byte payload", tail));
    for (what, payload) in streams {
        // A control frame carries at most 125 bytes.
        let opcodes: &[u8] = if payload.len() <= 125 {
            &[TEXT, BINARY, PING]
        } else {
            &[TEXT, BINARY]
        };
        for &opcode in opcodes {
            let mut wire = UPGRADE.to_vec();
            wire.extend(encode(opcode, &payload, None));
            wire.extend(&real);
            assert_every_chunking(&wire, Some(Some(1001)), &format!("{what}, opcode {opcode}"));
        }
    }
    // A lookalike of an invalid code, then the real close.
    let mut wire = UPGRADE.to_vec();
    wire.extend(encode(TEXT, &close_payload(999, b""), None));
    wire.extend(encode(TEXT, &[0x88, 0x02, 0x03, 0xe7], None));
    wire.extend(encode(CLOSE, &close_payload(1000, b""), None));
    assert_every_chunking(&wire, Some(Some(1000)), "a 999 lookalike");
    // Lookalikes only: no close at all.
    let mut wire = UPGRADE.to_vec();
    wire.extend(encode(BINARY, &lookalikes(64, 4001), None));
    assert_every_chunking(&wire, None, "lookalikes and no close");
}

#[test]
fn frames_of_every_length_form_precede_the_close() {
    let real = encode(CLOSE, &close_payload(3001, b""), None);
    // Each length on its own, then all of them in a row: 125 is the longest 7-bit length,
    // 126 and 65,535 the ends of the 16-bit form, 65,536 and 70,000 need 64 bits. Every
    // payload is made of close lookalikes, so a tap that skips a wrong number of bytes lands
    // on one and reports 4003, or on nothing it can use.
    let lengths = [125, 126, 300, 65_535, 65_536, 70_000];
    for len in lengths {
        let mut wire = UPGRADE.to_vec();
        wire.extend(encode(BINARY, &lookalikes(len, 4003), None));
        wire.extend(&real);
        assert_every_chunking(&wire, Some(Some(3001)), &format!("{len} bytes"));
    }
    let mut wire = UPGRADE.to_vec();
    for len in lengths {
        wire.extend(encode(BINARY, &lookalikes(len, 4003), None));
        wire.extend(encode(TEXT, b"between", None));
    }
    wire.extend(&real);
    // Only the first close counts.
    wire.extend(encode(CLOSE, &close_payload(1000, b""), None));
    assert_every_chunking(&wire, Some(Some(3001)), "all the lengths in a row");
}

#[test]
fn masked_frames_with_split_headers_and_a_masked_close() {
    // Client-style frames: the mask bit set and a key after the length, so the headers are 6,
    // 8 and 14 bytes long. Their payloads are masked so that on the wire they read as close
    // lookalikes of 4004; the close's key changes both bytes of its code 4002 (0x0fa2) on the
    // wire, so a tap that did not unmask it would report 0x3858.
    let data_key = [0x5a, 0x01, 0xc3, 0x7e];
    let close_key = [0x37, 0xfa, 0x21, 0x3d];
    let close = encode(CLOSE, &close_payload(4002, b"bye"), Some(close_key));
    assert_eq!(close[..8], [0x88, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x38, 0x58]);
    let mut small = UPGRADE.to_vec();
    // Many small frames, so that most reads hold whole frames and then part of a header.
    for len in 0..40 {
        let wire_payload = lookalikes(len, 4004);
        small.extend(encode(
            TEXT,
            &masked_to(&wire_payload, data_key),
            Some(data_key),
        ));
    }
    for len in [126, 300] {
        let wire_payload = lookalikes(len, 4004);
        small.extend(encode(
            BINARY,
            &masked_to(&wire_payload, data_key),
            Some(data_key),
        ));
    }
    let mut big = small.clone();
    big.extend(encode(
        BINARY,
        &masked_to(&lookalikes(70_000, 4004), data_key),
        Some(data_key),
    ));
    for wire in [&mut small, &mut big] {
        wire.extend(&close);
        wire.extend(encode(CLOSE, &close_payload(1000, b""), None));
    }
    assert_every_chunking(&small, Some(Some(4002)), "masked frames up to 300 bytes");
    assert_every_chunking(&big, Some(Some(4002)), "masked frames up to 70,000 bytes");
    // Two reads, split at every byte of the stream: every header (and the close's code) is cut
    // at every place once.
    for at in 0..=small.len() {
        let mut tap = CloseTap::new();
        tap.observe(&small[..at]);
        tap.observe(&small[at..]);
        assert_eq!(tap.first_close(), Some(Some(4002)), "split at {at}");
    }
}
