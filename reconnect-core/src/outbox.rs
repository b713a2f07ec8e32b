//! The bounded queue of application sends made while not live.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::boundary::DropReason;
use crate::config::{OutboxPolicy, OverflowPolicy};
use crate::frame::Frame;

/// Options of one application send, for [`Session::send_with`](crate::Session::send_with).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// Drop the message (with an event) if the session is not live within this long.
    pub expires_after: Option<Duration>,
    /// While queued, a newer message with the same key replaces this one (latest wins; the
    /// replaced one is reported as dropped).
    pub coalesce_key: Option<String>,
}

impl SendOptions {
    /// Sets [`expires_after`](Self::expires_after).
    pub fn expires_after(mut self, d: Duration) -> Self {
        self.expires_after = Some(d);
        self
    }
    /// Sets [`coalesce_key`](Self::coalesce_key).
    pub fn coalesce_key(mut self, key: impl Into<String>) -> Self {
        self.coalesce_key = Some(key.into());
        self
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Queued {
    pub(crate) frame: Frame,
    pub(crate) expires_at: Option<Instant>,
    pub(crate) key: Option<String>,
}

/// Why a send could not be queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendErrorKind {
    /// The outbox is at its bound and its policy is [`OverflowPolicy::Reject`], or the message
    /// alone exceeds the byte bound.
    OutboxFull,
    /// The session is closing.
    Closing,
    /// The session has stopped.
    Stopped,
    /// The frame is larger than the transport can ever write
    /// ([`Config::max_frame_len`](crate::Config::max_frame_len)): sending it would only end the
    /// connection. Nothing was sent or queued, and the connection is untouched.
    TooLarge {
        /// The frame's payload length in bytes.
        len: usize,
        /// The largest payload the transport can write.
        max: usize,
    },
}

/// A refused send. The frame is handed back, so nothing is lost silently.
#[derive(Clone, PartialEq, Eq)]
pub struct SendError {
    /// Why.
    pub kind: SendErrorKind,
    /// The message that was not queued.
    pub frame: Frame,
}

impl fmt::Debug for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("kind", &self.kind)
            .field("frame", &self.frame)
            .finish()
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.frame.len();
        match self.kind {
            SendErrorKind::OutboxFull => {
                write!(f, "send of {len} bytes refused: the outbox is full")
            }
            SendErrorKind::Closing => write!(f, "send of {len} bytes refused: the session is closing"),
            SendErrorKind::Stopped => write!(f, "send of {len} bytes refused: the session has stopped"),
            SendErrorKind::TooLarge { len, max } => write!(
                f,
                "send refused: a frame of {len} bytes is larger than the connection can write ({max})"
            ),
        }
    }
}

impl std::error::Error for SendError {}

#[derive(Clone, Debug, Default)]
pub(crate) struct Outbox {
    queue: VecDeque<Queued>,
    bytes: usize,
}

impl Outbox {
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Queues a message under `policy`; every message that leaves unsent is passed to `dropped`.
    pub(crate) fn push(
        &mut self,
        policy: &OutboxPolicy,
        item: Queued,
        dropped: &mut dyn FnMut(Frame, DropReason),
    ) -> Result<(), SendError> {
        let size = item.frame.len();
        if size > policy.max_bytes || policy.max_messages == 0 {
            return Err(SendError {
                kind: SendErrorKind::OutboxFull,
                frame: item.frame,
            });
        }
        // Coalescing first: the replaced message frees its room.
        if let Some(key) = &item.key {
            if let Some(pos) = self.queue.iter().position(|q| q.key.as_ref() == Some(key)) {
                let old = self.remove_at(pos);
                dropped(old.frame, DropReason::Coalesced);
            }
        }
        let fits =
            |q: &Self| q.queue.len() < policy.max_messages && q.bytes + size <= policy.max_bytes;
        if !fits(self) {
            match policy.overflow {
                OverflowPolicy::Reject => {
                    return Err(SendError {
                        kind: SendErrorKind::OutboxFull,
                        frame: item.frame,
                    })
                }
                OverflowPolicy::DropNewest => {
                    dropped(item.frame, DropReason::Overflow);
                    return Ok(());
                }
                OverflowPolicy::DropOldest => {
                    while !fits(self) {
                        let old = self.remove_at(0);
                        dropped(old.frame, DropReason::Overflow);
                    }
                }
            }
        }
        self.bytes += size;
        self.queue.push_back(item);
        Ok(())
    }

    fn remove_at(&mut self, pos: usize) -> Queued {
        let q = self.queue.remove(pos).expect("position in range");
        self.bytes -= q.frame.len();
        q
    }

    pub(crate) fn pop_front(&mut self) -> Option<Queued> {
        let q = self.queue.pop_front()?;
        self.bytes -= q.frame.len();
        Some(q)
    }

    /// Drops every expired message; returns the earliest expiry left.
    pub(crate) fn expire(
        &mut self,
        now: Instant,
        dropped: &mut dyn FnMut(Frame, DropReason),
    ) -> Option<Instant> {
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for q in self.queue.drain(..) {
            if q.expires_at.is_some_and(|at| at <= now) {
                self.bytes -= q.frame.len();
                dropped(q.frame, DropReason::Expired);
            } else {
                kept.push_back(q);
            }
        }
        self.queue = kept;
        self.next_expiry()
    }

    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.queue.iter().filter_map(|q| q.expires_at).min()
    }

    #[cfg_attr(not(feature = "serde"), allow(dead_code))] // snapshots and tests read it
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Queued> + '_ {
        self.queue.iter()
    }

    #[cfg(feature = "sim")]
    pub(crate) fn footprint(&self) -> usize {
        self.queue.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Queued {
        Queued {
            frame: Frame::from(s),
            expires_at: None,
            key: None,
        }
    }

    #[test]
    fn a_refused_send_says_why_in_words() {
        let refused = |kind| SendError {
            kind,
            frame: Frame::from("12345"),
        };
        assert_eq!(
            refused(SendErrorKind::TooLarge { len: 5, max: 4 }).to_string(),
            "send refused: a frame of 5 bytes is larger than the connection can write (4)"
        );
        assert_eq!(
            refused(SendErrorKind::OutboxFull).to_string(),
            "send of 5 bytes refused: the outbox is full"
        );
    }

    fn policy(max: usize, overflow: OverflowPolicy) -> OutboxPolicy {
        OutboxPolicy {
            max_messages: max,
            overflow,
            ..OutboxPolicy::default()
        }
    }

    #[test]
    fn overflow_policies() {
        let mut drops = Vec::new();
        let mut on_drop = |f: Frame, r| drops.push((f, r));
        let mut o = Outbox::default();
        let p = policy(2, OverflowPolicy::Reject);
        o.push(&p, q("a"), &mut on_drop).unwrap();
        o.push(&p, q("b"), &mut on_drop).unwrap();
        let err = o.push(&p, q("c"), &mut on_drop).unwrap_err();
        assert_eq!(err.frame, Frame::from("c"));

        let p = policy(2, OverflowPolicy::DropOldest);
        o.push(&p, q("c"), &mut on_drop).unwrap();
        let p = policy(2, OverflowPolicy::DropNewest);
        o.push(&p, q("d"), &mut on_drop).unwrap();
        assert_eq!(
            drops,
            vec![
                (Frame::from("a"), DropReason::Overflow),
                (Frame::from("d"), DropReason::Overflow)
            ]
        );
        let left: Vec<_> = o.iter().map(|q| q.frame.clone()).collect();
        assert_eq!(left, vec![Frame::from("b"), Frame::from("c")]);
    }

    #[test]
    fn byte_bound_and_coalescing() {
        let mut drops = Vec::new();
        let mut on_drop = |f: Frame, r| drops.push((f, r));
        let mut o = Outbox::default();
        let p = OutboxPolicy {
            max_bytes: 4,
            ..OutboxPolicy::default()
        };
        assert!(o.push(&p, q("12345"), &mut on_drop).is_err());
        let keyed = |s: &str| Queued {
            key: Some("k".into()),
            ..q(s)
        };
        o.push(&p, keyed("ab"), &mut on_drop).unwrap();
        o.push(&p, q("x"), &mut on_drop).unwrap();
        o.push(&p, keyed("cd"), &mut on_drop).unwrap();
        assert_eq!(drops, vec![(Frame::from("ab"), DropReason::Coalesced)]);
        let left: Vec<_> = o.iter().map(|q| q.frame.clone()).collect();
        assert_eq!(left, vec![Frame::from("x"), Frame::from("cd")]);
    }
}
