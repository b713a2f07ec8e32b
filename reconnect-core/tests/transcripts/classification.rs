//! Classification: what ended a connection decides what happens next.

use crate::harness::{config, Harness};
use reconnect_core::{Classifier, Disposition, State, StopReason, TransportErrorKind};

fn stopped_fatally(h: &Harness) -> bool {
    matches!(h.session.state(), State::Stopped(StopReason::Fatal(_)))
}

#[test]
fn server_close_codes_follow_the_configured_table() {
    for (code, fatal) in [
        (1000, false),
        (1001, false),
        (1011, false),
        (4001, true),
        (4500, false),
    ] {
        let mut c = config();
        c.classifier = Classifier::default()
            .close_code(4000..=4499, Disposition::Fatal)
            .unwrap();
        let mut h = Harness::new(c);
        h.start();
        h.go_live();
        h.server_close(code);
        assert_eq!(stopped_fatally(&h), fatal, "close code {code}");
    }
}

#[test]
fn handshake_statuses_and_tls_errors() {
    for (kind, fatal) in [
        (
            TransportErrorKind::Handshake {
                status: 401,
                retry_after: None,
            },
            true,
        ),
        (
            TransportErrorKind::Handshake {
                status: 403,
                retry_after: None,
            },
            true,
        ),
        (
            TransportErrorKind::Handshake {
                status: 404,
                retry_after: None,
            },
            true,
        ),
        (
            TransportErrorKind::Handshake {
                status: 502,
                retry_after: None,
            },
            false,
        ),
        (TransportErrorKind::TlsCertificate, true),
        (TransportErrorKind::Dns, false),
        (TransportErrorKind::Refused, false),
        (TransportErrorKind::Reset, false),
    ] {
        let mut h = Harness::new(config());
        h.start();
        h.connect_failed(kind.clone());
        assert_eq!(stopped_fatally(&h), fatal, "{kind:?}");
        if !fatal {
            assert_eq!(h.count("> reconnect"), 1);
        }
    }
}

/// An adapter can override the table; here a close code means the credentials expired.
#[test]
fn the_adapter_overrides_the_table() {
    use reconnect_core::{EndCause, Protocol};

    struct Expiring(crate::harness::LineAdapter);
    impl Protocol for Expiring {
        fn auth_request(
            &mut self,
            id: reconnect_core::RequestId,
            c: &reconnect_core::Credentials,
        ) -> Option<reconnect_core::Frame> {
            self.0.auth_request(id, c)
        }
        fn subscribe_request(
            &mut self,
            id: reconnect_core::RequestId,
            t: &[reconnect_core::Resume],
        ) -> reconnect_core::Frame {
            self.0.subscribe_request(id, t)
        }
        fn classify(
            &mut self,
            f: &reconnect_core::Frame,
            t: &dyn reconnect_core::TopicLookup,
        ) -> reconnect_core::Inbound {
            self.0.classify(f, t)
        }
        fn classify_end(&self, cause: &EndCause) -> Option<Disposition> {
            matches!(
                cause,
                EndCause::ServerClosed {
                    code: Some(4401),
                    ..
                }
            )
            .then_some(Disposition::RefreshCredentials)
        }
    }
    let mut s =
        reconnect_core::Session::new(config(), Expiring(crate::harness::LineAdapter::new()))
            .unwrap();
    let now = std::time::Instant::now();
    s.start(now).unwrap();
    let conn = s.current_conn().unwrap();
    s.handle_input(now, reconnect_core::Input::Opened { conn });
    s.handle_input(
        now,
        reconnect_core::Input::Closed {
            conn,
            code: Some(4401),
            reason: "token expired".into(),
        },
    );
    s.handle_timeout(s.poll_timeout().unwrap());
    assert_eq!(s.state(), State::AwaitingCredentials);
}
