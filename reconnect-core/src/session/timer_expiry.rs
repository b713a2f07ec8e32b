//! What each deadline does when it fires.

use std::time::Instant;

use super::lifecycle::Next;
use super::{AfterClose, Phase, RequestKind, Session, Timer};
use crate::boundary::{Action, DropReason, Event, Purpose, StopReason};
use crate::error::{EndCause, TimeoutKind};
use crate::protocol::Protocol;

/// More than enough for every timer to fire a few times in one call; reaching it would mean a
/// timer re-arms itself at `now`, which validation rules out. The bound keeps a bug from hanging
/// the driver.
const MAX_FIRINGS_PER_CALL: usize = 256;

impl<P: Protocol> Session<P> {
    /// Runs every deadline due at `now`, in the fixed order of [`Timer`].
    pub(super) fn run_due_timers(&mut self, now: Instant) {
        for _ in 0..MAX_FIRINGS_PER_CALL {
            let Some(timer) = self.timers.first_due(now) else {
                return;
            };
            self.timers.stop(timer);
            self.fire(now, timer);
        }
        debug_assert!(false, "timers kept firing at {now:?}");
    }

    fn fire(&mut self, now: Instant, timer: Timer) {
        // During a close handshake only the close deadline (and the session-wide ones) may act:
        // liveness and request deadlines belong to a connection that is already being ended.
        if self.is_closing() && Timer::CONNECTION.contains(&timer) && timer != Timer::Close {
            return;
        }
        match timer {
            Timer::GiveUp => {
                if self.phase != Phase::Live {
                    let outage = self
                        .outage_started
                        .map_or_else(Default::default, |at| now.saturating_duration_since(at));
                    self.stop(now, StopReason::OutageTooLong { outage });
                }
            }
            Timer::Connect => {
                self.end_connection(
                    now,
                    EndCause::Timeout(TimeoutKind::Connect),
                    None,
                    Next::Policy,
                );
            }
            Timer::Credentials => self.credentials_timed_out(now),
            Timer::Request => {
                if let Some((_, kind)) = self.pending.first_expired(now) {
                    // The server no longer answers requests: the connection is as good as dead.
                    let kind = kind.timeout_kind();
                    self.end_connection(now, EndCause::Timeout(kind), None, Next::Policy);
                } else {
                    self.sync_request_timer();
                }
            }
            Timer::Pong => {
                self.end_connection(
                    now,
                    EndCause::Timeout(TimeoutKind::Pong),
                    None,
                    Next::Policy,
                );
            }
            Timer::Idle => {
                if self.registry.has_active() {
                    self.end_connection(
                        now,
                        EndCause::Timeout(TimeoutKind::Idle),
                        None,
                        Next::Policy,
                    );
                }
            }
            Timer::TopicStale => self.check_stale_topics(now),
            Timer::Close => self.finish_close(now, false),
            Timer::Lifetime => {
                if let Some(conn) = self.conn_id() {
                    self.emit(Event::Recycling { conn });
                    self.begin_close(now, AfterClose::Reconnect, "recycling connection");
                }
            }
            Timer::Stable => self.on_stable(),
            Timer::Ping => {
                if let Some(conn) = self.conn_id() {
                    // A ping that waits for the send rate starts its pong timeout once written
                    // (`pump_writes`): the wait is the session's, not the server's silence.
                    if let Some(ping) = self.throttled(Action::Ping { conn }) {
                        self.write(ping);
                        self.arm_pong(now);
                    }
                }
            }
            Timer::Heartbeat => self.send_heartbeat(now),
            Timer::Renewal => {
                if let Some(conn) = self.conn.as_mut() {
                    conn.renewal_wait = true;
                    self.timers.set(
                        Timer::Credentials,
                        Self::after(now, self.config.timeouts.credentials),
                    );
                    if let Some(interval) = self.config.credentials.renewal_interval {
                        self.timers.set(Timer::Renewal, Self::after(now, interval));
                    }
                    self.emit(Event::CredentialsRequested);
                }
            }
            Timer::GrantRenewal => self.renew_before_expiry(now),
            Timer::SendRate => self.pump_writes(now),
            Timer::ResubscribePace => {
                self.pump_subscriptions(now);
                self.check_resubscribed(now);
            }
            Timer::SubscriptionRetry => {
                let next = self.registry.release_due_retries(now);
                self.timers.set_opt(Timer::SubscriptionRetry, next);
                if self.phase == Phase::Live {
                    self.pump_subscriptions(now);
                }
            }
            Timer::OutboxExpiry => {
                let mut dropped = Vec::new();
                let next = self
                    .outbox
                    .expire(now, &mut |frame, reason| dropped.push((frame, reason)));
                self.timers.set_opt(Timer::OutboxExpiry, next);
                for (frame, reason) in dropped {
                    self.report_drop(frame, reason);
                }
            }
            Timer::Reconnect => {
                if matches!(self.phase, Phase::Backoff { .. }) {
                    self.begin_attempt(now);
                }
            }
        }
    }

    fn send_heartbeat(&mut self, now: Instant) {
        let Some(conn) = self.conn_id() else {
            return;
        };
        if let Some(interval) = self.config.liveness.heartbeat_interval {
            self.timers
                .set(Timer::Heartbeat, Self::after(now, interval));
        }
        let id = self.peek_request_id();
        if let Some(frame) = self.protocol.heartbeat_request(id) {
            if let Some(cause) = self.too_large(Purpose::Heartbeat, &frame) {
                // The liveness the configuration asks for cannot be kept on this connection
                // (nor on the next, with the same frame): ended, fatal by default.
                self.end_connection(now, cause, None, Next::Policy);
                return;
            }
            self.next_request_id();
            self.act(Action::Send {
                conn,
                frame,
                purpose: Purpose::Heartbeat,
            });
            if self.protocol.acknowledges() {
                let deadline = Self::after(now, self.config.liveness.pong_timeout);
                self.pending.insert(id, RequestKind::Heartbeat, deadline);
                self.sync_request_timer();
            }
        }
    }

    fn credentials_timed_out(&mut self, now: Instant) {
        if self.phase == Phase::AwaitingCredentials {
            self.credentials_attempt_failed(now, EndCause::Timeout(TimeoutKind::Credentials));
        } else if let Some(conn) = self.conn.as_mut() {
            if conn.renewal_wait {
                conn.renewal_wait = false;
                self.emit(Event::RenewalFailed {
                    cause: EndCause::Timeout(TimeoutKind::Credentials),
                });
            }
        }
    }

    /// An attempt that ended before connecting because credentials could not be had.
    pub(super) fn credentials_attempt_failed(&mut self, now: Instant, cause: EndCause) {
        self.timers.stop(Timer::Credentials);
        let disposition = self
            .protocol
            .classify_end(&cause)
            .unwrap_or_else(|| self.config.classifier.classify(&cause));
        self.stats.failures.rejected += 1;
        self.stats.last_attempt_failure = Some((cause.clone(), now));
        self.emit(Event::AttemptFailed {
            conn: None,
            attempt: self.failures.saturating_add(1),
            cause: Box::new(cause.clone()),
            disposition,
        });
        self.after_ending(now, cause, disposition, Next::Policy, false);
    }

    pub(super) fn report_drop(&mut self, frame: crate::Frame, reason: DropReason) {
        self.stats.outbox_drops += 1;
        self.emit(Event::OutboxDropped { frame, reason });
    }
}
