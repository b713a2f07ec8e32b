//! The simulator as the session's driver: draining outputs, recording events, performing actions.

use super::{Simulator, TimedEvent};
use crate::boundary::{Action, Event, Input, Output};
use crate::conn_id::ConnId;
use crate::error::{TransportError, TransportErrorKind};
use crate::protocol::Protocol;
use crate::sim::network::{ConnectOutcome, Link};
use crate::sim::queue::{Delivery, Upstream};
use crate::sim::server::SimServer;
use crate::sim::transcript::{describe_action, describe_event, LineKind};

impl<P: Protocol, S: SimServer> Simulator<P, S> {
    // ---- the session side ----------------------------------------------------------------

    /// Drains the session's outputs: records events, performs actions. Performing only puts
    /// things in flight (nothing reaches the session before the drain ends), so the outputs are
    /// taken first, into a buffer reused from drain to drain.
    pub(super) fn drain(&mut self) {
        let mut outputs = std::mem::take(&mut self.outputs);
        outputs.extend(self.session.drain());
        self.check_outputs(&outputs);
        for output in outputs.drain(..) {
            match output {
                Output::Action(action) => {
                    if let Some((kind, text)) = describe_action(&action) {
                        self.line(kind, text);
                    }
                    self.perform(action);
                }
                Output::Event(event) => self.record(event),
            }
        }
        self.outputs = outputs;
    }

    pub(super) fn record(&mut self, event: Event) {
        self.tally.observe(&event);
        if matches!(event, Event::CredentialsRequested) && self.credentials.is_some() {
            self.queue.push(self.now, Delivery::Credentials);
        }
        if matches!(event, Event::Message { .. }) && !self.record_messages {
            return;
        }
        let (kind, text) = describe_event(&event);
        self.line(kind, text);
        self.events.push(TimedEvent {
            at: self.elapsed(),
            event,
        });
    }

    pub(super) fn perform(&mut self, action: Action) {
        match action {
            Action::Connect { conn, .. } => self.connect(conn),
            Action::Send { conn, frame, .. } => self.upstream(conn, Upstream::Frame(frame)),
            Action::Ping { conn } => self.upstream(conn, Upstream::Ping),
            Action::Close { conn, code, reason } => self.upstream(
                conn,
                Upstream::Close {
                    code,
                    reason: reason.to_owned(),
                },
            ),
            Action::Release { conn } => {
                self.upstream(conn, Upstream::Gone);
                if let Some(link) = self.links.get_mut(&conn) {
                    link.released = true;
                }
            }
        }
    }

    pub(super) fn connect(&mut self, conn: ConnId) {
        let latency = self.conditions.draw_latency();
        self.links.insert(conn, Link::new(self.now, latency));
        self.current = Some(conn);
        let round_trip = (latency + self.conditions.extra_latency(self.now)) * 2;
        match self.conditions.connect_outcome(self.now) {
            ConnectOutcome::Accept => {
                self.upstream(conn, Upstream::Accept);
                self.downstream_after(conn, round_trip, Input::Opened { conn });
            }
            ConnectOutcome::Refuse => {
                self.line(LineKind::Detail, format!("network refuses {conn}"));
                let error = TransportError::new(TransportErrorKind::Refused, "connection refused");
                self.downstream_after(conn, round_trip, Input::ConnectFailed { conn, error });
            }
            ConnectOutcome::Blackhole => {
                self.line(
                    LineKind::Detail,
                    format!("network drops {conn} (no answer)"),
                );
            }
            ConnectOutcome::Handshake(status, retry_after) => {
                self.line(
                    LineKind::Detail,
                    format!("server answers {conn} with HTTP {status}"),
                );
                let error = TransportError::new(
                    TransportErrorKind::Handshake {
                        status,
                        retry_after,
                    },
                    status_text(status),
                );
                self.downstream_after(conn, round_trip, Input::ConnectFailed { conn, error });
            }
        }
    }
}

/// The reason phrase of an HTTP status a handshake is rejected with.
fn status_text(status: u16) -> &'static str {
    match status {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "WebSocket upgrade refused",
    }
}
