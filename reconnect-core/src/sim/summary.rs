//! What a run amounted to: outages survived, how long service took to come back, what was received.

use std::fmt;
use std::time::Duration;

use super::format::secs_text;
use crate::boundary::Event;

/// The metrics of a run, from [`Simulator::summary`](super::Simulator::summary).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// The virtual time simulated.
    pub virtual_time: Duration,
    /// Returns to live after the first one: every outage the session came back from.
    pub outages_survived: u64,
    /// The mean time from the start of an outage to live again, over the outages survived.
    pub mean_time_to_resubscribe: Duration,
    /// The longest of those times.
    pub max_time_to_resubscribe: Duration,
    /// Application data messages delivered to the application (with a topic or not).
    pub messages: u64,
    /// Sequence gaps reported.
    pub gaps: u64,
    /// Transport attempts started.
    pub attempts: u64,
    /// Attempts that failed before the transport opened or before live.
    pub failed_attempts: u64,
    /// Connections that opened and later ended.
    pub disconnects: u64,
    /// Inputs the session dropped as stale (its [`Stats::stale_inputs`](crate::Stats::stale_inputs)).
    pub stale_inputs: u64,
    /// Deliveries that arrived for a connection the session had already released, and that
    /// the simulator fed to it all the same (each is also a stale input).
    pub late_deliveries: u64,
    /// Scripted faults that took effect.
    pub faults: u64,
    /// Time spent live.
    pub uptime: Duration,
    /// Time spent not live after start.
    pub downtime: Duration,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "virtual time        {}", secs_text(self.virtual_time))?;
        writeln!(f, "faults injected     {}", self.faults)?;
        writeln!(f, "outages survived    {}", self.outages_survived)?;
        writeln!(
            f,
            "time to resubscribe mean {}, max {}",
            secs_text(self.mean_time_to_resubscribe),
            secs_text(self.max_time_to_resubscribe)
        )?;
        writeln!(
            f,
            "attempts            {} ({} failed)",
            self.attempts, self.failed_attempts
        )?;
        writeln!(f, "disconnects         {}", self.disconnects)?;
        writeln!(f, "messages received   {}", self.messages)?;
        writeln!(f, "gaps reported       {}", self.gaps)?;
        writeln!(
            f,
            "stale inputs        {} ({} late deliveries after release)",
            self.stale_inputs, self.late_deliveries
        )?;
        write!(
            f,
            "uptime / downtime   {} / {}",
            secs_text(self.uptime),
            secs_text(self.downtime)
        )
    }
}

/// Running counts kept from the events as they pass, so that a summary never needs the
/// (optionally unrecorded) messages themselves.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tally {
    seen_live: bool,
    pub(crate) outages_survived: u64,
    restore_total: Duration,
    restore_max: Duration,
    pub(crate) messages: u64,
    pub(crate) gaps: u64,
    pub(crate) failed_attempts: u64,
    pub(crate) disconnects: u64,
    pub(crate) faults: u64,
    pub(crate) late_deliveries: u64,
}

impl Tally {
    pub(crate) fn observe(&mut self, event: &Event) {
        match event {
            Event::Live { outage, .. } => {
                if self.seen_live {
                    self.outages_survived += 1;
                    self.restore_total += *outage;
                    self.restore_max = self.restore_max.max(*outage);
                }
                self.seen_live = true;
            }
            Event::Message { .. } => self.messages += 1,
            Event::Gap { .. } => self.gaps += 1,
            Event::AttemptFailed { .. } => self.failed_attempts += 1,
            Event::Disconnected { .. } => self.disconnects += 1,
            _ => {}
        }
    }

    pub(crate) fn mean_time_to_resubscribe(&self) -> Duration {
        match u32::try_from(self.outages_survived) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.restore_total / n,
            // More outages than u32 holds: divide in nanoseconds instead.
            Err(_) => Duration::from_nanos(
                (self.restore_total.as_nanos() / u128::from(self.outages_survived)) as u64,
            ),
        }
    }

    pub(crate) fn max_time_to_resubscribe(&self) -> Duration {
        self.restore_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn_id::ConnId;

    fn live(secs: u64) -> Event {
        Event::Live {
            conn: ConnId(1),
            resubscribed: 0,
            outage: Duration::from_secs(secs),
        }
    }

    #[test]
    fn the_first_live_is_not_an_outage() {
        let mut t = Tally::default();
        t.observe(&live(1));
        assert_eq!(t.outages_survived, 0);
        t.observe(&live(2));
        t.observe(&live(6));
        assert_eq!(t.outages_survived, 2);
        assert_eq!(t.mean_time_to_resubscribe(), Duration::from_secs(4));
        assert_eq!(t.max_time_to_resubscribe(), Duration::from_secs(6));
    }
}
