//! The send rate: with [`Limits::send_rate`](crate::Limits::send_rate) set, no connection writes
//! more frames in any window of `per` than its bucket allows, as
//! [`SendRate`](crate::SendRate)'s documentation promises: `frames + burst - 1` (window start
//! included, end excluded). Sends and pings count; close frames do not.

use std::collections::VecDeque;
use std::time::Instant;

use super::{Checked, Ctx, Invariant};
use crate::boundary::{Action, Output};
use crate::conn_id::ConnId;

#[derive(Debug, Default)]
pub(crate) struct SendRate {
    /// The connection whose writes `written` holds: each connection has a bucket of its own.
    conn: Option<ConnId>,
    /// When the writes of the last `per` on `conn` happened, oldest first.
    written: VecDeque<Instant>,
}

impl SendRate {
    pub(crate) fn output(&mut self, ctx: &Ctx<'_>, output: &Output) -> Checked {
        let Some(rate) = &ctx.config.limits.send_rate else {
            return Ok(());
        };
        let conn = match output {
            Output::Action(Action::Send { conn, .. } | Action::Ping { conn }) => *conn,
            _ => return Ok(()),
        };
        if self.conn != Some(conn) {
            self.conn = Some(conn);
            self.written.clear();
        }
        // The writes in (now - per, now]: the window of length `per` that ends with this one.
        while self
            .written
            .front()
            .is_some_and(|at| ctx.now.saturating_duration_since(*at) >= rate.per)
        {
            self.written.pop_front();
        }
        self.written.push_back(ctx.now);
        let allowed = (rate.frames.max(1) + rate.burst.max(1) - 1) as usize;
        if self.written.len() > allowed {
            return Err(ctx.fail(
                Invariant::SendRate,
                format!(
                    "{} frames written on {conn:?} within {:?}, the send rate allows {allowed} \
                     ({} per {:?}, burst {})",
                    self.written.len(),
                    rate.per,
                    rate.frames,
                    rate.per,
                    rate.burst
                ),
            ));
        }
        Ok(())
    }
}
