//! Taking and restoring a [`Snapshot`] of the session's durable state (feature `serde`).
//!
//! It lives inside the session module because it reads and fills the session's private state;
//! the snapshot types themselves are plain data in [`crate::snapshot`].

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::Session;
use crate::config::Config;
use crate::frame::Frame;
use crate::outbox::Queued;
use crate::protocol::Protocol;
use crate::snapshot::{
    Snapshot, SnapshotError, SnapshotMessage, SnapshotPayload, SnapshotTopic, SNAPSHOT_VERSION,
};
use crate::subscribe_options::SubscribeOptions;

impl<P: Protocol> Session<P> {
    /// The durable part of this session. Expiry times of queued messages are taken relative to
    /// the last `now` the session saw.
    pub fn snapshot(&self) -> Snapshot {
        let subscriptions = self
            .registry
            .iter()
            .map(|(topic, entry)| SnapshotTopic {
                topic: topic.clone(),
                last_seq: entry.last_seq,
            })
            .collect();
        let outbox = if self.config.outbox.in_snapshot {
            self.outbox
                .iter()
                .map(|q| SnapshotMessage {
                    payload: match &q.frame {
                        Frame::Text(s) => SnapshotPayload::Text(s.as_str().to_owned()),
                        Frame::Binary(b) => SnapshotPayload::Binary(b.to_vec()),
                    },
                    coalesce_key: q.key.clone(),
                    expires_in_ms: q.expires_at.map(|at| {
                        let left = self
                            .now
                            .map_or(Duration::ZERO, |now| at.saturating_duration_since(now));
                        u64::try_from(left.as_millis()).unwrap_or(u64::MAX)
                    }),
                })
                .collect()
        } else {
            Vec::new()
        };
        Snapshot {
            version: SNAPSHOT_VERSION,
            subscriptions,
            outbox,
            consecutive_failures: self.failures,
        }
    }

    /// A new, idle session that resumes from `snapshot`, as of `now`. Refuses snapshots that do
    /// not fit the configuration rather than dropping part of them.
    pub fn from_snapshot(
        config: Config,
        protocol: P,
        snapshot: Snapshot,
        now: Instant,
    ) -> Result<Self, SnapshotError> {
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version {
                found: snapshot.version,
            });
        }
        let mut session = Session::new(config, protocol).map_err(SnapshotError::Config)?;
        if snapshot.subscriptions.len() > session.config.resubscribe.max_topics {
            return Err(SnapshotError::ExceedsLimit("topics"));
        }
        let mut seen = HashSet::new();
        for t in &snapshot.subscriptions {
            if t.topic.as_str().is_empty() {
                return Err(SnapshotError::EmptyTopic);
            }
            if !seen.insert(t.topic.as_str()) {
                return Err(SnapshotError::DuplicateTopic(t.topic.clone()));
            }
        }
        // A snapshot keeps no per-subscription options: restored topics get the defaults,
        // the configured staleness deadline included.
        let watch = session.watch_for(SubscribeOptions::default());
        for t in snapshot.subscriptions {
            session
                .registry
                .insert_watched(t.topic, t.last_seq, watch.clone());
        }
        let policy = session.config.outbox.clone();
        for m in snapshot.outbox {
            let frame = match m.payload {
                SnapshotPayload::Text(s) => Frame::from(s),
                SnapshotPayload::Binary(b) => Frame::from(b),
            };
            let item = Queued {
                frame,
                expires_at: m
                    .expires_in_ms
                    .map(|ms| Session::<P>::after(now, Duration::from_millis(ms))),
                key: m.coalesce_key,
            };
            let mut overflowed = false;
            session
                .outbox
                .push(&policy, item, &mut |_, _| overflowed = true)
                .map_err(|_| SnapshotError::ExceedsLimit("the outbox"))?;
            if overflowed {
                return Err(SnapshotError::ExceedsLimit("the outbox"));
            }
        }
        session.failures = snapshot.consecutive_failures;
        session.now = Some(now);
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::RawAdapter;
    use crate::outbox::SendOptions;

    fn config() -> Config {
        let mut c = Config::new(1);
        c.outbox.in_snapshot = true;
        c
    }

    #[test]
    fn round_trip_keeps_topics_positions_outbox_and_failures() {
        let now = Instant::now();
        let mut s = Session::new(config(), RawAdapter::new()).unwrap();
        s.subscribe(now, "a").unwrap();
        s.subscribe(now, "b").unwrap();
        s.registry.entry_mut("b").unwrap().last_seq = Some(41);
        s.send(now, "hello").unwrap();
        s.send_with(
            now,
            Frame::from(vec![1, 2]),
            SendOptions::default()
                .expires_after(Duration::from_secs(5))
                .coalesce_key("k"),
        )
        .unwrap();
        s.failures = 3;
        let snap = s.snapshot();
        let back = Snapshot::from_json(&snap.to_json()).unwrap();
        assert_eq!(back, snap);
        let r = Session::from_snapshot(config(), RawAdapter::new(), back, now).unwrap();
        assert_eq!(r.snapshot(), snap);
        assert_eq!(r.health().consecutive_failures, 3);
    }

    #[test]
    fn bad_snapshots_are_typed_errors() {
        assert!(matches!(
            Snapshot::from_json("{"),
            Err(SnapshotError::Json(_))
        ));
        let v2 = r#"{"version":2,"subscriptions":[],"outbox":[],"consecutive_failures":0}"#;
        assert!(matches!(
            Snapshot::from_json(v2),
            Err(SnapshotError::Version { found: 2 })
        ));
        let dup = r#"{"version":1,"subscriptions":[{"topic":"a","last_seq":null},{"topic":"a","last_seq":1}],"outbox":[],"consecutive_failures":0}"#;
        let snap = Snapshot::from_json(dup).unwrap();
        let err =
            Session::from_snapshot(config(), RawAdapter::new(), snap, Instant::now()).unwrap_err();
        assert!(matches!(err, SnapshotError::DuplicateTopic(_)));
        let empty = r#"{"version":1,"subscriptions":[{"topic":"a","last_seq":null},{"topic":"","last_seq":1}],"outbox":[],"consecutive_failures":0}"#;
        let snap = Snapshot::from_json(empty).unwrap();
        let err =
            Session::from_snapshot(config(), RawAdapter::new(), snap, Instant::now()).unwrap_err();
        assert!(matches!(err, SnapshotError::EmptyTopic), "{err}");
        let mut small = config();
        small.resubscribe.max_topics = 1;
        let two = r#"{"version":1,"subscriptions":[{"topic":"a","last_seq":null},{"topic":"b","last_seq":null}],"outbox":[],"consecutive_failures":0}"#;
        let err = Session::from_snapshot(
            small,
            RawAdapter::new(),
            Snapshot::from_json(two).unwrap(),
            Instant::now(),
        )
        .unwrap_err();
        assert!(matches!(err, SnapshotError::ExceedsLimit("topics")));
    }
}
