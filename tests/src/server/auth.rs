//! The answer to `public/auth`: the configured credentials, injected rejections, and tokens that
//! expire and are renewed with a refresh token on the same connection.

use serde_json::{json, Value};

use super::fault::{AuthRejection, Fault, Point, RpcError};
use super::state::Shared;
use super::Credentials;

/// The tokens one session handed out.
#[derive(Default)]
pub(crate) struct Tokens {
    /// The refresh token of the latest successful auth, when tokens expire.
    refresh: Option<String>,
    /// Successful answers so far, numbering the refresh tokens.
    issued: u32,
}

/// The result of a successful auth, or the error to answer with.
pub(crate) fn answer(
    shared: &Shared,
    client: &str,
    conn: u64,
    tokens: &mut Tokens,
    params: &Value,
) -> Result<Value, RpcError> {
    let cfg = &shared.config;
    let renewal = params.get("grant_type").and_then(Value::as_str) == Some("refresh_token");
    let rejection = match shared.take_admission(Point::Auth) {
        Some(Fault::RejectAuth(r)) => Some(match r {
            AuthRejection::Fatal => cfg.fatal_auth_error.clone(),
            AuthRejection::Transient => cfg.transient_auth_error.clone(),
            AuthRejection::Custom(e) => e,
        }),
        // A renewal must present the refresh token this session handed out last.
        _ if renewal => {
            let presented = params.get("refresh_token").and_then(Value::as_str);
            match (&tokens.refresh, presented) {
                (Some(issued), Some(p)) if issued == p => None,
                _ => Some(cfg.fatal_auth_error.clone()),
            }
        }
        _ => match &cfg.credentials {
            Credentials::AcceptAny => None,
            Credentials::Exactly(want) if want == params => None,
            Credentials::Exactly(_) => Some(cfg.fatal_auth_error.clone()),
        },
    };
    if let Some(error) = rejection {
        return Err(error);
    }
    let access = format!("token-{client}-{conn}");
    Ok(match cfg.token_lifetime {
        Some(lifetime) => {
            tokens.issued += 1;
            let refresh = format!("refresh-{client}-{conn}-{}", tokens.issued);
            tokens.refresh = Some(refresh.clone());
            json!({"access_token": access, "expires_in": lifetime.as_secs(), "refresh_token": refresh})
        }
        None => json!({"access_token": access, "expires_in": 900}),
    })
}
