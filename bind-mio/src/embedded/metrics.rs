//! Each session's metrics (feature `metrics`): every event a session delivers is recorded by
//! its [`SessionMetrics`](reconnect_tungstenite::metrics::SessionMetrics) first, the recorder
//! bind-smol uses too, so both bindings report the same metrics (listed in
//! [`reconnect_tungstenite::metrics`]).

use reconnect_core::Protocol;

use super::Embedded;
use crate::event::Event;
use crate::handle::SessionId;

impl<P: Protocol> Embedded<P> {
    /// Records `event` of session `id`, before it is delivered. Only the session's own events
    /// count: a refused command or the removal changes none of its metrics. A message's counts
    /// are published once per batch, when the driver settles the session.
    pub(super) fn record_metrics(&mut self, id: SessionId, event: &Event) {
        if let (Event::Session(event), Some(entry)) = (event, self.entry_mut(id)) {
            entry.metrics.record_batched(event, &entry.session);
        }
    }
}
