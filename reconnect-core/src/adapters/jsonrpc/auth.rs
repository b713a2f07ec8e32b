//! Credentials for `public/auth`: the JSON text of its `params` object, checked on the way in.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use serde_json::value::RawValue;
use serde_json::Value;

use super::requests::json_string;
use super::JsonRpcAdapter;
use crate::credentials::{Credentials, Grant};

/// Why a text or value cannot be the `params` of the auth request.
///
/// It never includes the offending text: that text is a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthParamsError {
    /// The text is not valid JSON.
    NotJson,
    /// The JSON is valid but not an object (JSON-RPC `params` by name must be one).
    NotAnObject,
}

impl fmt::Display for AuthParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthParamsError::NotJson => "auth params are not valid JSON",
            AuthParamsError::NotAnObject => "auth params are not a JSON object",
        })
    }
}

impl std::error::Error for AuthParamsError {}

impl JsonRpcAdapter {
    /// Credentials whose auth request carries `params`, which must be a JSON object.
    ///
    /// ```
    /// use reconnect_core::adapters::{AuthParamsError, JsonRpcAdapter};
    ///
    /// let params = serde_json::json!({"grant_type": "refresh_token", "refresh_token": "r1"});
    /// assert!(JsonRpcAdapter::auth_params(&params).is_ok());
    /// assert_eq!(
    ///     JsonRpcAdapter::auth_params(&serde_json::json!("token")),
    ///     Err(AuthParamsError::NotAnObject)
    /// );
    /// ```
    pub fn auth_params(params: &Value) -> Result<Credentials, AuthParamsError> {
        match params {
            Value::Object(_) => Ok(Credentials::new(params.to_string())),
            _ => Err(AuthParamsError::NotAnObject),
        }
    }

    /// Credentials from the JSON text of the auth `params`, checked to be a JSON object (and
    /// kept as written, without surrounding whitespace).
    pub fn auth_params_text(text: &str) -> Result<Credentials, AuthParamsError> {
        params_object(text).map(|params| Credentials::new(params.get()))
    }

    /// Deribit's `client_credentials` grant:
    /// `{"grant_type":"client_credentials","client_id":ID,"client_secret":SECRET}`.
    pub fn client_credentials(client_id: &str, client_secret: &str) -> Credentials {
        Credentials::new(format!(
            r#"{{"grant_type":"client_credentials","client_id":{},"client_secret":{}}}"#,
            json_string(client_id),
            json_string(client_secret)
        ))
    }
}

/// `text` as one JSON object, whitespace trimmed.
pub(super) fn params_object(text: &str) -> Result<&RawValue, AuthParamsError> {
    let raw: &RawValue = serde_json::from_str(text).map_err(|_| AuthParamsError::NotJson)?;
    if raw.get().starts_with('{') {
        Ok(raw)
    } else {
        Err(AuthParamsError::NotAnObject)
    }
}

/// The `params` of Deribit's refresh grant:
/// `{"grant_type":"refresh_token","refresh_token":TOKEN}`. The result is a secret too.
pub(super) fn refresh_params(refresh: &Credentials) -> String {
    format!(
        r#"{{"grant_type":"refresh_token","refresh_token":{}}}"#,
        json_string(refresh.expose())
    )
}

/// What an auth answer's `result` grants: `expires_in` (seconds, a non-negative number that
/// fits a [`Duration`]; fractions allowed) and `refresh_token` (a non-empty string).
///
/// `None` when there is no usable lifetime: a missing `expires_in`, a string, a negative, NaN
/// or absurdly large number, a `result` that is not an object. A refresh token without a
/// lifetime is dropped with it: the session could not schedule its use.
pub(super) fn grant_of(result: &RawValue) -> Option<Grant> {
    let Ok(Value::Object(result)) = serde_json::from_str::<Value>(result.get()) else {
        return None;
    };
    let seconds = result.get("expires_in").and_then(Value::as_f64)?;
    let lifetime = Duration::try_from_secs_f64(seconds).ok()?;
    let grant = Grant::new(lifetime);
    Some(match result.get("refresh_token") {
        Some(Value::String(token)) if !token.is_empty() => {
            grant.with_refresh(Credentials::new(token.as_str()))
        }
        _ => grant,
    })
}

/// Auth requests (first auth, re-auth, refresh grant) awaiting their answers, and what the
/// latest answer granted until the session takes it.
///
/// Bounded: the session has at most a couple of auth requests in flight, so only the newest
/// [`Grants::MAX_IN_FLIGHT`] are remembered; an answer to an older one grants nothing.
#[derive(Clone, Debug, Default)]
pub(super) struct Grants {
    in_flight: VecDeque<u64>,
    /// Its `Debug` is redacted: the refresh token is [`Credentials`].
    answered: Option<(u64, Grant)>,
}

impl Grants {
    pub(super) const MAX_IN_FLIGHT: usize = 8;

    /// Auth request `id` went out.
    pub(super) fn sent(&mut self, id: u64) {
        // The same id again: the session dropped a refresh grant too large to write and built
        // the auth request with that id. One entry, or the stale one would take a slot.
        if self.in_flight.contains(&id) {
            return;
        }
        if self.in_flight.len() >= Self::MAX_IN_FLIGHT {
            self.in_flight.pop_front();
        }
        self.in_flight.push_back(id);
    }

    /// Request `id` was answered, with `result` when positive. Only the answer to a remembered
    /// auth request is read; every other answer costs one scan of at most a few ids.
    pub(super) fn answered(&mut self, id: u64, result: Option<&RawValue>) {
        let Some(i) = self.in_flight.iter().position(|sent| *sent == id) else {
            return;
        };
        self.in_flight.remove(i);
        self.answered = result.and_then(grant_of).map(|grant| (id, grant));
    }

    /// What the answer to `id` granted, once.
    pub(super) fn take(&mut self, id: u64) -> Option<Grant> {
        match self.answered.take() {
            Some((answered, grant)) if answered == id => Some(grant),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn auth_results_grant_a_lifetime_and_a_refresh_token() {
        let g = grant_of(raw(
            r#"{"access_token":"a","expires_in":900,"refresh_token":"r1","scope":"s"}"#,
        ))
        .unwrap();
        assert_eq!(g.lifetime, Duration::from_secs(900));
        assert_eq!(g.refresh.as_ref().map(Credentials::expose), Some("r1"));
        let g = grant_of(raw(r#"{"expires_in":0.25}"#)).unwrap();
        assert_eq!((g.lifetime, g.refresh), (Duration::from_millis(250), None));
        let g = grant_of(raw(r#"{"expires_in":0,"refresh_token":""}"#)).unwrap();
        assert_eq!((g.lifetime, g.refresh), (Duration::ZERO, None));
    }

    #[test]
    fn unusable_lifetimes_grant_nothing_and_never_panic() {
        for result in [
            r#"{"access_token":"a","refresh_token":"r"}"#,
            r#"{"expires_in":"900"}"#,
            r#"{"expires_in":null}"#,
            r#"{"expires_in":[900]}"#,
            r#"{"expires_in":-1}"#,
            r#"{"expires_in":-0.5}"#,
            r#"{"expires_in":1e300}"#,
            r#"{"expires_in":18446744073709551615}"#,
            r#"{"expires_in":1.8446744073709552e19}"#,
            r#""ok""#,
            "[900]",
            "null",
        ] {
            assert_eq!(grant_of(raw(result)), None, "{result}");
        }
        // Large but representable: a lifetime, which the session's saturating arithmetic
        // schedules without overflowing an `Instant`.
        let g = grant_of(raw(r#"{"expires_in":1e18}"#)).unwrap();
        assert_eq!(g.lifetime, Duration::from_secs(1_000_000_000_000_000_000));
    }

    #[test]
    fn only_answers_to_auth_requests_grant() {
        let mut grants = Grants::default();
        let result = raw(r#"{"expires_in":60,"refresh_token":"r2"}"#);
        grants.answered(4, Some(result));
        assert_eq!(grants.take(4), None, "4 was not an auth request");
        grants.sent(5);
        grants.answered(5, Some(result));
        assert_eq!(grants.take(6), None, "asked for another id");
        grants.sent(7);
        grants.answered(7, Some(result));
        assert_eq!(
            grants.take(7).map(|g| g.lifetime),
            Some(Duration::from_secs(60))
        );
        assert_eq!(grants.take(7), None, "taken once");
        grants.sent(8);
        grants.answered(8, None);
        assert_eq!(grants.take(8), None, "an error grants nothing");
        for id in 10..10 + Grants::MAX_IN_FLIGHT as u64 + 1 {
            grants.sent(id);
        }
        grants.answered(10, Some(result));
        assert_eq!(grants.take(10), None, "the oldest was forgotten");
        assert!(!format!("{grants:?}").contains("r2"));
    }

    #[test]
    fn an_id_built_twice_takes_one_slot() {
        // 19, then 20 twice (a refresh grant dropped as too large, then the auth request under
        // the same id), then six more: eight distinct ids, all remembered.
        let mut grants = Grants::default();
        let result = raw(r#"{"expires_in":60}"#);
        for id in [19, 20, 20, 21, 22, 23, 24, 25, 26] {
            grants.sent(id);
        }
        grants.answered(19, Some(result));
        assert_eq!(
            grants.take(19).map(|g| g.lifetime),
            Some(Duration::from_secs(60))
        );
    }

    struct NoTopics;
    impl crate::protocol::TopicLookup for NoTopics {
        fn find(&self, _: &str) -> Option<crate::topic::Topic> {
            None
        }
    }

    #[test]
    fn the_adapter_reports_what_deribit_granted_and_builds_the_refresh_grant() {
        use crate::frame::Frame;
        use crate::protocol::{Inbound, Protocol, RequestId};
        let mut a = JsonRpcAdapter::default();
        let creds = JsonRpcAdapter::client_credentials("id", "secret");
        a.auth_request(RequestId(1), &creds).unwrap();
        let answer = Frame::from(
            r#"{"jsonrpc":"2.0","id":1,"result":{"access_token":"a","expires_in":900,"refresh_token":"rt-1","scope":"s","token_type":"bearer"}}"#,
        );
        assert!(matches!(
            a.classify(&answer, &NoTopics),
            Inbound::Ack {
                id: RequestId(1),
                ..
            }
        ));
        assert!(
            !format!("{a:?}").contains("rt-1"),
            "Debug redacts the token"
        );
        let grant = a.granted(RequestId(1)).unwrap();
        assert_eq!(grant.lifetime, Duration::from_secs(900));
        let token = grant.refresh.unwrap();
        assert_eq!(a.granted(RequestId(1)), None, "reported once");
        let frame = a.refresh_request(RequestId(7), &token).unwrap();
        assert_eq!(
            frame.as_text(),
            Some(
                r#"{"jsonrpc":"2.0","id":7,"method":"public/auth","params":{"grant_type":"refresh_token","refresh_token":"rt-1"}}"#
            )
        );
        // The refresh grant's own answer grants the next lifetime.
        let answer = Frame::from(r#"{"jsonrpc":"2.0","id":7,"result":{"expires_in":60}}"#);
        a.classify(&answer, &NoTopics);
        assert_eq!(
            a.granted(RequestId(7)).map(|g| g.lifetime),
            Some(Duration::from_secs(60))
        );
        // Answers to other requests never grant, even when their result looks like one.
        let answer = Frame::from(r#"{"jsonrpc":"2.0","id":8,"result":{"expires_in":60}}"#);
        a.classify(&answer, &NoTopics);
        assert_eq!(a.granted(RequestId(8)), None);
        // An auth error grants nothing.
        a.auth_request(RequestId(9), &creds).unwrap();
        let answer =
            Frame::from(r#"{"jsonrpc":"2.0","id":9,"error":{"code":13004,"message":"m"}}"#);
        a.classify(&answer, &NoTopics);
        assert_eq!(a.granted(RequestId(9)), None);
    }

    #[test]
    fn lifetimes_can_be_ignored() {
        use crate::frame::Frame;
        use crate::protocol::{Protocol, RequestId};
        let mut a =
            JsonRpcAdapter::new(super::super::JsonRpcConfig::default().grant_lifetimes(false));
        let creds = JsonRpcAdapter::client_credentials("id", "secret");
        a.auth_request(RequestId(1), &creds).unwrap();
        let answer = Frame::from(
            r#"{"jsonrpc":"2.0","id":1,"result":{"expires_in":900,"refresh_token":"r"}}"#,
        );
        a.classify(&answer, &NoTopics);
        assert_eq!(a.granted(RequestId(1)), None);
        assert_eq!(
            a.refresh_request(RequestId(2), &Credentials::new("r")),
            None
        );
    }

    #[test]
    fn the_refresh_grant_escapes_its_token() {
        let params = refresh_params(&Credentials::new("a\"b"));
        let v: Value = serde_json::from_str(&params).unwrap();
        assert_eq!(v["grant_type"], "refresh_token");
        assert_eq!(v["refresh_token"], "a\"b");
    }

    #[test]
    fn only_objects_become_credentials() {
        let c = JsonRpcAdapter::auth_params_text(" {\"a\": 1} \n").unwrap();
        assert_eq!(c.expose(), "{\"a\": 1}");
        assert_eq!(
            JsonRpcAdapter::auth_params_text("[1]"),
            Err(AuthParamsError::NotAnObject)
        );
        assert_eq!(
            JsonRpcAdapter::auth_params_text("{\"a\":"),
            Err(AuthParamsError::NotJson)
        );
        assert_eq!(
            JsonRpcAdapter::auth_params_text(""),
            Err(AuthParamsError::NotJson)
        );
        let c = JsonRpcAdapter::client_credentials("id\"1", "s\\2");
        let v: Value = serde_json::from_str(c.expose()).unwrap();
        assert_eq!(v["client_id"], "id\"1");
        assert_eq!(v["client_secret"], "s\\2");
        assert_eq!(v["grant_type"], "client_credentials");
    }
}
