//! Credentials for `public/auth`: the JSON text of its `params` object, checked on the way in.

use std::fmt;

use serde_json::value::RawValue;
use serde_json::Value;

use super::requests::json_string;
use super::JsonRpcAdapter;
use crate::credentials::Credentials;

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

#[cfg(test)]
mod tests {
    use super::*;

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
