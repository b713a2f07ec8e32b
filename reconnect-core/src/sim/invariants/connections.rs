//! One connection at a time, and no frame before its connection is ready or after it closed.

use std::time::Instant;

use super::{Call, Checked, Ctx, Invariant};
use crate::boundary::{Action, Event, Output, Purpose};
use crate::conn_id::ConnId;
use crate::protocol::Protocol;
use crate::session::Session;

/// What the outputs have shown of the transport in flight.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub(crate) id: ConnId,
    pub(crate) connect_at: Instant,
    pub(crate) opened: bool,
    pub(crate) auth_sent: bool,
    pub(crate) auth_sent_at: Option<Instant>,
    pub(crate) authed: bool,
    pub(crate) live: bool,
    pub(crate) closing_at: Option<Instant>,
}

#[derive(Debug, Default)]
pub(crate) struct Connections {
    /// The transport in flight.
    pub(crate) current: Option<Conn>,
    /// The latest id that was connected.
    last: Option<ConnId>,
    /// The id released most recently (in this call or before).
    pub(crate) released: Option<ConnId>,
    /// The last output seen, for "announced by" rules.
    previous: Option<Output>,
}

impl Connections {
    pub(crate) fn live_on(&self, conn: ConnId) -> bool {
        self.current
            .as_ref()
            .is_some_and(|c| c.id == conn && c.live)
    }

    fn current(
        &mut self,
        ctx: &Ctx<'_>,
        conn: ConnId,
        what: &str,
    ) -> Result<&mut Conn, super::Violation> {
        match self.current.as_mut() {
            Some(c) if c.id == conn => Ok(c),
            Some(c) => Err(ctx.fail(
                Invariant::OneConnection,
                format!("{what} names {conn:?} but {:?} is in flight", c.id),
            )),
            None => Err(ctx.fail(
                Invariant::OneConnection,
                format!("{what} names {conn:?} but no transport is in flight"),
            )),
        }
    }

    pub(crate) fn output(&mut self, ctx: &Ctx<'_>, output: &Output) -> Checked {
        let previous = self.previous.replace(output.clone());
        match output {
            Output::Action(Action::Connect { conn, attempt }) => {
                if let Some(c) = &self.current {
                    return Err(ctx.fail(
                        Invariant::OneConnection,
                        format!("Connect {conn:?} while {:?} is still in flight", c.id),
                    ));
                }
                if self.last.is_some_and(|last| *conn <= last) {
                    return Err(ctx.fail(
                        Invariant::OneConnection,
                        format!("Connect {conn:?} reuses or precedes {:?}", self.last),
                    ));
                }
                let announced = matches!(
                    &previous,
                    Some(Output::Event(Event::Connecting { conn: c, attempt: a }))
                        if c == conn && a == attempt
                );
                if !announced {
                    return Err(ctx.fail(
                        Invariant::OneConnection,
                        format!(
                            "Connect {conn:?} not announced by Event::Connecting: {previous:?}"
                        ),
                    ));
                }
                self.last = Some(*conn);
                self.current = Some(Conn {
                    id: *conn,
                    connect_at: ctx.now,
                    opened: false,
                    auth_sent: false,
                    auth_sent_at: None,
                    authed: false,
                    live: false,
                    closing_at: None,
                });
            }
            Output::Action(Action::Send {
                conn,
                frame,
                purpose,
            }) => {
                let c = self.current(ctx, *conn, "Send")?;
                if !c.opened || c.closing_at.is_some() {
                    return Err(ctx.fail(
                        Invariant::FrameOrder,
                        format!(
                            "a {purpose:?} send on {conn:?}, which {}: {frame:?}",
                            if c.opened {
                                "is closing"
                            } else {
                                "has not opened"
                            }
                        ),
                    ));
                }
                // A re-authentication while live may run beside subscriptions.
                match purpose {
                    Purpose::Auth if !c.live => {
                        c.auth_sent = true;
                        c.auth_sent_at = Some(ctx.now);
                    }
                    Purpose::Setup | Purpose::Subscribe if c.auth_sent && !c.authed => {
                        return Err(ctx.fail(
                            Invariant::FrameOrder,
                            format!("a {purpose:?} request on {conn:?} before the auth ack"),
                        ));
                    }
                    _ => {}
                }
            }
            Output::Action(Action::Ping { conn }) => {
                let c = self.current(ctx, *conn, "Ping")?;
                if !c.opened || c.closing_at.is_some() {
                    return Err(ctx.fail(
                        Invariant::FrameOrder,
                        format!("a ping on {conn:?}, which is not open or is closing"),
                    ));
                }
            }
            Output::Action(Action::Close { conn, .. }) => {
                let c = self.current(ctx, *conn, "Close")?;
                if !c.opened || c.closing_at.is_some() {
                    return Err(ctx.fail(
                        Invariant::FrameOrder,
                        format!("a second Close, or a Close before open, on {conn:?}"),
                    ));
                }
                c.closing_at = Some(ctx.now);
            }
            Output::Action(Action::Release { conn }) => {
                self.current(ctx, *conn, "Release")?;
                self.current = None;
                self.released = Some(*conn);
            }
            Output::Event(Event::Connected { conn }) => {
                if !matches!(ctx.call, Call::Input(_)) {
                    return Err(ctx.fail(
                        Invariant::OneConnection,
                        format!("Connected {conn:?} without an Opened input"),
                    ));
                }
                let c = self.current(ctx, *conn, "Connected")?;
                if c.opened {
                    return Err(ctx.fail(
                        Invariant::OneConnection,
                        format!("Connected twice for {conn:?}"),
                    ));
                }
                c.opened = true;
            }
            Output::Event(Event::Authenticated { conn }) => {
                let c = self.current(ctx, *conn, "Authenticated")?;
                if !c.auth_sent || c.authed {
                    return Err(ctx.fail(
                        Invariant::FrameOrder,
                        format!("Authenticated {conn:?} without one auth request"),
                    ));
                }
                c.authed = true;
            }
            Output::Event(Event::Live { conn, .. }) => {
                let c = self.current(ctx, *conn, "Live")?;
                if c.live || (c.auth_sent && !c.authed) {
                    return Err(ctx.fail(
                        Invariant::FrameOrder,
                        format!("Live {conn:?} twice or before the auth ack"),
                    ));
                }
                c.live = true;
            }
            Output::Event(
                Event::Disconnected { conn, .. }
                | Event::AttemptFailed {
                    conn: Some(conn), ..
                },
            ) if self.released != Some(*conn) || self.current.is_some() => {
                return Err(ctx.fail(
                    Invariant::OneConnection,
                    format!("the end of {conn:?} reported without its Release first"),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// The session's own idea of the transport in flight matches the outputs.
    pub(crate) fn after<P: Protocol>(&self, ctx: &Ctx<'_>, session: &Session<P>) -> Checked {
        let expected = self.current.as_ref().map(|c| c.id);
        if session.current_conn() != expected {
            return Err(ctx.fail(
                Invariant::OneConnection,
                format!(
                    "the session's current connection is {:?}, the outputs say {expected:?}",
                    session.current_conn()
                ),
            ));
        }
        Ok(())
    }
}
