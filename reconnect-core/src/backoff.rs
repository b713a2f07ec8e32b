//! Exponential backoff with jitter: the delay before the next transport attempt.

use std::time::Duration;

use crate::rng::Rng;

/// How a delay is spread around the exponential base, so that a fleet of clients that lost the
/// same server does not come back in lockstep.
///
/// Every mode keeps its spread at the cap: once the base reaches `max`, draws still cover a range
/// below `max` rather than all landing on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Jitter {
    /// Exactly the base. Only for tests and single clients: a fleet retries in lockstep.
    None,
    /// Uniform in `[0, base]` (AWS "full jitter"): the widest spread, the default.
    Full,
    /// `base / 2` plus uniform in `[0, base / 2]`: never much sooner than the base.
    Equal,
    /// Uniform in `[initial, min(max, 3 × previous delay)]` (AWS "decorrelated jitter"), with the
    /// cap applied to the range instead of to the draw, so that draws at the cap stay spread.
    Decorrelated,
}

/// When the first retry after losing a stable connection happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FirstRetry {
    /// At once: a stable connection that drops is most often a one-off (a deploy, a load
    /// balancer recycling), and the sooner it is back the less data is missed.
    Immediate,
    /// Uniform in `[0, initial]`: a server restart does not see every client at the same instant.
    /// The default.
    Jittered,
}

/// The exponential backoff policy.
///
/// The base delay of the `n`-th consecutive failure is `initial × factor^(n-1)`, capped at
/// `max`; the jitter mode turns the base into the drawn delay. The cap is hard: no drawn delay
/// exceeds `max` (a server's `Retry-After` is the one thing that can ask for longer, bounded by
/// [`Limits::retry_after_ceiling`](crate::Limits::retry_after_ceiling)).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BackoffConfig {
    /// The base delay after the first failure. Default 500 ms.
    pub initial: Duration,
    /// The growth factor per consecutive failure; at least 1.0. Default 2.0.
    pub factor: f64,
    /// The hard cap. Default 30 s.
    pub max: Duration,
    /// The jitter mode. Default [`Jitter::Full`].
    pub jitter: Jitter,
    /// The first retry after losing a stable connection. Default [`FirstRetry::Jittered`].
    pub first_retry: FirstRetry,
    /// How long a connection must stay live before the failure count resets. A connection that
    /// drops sooner counts as one more failure, so a server that accepts and then closes at once
    /// cannot cause a tight loop. Default 10 s.
    pub min_uptime: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_millis(500),
            factor: 2.0,
            max: Duration::from_secs(30),
            jitter: Jitter::Full,
            first_retry: FirstRetry::Jittered,
            min_uptime: Duration::from_secs(10),
        }
    }
}

impl BackoffConfig {
    /// The base (un-jittered) delay for the `failures`-th consecutive failure (1-based).
    pub fn base_delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let exp = i32::try_from(failures - 1).unwrap_or(i32::MAX);
        let nanos = self.initial.as_nanos() as f64 * self.factor.powi(exp);
        let max = self.max.as_nanos() as f64;
        // NaN cannot occur (factor >= 1 and initial finite are validated); inf caps to max.
        if nanos >= max {
            self.max
        } else {
            Duration::from_nanos(nanos as u64).min(self.max)
        }
    }

    /// The bounds every draw for `failures` respects, whatever the generator says: what property
    /// tests and the simulator check delays against.
    pub fn bounds(&self, failures: u32) -> (Duration, Duration) {
        let base = self.base_delay(failures);
        match self.jitter {
            Jitter::None => (base, base),
            Jitter::Full => (Duration::ZERO, base),
            Jitter::Equal => (base / 2, base),
            Jitter::Decorrelated => (self.initial.min(self.max), self.max),
        }
    }
}

/// A drawn delay and the policy inputs behind it, carried by
/// [`Event::ReconnectScheduled`](crate::Event::ReconnectScheduled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delay {
    /// What the delay is before jitter (for a first retry: `initial`).
    pub base: Duration,
    /// The delay actually used.
    pub drawn: Duration,
    /// The jitter mode that drew it.
    pub jitter: Jitter,
}

/// The per-session backoff state: the generator and, for decorrelated jitter, the last delay.
#[derive(Clone, Debug)]
pub(crate) struct Backoff {
    rng: Rng,
    previous: Duration,
}

impl Backoff {
    pub(crate) fn new(seed: u64) -> Self {
        Backoff {
            rng: Rng::new(seed),
            previous: Duration::ZERO,
        }
    }

    /// Draws the delay after the `failures`-th consecutive failure (`failures >= 1`).
    pub(crate) fn draw(&mut self, cfg: &BackoffConfig, failures: u32) -> Delay {
        let base = cfg.base_delay(failures.max(1));
        let drawn = match cfg.jitter {
            Jitter::None => base,
            Jitter::Full => self.rng.duration_between(Duration::ZERO, base),
            Jitter::Equal => base / 2 + self.rng.duration_between(Duration::ZERO, base - base / 2),
            Jitter::Decorrelated => {
                let floor = cfg.initial.min(cfg.max);
                let previous = if failures <= 1 {
                    floor
                } else {
                    self.previous.max(floor)
                };
                let ceiling = previous.saturating_mul(3).min(cfg.max).max(floor);
                self.rng.duration_between(floor, ceiling)
            }
        };
        self.previous = drawn;
        Delay {
            base,
            drawn,
            jitter: cfg.jitter,
        }
    }

    /// The delay of the first retry after a stable connection was lost.
    pub(crate) fn first_retry(&mut self, cfg: &BackoffConfig) -> Delay {
        self.previous = Duration::ZERO;
        let drawn = match cfg.first_retry {
            FirstRetry::Immediate => Duration::ZERO,
            FirstRetry::Jittered => self.rng.duration_between(Duration::ZERO, cfg.initial),
        };
        Delay {
            base: cfg.initial,
            drawn,
            jitter: cfg.jitter,
        }
    }

    /// A uniform draw for the per-topic retry of transiently rejected subscriptions.
    pub(crate) fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        self.rng.duration_between(lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(jitter: Jitter) -> BackoffConfig {
        BackoffConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            jitter,
            ..BackoffConfig::default()
        }
    }

    #[test]
    fn base_grows_exponentially_and_caps() {
        let c = cfg(Jitter::None);
        assert_eq!(c.base_delay(1), Duration::from_millis(100));
        assert_eq!(c.base_delay(2), Duration::from_millis(200));
        assert_eq!(c.base_delay(6), Duration::from_millis(3200));
        assert_eq!(c.base_delay(7), Duration::from_secs(5));
        assert_eq!(c.base_delay(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn every_mode_respects_the_cap_and_keeps_spread_at_the_cap() {
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
            let c = cfg(jitter);
            let mut b = Backoff::new(3);
            let mut at_cap = Vec::new();
            for n in 1..200u32 {
                let d = b.draw(&c, n);
                let (lo, hi) = c.bounds(n);
                assert!(d.drawn >= lo && d.drawn <= hi, "{jitter:?} n={n} {d:?}");
                assert!(d.drawn <= c.max);
                if n > 20 {
                    at_cap.push(d.drawn);
                }
            }
            let exactly_max = at_cap.iter().filter(|d| **d == c.max).count();
            assert!(
                exactly_max < at_cap.len() / 10,
                "{jitter:?}: {exactly_max} of {} draws sit exactly at max",
                at_cap.len()
            );
            let min = at_cap.iter().min().unwrap();
            assert!(*min < c.max * 3 / 4, "{jitter:?}: no spread at the cap");
        }
    }

    #[test]
    fn first_retry_modes() {
        let mut b = Backoff::new(1);
        let mut c = cfg(Jitter::Full);
        c.first_retry = FirstRetry::Immediate;
        assert_eq!(b.first_retry(&c).drawn, Duration::ZERO);
        c.first_retry = FirstRetry::Jittered;
        for _ in 0..100 {
            assert!(b.first_retry(&c).drawn <= c.initial);
        }
    }
}
