//! The durable part of a session, so that a crashed process can resume (feature `serde`).
//!
//! A [`Snapshot`] holds what a restarted process cannot rebuild by itself: the wanted
//! subscriptions with their last sequence numbers (so the next restore can resume and gaps across
//! the crash are reported), the outbox if [`OutboxPolicy::in_snapshot`](crate::OutboxPolicy::in_snapshot)
//! is set, and the count of consecutive failures (so a crash loop does not reset the backoff).
//! It holds no credentials and no connection state.
//!
//! ```
//! use std::time::Instant;
//! use reconnect_core::{adapters::RawAdapter, Config, Session};
//! use reconnect_core::snapshot::Snapshot;
//!
//! let now = Instant::now();
//! let mut session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
//! session.subscribe(now, "trades").unwrap();
//! let json = session.snapshot().to_json();
//!
//! // … the process restarts …
//! let snapshot = Snapshot::from_json(&json).unwrap();
//! let restored = Session::from_snapshot(Config::new(1), RawAdapter::new(), snapshot, now).unwrap();
//! assert_eq!(restored.subscriptions().count(), 1);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::topic::Topic;

/// The snapshot format version this crate writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// The durable part of a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// The format version; [`SNAPSHOT_VERSION`].
    pub version: u32,
    /// Wanted topics in subscription order.
    pub subscriptions: Vec<SnapshotTopic>,
    /// Queued application messages in order (empty unless the outbox policy keeps them).
    pub outbox: Vec<SnapshotMessage>,
    /// Consecutive failed attempts since the last stable connection.
    pub consecutive_failures: u32,
}

/// One wanted topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotTopic {
    /// The topic.
    pub topic: Topic,
    /// The last sequence number seen on it.
    pub last_seq: Option<u64>,
}

/// One queued application message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotMessage {
    /// The payload.
    pub payload: SnapshotPayload,
    /// Its coalescing key.
    pub coalesce_key: Option<String>,
    /// How long it had left before expiring, in milliseconds, when the snapshot was taken.
    pub expires_in_ms: Option<u64>,
}

/// A queued message's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotPayload {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// Why a snapshot could not be read or restored.
#[derive(Debug)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The text is not a valid snapshot document.
    Json(serde_json::Error),
    /// The snapshot was written by an incompatible version.
    Version {
        /// The version found.
        found: u32,
    },
    /// A topic appears twice.
    DuplicateTopic(Topic),
    /// A topic has an empty name, which [`Session::subscribe`](crate::Session::subscribe) refuses too: restoring it would
    /// let a hand-edited snapshot bring in what no command can.
    EmptyTopic,
    /// The snapshot holds more than the configuration allows (topics, or outbox messages or
    /// bytes); restoring it would silently drop some, so it is refused instead.
    ExceedsLimit(&'static str),
    /// The configuration is invalid.
    Config(ConfigError),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Json(e) => write!(f, "invalid snapshot: {e}"),
            SnapshotError::Version { found } => write!(
                f,
                "snapshot version {found} is not supported (expected {SNAPSHOT_VERSION})"
            ),
            SnapshotError::DuplicateTopic(t) => write!(f, "snapshot lists topic {t} twice"),
            SnapshotError::EmptyTopic => f.write_str("snapshot lists a topic with an empty name"),
            SnapshotError::ExceedsLimit(what) => {
                write!(f, "snapshot exceeds the configured limit on {what}")
            }
            SnapshotError::Config(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl Snapshot {
    /// The snapshot as a JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a snapshot always serialises")
    }

    /// Reads a snapshot from a JSON document. Any input gives a snapshot or an error, never a
    /// panic.
    pub fn from_json(text: &str) -> Result<Self, SnapshotError> {
        let snapshot: Snapshot = serde_json::from_str(text).map_err(SnapshotError::Json)?;
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version {
                found: snapshot.version,
            });
        }
        Ok(snapshot)
    }
}
