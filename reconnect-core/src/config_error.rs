//! The error of a configuration the session cannot work with.

use std::fmt;

/// A configuration the session cannot work with, naming the setting at fault.
///
/// ```
/// use std::time::Duration;
/// use reconnect_core::{Config, ConfigError};
///
/// let mut config = Config::new(7);
/// config.liveness.pong_timeout = Duration::ZERO;
/// match config.validate() {
///     Err(ConfigError::Invalid { setting, reason }) => {
///         assert_eq!(setting, "liveness.pong_timeout");
///         assert_eq!(reason, "must be longer than zero");
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value outside what its setting allows.
    Invalid {
        /// The setting, as its path from [`Config`](crate::Config) (`"backoff.factor"`,
        /// `"timeouts.connect"`, `"resubscribe.batch_size"` ...).
        setting: &'static str,
        /// What the value must be (`"must be longer than zero"` ...).
        reason: &'static str,
    },
    /// [`Liveness::heartbeat_interval`](crate::Liveness::heartbeat_interval) is set, but the adapter has no application heartbeat
    /// to send ([`Protocol::has_heartbeat`](crate::Protocol::has_heartbeat) is false), so the
    /// setting would do nothing. Reported by [`Session::new`](crate::Session::new).
    HeartbeatUnsupported,
}

impl ConfigError {
    /// The setting at fault, as its path from [`Config`](crate::Config).
    pub fn setting(&self) -> &'static str {
        match self {
            ConfigError::Invalid { setting, .. } => setting,
            ConfigError::HeartbeatUnsupported => "liveness.heartbeat_interval",
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid { setting, reason } => {
                write!(f, "invalid configuration: {setting} {reason}")
            }
            ConfigError::HeartbeatUnsupported => f.write_str(
                "invalid configuration: liveness.heartbeat_interval is set but the protocol \
                 adapter has no application heartbeat to send",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
