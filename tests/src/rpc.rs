//! The JSON-RPC 2.0 wire format spoken by the test server (and the Python peer).
//!
//! Kept in one place so the server, the fault tests and binding tests build and read exactly the
//! same frames. Every function returns compact JSON text, ready to be sent as one text frame.

use serde_json::{json, Value};

/// Method name of the authentication request.
pub const AUTH: &str = "public/auth";
/// Method name of the subscribe request.
pub const SUBSCRIBE: &str = "public/subscribe";
/// Method name of the unsubscribe request.
pub const UNSUBSCRIBE: &str = "public/unsubscribe";
/// Method name of the heartbeat setup request.
pub const SET_HEARTBEAT: &str = "public/set_heartbeat";
/// Method name of the liveness test request (the answer to a heartbeat `test_request`).
pub const TEST: &str = "public/test";
/// Method name of the server's heartbeat notification.
pub const HEARTBEAT: &str = "heartbeat";
/// Method name of data notifications.
pub const SUBSCRIPTION: &str = "subscription";

/// Error code for an unknown method (JSON-RPC standard).
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Error code for malformed parameters (JSON-RPC standard).
pub const INVALID_PARAMS: i64 = -32602;
/// Error code for a subscribe before authentication, when the server requires auth.
pub const UNAUTHORIZED: i64 = 13009;

/// A client request: `{"jsonrpc":"2.0","id":id,"method":method,"params":params}`.
pub fn request(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

/// An authentication request with the given params object.
pub fn auth(id: u64, params: Value) -> String {
    request(id, AUTH, params)
}

/// A subscribe request for `channels`.
pub fn subscribe(id: u64, channels: &[&str]) -> String {
    request(id, SUBSCRIBE, json!({ "channels": channels }))
}

/// An unsubscribe request for `channels`.
pub fn unsubscribe(id: u64, channels: &[&str]) -> String {
    request(id, UNSUBSCRIBE, json!({ "channels": channels }))
}

/// A heartbeat setup request; `interval` is in seconds and may be fractional.
pub fn set_heartbeat(id: u64, interval_secs: f64) -> String {
    request(id, SET_HEARTBEAT, json!({ "interval": interval_secs }))
}

/// A `public/test` request (what a client sends to answer a heartbeat `test_request`).
pub fn test(id: u64) -> String {
    request(id, TEST, json!({}))
}

/// A success response.
pub fn result(id: &Value, result: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string()
}

/// An error response.
pub fn error(id: &Value, code: i64, message: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}

/// An error response with a `data` member.
pub fn error_with_data(id: &Value, code: i64, message: &str, data: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": data}})
        .to_string()
}

/// The `error.data.channel` of an error response, if it names one.
pub fn error_channel(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    v.pointer("/error/data/channel")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The server's heartbeat `test_request` notification.
pub fn heartbeat_test_request() -> String {
    json!({"jsonrpc": "2.0", "method": HEARTBEAT, "params": {"type": "test_request"}}).to_string()
}

/// A data notification for `channel` with sequence number `seq`.
pub fn notification(channel: &str, seq: u64, payload: &str) -> String {
    json!({
        "jsonrpc": "2.0",
        "method": SUBSCRIPTION,
        "params": {"channel": channel, "data": {"seq": seq, "payload": payload}}
    })
    .to_string()
}

/// What an inbound frame is, as far as a simple client needs to know.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Inbound {
    /// A success response to request `id`.
    Result {
        /// The request id.
        id: Value,
        /// The `result` member.
        result: Value,
    },
    /// An error response to request `id`.
    Error {
        /// The request id (`null` if the server could not read it).
        id: Value,
        /// The error code.
        code: i64,
        /// The error message.
        message: String,
    },
    /// A data notification.
    Data {
        /// The channel.
        channel: String,
        /// The sequence number.
        seq: u64,
    },
    /// A heartbeat `test_request` that must be answered with `public/test`.
    TestRequest,
    /// Valid JSON of any other shape.
    Other(Value),
    /// Not JSON at all.
    NotJson,
}

/// Classifies one inbound text frame.
pub fn classify(text: &str) -> Inbound {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Inbound::NotJson;
    };
    if let Some(method) = v.get("method").and_then(Value::as_str) {
        let params = v.get("params").cloned().unwrap_or(Value::Null);
        if method == SUBSCRIPTION {
            let channel = params.get("channel").and_then(Value::as_str);
            let seq = params.pointer("/data/seq").and_then(Value::as_u64);
            if let (Some(channel), Some(seq)) = (channel, seq) {
                return Inbound::Data {
                    channel: channel.to_owned(),
                    seq,
                };
            }
        }
        if method == HEARTBEAT && params.get("type").and_then(Value::as_str) == Some("test_request")
        {
            return Inbound::TestRequest;
        }
        return Inbound::Other(v);
    }
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    if let Some(err) = v.get("error") {
        return Inbound::Error {
            id,
            code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        };
    }
    if let Some(result) = v.get("result") {
        return Inbound::Result {
            id,
            result: result.clone(),
        };
    }
    Inbound::Other(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_round_trips_the_server_frames() {
        assert_eq!(
            classify(&notification("a", 7, "x")),
            Inbound::Data {
                channel: "a".into(),
                seq: 7
            }
        );
        assert_eq!(classify(&heartbeat_test_request()), Inbound::TestRequest);
        assert_eq!(
            classify(&error(&json!(3), 13004, "invalid_credentials")),
            Inbound::Error {
                id: json!(3),
                code: 13004,
                message: "invalid_credentials".into()
            }
        );
        assert_eq!(
            classify(&result(&json!(1), json!(["a"]))),
            Inbound::Result {
                id: json!(1),
                result: json!(["a"])
            }
        );
        assert_eq!(classify("{nope"), Inbound::NotJson);
    }
}
