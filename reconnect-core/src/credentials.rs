//! Secrets the application lends to the session for authentication.

use std::fmt;
use std::time::Duration;

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

/// What the server granted with an acknowledged auth request: how long the credentials live
/// and, when it gave one, a refresh token to renew them with.
///
/// An adapter reports it from [`Protocol::granted`](crate::Protocol::granted); the session then
/// re-authenticates on the live connection before the lifetime runs out (see
/// [`LifetimeRenewal`](crate::LifetimeRenewal)). The refresh token is a secret: it is kept as
/// [`Credentials`], so `Debug` redacts it, and no event carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Grant {
    /// How long the credentials stay valid, counted from when the answer arrived. Zero means
    /// the server gave no usable lifetime: nothing is renewed.
    pub lifetime: Duration,
    /// The refresh token the server handed out with the answer, if any.
    pub refresh: Option<Credentials>,
}

impl Grant {
    /// Credentials valid for `lifetime`, without a refresh token.
    pub fn new(lifetime: Duration) -> Self {
        Grant {
            lifetime,
            refresh: None,
        }
    }

    /// The same grant with a refresh token.
    pub fn with_refresh(mut self, refresh: Credentials) -> Self {
        self.refresh = Some(refresh);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret() {
        let grant =
            Grant::new(Duration::from_secs(900)).with_refresh(Credentials::new("refresh-s3cret"));
        let text = format!("{grant:?} {:?}", Credentials::new("api-s3cret"));
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("lifetime: 900s"), "{text}");
        assert!(text.contains("Credentials(<redacted>)"), "{text}");
    }
}
