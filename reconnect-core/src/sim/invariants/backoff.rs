//! Backoff: every drawn delay within the bounds the configuration gives by the documented
//! formula (worked out here, never asked of the backoff code), spread kept at the cap, failures
//! that count up until a connection is stable, attempts not before their delay ended, and
//! `Stable` only after `min_uptime` live.

use std::time::{Duration, Instant};

use super::connections::Connections;
use super::{Call, Checked, Ctx, Invariant};
use crate::backoff::{BackoffConfig, FirstRetry, Jitter};
use crate::boundary::{Action, DelaySource, Event, Output, State};
use crate::command::Command;
use crate::conn_id::ConnId;
use crate::protocol::Protocol;
use crate::session::Session;

/// How far a drawn delay may stray from the range worked out here: the session computes the
/// base in floating point its own way, which may round a nanosecond or so differently.
const ROUNDING: Duration = Duration::from_micros(1);

/// How many draws with the base at the cap must not all be equal.
const SPREAD_WINDOW: usize = 4;

/// The range a backoff draw must fall in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DelayRange {
    /// The earliest allowed delay.
    pub lo: Duration,
    /// The latest allowed delay.
    pub hi: Duration,
    /// Whether the cap limits the range (the base reached `max`; for decorrelated jitter,
    /// three times the previous delay did), where jitter must still spread the draws.
    pub at_cap: bool,
}

/// The documented range of the delay after the `failures`-th consecutive failure (1-based),
/// from [`BackoffConfig`]'s documentation alone: the base is `initial × factor^(failures - 1)`
/// capped at `max`; [`Jitter::None`] uses the base itself, `Full` draws from `[0, base]`,
/// `Equal` from `[base / 2, base]`, and `Decorrelated` from `[initial, min(max, 3 × previous)]`,
/// where the previous delay of a first failure is `initial`. `previous` is the last draw, `None`
/// when it is not known (then only `max` bounds a decorrelated draw from above).
pub fn delay_range(cfg: &BackoffConfig, failures: u32, previous: Option<Duration>) -> DelayRange {
    let max_ns = cfg.max.as_nanos() as f64;
    let mut base_ns = cfg.initial.as_nanos() as f64;
    let mut capped = base_ns >= max_ns;
    for _ in 1..failures.max(1) {
        if capped {
            break;
        }
        base_ns *= cfg.factor;
        capped = base_ns >= max_ns;
    }
    let base = if capped {
        cfg.max
    } else {
        Duration::from_nanos(base_ns as u64)
    };
    let (lo, hi, at_cap) = match cfg.jitter {
        Jitter::None => (base, base, capped),
        Jitter::Full => (Duration::ZERO, base, capped),
        Jitter::Equal => (base / 2, base, capped),
        Jitter::Decorrelated => {
            let lo = cfg.initial;
            let previous = if failures <= 1 {
                Some(cfg.initial)
            } else {
                previous.map(|p| p.max(cfg.initial))
            };
            match previous {
                Some(p) => {
                    let ceiling = p.saturating_mul(3);
                    (lo, ceiling.min(cfg.max).max(lo), ceiling >= cfg.max)
                }
                None => (lo, cfg.max, false),
            }
        }
    };
    DelayRange { lo, hi, at_cap }
}

#[derive(Debug, Default)]
pub(crate) struct Backoff {
    /// The failure count of the last failure-driven schedule (0 after a stable connection).
    failures: u32,
    /// The last backoff draw, when the outputs showed it.
    last_draw: Option<Duration>,
    /// The attempt number the last schedule announced.
    next_attempt: Option<u32>,
    /// A pause since the last schedule: endings may have been counted without an event.
    paused: bool,
    /// Whether the last ending was of a stable connection.
    ending_stable: bool,
    /// Between `Paused` and `Resumed`.
    paused_now: bool,
    /// Draws at the cap not yet checked for spread.
    at_cap: Vec<Duration>,
    /// When the scheduled delay ends.
    earliest: Option<Instant>,
    /// The connection that went live, and when.
    live: Option<(ConnId, Instant)>,
    /// The connection that was stable.
    stable: Option<ConnId>,
    circuit_opened_in_call: bool,
    step: u64,
}

impl Backoff {
    pub(crate) fn output(
        &mut self,
        ctx: &Ctx<'_>,
        output: &Output,
        conns: &Connections,
    ) -> Checked {
        if self.step != ctx.step {
            self.step = ctx.step;
            self.circuit_opened_in_call = false;
        }
        match output {
            Output::Action(Action::Connect { conn, attempt }) => {
                self.check_attempt_time(ctx, "Connect")?;
                let expected = self.next_attempt.unwrap_or(1);
                if !self.paused && *attempt != expected {
                    return Err(ctx.fail(
                        Invariant::BackoffGrowth,
                        format!("Connect {conn:?} is attempt {attempt}, the last schedule said {expected}"),
                    ));
                }
            }
            Output::Event(Event::CredentialsRequested) if conns.current.is_none() => {
                self.check_attempt_time(ctx, "CredentialsRequested before an attempt")?;
            }
            Output::Event(Event::Paused) => {
                self.paused = true;
                self.paused_now = true;
            }
            Output::Event(Event::Resumed) => self.paused_now = false,
            Output::Event(Event::Disconnected { conn, .. }) => {
                self.ending_stable = self.stable == Some(*conn);
                // While paused, an ending is counted without a schedule to show it.
                self.paused |= self.paused_now;
            }
            Output::Event(Event::AttemptFailed { .. }) => {
                self.ending_stable = false;
                self.paused |= self.paused_now;
            }
            Output::Event(Event::Live { conn, .. }) => self.live = Some((*conn, ctx.now)),
            Output::Event(Event::Stable { conn }) => {
                let min = ctx.config.backoff.min_uptime;
                match self.live {
                    Some((c, at)) if c == *conn && ctx.now.saturating_duration_since(at) >= min => {
                    }
                    _ => {
                        return Err(ctx.fail(
                            Invariant::BackoffGrowth,
                            format!(
                                "Stable {conn:?} before {min:?} live (live since {:?})",
                                self.live
                            ),
                        ))
                    }
                }
                self.stable = Some(*conn);
                self.failures = 0;
            }
            Output::Event(Event::Circuit { state, .. }) => {
                if ctx.config.limits.circuit_breaker.is_none() {
                    return Err(ctx.fail(
                        Invariant::BackoffBounds,
                        format!("Circuit {state:?} without a circuit breaker"),
                    ));
                }
                if *state == crate::boundary::CircuitState::Open {
                    self.circuit_opened_in_call = true;
                }
            }
            Output::Event(Event::ReconnectScheduled {
                attempt,
                delay,
                source,
                failures,
            }) => {
                self.scheduled(ctx, *attempt, delay.drawn, *source, *failures)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn check_attempt_time(&mut self, ctx: &Ctx<'_>, what: &str) -> Checked {
        let skipped = matches!(
            ctx.call,
            Call::Command(Command::ReconnectNow | Command::Resume)
        );
        if let Some(earliest) = self.earliest.take() {
            if !skipped && !self.paused && ctx.now < earliest {
                return Err(ctx.fail(
                    Invariant::Deadline,
                    format!(
                        "{what} {:?} before the scheduled delay ended",
                        earliest - ctx.now
                    ),
                ));
            }
        }
        Ok(())
    }

    fn scheduled(
        &mut self,
        ctx: &Ctx<'_>,
        attempt: u32,
        drawn: Duration,
        source: DelaySource,
        failures: u32,
    ) -> Checked {
        let cfg = &ctx.config.backoff;
        let limits = &ctx.config.limits;
        let describe = format!("{source:?} delay {drawn:?} after {failures} failure(s)");
        if attempt != failures.saturating_add(1) {
            return Err(ctx.fail(
                Invariant::BackoffGrowth,
                format!("attempt {attempt} scheduled after {failures} failure(s)"),
            ));
        }
        let stable_ending = self.ending_stable;
        let grows = self.paused || failures > self.failures;
        let bounds = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(ctx.fail(Invariant::BackoffBounds, format!("{what}: {describe}")))
            }
        };
        match source {
            DelaySource::Immediate => {
                bounds(drawn.is_zero(), "an immediate reconnect with a delay")?
            }
            DelaySource::FirstRetry => {
                let hi = match cfg.first_retry {
                    FirstRetry::Immediate => Duration::ZERO,
                    FirstRetry::Jittered => cfg.initial,
                };
                bounds(
                    failures == 0 && drawn <= hi && (stable_ending || self.paused),
                    "a first retry out of [0, initial], or not after a stable connection",
                )?;
            }
            DelaySource::Backoff => {
                if !grows || (stable_ending && !self.paused) {
                    return Err(ctx.fail(
                        Invariant::BackoffGrowth,
                        format!(
                            "failures did not count up from {} (stable ending: {stable_ending}): {describe}",
                            self.failures
                        ),
                    ));
                }
                let previous = if failures == self.failures + 1 {
                    self.last_draw
                } else {
                    None
                };
                let range = delay_range(cfg, failures, previous);
                if drawn + ROUNDING < range.lo || drawn > range.hi + ROUNDING {
                    return Err(ctx.fail(
                        Invariant::BackoffBounds,
                        format!(
                            "{describe} outside {:?}..={:?} ({:?} jitter)",
                            range.lo, range.hi, cfg.jitter
                        ),
                    ));
                }
                if range.at_cap && range.hi > range.lo + ROUNDING {
                    self.at_cap.push(drawn);
                    if self.at_cap.len() == SPREAD_WINDOW {
                        let draws = std::mem::take(&mut self.at_cap);
                        if draws.iter().all(|d| *d == draws[0]) {
                            return Err(ctx.fail(
                                Invariant::BackoffSpread,
                                format!(
                                    "{SPREAD_WINDOW} draws at the cap all {:?}, the range is {:?}..={:?}",
                                    draws[0], range.lo, range.hi
                                ),
                            ));
                        }
                    }
                }
            }
            DelaySource::CircuitOpen => {
                let cooldown = limits.circuit_breaker.as_ref().map(|cb| cb.cooldown);
                bounds(
                    Some(drawn) == cooldown && self.circuit_opened_in_call && grows,
                    "a circuit delay that is not the cooldown of a circuit opened now",
                )?;
            }
            DelaySource::RetryAfter { hint } => {
                bounds(
                    drawn == hint.min(limits.retry_after_ceiling),
                    "a Retry-After delay not bounded by the ceiling",
                )?;
            }
        }
        let exempt = matches!(
            source,
            DelaySource::RetryAfter { .. } | DelaySource::CircuitOpen
        );
        if !exempt && drawn > cfg.max + ROUNDING {
            return Err(ctx.fail(
                Invariant::BackoffBounds,
                format!("beyond backoff.max: {describe}"),
            ));
        }
        self.last_draw = match source {
            DelaySource::Backoff => Some(drawn),
            DelaySource::CircuitOpen | DelaySource::RetryAfter { .. } => None,
            DelaySource::Immediate | DelaySource::FirstRetry => self.last_draw,
        };
        if self.paused {
            self.last_draw = None;
        }
        self.failures = failures;
        self.next_attempt = Some(attempt);
        self.paused = false;
        self.earliest = Some(ctx.now + drawn);
        Ok(())
    }

    /// While backing off, the session's deadline is not after the scheduled delay's end.
    pub(crate) fn after<P: Protocol>(&self, ctx: &Ctx<'_>, session: &Session<P>) -> Checked {
        if let (State::Backoff { .. }, Some(earliest)) = (session.state(), self.earliest) {
            if session.poll_timeout().is_some_and(|t| t > earliest) {
                return Err(ctx.fail(
                    Invariant::Deadline,
                    format!(
                        "backing off with a deadline {:?} after the drawn delay ends",
                        session.poll_timeout().map(|t| t - earliest)
                    ),
                ));
            }
        }
        Ok(())
    }
}
