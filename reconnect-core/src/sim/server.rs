//! The fake server: the trait a user implements for their adapter's wire format.

use std::time::{Duration, Instant};

use super::script::ServerFault;
use crate::conn_id::ConnId;
use crate::frame::Frame;

/// What a server callback asks the simulator to do; applied, in order, once the callback
/// returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ServerOp {
    Send(ConnId, Frame),
    Close(ConnId, u16, String),
    Note(String),
}

/// What a [`SimServer`] callback can do: read the virtual clock, send frames, close
/// connections, and annotate the transcript. The simulator delivers what it sends after the
/// connection's latency, in order, unless the network loses it (a stall, a reset).
#[derive(Debug)]
pub struct ServerCtx<'a> {
    now: Instant,
    elapsed: Duration,
    ops: &'a mut Vec<ServerOp>,
}

impl<'a> ServerCtx<'a> {
    pub(crate) fn new(now: Instant, elapsed: Duration, ops: &'a mut Vec<ServerOp>) -> Self {
        ServerCtx { now, elapsed, ops }
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The virtual time as an offset from the simulator's base instant.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Sends `frame` to the client on `conn`. Sends on a connection that is closed (or that
    /// the server closed earlier in the same callback) are dropped.
    pub fn send(&mut self, conn: ConnId, frame: impl Into<Frame>) {
        self.ops.push(ServerOp::Send(conn, frame.into()));
    }

    /// Closes `conn` with a close frame carrying `code` and `reason`; the client sees
    /// [`Input::Closed`](crate::Input::Closed). [`SimServer::on_disconnect`] follows.
    pub fn close(&mut self, conn: ConnId, code: u16, reason: impl Into<String>) {
        self.ops.push(ServerOp::Close(conn, code, reason.into()));
    }

    /// Adds a `server: …` line to the transcript. Must not contain secrets.
    pub fn note(&mut self, text: impl Into<String>) {
        self.ops.push(ServerOp::Note(text.into()));
    }
}

/// A scripted fake server for one wire format: implement it for your adapter's protocol to
/// drive your [`Protocol`](crate::Protocol) through the [`Simulator`](super::Simulator).
///
/// The simulator owns the network: it decides whether a connection is accepted, delays every
/// frame by the connection's latency, loses frames on stalled or reset connections, and answers
/// WebSocket pings and close handshakes itself. The server only sees what reaches it and
/// answers with frames through the [`ServerCtx`].
///
/// Obligations:
/// - **Deterministic.** Same calls, same answers: no clocks (use [`ServerCtx::now`]), no
///   randomness except a seeded generator, and no iteration over a `HashMap` whose order
///   changes from run to run (use `BTreeMap`), or transcripts stop being reproducible.
/// - **Timers through [`poll_timeout`](Self::poll_timeout).** A periodic feed or heartbeat
///   returns its next deadline there; the simulator calls
///   [`handle_timeout`](Self::handle_timeout) when the virtual clock reaches it. A deadline
///   that does not move forward after `handle_timeout` is a bug the simulator panics on.
/// - **No secrets in notes.** Whatever [`ServerCtx::note`] is given is printed.
pub trait SimServer {
    /// The client's upgrade request arrived and the server accepted `conn`.
    fn on_connect(&mut self, _ctx: &mut ServerCtx<'_>, _conn: ConnId) {}

    /// A data frame from the client arrived on `conn`.
    fn on_frame(&mut self, ctx: &mut ServerCtx<'_>, conn: ConnId, frame: &Frame);

    /// `conn` ended, whoever ended it (the client's close or release, a reset, the server's own
    /// close). Called exactly once for each connection that [`on_connect`](Self::on_connect)
    /// saw; sends to it from now on are dropped.
    fn on_disconnect(&mut self, _ctx: &mut ServerCtx<'_>, _conn: ConnId) {}

    /// The server's next deadline (a data tick, a heartbeat), if any.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// The virtual clock reached [`poll_timeout`](Self::poll_timeout).
    fn handle_timeout(&mut self, _ctx: &mut ServerCtx<'_>) {}

    /// Applies a scripted server fault; returns false if this server does not support it.
    fn inject(&mut self, _ctx: &mut ServerCtx<'_>, _fault: &ServerFault) -> bool {
        false
    }

    /// The server restarted ([`Fault::Restart`](super::Fault::Restart)); every connection was
    /// already closed (and [`on_disconnect`](Self::on_disconnect) called). Forget whatever a
    /// real restart forgets.
    fn on_restart(&mut self, _ctx: &mut ServerCtx<'_>) {}

    /// The topics the server holds for `conn`, if it can tell: what the
    /// [`Invariants`](super::Invariants) checker compares with what the session believes it
    /// subscribed. `None` (the default) skips that check.
    fn topics(&self, _conn: ConnId) -> Option<Vec<String>> {
        None
    }
}

impl<S: SimServer + ?Sized> SimServer for Box<S> {
    fn on_connect(&mut self, ctx: &mut ServerCtx<'_>, conn: ConnId) {
        (**self).on_connect(ctx, conn)
    }
    fn on_frame(&mut self, ctx: &mut ServerCtx<'_>, conn: ConnId, frame: &Frame) {
        (**self).on_frame(ctx, conn, frame)
    }
    fn on_disconnect(&mut self, ctx: &mut ServerCtx<'_>, conn: ConnId) {
        (**self).on_disconnect(ctx, conn)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        (**self).poll_timeout()
    }
    fn handle_timeout(&mut self, ctx: &mut ServerCtx<'_>) {
        (**self).handle_timeout(ctx)
    }
    fn inject(&mut self, ctx: &mut ServerCtx<'_>, fault: &ServerFault) -> bool {
        (**self).inject(ctx, fault)
    }
    fn on_restart(&mut self, ctx: &mut ServerCtx<'_>) {
        (**self).on_restart(ctx)
    }
    fn topics(&self, conn: ConnId) -> Option<Vec<String>> {
        (**self).topics(conn)
    }
}
