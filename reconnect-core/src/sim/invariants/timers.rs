//! `poll_timeout()`: never before the latest `now` the session took, always set while a
//! deadline-driven state is active; and the connect, credentials, auth and close deadlines
//! fire within their configured durations.

use std::time::Instant;

use super::connections::Connections;
use super::{Checked, Ctx, Invariant};
use crate::boundary::{Event, Output, State};
use crate::protocol::Protocol;
use crate::session::Session;

#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// The latest `now` the session certainly took (a timeout or an input on its transport).
    clock: Option<Instant>,
    /// When the application was last asked for credentials before an attempt.
    asked_at: Option<Instant>,
}

impl Timers {
    pub(crate) fn output(
        &mut self,
        ctx: &Ctx<'_>,
        output: &Output,
        conns: &Connections,
    ) -> Checked {
        if let Output::Event(Event::CredentialsRequested) = output {
            if conns.current.is_none() {
                self.asked_at = Some(ctx.now);
            }
        }
        Ok(())
    }

    pub(crate) fn after<P: Protocol>(
        &mut self,
        ctx: &Ctx<'_>,
        session: &Session<P>,
        conns: &Connections,
    ) -> Checked {
        // Every deadline due by the latest `now` the session took has run.
        if ctx.advanced {
            self.clock = Some(self.clock.map_or(ctx.now, |c| c.max(ctx.now)));
        }
        let state = session.state();
        let timeout = session.poll_timeout();
        if let (Some(deadline), Some(clock)) = (timeout, self.clock) {
            if deadline < clock {
                return Err(ctx.fail(
                    Invariant::Timers,
                    format!(
                        "poll_timeout() is {:?} before the latest now",
                        clock - deadline
                    ),
                ));
            }
        }
        let ping = ctx.config.liveness.ping_interval.is_some();
        let needs_deadline = match &state {
            State::AwaitingCredentials
            | State::Connecting { .. }
            | State::Authenticating { .. }
            | State::SettingUp { .. }
            | State::Resubscribing { .. }
            | State::Closing { .. }
            | State::Backoff { .. } => true,
            State::Live { .. } => ping,
            _ => false,
        };
        if needs_deadline && timeout.is_none() {
            return Err(ctx.fail(Invariant::Timers, format!("{state:?} without a deadline")));
        }
        let timeouts = &ctx.config.timeouts;
        let limit = match &state {
            State::Connecting { .. } => conns
                .current
                .as_ref()
                .map(|c| (c.connect_at + timeouts.connect, "connect")),
            State::Authenticating { .. } => conns
                .current
                .as_ref()
                .and_then(|c| c.auth_sent_at)
                .map(|at| (at + timeouts.auth, "auth")),
            State::Closing { .. } => conns
                .current
                .as_ref()
                .and_then(|c| c.closing_at)
                .map(|at| (at + timeouts.close, "close")),
            State::AwaitingCredentials => self
                .asked_at
                .map(|at| (at + timeouts.credentials, "credentials")),
            _ => None,
        };
        if let (Some((limit, what)), Some(deadline)) = (limit, timeout) {
            if deadline > limit {
                return Err(ctx.fail(
                    Invariant::Deadline,
                    format!(
                        "in {state:?} the next deadline is {:?} after the {what} timeout",
                        deadline - limit
                    ),
                ));
            }
        }
        Ok(())
    }
}
