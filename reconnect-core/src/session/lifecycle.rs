//! Attempts, endings and the backoff between them.

use std::time::{Duration, Instant};

use super::{AfterClose, Circuit, Conn, Phase, Session, Timer};
use crate::backoff::Delay;
use crate::boundary::{Action, CircuitState, DelaySource, DropReason, Event, StopReason};
use crate::conn_id::ConnId;
use crate::error::{Disposition, EndCause};
use crate::protocol::Protocol;
use crate::send_rate::Throttle;

/// When the next attempt starts after an ending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Per the disposition and the backoff policy.
    Policy,
    /// At once, without counting a failure (reconnect requested, recycle).
    Immediately,
}

impl<P: Protocol> Session<P> {
    /// Starts the next attempt: asks for credentials first when the policy or a previous
    /// rejection wants fresh ones, otherwise connects.
    pub(super) fn begin_attempt(&mut self, now: Instant) {
        self.timers.stop(Timer::Reconnect);
        if self.close_requested {
            // An attempt that fell due while `close` ran the overdue deadlines: the close wins.
            self.stop(now, StopReason::Closed { clean: true });
            return;
        }
        if self.outage_started.is_none() {
            self.begin_outage(now);
        }
        if self.circuit == Circuit::Open {
            self.circuit = Circuit::HalfOpen;
            self.emit(Event::Circuit {
                state: crate::boundary::CircuitState::HalfOpen,
                failures: self.failures,
            });
        }
        if self.config.credentials.fetch_before_connect || self.needs_refresh {
            self.phase = Phase::AwaitingCredentials;
            self.timers.set(
                Timer::Credentials,
                Self::after(now, self.config.timeouts.credentials),
            );
            self.emit(Event::CredentialsRequested);
            return;
        }
        self.connect(now);
    }

    pub(super) fn connect(&mut self, now: Instant) {
        self.timers.stop(Timer::Credentials);
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        let attempt = self.failures.saturating_add(1);
        self.conn = Some(Conn {
            id,
            attempt,
            opened_at: None,
            live_since: None,
            stable: false,
            last_inbound: None,
            resubscribed: 0,
            renewal_wait: false,
            refresh_token: None,
            throttle: self.config.limits.send_rate.as_ref().map(Throttle::new),
        });
        self.phase = Phase::Connecting;
        self.stats.attempts += 1;
        self.timers.set(
            Timer::Connect,
            Self::after(now, self.config.timeouts.connect),
        );
        self.emit(Event::Connecting { conn: id, attempt });
        self.act(Action::Connect { conn: id, attempt });
    }

    fn begin_outage(&mut self, now: Instant) {
        self.outage_started = Some(now);
        if let Some(limit) = self.config.limits.max_outage {
            self.timers.set(Timer::GiveUp, Self::after(now, limit));
        }
    }

    /// The transport opened: liveness starts, then auth.
    pub(super) fn on_opened(&mut self, now: Instant) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if conn.opened_at.is_some() {
            return; // spurious
        }
        conn.opened_at = Some(now);
        conn.last_inbound = Some(now);
        let id = conn.id;
        self.timers.stop(Timer::Connect);
        if let Some(interval) = self.config.liveness.ping_interval {
            self.timers.set(Timer::Ping, Self::after(now, interval));
        }
        if let Some(interval) = self.config.liveness.heartbeat_interval {
            self.timers
                .set(Timer::Heartbeat, Self::after(now, interval));
        }
        self.emit(Event::Connected { conn: id });
        self.start_auth(now);
    }

    /// Ends the current attempt or connection: releases the transport, reports it, and decides
    /// what comes next. `disposition` overrides the classification when the caller already knows
    /// it (an auth rejection classified by the adapter).
    pub(super) fn end_connection(
        &mut self,
        now: Instant,
        cause: EndCause,
        disposition: Option<Disposition>,
        next: Next,
    ) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let disposition = disposition
            .or_else(|| self.protocol.classify_end(&cause))
            .unwrap_or_else(|| self.config.classifier.classify(&cause));
        self.count_failure(&cause);
        for timer in Timer::CONNECTION {
            self.timers.stop(timer);
        }
        self.pending.clear();
        self.registry.reset_for_new_connection();
        self.act(Action::Release { conn: conn.id });
        if let Some(opened) = conn.opened_at {
            self.stats.disconnects += 1;
            self.stats.last_disconnect = Some((cause.clone(), now));
            if conn.live_since.is_some() && is_failure(&cause) {
                self.stats.outages += 1;
            }
            self.emit(Event::Disconnected {
                conn: conn.id,
                cause: Box::new(cause.clone()),
                uptime: now.saturating_duration_since(opened),
                disposition,
            });
        } else {
            self.stats.last_attempt_failure = Some((cause.clone(), now));
            self.emit(Event::AttemptFailed {
                conn: Some(conn.id),
                attempt: conn.attempt,
                cause: Box::new(cause.clone()),
                disposition,
            });
        }
        self.after_ending(now, cause, disposition, next, conn.stable);
    }

    /// What follows an ending that has been reported: stop, or schedule the next attempt.
    pub(super) fn after_ending(
        &mut self,
        now: Instant,
        cause: EndCause,
        disposition: Disposition,
        next: Next,
        was_stable: bool,
    ) {
        if self.close_requested {
            // Ended by a deadline that was overdue when `close` ran: nothing follows but the stop.
            self.stop(now, StopReason::Closed { clean: true });
            return;
        }
        if next == Next::Immediately {
            self.reconnect_immediately(now);
            return;
        }
        match disposition {
            // `Closed` for an ending the application did not ask for is a misuse of the
            // classification: stopping (as documented) is the one safe reading.
            Disposition::Fatal | Disposition::Closed => {
                self.stop(now, StopReason::Fatal(cause));
                return;
            }
            Disposition::RetryAfter(hint) => self.retry_after_hint = Some(hint),
            Disposition::RefreshCredentials => self.needs_refresh = true,
            Disposition::Retry => {}
        }
        self.schedule_reconnect(now, was_stable);
    }

    fn count_failure(&mut self, cause: &EndCause) {
        let f = &mut self.stats.failures;
        match cause {
            EndCause::Transport(_) => f.transport += 1,
            EndCause::ServerClosed { .. } => f.server_close += 1,
            EndCause::Timeout(_) | EndCause::TopicStale { .. } => f.timeout += 1,
            EndCause::AuthRejected(_)
            | EndCause::SetupRejected(_)
            | EndCause::CredentialsUnavailable(_)
            | EndCause::FrameTooLarge { .. }
            | EndCause::SendBacklog { .. } => f.rejected += 1,
            EndCause::ReconnectRequested
            | EndCause::Recycled
            | EndCause::Closed
            | EndCause::GaveUp => {}
        }
    }

    /// Schedules the next attempt per the backoff policy, the limits and the circuit breaker.
    pub(super) fn schedule_reconnect(&mut self, now: Instant, was_stable: bool) {
        if self.outage_started.is_none() {
            self.begin_outage(now);
        }
        let (mut delay, mut source) = if was_stable {
            self.failures = 0;
            (
                self.backoff.first_retry(&self.config.backoff),
                DelaySource::FirstRetry,
            )
        } else {
            self.failures = self.failures.saturating_add(1);
            if let Some(max) = self.config.limits.max_attempts {
                if self.failures >= max {
                    let attempts = self.failures;
                    self.stop(now, StopReason::GaveUp { attempts });
                    return;
                }
            }
            (
                self.backoff.draw(&self.config.backoff, self.failures),
                DelaySource::Backoff,
            )
        };
        if let Some(cb) = self.config.limits.circuit_breaker.clone() {
            let trips = match self.circuit {
                // The probe failed: open again.
                Circuit::HalfOpen => !was_stable,
                Circuit::Closed => self.failures >= cb.threshold,
                Circuit::Open => false,
            };
            if trips {
                self.circuit = Circuit::Open;
                self.emit(Event::Circuit {
                    state: CircuitState::Open,
                    failures: self.failures,
                });
                delay = Delay {
                    base: cb.cooldown,
                    drawn: cb.cooldown,
                    jitter: delay.jitter,
                };
                source = DelaySource::CircuitOpen;
            }
        }
        if let Some(hint) = self.retry_after_hint.take() {
            let bounded = hint.min(self.config.limits.retry_after_ceiling);
            if source != DelaySource::CircuitOpen || bounded > delay.drawn {
                delay.drawn = bounded;
                source = DelaySource::RetryAfter { hint };
            }
        }
        self.wait_then_attempt(now, delay, source);
    }

    fn reconnect_immediately(&mut self, now: Instant) {
        let delay = Delay {
            base: Duration::ZERO,
            drawn: Duration::ZERO,
            jitter: self.config.backoff.jitter,
        };
        self.wait_then_attempt(now, delay, DelaySource::Immediate);
    }

    fn wait_then_attempt(&mut self, now: Instant, delay: Delay, source: DelaySource) {
        if self.paused && source != DelaySource::Immediate {
            self.phase = Phase::Paused;
            return;
        }
        self.stats.retries_scheduled += 1;
        self.emit(Event::ReconnectScheduled {
            attempt: self.failures.saturating_add(1),
            delay,
            source,
            failures: self.failures,
        });
        if delay.drawn.is_zero() {
            self.begin_attempt(now);
        } else {
            let until = Self::after(now, delay.drawn);
            self.phase = Phase::Backoff { until };
            self.timers.set(Timer::Reconnect, until);
        }
    }

    /// Reaches live: stops the outage clock, starts the connection's live timers, and releases
    /// the outbox in order.
    pub(super) fn go_live(&mut self, now: Instant) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        conn.live_since = Some(now);
        let id = conn.id;
        let resubscribed = conn.resubscribed;
        self.phase = Phase::Live;
        if self.stats.live_connections > 0 {
            self.stats.reconnections += 1;
        }
        self.stats.live_connections += 1;
        self.timers.stop(Timer::GiveUp);
        let outage = self
            .outage_started
            .take()
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
        self.timers.set(
            Timer::Stable,
            Self::after(now, self.config.backoff.min_uptime),
        );
        if let Some(lifetime) = self.config.max_lifetime {
            let opened = self.conn.as_ref().and_then(|c| c.opened_at).unwrap_or(now);
            // A connection that reaches live only after its lifetime ran out (a late tick)
            // recycles on the next call, but its deadline must not lie behind `now`: the
            // driver is promised that `poll_timeout()` never names a time already passed.
            self.timers
                .set(Timer::Lifetime, Self::after(opened, lifetime).max(now));
        }
        if let Some(interval) = self.config.credentials.renewal_interval {
            self.timers.set(Timer::Renewal, Self::after(now, interval));
        }
        // Topics confirmed before live had their deadline armed then; a check that came due
        // before live did nothing, so the one timer is armed again here.
        self.arm_stale_timer(now);
        if self.circuit != Circuit::Closed {
            self.circuit = Circuit::Closed;
            self.emit(Event::Circuit {
                state: CircuitState::Closed,
                failures: self.failures,
            });
        }
        self.emit(Event::Live {
            conn: id,
            resubscribed,
            outage,
        });
        // A late tick may run the deadline that completes the resubscription before the one that
        // expires queued messages (the fixed order): what expired by now is dropped, not sent.
        let mut expired = Vec::new();
        self.outbox
            .expire(now, &mut |frame, reason| expired.push((frame, reason)));
        for (frame, reason) in expired {
            self.report_drop(frame, reason);
        }
        // In order, as the send rate allows; the rest go out as tokens come back.
        self.flush_outbox(now);
    }

    /// The connection stayed live for `min_uptime`: the failure count resets.
    pub(super) fn on_stable(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            conn.stable = true;
            let id = conn.id;
            self.failures = 0;
            self.emit(Event::Stable { conn: id });
        }
    }

    /// Starts the close handshake on the open transport.
    pub(super) fn begin_close(&mut self, now: Instant, after: AfterClose, reason: &'static str) {
        let Some(id) = self.conn_id() else {
            return;
        };
        for timer in Timer::CONNECTION {
            self.timers.stop(timer);
        }
        if after == AfterClose::Stop {
            // Closing ends the outage too: the application, not the limit, stops this session.
            self.timers.stop(Timer::GiveUp);
        }
        self.pending.clear();
        self.forget_waiting();
        self.phase = Phase::Closing(after);
        self.timers
            .set(Timer::Close, Self::after(now, self.config.timeouts.close));
        self.act(Action::Close {
            conn: id,
            code: 1000,
            reason,
        });
    }

    /// The close handshake ended, cleanly (the peer's close frame) or not (timeout, failure).
    pub(super) fn finish_close(&mut self, now: Instant, clean: bool) {
        let Phase::Closing(after) = self.phase else {
            return;
        };
        match after {
            AfterClose::Stop => self.stop(now, StopReason::Closed { clean }),
            AfterClose::Reconnect => {
                // A recycle is not a failure: `Next::Immediately` leaves the count alone.
                self.end_connection(
                    now,
                    EndCause::Recycled,
                    Some(Disposition::Retry),
                    Next::Immediately,
                );
            }
        }
    }

    /// Stops for good: releases the transport, hands back queued messages, stops every timer.
    pub(super) fn stop(&mut self, now: Instant, reason: StopReason) {
        if let Some(conn) = self.conn.take() {
            self.act(Action::Release { conn: conn.id });
            if let Some(opened) = conn.opened_at {
                self.stats.disconnects += 1;
                let (cause, disposition) = match &reason {
                    StopReason::Fatal(cause) => (cause.clone(), Disposition::Fatal),
                    StopReason::Closed { .. } => (EndCause::Closed, Disposition::Closed),
                    StopReason::GaveUp { .. } | StopReason::OutageTooLong { .. } => {
                        (EndCause::GaveUp, Disposition::Fatal)
                    }
                };
                self.stats.last_disconnect = Some((cause.clone(), now));
                self.emit(Event::Disconnected {
                    conn: conn.id,
                    cause: Box::new(cause),
                    uptime: now.saturating_duration_since(opened),
                    disposition,
                });
            }
        }
        self.timers.stop_all();
        self.pending.clear();
        self.registry.reset_for_new_connection();
        while let Some(queued) = self.outbox.pop_front() {
            self.stats.outbox_drops += 1;
            self.emit(Event::OutboxDropped {
                frame: queued.frame,
                reason: DropReason::Stopped,
            });
        }
        self.phase = Phase::Stopped(reason.clone());
        self.emit(Event::Stopped { reason });
    }
}

/// Whether `cause` is a failure (counted in [`Stats::failures`](crate::Stats::failures)), as
/// opposed to an ending the application or the policy asked for.
fn is_failure(cause: &EndCause) -> bool {
    !matches!(
        cause,
        EndCause::ReconnectRequested | EndCause::Recycled | EndCause::Closed | EndCause::GaveUp
    )
}
