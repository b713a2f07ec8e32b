//! The session's metrics (feature `metrics`): the task records every event of its session
//! with a [`SessionMetrics`](reconnect_tungstenite::metrics::SessionMetrics), the recorder
//! bind-mio uses too, so both bindings report the same metrics (listed in
//! `reconnect_tungstenite::metrics`). Without the feature, [`Metrics`] is empty and recording
//! does nothing.

use reconnect_core::{Event, Protocol, Session};

/// The recorder of one session's metrics.
pub(crate) struct Metrics {
    #[cfg(feature = "metrics")]
    recorder: reconnect_tungstenite::metrics::SessionMetrics,
}

impl Metrics {
    /// The metrics of the session named `name`.
    pub(crate) fn new(name: String) -> Self {
        #[cfg(feature = "metrics")]
        {
            Metrics {
                recorder: reconnect_tungstenite::metrics::SessionMetrics::new(name),
            }
        }
        #[cfg(not(feature = "metrics"))]
        {
            drop(name);
            Metrics {}
        }
    }

    /// Records `event`, which `session` just produced; the task must call it with each event,
    /// in order, as it drains them. A message only marks the counts stale (one flag instead of
    /// five metric updates per message): the task must [`publish`](Self::publish) before it
    /// hands a batch of events over and before it waits.
    #[inline]
    pub(crate) fn record<P: Protocol>(&mut self, event: &Event, session: &Session<P>) {
        #[cfg(feature = "metrics")]
        self.recorder.record_batched(event, session);
        #[cfg(not(feature = "metrics"))]
        let _ = (event, session);
    }

    /// Brings what [`record`](Self::record) left stale up to date, as of `session` now.
    #[inline]
    pub(crate) fn publish<P: Protocol>(&mut self, session: &Session<P>) {
        #[cfg(feature = "metrics")]
        self.recorder.publish(session);
        #[cfg(not(feature = "metrics"))]
        let _ = session;
    }
}
