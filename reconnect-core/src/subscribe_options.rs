//! Per-subscription options: the staleness deadline and the gap policy of one topic.

use std::time::Duration;

/// Options of one subscription, given to [`Session::subscribe_with`](crate::Session::subscribe_with).
/// The default is what [`Session::subscribe`](crate::Session::subscribe) uses: the
/// configuration's staleness deadline and gaps reported only.
///
/// ```
/// use std::time::Duration;
/// use reconnect_core::{GapPolicy, StaleAfter, SubscribeOptions};
///
/// let options = SubscribeOptions::default()
///     .stale_after(StaleAfter::After(Duration::from_secs(30)))
///     .gap_policy(GapPolicy::Repair);
/// assert_eq!(options.gap, GapPolicy::Repair);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SubscribeOptions {
    /// The topic's staleness deadline. Default: [`StaleAfter::Config`].
    pub stale: StaleAfter,
    /// What a sequence gap on the topic does. Default: [`GapPolicy::Report`].
    pub gap: GapPolicy,
}

impl SubscribeOptions {
    /// Sets the staleness deadline.
    pub fn stale_after(mut self, stale: StaleAfter) -> Self {
        self.stale = stale;
        self
    }

    /// Sets the gap policy.
    pub fn gap_policy(mut self, gap: GapPolicy) -> Self {
        self.gap = gap;
        self
    }
}

/// How long one topic may stay without data before it is declared stale and re-subscribed
/// alone (see [`Liveness::topic_stale_after`](crate::Liveness::topic_stale_after)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StaleAfter {
    /// [`Liveness::topic_stale_after`](crate::Liveness::topic_stale_after) (the default).
    #[default]
    Config,
    /// Never stale, whatever the configuration says: a topic that is quiet by nature.
    Off,
    /// Stale after this long without data. A zero window is taken as [`Off`](Self::Off):
    /// nothing can be silent for no time at all, and checking it would spin.
    After(Duration),
}

/// What a sequence gap ([`Event::Gap`](crate::Event::Gap)) on a topic does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GapPolicy {
    /// Report it and carry on (the default).
    #[default]
    Report,
    /// Report it, then re-subscribe the topic alone on the live connection, resuming from the
    /// last number before the gap, so that a server that can replay fills it in (its replayed
    /// messages are at or below the last number seen, so they are reported as
    /// [`Event::SequenceRegressed`](crate::Event::SequenceRegressed)). A topic already being
    /// re-subscribed is not asked again.
    Repair,
}

/// Why a topic was re-subscribed on the live connection
/// ([`Event::Resynced`](crate::Event::Resynced)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResyncReason {
    /// It stayed without data past its staleness deadline
    /// ([`Event::TopicStale`](crate::Event::TopicStale)).
    Stale,
    /// A sequence gap, under [`GapPolicy::Repair`].
    Gap,
    /// The application asked ([`Session::resync`](crate::Session::resync)).
    Requested,
}
