//! The resolver's answers: connect to the addresses, or report the lookup's failure.

use std::time::Instant;

use reconnect_core::{Protocol, TransportError, TransportErrorKind};

use super::Embedded;
use crate::resolver::Resolved;

impl<P: Protocol> Embedded<P> {
    pub(super) fn on_resolved(&mut self, resolved: Resolved, now: Instant) {
        let (slot, serial) = resolved.key;
        let registry = &self.registry;
        let Some(conn) = self
            .conns
            .get_mut(slot)
            .and_then(Option::as_mut)
            .filter(|c| c.serial == serial && c.awaits_resolution())
        else {
            return; // the attempt was released meanwhile
        };
        let mut produced = Vec::new();
        match resolved.addrs {
            Ok(addrs) => conn.connect(registry, addrs, &mut produced),
            Err(e) => conn.fail_early(
                TransportError::new(TransportErrorKind::Dns, e.to_string()),
                &mut produced,
            ),
        }
        self.feed(slot, serial, now, &mut produced);
    }
}
