//! The outbound rate limit ([`SendRate`](crate::SendRate)): which frame may be written now,
//! which waits, and writing what waits as tokens come back.

use std::time::Instant;

use super::lifecycle::Next;
use super::{Phase, Session, Timer};
use crate::boundary::{Action, Output, Purpose};
use crate::error::EndCause;
use crate::protocol::Protocol;
use crate::send_rate::{is_control, SendRate};

impl<P: Protocol> Session<P> {
    /// `action` if it may be written now; `None` if it waits for a token of its connection's
    /// bucket (it is then written by [`pump_writes`](Self::pump_writes), in order). Only
    /// control frames and pings come through here: subscribe requests and application sends
    /// take their tokens themselves ([`take_token`](Self::take_token)), since they can wait
    /// where they already are (the registry, the outbox).
    pub(super) fn throttled(&mut self, action: Action) -> Option<Action> {
        let counted = match &action {
            Action::Send { purpose, .. } => is_control(*purpose),
            Action::Ping { .. } => true,
            _ => false,
        };
        let now = self.now;
        let throttle = self
            .conn
            .as_mut()
            .filter(|c| c.id == action.conn())
            .and_then(|c| c.throttle.as_mut());
        let (Some(throttle), Some(now), true) = (throttle, now, counted) else {
            return Some(action);
        };
        if throttle.take(now) {
            return Some(action);
        }
        // A ping asks "are you there?": one waiting already asks it, and a second would only
        // spend another token on the same question.
        if matches!(action, Action::Ping { .. }) && throttle.ping_waits() {
            return None;
        }
        let waiting = throttle.wait(action);
        let at = if waiting > SendRate::MAX_WAITING {
            now // ended at once by pump_writes, not from inside whatever is sending
        } else {
            throttle.next_token_at(now)
        };
        self.arm_send_rate(at);
        None
    }

    /// Takes a token for a subscribe request or an application send, which wait outside the
    /// control queue; when none is free (or control frames wait first), arms the deadline of
    /// the next token and returns false. Always true without a send rate.
    pub(super) fn take_token(&mut self, now: Instant) -> bool {
        let Some(throttle) = self.conn.as_mut().and_then(|c| c.throttle.as_mut()) else {
            return true;
        };
        if throttle.take(now) {
            return true;
        }
        let at = throttle.next_token_at(now);
        self.arm_send_rate(at);
        false
    }

    /// One deadline for every frame that waits: the earliest instant asked for.
    fn arm_send_rate(&mut self, at: Instant) {
        let at = self
            .timers
            .get(Timer::SendRate)
            .map_or(at, |set| set.min(at));
        self.timers.set(Timer::SendRate, at);
    }

    /// The send-rate deadline: writes what waits, while tokens last, in the documented order:
    /// control frames, then subscribe requests, then application sends from the outbox.
    pub(super) fn pump_writes(&mut self, now: Instant) {
        self.timers.stop(Timer::SendRate);
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let Some(throttle) = conn.throttle.as_mut() else {
            return;
        };
        let waiting = throttle.waiting();
        if waiting > SendRate::MAX_WAITING {
            let cause = EndCause::SendBacklog { waiting };
            self.end_connection(now, cause, None, Next::Policy);
            return;
        }
        let mut released = Vec::new();
        while let Some(action) = throttle.release(now) {
            released.push(action);
        }
        if throttle.has_waiting() {
            let at = throttle.next_token_at(now);
            self.arm_send_rate(at);
        }
        for action in released {
            if matches!(action, Action::Ping { .. }) {
                self.arm_pong(now);
            }
            self.write(action);
        }
        if matches!(self.phase, Phase::Resubscribing | Phase::Live) {
            self.pump_subscriptions(now);
            self.check_resubscribed(now);
        }
        if self.phase == Phase::Live {
            self.flush_outbox(now);
        }
    }

    /// Writes queued application sends while tokens last; the rest wait in the outbox.
    pub(super) fn flush_outbox(&mut self, now: Instant) {
        let Some(conn) = self.conn_id() else {
            return;
        };
        while self.queued() > 0 && self.take_token(now) {
            let Some(queued) = self.outbox.pop_front() else {
                break;
            };
            self.act(Action::Send {
                conn,
                frame: queued.frame,
                purpose: Purpose::Application,
            });
        }
        self.timers
            .set_opt(Timer::OutboxExpiry, self.outbox.next_expiry());
    }

    /// A ping was written now: the server has `pong_timeout` to show it is alive.
    pub(super) fn arm_pong(&mut self, now: Instant) {
        let deadline = Self::after(now, self.config.liveness.pong_timeout);
        self.timers.set(Timer::Pong, deadline);
    }

    /// Queues an action whose token is already taken.
    pub(super) fn write(&mut self, action: Action) {
        if matches!(action, Action::Send { .. }) {
            self.stats.frames_out += 1;
        }
        self.out.push_back(Output::Action(action));
    }

    /// The connection is closing: what waits for a token must not follow its close frame. The
    /// close already stops the send-rate deadline; clearing the queue too frees the frames now
    /// and keeps a control frame queued during the close from pulling them out after it.
    pub(super) fn forget_waiting(&mut self) {
        if let Some(throttle) = self.conn.as_mut().and_then(|c| c.throttle.as_mut()) {
            throttle.clear();
        }
        self.timers.stop(Timer::SendRate);
    }
}
