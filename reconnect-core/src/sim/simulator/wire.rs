//! The simulated network and server: frames in flight both ways, and what the server does.

use std::time::Duration;

use super::Simulator;
use crate::boundary::Input;
use crate::command::Command;
use crate::conn_id::ConnId;
use crate::protocol::Protocol;
use crate::sim::invariants::Call;
use crate::sim::network::Link;
use crate::sim::queue::{Delivery, Upstream};
use crate::sim::server::{ServerCtx, ServerOp, SimServer};
use crate::sim::transcript::LineKind;

impl<P: Protocol, S: SimServer> Simulator<P, S> {
    // ---- the network ---------------------------------------------------------------------

    pub(super) fn one_way(&self, conn: ConnId) -> Duration {
        let latency = self.links.get(&conn).map_or(Duration::ZERO, |l| l.latency);
        latency + self.conditions.extra_latency(self.now)
    }

    /// Puts `input` in flight towards the session, after the link's latency.
    pub(super) fn downstream(&mut self, conn: ConnId, input: Input) {
        let delay = self.one_way(conn);
        self.downstream_after(conn, delay, input);
    }

    pub(super) fn downstream_after(&mut self, conn: ConnId, delay: Duration, input: Input) {
        let Some(link) = self.links.get_mut(&conn) else {
            return;
        };
        // In order, as on a TCP stream, even when the latency changed in between.
        let at = (self.now + delay).max(link.to_client_at);
        link.to_client_at = at;
        link.in_flight += 1;
        let cut = link.cut;
        self.queue.push(at, Delivery::ToClient { cut, input });
    }

    /// Puts `message` in flight towards the server. Nothing but `Gone` is sent on a released
    /// link (the session never does; this guards the simulator's own bookkeeping).
    pub(super) fn upstream(&mut self, conn: ConnId, message: Upstream) {
        let delay = self.one_way(conn);
        let Some(link) = self.links.get_mut(&conn) else {
            return;
        };
        if link.released {
            return;
        }
        let at = (self.now + delay).max(link.to_server_at);
        link.to_server_at = at;
        link.in_flight += 1;
        let cut = link.cut;
        self.queue
            .push(at, Delivery::ToServer { conn, cut, message });
    }

    pub(super) fn deliver(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::ToClient { cut, input } => {
                let conn = input.conn();
                let Some(link) = self.links.get_mut(&conn) else {
                    return;
                };
                link.in_flight -= 1;
                let lost = link.stalled || link.cut != cut;
                let late = link.released;
                self.forget_if_finished(conn);
                if lost {
                    return;
                }
                if late {
                    self.tally.late_deliveries += 1;
                }
                self.expect_call(|| Call::Input(input.clone()));
                self.session.handle_input(self.now, input);
                self.drain();
            }
            Delivery::ToServer { conn, cut, message } => {
                let Some(link) = self.links.get_mut(&conn) else {
                    return;
                };
                link.in_flight -= 1;
                let lost = (link.stalled || link.cut != cut) && message != Upstream::Gone;
                if !lost {
                    self.arrive_at_server(conn, message);
                }
                self.forget_if_finished(conn);
            }
            Delivery::Credentials => {
                if let Some(credentials) = self.credentials.clone() {
                    self.line(LineKind::Detail, "credentials provided".to_owned());
                    self.expect_call(|| {
                        Call::Command(Command::ProvideCredentials(credentials.clone()))
                    });
                    // A refusal only means the session stopped meanwhile.
                    let _ = self.session.provide_credentials(self.now, credentials);
                    self.drain();
                }
            }
        }
    }

    pub(super) fn forget_if_finished(&mut self, conn: ConnId) {
        if self.links.get(&conn).is_some_and(Link::finished) {
            self.links.remove(&conn);
        }
    }

    pub(super) fn server_open(&self, conn: ConnId) -> bool {
        self.links.get(&conn).is_some_and(|l| l.server_open)
    }

    pub(super) fn arrive_at_server(&mut self, conn: ConnId, message: Upstream) {
        match message {
            Upstream::Accept => {
                if let Some(link) = self.links.get_mut(&conn) {
                    link.server_open = true;
                }
                self.call_server(|server, ctx| server.on_connect(ctx, conn));
            }
            Upstream::Frame(frame) => {
                if self.server_open(conn) {
                    self.call_server(|server, ctx| server.on_frame(ctx, conn, &frame));
                }
            }
            Upstream::Ping => {
                if self.server_open(conn) {
                    self.downstream(conn, Input::Pong { conn });
                }
            }
            Upstream::Close { code, reason } => {
                if self.server_open(conn) {
                    // The server completes the close handshake by echoing the close frame.
                    self.downstream(
                        conn,
                        Input::Closed {
                            conn,
                            code: Some(code),
                            reason,
                        },
                    );
                    self.server_ended(conn);
                }
            }
            Upstream::Gone => {
                if self.server_open(conn) {
                    self.server_ended(conn);
                }
            }
        }
    }

    // ---- the server ----------------------------------------------------------------------

    /// Calls the server, then applies what it asked for, in order.
    pub(super) fn call_server(&mut self, f: impl FnOnce(&mut S, &mut ServerCtx<'_>)) {
        let mut ops = Vec::new();
        let elapsed = self.elapsed();
        f(
            &mut self.server,
            &mut ServerCtx::new(self.now, elapsed, &mut ops),
        );
        for op in ops {
            match op {
                ServerOp::Send(conn, frame) => {
                    if self.server_open(conn) {
                        self.downstream(conn, Input::Frame { conn, frame });
                    }
                }
                ServerOp::Close(conn, code, reason) => self.server_close(conn, code, reason),
                ServerOp::Note(text) => self.line(LineKind::Detail, format!("server: {text}")),
            }
        }
    }

    /// The server sends a close frame on `conn` and forgets it.
    pub(super) fn server_close(&mut self, conn: ConnId, code: u16, reason: String) {
        if !self.server_open(conn) {
            return;
        }
        self.downstream(
            conn,
            Input::Closed {
                conn,
                code: Some(code),
                reason,
            },
        );
        self.server_ended(conn);
    }

    /// The server side of `conn` is over: tell the server (exactly once).
    pub(super) fn server_ended(&mut self, conn: ConnId) {
        if let Some(link) = self.links.get_mut(&conn) {
            link.server_open = false;
        }
        self.call_server(|server, ctx| server.on_disconnect(ctx, conn));
    }
}
