//! Deliveries in flight, in the order they arrive.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::boundary::Input;
use crate::conn_id::ConnId;
use crate::frame::Frame;

/// What travels from the client to the server (WebSocket control frames included: the
/// simulator answers pings and close handshakes itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Upstream {
    /// The upgrade request of an accepted attempt.
    Accept,
    Frame(Frame),
    Ping,
    Close {
        code: u16,
        reason: String,
    },
    /// The client dropped the socket. Delivered even on a stalled or reset link, standing for
    /// the keep-alive that eventually tells a real server, so that servers never keep dead
    /// connections forever.
    Gone,
}

/// One scheduled delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// An input for the session, lost if the link's cut moved on or it stalled.
    ToClient { cut: u32, input: Input },
    /// A message for the server.
    ToServer {
        conn: ConnId,
        cut: u32,
        message: Upstream,
    },
    /// The application's answer to `Event::CredentialsRequested`.
    Credentials,
}

/// Deliveries keyed by arrival time, then by the order they were scheduled: equal times keep
/// their scheduling order, which is what makes a run reproducible.
#[derive(Clone, Debug, Default)]
pub(crate) struct Queue {
    items: BTreeMap<(Instant, u64), Delivery>,
    next_seq: u64,
}

impl Queue {
    pub(crate) fn push(&mut self, at: Instant, delivery: Delivery) {
        self.items.insert((at, self.next_seq), delivery);
        self.next_seq += 1;
    }

    pub(crate) fn next_at(&self) -> Option<Instant> {
        self.items.first_key_value().map(|((at, _), _)| *at)
    }

    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Delivery> {
        if self.next_at()? <= now {
            self.items.pop_first().map(|(_, d)| d)
        } else {
            None
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}
