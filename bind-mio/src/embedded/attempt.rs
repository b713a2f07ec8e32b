//! The start of a connection attempt: its request and TLS target, a socket slot, then
//! admission through the driver's connection budget, then a resolve or a connect.

use std::sync::Arc;
use std::time::Instant;

use reconnect_core::{ConnId, Input, Protocol, TransportError, TransportErrorKind};
use rustls_pki_types::ServerName;

use super::Embedded;
use crate::conn::{Conn, TlsTarget};
use crate::handle::SessionId;
use reconnect_tungstenite::errors;
use reconnect_tungstenite::AttemptInfo;

impl<P: Protocol> Embedded<P> {
    pub(super) fn begin_attempt(
        &mut self,
        id: SessionId,
        conn: ConnId,
        attempt: u32,
        now: Instant,
        produced: &mut Vec<Input>,
    ) {
        let failed = |kind, detail: &str| Input::ConnectFailed {
            conn,
            error: TransportError::new(kind, detail),
        };
        let Some(entry) = self.entry_mut(id) else {
            return;
        };
        let request = match entry.endpoint.request(AttemptInfo::new(conn, attempt)) {
            Ok(r) => r,
            Err(e) => {
                produced.push(Input::ConnectFailed {
                    conn,
                    error: errors::from_ws(&e),
                });
                return;
            }
        };
        let tls = match entry.endpoint.tls_client_config() {
            None => None,
            Some(config) => match ServerName::try_from(entry.endpoint.host().to_owned()) {
                Ok(name) => Some(TlsTarget {
                    config: Arc::clone(config),
                    name,
                }),
                Err(_) => {
                    produced.push(failed(
                        TransportErrorKind::InvalidUrl,
                        "the host is not a TLS server name",
                    ));
                    return;
                }
            },
        };
        let websocket = entry.endpoint.websocket();
        let Some(slot) = self.tokens.alloc() else {
            produced.push(failed(
                TransportErrorKind::Io,
                "no free token left in the driver's range",
            ));
            return;
        };
        let serial = self.next_serial;
        self.next_serial += 1;
        let token = self.tokens.token(slot);
        if self.conns.len() <= slot {
            self.conns.resize_with(slot + 1, || None);
        }
        self.conns[slot] = Some(Conn::new(id, conn, serial, token, request, tls, websocket));
        if let Some(entry) = self.entry_mut(id) {
            entry.conns.push(slot);
        }
        if self.admission.admit_now(now) {
            self.admit(slot, produced);
        } else {
            self.admission.wait((slot, serial));
        }
    }

    /// Starts the admitted attempt in `slot`: resolve, or connect to an IP literal at once.
    pub(super) fn admit(&mut self, slot: usize, produced: &mut Vec<Input>) {
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let id = conn.session;
        let Some(entry) = self
            .sessions
            .get(id.index as usize)
            .and_then(|s| s.entry.as_ref())
        else {
            return;
        };
        let port = entry.endpoint.port();
        if let Some(ip) = entry.endpoint.ip_literal() {
            conn.connect(
                &self.registry,
                [std::net::SocketAddr::new(ip, port)],
                produced,
            );
            return;
        }
        conn.set_resolving();
        let key = (slot, conn.serial);
        if let Err(e) = self.resolver.lookup(key, entry.endpoint.host(), port) {
            conn.fail_early(
                TransportError::new(TransportErrorKind::Dns, e.to_string()),
                produced,
            );
        }
    }

    pub(super) fn process_admission(&mut self, now: Instant) {
        loop {
            let conns = &self.conns;
            // An attempt released while it waited (its connect timeout passed, say) is skipped.
            let still_waiting = |(slot, serial): (usize, u64)| {
                conns
                    .get(slot)
                    .and_then(Option::as_ref)
                    .is_some_and(|c| c.serial == serial && c.awaits_admission())
            };
            let Some((slot, serial)) = self.admission.next_admitted(now, still_waiting) else {
                break;
            };
            let mut produced = Vec::new();
            self.admit(slot, &mut produced);
            self.feed(slot, serial, now, &mut produced);
        }
    }
}
