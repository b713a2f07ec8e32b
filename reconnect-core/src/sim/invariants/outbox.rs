//! The outbox: application frames go out only while live, in the order the application gave
//! them, each at most once; the queue stays within its bound and is empty while live.

use std::collections::VecDeque;

use super::connections::Connections;
use super::{Call, Checked, Ctx, Invariant};
use crate::boundary::{Action, Event, Output, Purpose, State};
use crate::command::Command;
use crate::frame::Frame;
use crate::protocol::Protocol;
use crate::session::Session;

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    /// Frames given to `send` and not yet sent or dropped, oldest first.
    given: VecDeque<Frame>,
}

impl Outbox {
    pub(crate) fn begin(&mut self, ctx: &Ctx<'_>) {
        if let Call::Command(Command::Send(frame, _)) = ctx.call {
            self.given.push_back(frame.clone());
        }
    }

    pub(crate) fn output(
        &mut self,
        ctx: &Ctx<'_>,
        output: &Output,
        conns: &Connections,
    ) -> Checked {
        match output {
            Output::Action(Action::Send {
                conn,
                frame,
                purpose: Purpose::Application,
            }) => {
                if !conns.live_on(*conn) {
                    return Err(ctx.fail(
                        Invariant::Outbox,
                        format!("an application frame on {conn:?} before it is live: {frame:?}"),
                    ));
                }
                let Some(pos) = self.given.iter().position(|f| f == frame) else {
                    return Err(ctx.fail(
                        Invariant::Outbox,
                        format!("an application frame sent out of order, twice or never given: {frame:?}"),
                    ));
                };
                // Whatever was given before it can never go out after it.
                self.given.drain(..=pos);
            }
            Output::Event(Event::OutboxDropped { frame, .. }) => {
                match self.given.iter().position(|f| f == frame) {
                    Some(pos) => {
                        self.given.remove(pos);
                    }
                    None => {
                        return Err(ctx.fail(
                            Invariant::Outbox,
                            format!("a drop of a frame that is not queued: {frame:?}"),
                        ))
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn after<P: Protocol>(&mut self, ctx: &Ctx<'_>, session: &Session<P>) -> Checked {
        let policy = &ctx.config.outbox;
        let queued = session.queued();
        if queued > policy.max_messages {
            return Err(ctx.fail(
                Invariant::Outbox,
                format!(
                    "{queued} messages queued, the bound is {}",
                    policy.max_messages
                ),
            ));
        }
        // With a send rate, sends made while live wait in the outbox for their token.
        let held_back = ctx.config.limits.send_rate.is_some();
        if matches!(session.state(), State::Live { .. }) && queued > 0 && !held_back {
            return Err(ctx.fail(
                Invariant::Outbox,
                format!("live with {queued} messages still queued"),
            ));
        }
        if session.is_stopped() {
            self.given.clear();
        }
        Ok(())
    }
}
