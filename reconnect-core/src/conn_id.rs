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
    /// The id every session gives its first attempt; later ones count up from it.
    pub(crate) const FIRST: ConnId = ConnId(1);

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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crate::adapters::RawAdapter;
    use crate::{Action, Config, Output, Session};

    #[test]
    fn a_session_starts_with_the_first_conn_id() {
        let mut session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
        session.start(Instant::now()).unwrap();
        let first = session.drain().find_map(|output| match output {
            Output::Action(Action::Connect { conn, .. }) => Some(conn),
            _ => None,
        });
        assert_eq!(first, Some(super::ConnId::FIRST));
        assert_eq!(first.map(super::ConnId::get), Some(1));
    }
}
