//! Secrets the application lends to the session for authentication.

use std::fmt;

/// Credentials for the protocol's authentication request (an API key and signature, a token, a
/// listen key, or for the JSON-RPC adapter the JSON `params` of `public/auth`).
///
/// The session never prints them: `Debug` shows only `Credentials(<redacted>)`, no event carries
/// them, and the auth frame built from them is redacted in [`Action`](crate::Action)'s `Debug`.
/// The adapter reads them with [`Credentials::expose`]; nothing else should.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(String);

impl Credentials {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Credentials(secret.into())
    }

    /// The secret itself. Adapters call this to build the auth request; the caller must not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}
