//! Requests sent on the current connection that still wait for the server's answer.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::error::TimeoutKind;
use crate::protocol::RequestId;
use crate::topic::Topic;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum RequestKind {
    Auth,
    /// Auth with renewed credentials on a live connection.
    Reauth,
    /// Auth on the live connection before the granted lifetime runs out, with the server's
    /// refresh token or with the current credentials.
    GrantRenewal {
        refresh_token: bool,
    },
    Setup,
    Subscribe(Vec<Topic>),
    Unsubscribe(Vec<Topic>),
    Heartbeat,
}

impl RequestKind {
    pub(super) fn timeout_kind(&self) -> TimeoutKind {
        match self {
            RequestKind::Auth | RequestKind::Reauth | RequestKind::GrantRenewal { .. } => {
                TimeoutKind::Auth
            }
            RequestKind::Setup => TimeoutKind::Setup,
            RequestKind::Subscribe(_) | RequestKind::Unsubscribe(_) => TimeoutKind::Subscribe,
            RequestKind::Heartbeat => TimeoutKind::Heartbeat,
        }
    }
}

/// Pending requests with their deadlines, ordered so the earliest is found in O(log n).
#[derive(Clone, Debug, Default)]
pub(super) struct Pending {
    by_id: crate::FixedHashMap<RequestId, (RequestKind, Instant)>,
    deadlines: BTreeSet<(Instant, RequestId)>,
}

impl Pending {
    pub(super) fn insert(&mut self, id: RequestId, kind: RequestKind, deadline: Instant) {
        self.by_id.insert(id, (kind, deadline));
        self.deadlines.insert((deadline, id));
    }

    pub(super) fn remove(&mut self, id: RequestId) -> Option<RequestKind> {
        let (kind, deadline) = self.by_id.remove(&id)?;
        self.deadlines.remove(&(deadline, id));
        Some(kind)
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// The earliest request whose deadline has passed.
    pub(super) fn first_expired(&self, now: Instant) -> Option<(RequestId, &RequestKind)> {
        let (at, id) = self.deadlines.first()?;
        (*at <= now).then(|| (*id, &self.by_id[id].0))
    }

    pub(super) fn any(&self, pred: impl Fn(&RequestKind) -> bool) -> bool {
        self.by_id.values().any(|(k, _)| pred(k))
    }

    pub(super) fn clear(&mut self) {
        self.by_id.clear();
        self.deadlines.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    #[cfg(feature = "sim")]
    pub(super) fn footprint(&self) -> usize {
        self.by_id.capacity() + self.deadlines.len()
    }
}
