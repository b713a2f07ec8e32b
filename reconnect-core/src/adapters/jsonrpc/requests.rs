//! Outbound frames: JSON-RPC requests written as text with a fixed member order, so that the
//! exact bytes on the wire are predictable (and testable).

use std::fmt::Write as _;
use std::time::Duration;

use crate::frame::Frame;

/// `{"jsonrpc":"2.0","id":ID,"method":METHOD,"params":PARAMS}`. `method` is already a JSON
/// string literal and `params` already JSON text.
pub(super) fn request(id: u64, method: &str, params: &str) -> Frame {
    Frame::text(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":{method},"params":{params}}}"#
    ))
}

/// `s` as a JSON string literal, quoted and escaped.
pub(super) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_json_string(&mut out, s);
    out
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `{"channels":[…]}`, plus `"FIELD":{"channel":seq,…}` when a resume field is configured and
/// at least one channel has a known position.
pub(super) fn channels_params<'a>(
    channels: impl Iterator<Item = (&'a str, Option<u64>)> + Clone,
    resume_field: Option<&str>,
) -> String {
    let mut out = String::from(r#"{"channels":["#);
    for (i, (channel, _)) in channels.clone().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, channel);
    }
    out.push(']');
    if let Some(field) = resume_field {
        let mut positions = channels
            .filter_map(|(c, seq)| seq.map(|s| (c, s)))
            .peekable();
        if positions.peek().is_some() {
            out.push(',');
            push_json_string(&mut out, field);
            out.push_str(":{");
            for (i, (channel, seq)) in positions.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(&mut out, channel);
                let _ = write!(out, ":{seq}");
            }
            out.push('}');
        }
    }
    out.push('}');
    out
}

/// `{"interval":S}` with S in seconds: an integer when whole, a decimal otherwise (Rust prints
/// `f64` without exponents, so the text is always a valid JSON number).
pub(super) fn interval_params(interval: Duration) -> String {
    if interval.subsec_nanos() == 0 {
        format!(r#"{{"interval":{}}}"#, interval.as_secs())
    } else {
        format!(r#"{{"interval":{}}}"#, interval.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_like_serde_json_does() {
        for s in ["plain", "q\"b\\s", "nl\n\r\t", "\u{1}\u{1f}", "ü€😀", "a/b"] {
            let ours = json_string(s);
            let back: String = serde_json::from_str(&ours).unwrap();
            assert_eq!(back, s);
        }
        assert_eq!(json_string("a\"b"), r#""a\"b""#);
    }

    #[test]
    fn requests_have_a_fixed_member_order() {
        let frame = request(7, &json_string("public/test"), "{}");
        assert_eq!(
            frame.as_text(),
            Some(r#"{"jsonrpc":"2.0","id":7,"method":"public/test","params":{}}"#)
        );
    }

    #[test]
    fn channel_params_with_and_without_resume_positions() {
        let chans = [("a", Some(4)), ("b\"", None)];
        assert_eq!(
            channels_params(chans.iter().copied(), None),
            r#"{"channels":["a","b\""]}"#
        );
        assert_eq!(
            channels_params(chans.iter().copied(), Some("from")),
            r#"{"channels":["a","b\""],"from":{"a":4}}"#
        );
        let unknown = [("a", None)];
        assert_eq!(
            channels_params(unknown.iter().copied(), Some("from")),
            r#"{"channels":["a"]}"#
        );
    }

    #[test]
    fn intervals_in_seconds() {
        assert_eq!(
            interval_params(Duration::from_secs(10)),
            r#"{"interval":10}"#
        );
        assert_eq!(
            interval_params(Duration::from_millis(250)),
            r#"{"interval":0.25}"#
        );
        assert_eq!(
            interval_params(Duration::from_micros(1)),
            r#"{"interval":0.000001}"#
        );
        let v: serde_json::Value =
            serde_json::from_str(&interval_params(Duration::from_nanos(1))).unwrap();
        assert!(v["interval"].as_f64().unwrap() > 0.0);
    }
}
