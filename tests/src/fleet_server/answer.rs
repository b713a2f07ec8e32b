//! The JSON-RPC answers of the fleet server: what an idle fleet session needs, nothing more.
//!
//! | request | answer |
//! |---|---|
//! | `public/subscribe` / `public/unsubscribe` with `{"channels":[..]}` | the same channels (every one acknowledged) |
//! | `public/test` | `{"version":"1.0.0"}` |
//! | `public/auth` | an access token, whatever the credentials |
//! | any other method | error `-32601` |
//! | a notification (no `id`), non-JSON text | nothing |

use serde_json::{json, Value};

use crate::rpc;

/// The answer to one inbound text frame, if it gets one.
pub(super) fn answer(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    let method = v.get("method")?.as_str()?;
    let id = v.get("id")?;
    let params = v.get("params").unwrap_or(&Value::Null);
    Some(match method {
        rpc::SUBSCRIBE | rpc::UNSUBSCRIBE => rpc::result(id, json!(channels_of(params))),
        rpc::TEST => rpc::result(id, json!({"version": "1.0.0"})),
        rpc::AUTH => rpc::result(
            id,
            json!({"access_token": "fleet-token", "expires_in": 900}),
        ),
        _ => rpc::error(id, rpc::METHOD_NOT_FOUND, "Method not found"),
    })
}

/// The string members of `params.channels`.
fn channels_of(params: &Value) -> Vec<&str> {
    params
        .get("channels")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::answer;
    use crate::rpc::{self, Inbound};
    use serde_json::json;

    #[test]
    fn a_subscribe_is_acknowledged_with_its_channels() {
        let reply = answer(&rpc::subscribe(4, &["a", "b"])).unwrap();
        assert_eq!(
            rpc::classify(&reply),
            Inbound::Result {
                id: json!(4),
                result: json!(["a", "b"])
            }
        );
    }

    #[test]
    fn tests_are_answered_unknown_methods_refused_and_notifications_ignored() {
        let reply = answer(&rpc::test(9)).unwrap();
        assert!(matches!(rpc::classify(&reply), Inbound::Result { id, .. } if id == json!(9)));
        let reply = answer(&rpc::request(2, "private/buy", json!({}))).unwrap();
        assert!(matches!(
            rpc::classify(&reply),
            Inbound::Error {
                code: rpc::METHOD_NOT_FOUND,
                ..
            }
        ));
        assert_eq!(
            answer(r#"{"jsonrpc":"2.0","method":"public/test","params":{}}"#),
            None
        );
        assert_eq!(answer("not json"), None);
    }
}
