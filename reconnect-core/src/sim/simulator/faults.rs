//! Scripted faults: what each one does to the current connection.

use super::Simulator;
use crate::boundary::Input;
use crate::conn_id::ConnId;
use crate::error::{TransportError, TransportErrorKind};
use crate::protocol::Protocol;
use crate::sim::network::Conditions;
use crate::sim::script::Fault;
use crate::sim::server::SimServer;
use crate::sim::transcript::LineKind;

impl<P: Protocol, S: SimServer> Simulator<P, S> {
    // ---- faults --------------------------------------------------------------------------

    /// The connection network faults act on: the latest, unless the session released it.
    pub(super) fn target(&self) -> Option<ConnId> {
        self.current
            .filter(|c| self.links.get(c).is_some_and(|l| !l.released))
    }

    pub(super) fn apply_fault(&mut self, fault: Fault) {
        self.tally.faults += 1;
        let target = self.target();
        let on = |conn: Option<ConnId>| match conn {
            Some(conn) => format!("fault: {fault} {conn}"),
            None => format!("fault: {fault} (no connection: nothing to do)"),
        };
        match &fault {
            Fault::Reset => {
                self.line(LineKind::Fault, on(target));
                if let Some(conn) = target {
                    self.reset(conn);
                }
            }
            Fault::Stall => {
                self.line(LineKind::Fault, on(target));
                if let Some(link) = target.and_then(|c| self.links.get_mut(&c)) {
                    link.stalled = true;
                }
            }
            Fault::Close { code, reason } => {
                let open = target.filter(|c| self.server_open(*c));
                self.line(LineKind::Fault, on(open));
                if let Some(conn) = open {
                    self.server_close(conn, *code, reason.clone());
                }
            }
            Fault::RefuseFor(d) => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                let until = self.now + *d;
                Conditions::extend(&mut self.conditions.refuse_until, until);
            }
            Fault::BlackholeFor(d) => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                let until = self.now + *d;
                Conditions::extend(&mut self.conditions.blackhole_until, until);
            }
            Fault::RejectHandshake {
                status,
                retry_after,
            } => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                self.conditions
                    .handshakes
                    .push_back((*status, *retry_after));
            }
            Fault::AddLatency { extra, duration } => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                self.conditions.slow = Some((self.now + *duration, *extra));
            }
            Fault::Restart { downtime } => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                let open: Vec<ConnId> = self
                    .links
                    .iter()
                    .filter(|(_, l)| l.server_open)
                    .map(|(c, _)| *c)
                    .collect();
                for conn in open {
                    self.server_close(conn, 1012, "service restart".to_owned());
                }
                self.call_server(|server, ctx| server.on_restart(ctx));
                let until = self.now + *downtime;
                Conditions::extend(&mut self.conditions.refuse_until, until);
            }
            Fault::Server(server_fault) => {
                self.line(LineKind::Fault, format!("fault: {fault}"));
                let mut supported = false;
                self.call_server(|server, ctx| supported = server.inject(ctx, server_fault));
                if !supported {
                    self.line(
                        LineKind::Fault,
                        "fault ignored: this server does not support it".to_owned(),
                    );
                }
            }
        }
    }

    /// A reset reaches both ends one latency later; whatever was in flight is lost.
    pub(super) fn reset(&mut self, conn: ConnId) {
        if let Some(link) = self.links.get_mut(&conn) {
            link.cut += 1;
            link.stalled = false;
        }
        let error = TransportError::new(TransportErrorKind::Reset, "connection reset by peer");
        self.downstream(conn, Input::Failed { conn, error });
        if self.server_open(conn) {
            self.server_ended(conn);
        }
    }
}
