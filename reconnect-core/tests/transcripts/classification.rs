//! Classification: what ended a connection decides what happens next.

use crate::common::line_adapter::LineAdapter;
use crate::common::rig::{config, Rig};
use reconnect_core::{Classifier, Disposition, State, StopReason, TransportErrorKind};

fn stopped_fatally(h: &Rig) -> bool {
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
        let mut h = Rig::new(c);
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
        let mut h = Rig::new(config());
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
    let adapter = LineAdapter {
        close_codes: vec![(4401, Disposition::RefreshCredentials)],
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(config(), adapter);
    h.start();
    h.open();
    h.server_close(4401);
    h.fire_next();
    assert_eq!(h.session.state(), State::AwaitingCredentials);
}
