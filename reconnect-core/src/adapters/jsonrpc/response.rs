//! Answers to requests: JSON-RPC error objects and the per-channel outcome of a subscribe.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::ServerError;
use crate::protocol::TopicRejection;
use crate::topic::Topic;

/// The message of the [`ServerError`] of a channel that a subscribe answer left out.
pub(super) const NOT_CONFIRMED: &str = "the server's answer did not list this channel";

/// A JSON-RPC `error` member as a [`ServerError`].
///
/// `code` is the integer `error.code`; `message` is `error.message` (or, when the error is not
/// an object with a message, its whole JSON text, so nothing is lost); `retry_after` is
/// `error.data.retry_after_ms` in milliseconds or, failing that, `error.data.retry_after` in
/// seconds — either a non-negative number (fractions allowed) or a string holding one.
pub(super) fn server_error(raw: &RawValue) -> ServerError {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::Object(error)) => ServerError {
            code: error.get("code").and_then(Value::as_i64),
            message: match error.get("message") {
                Some(Value::String(message)) => message.clone(),
                _ => raw.get().to_owned(),
            },
            retry_after: error
                .get("data")
                .and_then(Value::as_object)
                .and_then(retry_after),
        },
        Ok(Value::String(message)) => ServerError::new(None, message),
        _ => ServerError::new(None, raw.get()),
    }
}

fn retry_after(data: &Map<String, Value>) -> Option<Duration> {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let seconds = match (data.get("retry_after_ms"), data.get("retry_after")) {
        (Some(ms), _) => number(ms)? / 1000.0,
        (None, Some(s)) => number(s)?,
        (None, None) => return None,
    };
    // Negative, NaN, infinite and absurdly large values are not hints.
    Duration::try_from_secs_f64(seconds).ok()
}

/// The channels a JSON-RPC `error` blames: `error.data.channel`, a string or an array of
/// strings (other members of the array are ignored). Empty when the error names none.
pub(super) fn blamed_channels(raw: &RawValue) -> Vec<String> {
    let Ok(Value::Object(error)) = serde_json::from_str::<Value>(raw.get()) else {
        return Vec::new();
    };
    match error.get("data").and_then(|data| data.get("channel")) {
        Some(Value::String(channel)) => vec![channel.clone()],
        Some(Value::Array(channels)) => channels
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The channels of a subscribe request that its `result` does not list.
///
/// Deribit answers with the array of channels it actually subscribed; a channel missing from
/// it was refused. A `result` that is not an array says nothing per channel, so every channel
/// counts as confirmed.
pub(super) fn rejections(channels: Vec<Topic>, result: &RawValue) -> Vec<TopicRejection> {
    let Ok(Value::Array(listed)) = serde_json::from_str::<Value>(result.get()) else {
        return Vec::new();
    };
    let confirmed: HashSet<&str> = listed.iter().filter_map(Value::as_str).collect();
    channels
        .into_iter()
        .filter(|channel| !confirmed.contains(channel.as_str()))
        .map(|channel| TopicRejection {
            topic: channel.as_str().to_owned(),
            error: ServerError::new(None, NOT_CONFIRMED),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn error_objects() {
        let e = server_error(raw(
            r#"{"code":10028,"message":"too_many_requests","data":{"retry_after":1.5}}"#,
        ));
        assert_eq!(e.code, Some(10028));
        assert_eq!(e.message, "too_many_requests");
        assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));
        let e = server_error(raw(
            r#"{"code":1,"message":"m","data":{"retry_after_ms":250,"retry_after":9}}"#,
        ));
        assert_eq!(e.retry_after, Some(Duration::from_millis(250)));
        let e = server_error(raw(
            r#"{"code":1,"message":"m","data":{"retry_after":"3"}}"#,
        ));
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
        for data in [r#"-1"#, r#""soon""#, "1e300", "null", "[]"] {
            let text = format!(r#"{{"code":1,"message":"m","data":{{"retry_after":{data}}}}}"#);
            assert_eq!(server_error(raw(&text)).retry_after, None, "{data}");
        }
        let e = server_error(raw(
            r#"{"code":-32602,"message":"Invalid params","data":"x"}"#,
        ));
        assert_eq!((e.code, e.retry_after), (Some(-32602), None));
    }

    #[test]
    fn odd_errors_keep_their_text() {
        assert_eq!(
            server_error(raw(r#""boom""#)),
            ServerError::new(None, "boom")
        );
        assert_eq!(server_error(raw("42")), ServerError::new(None, "42"));
        let e = server_error(raw(r#"{"code":"x"}"#));
        assert_eq!(e, ServerError::new(None, r#"{"code":"x"}"#));
        let e = server_error(raw(r#"{"code":1.5,"message":"m"}"#));
        assert_eq!(e.code, None);
    }

    #[test]
    fn blamed_channels_come_from_error_data_channel() {
        let blamed = |text: &str| blamed_channels(raw(text));
        assert_eq!(
            blamed(r#"{"code":1,"message":"m","data":{"channel":"x.y"}}"#),
            ["x.y"]
        );
        assert_eq!(
            blamed(r#"{"code":1,"message":"m","data":{"channel":["a",7,"b"]}}"#),
            ["a", "b"]
        );
        for text in [
            r#"{"code":1,"message":"m"}"#,
            r#"{"code":1,"message":"m","data":"channel"}"#,
            r#"{"code":1,"message":"m","data":{"channel":5}}"#,
            r#"{"code":1,"message":"m","data":{"channels":["a"]}}"#,
            r#""boom""#,
        ] {
            assert!(blamed(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn channels_missing_from_the_result_are_rejected() {
        let asked = vec![Topic::new("a"), Topic::new("b"), Topic::new("c")];
        let r = rejections(asked.clone(), raw(r#"["c","a","zzz",1]"#));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].topic, "b");
        assert_eq!(r[0].error, ServerError::new(None, NOT_CONFIRMED));
        assert!(rejections(asked.clone(), raw("null")).is_empty());
        assert!(rejections(asked.clone(), raw(r#""ok""#)).is_empty());
        assert_eq!(rejections(asked, raw("[]")).len(), 3);
    }
}
