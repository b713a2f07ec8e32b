//! `close()` and a stop are terminal, and credentials are asked for exactly when the policy
//! says.

use super::{Call, Checked, Ctx, Invariant};
use crate::boundary::{Action, Event, Output, StopReason};
use crate::command::Command;
use crate::error::Disposition;
use crate::protocol::Protocol;
use crate::session::Session;

#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    close_called: bool,
    started: bool,
    stopped: bool,
    /// Outputs before the stop in the current call.
    stopped_in_call: bool,
    /// An ending asked for fresh credentials and none were provided since.
    needs_fresh: bool,
    /// The application was asked for credentials before the next attempt and has not answered.
    asked: bool,
    /// The current transport is up (a renewal may ask for credentials then).
    in_flight: bool,
}

impl Lifecycle {
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }

    pub(crate) fn close_called(&self) -> bool {
        self.close_called
    }

    pub(crate) fn started(&self) -> bool {
        self.started
    }

    pub(crate) fn begin(&mut self, ctx: &Ctx<'_>) {
        self.stopped_in_call = false;
        match ctx.call {
            Call::Command(Command::Close) => self.close_called = true,
            Call::Start => self.started = true,
            Call::Command(Command::ProvideCredentials(_) | Command::CredentialsFailed(_)) => {
                self.asked = false;
            }
            _ => {}
        }
    }

    pub(crate) fn output(&mut self, ctx: &Ctx<'_>, output: &Output) -> Checked {
        // The one output a stopped session still gives: the refusal of a command applied to it.
        if self.stopped && !matches!(output, Output::Event(Event::Refused(_))) {
            let when = if self.stopped_in_call {
                ""
            } else {
                " (in an earlier call)"
            };
            return Err(ctx.fail(
                Invariant::CloseTerminal,
                format!("an output after Event::Stopped{when}: {output:?}"),
            ));
        }
        match output {
            Output::Action(Action::Connect { conn, .. }) => {
                if self.close_called {
                    return Err(ctx.fail(
                        Invariant::CloseTerminal,
                        format!("Connect {conn:?} after close()"),
                    ));
                }
                let policy = ctx.config.credentials.fetch_before_connect;
                let provided = matches!(ctx.call, Call::Command(Command::ProvideCredentials(_)));
                if (policy || self.needs_fresh) && !provided {
                    return Err(ctx.fail(
                        Invariant::Credentials,
                        format!(
                            "Connect {conn:?} without the credentials {} asked for",
                            if policy {
                                "fetch_before_connect"
                            } else {
                                "an ending"
                            }
                        ),
                    ));
                }
                if provided {
                    self.needs_fresh = false;
                }
                self.in_flight = true;
            }
            Output::Action(Action::Release { .. }) => self.in_flight = false,
            Output::Event(Event::ReconnectScheduled { .. }) if self.close_called => {
                return Err(ctx.fail(
                    Invariant::CloseTerminal,
                    "a reconnect scheduled after close()",
                ));
            }
            Output::Event(
                Event::AttemptFailed { disposition, .. } | Event::Disconnected { disposition, .. },
            ) if *disposition == Disposition::RefreshCredentials => self.needs_fresh = true,
            Output::Event(Event::CredentialsRequested) if !self.in_flight => {
                if self.close_called {
                    return Err(ctx.fail(
                        Invariant::CloseTerminal,
                        "an attempt (CredentialsRequested) after close()",
                    ));
                }
                if !ctx.config.credentials.fetch_before_connect && !self.needs_fresh {
                    return Err(ctx.fail(
                        Invariant::Credentials,
                        "credentials requested before an attempt, but neither the policy nor an \
                         ending asked for fresh ones",
                    ));
                }
                self.asked = true;
            }
            Output::Event(Event::Stopped { reason }) => {
                match reason {
                    StopReason::Closed { .. } if !self.close_called => {
                        return Err(
                            ctx.fail(Invariant::CloseTerminal, "Stopped(Closed) without close()")
                        );
                    }
                    StopReason::GaveUp { attempts }
                        if Some(*attempts) != ctx.config.limits.max_attempts =>
                    {
                        return Err(ctx.fail(
                            Invariant::CloseTerminal,
                            format!(
                                "gave up after {attempts} attempts, max_attempts is {:?}",
                                ctx.config.limits.max_attempts
                            ),
                        ));
                    }
                    StopReason::OutageTooLong { outage }
                        if ctx.config.limits.max_outage.is_none_or(|max| *outage < max) =>
                    {
                        return Err(ctx.fail(
                            Invariant::CloseTerminal,
                            format!(
                                "stopped for an outage of {outage:?}, max_outage is {:?}",
                                ctx.config.limits.max_outage
                            ),
                        ));
                    }
                    _ => {}
                }
                self.stopped = true;
                self.stopped_in_call = true;
            }
            _ => {}
        }
        Ok(())
    }

    /// A stopped session holds no transport and no deadline.
    pub(crate) fn after<P: Protocol>(&self, ctx: &Ctx<'_>, session: &Session<P>) -> Checked {
        if self.stopped != session.is_stopped() {
            return Err(ctx.fail(
                Invariant::CloseTerminal,
                format!(
                    "the session says stopped = {}, the events say {}",
                    session.is_stopped(),
                    self.stopped
                ),
            ));
        }
        if self.stopped && (session.poll_timeout().is_some() || session.current_conn().is_some()) {
            return Err(ctx.fail(
                Invariant::CloseTerminal,
                "a stopped session still has a deadline or a transport",
            ));
        }
        Ok(())
    }
}
