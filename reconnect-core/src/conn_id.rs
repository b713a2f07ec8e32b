//! Generations of transport attempts.

use std::fmt;

/// Names one transport attempt: one TCP connection (with its TLS and WebSocket handshakes).
///
/// The session hands out a fresh `ConnId` with every [`Action::Connect`](crate::Action::Connect);
/// ids only grow. Every [`Input`](crate::Input) a driver reports must carry the id of the
/// transport it came from. Inputs that name any other id are stale: the session drops them,
/// counts them in [`Stats::stale_inputs`](crate::Stats::stale_inputs) and changes nothing else.
/// This is what keeps a late error from an old socket from tearing down a new one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConnId(pub(crate) u64);

impl ConnId {
    /// The raw number, for logs and for keying a driver's own tables.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}
