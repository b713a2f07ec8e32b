//! Each important event kind, logged once: its level, its target and every field, the values
//! worked out by hand from the event built here.

use std::time::Duration;

use reconnect_core::{
    CircuitState, ConnId, Delay, DelaySource, Disposition, DropReason, EndCause, Event, Frame,
    Jitter, RenewalSource, ServerError, StopReason, TimeoutKind, Topic, TransportError,
    TransportErrorKind,
};
use tracing::Level;

use super::capture::{Capture, Captured};
use super::trace_event;
use crate::test_conn_id as first_conn_id;

/// The one event `event` logs for the session "S3.1".
fn logged(event: &Event) -> Captured {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || trace_event(&"S3.1", event));
    let mut seen = capture.take();
    assert_eq!(seen.len(), 1, "one log event per session event: {seen:#?}");
    seen.remove(0)
}

fn expect(level: Level, fields: &[(&str, &str)]) -> Captured {
    Captured {
        level,
        target: "reconnect".to_owned(),
        fields: fields
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn conn() -> (ConnId, String) {
    let conn = first_conn_id();
    (conn, conn.get().to_string())
}

#[test]
fn connecting_is_info_with_the_attempt() {
    let (conn, n) = conn();
    assert_eq!(
        logged(&Event::Connecting { conn, attempt: 3 }),
        expect(
            Level::INFO,
            &[
                ("message", "connecting"),
                ("session", "S3.1"),
                ("conn", &n),
                ("attempt", "3")
            ]
        )
    );
}

#[test]
fn connected_and_live_are_info() {
    let (conn, n) = conn();
    assert_eq!(
        logged(&Event::Connected { conn }),
        expect(
            Level::INFO,
            &[("message", "connected"), ("session", "S3.1"), ("conn", &n)]
        )
    );
    assert_eq!(
        logged(&Event::Live {
            conn,
            resubscribed: 2,
            outage: Duration::from_micros(1_234_999),
        }),
        expect(
            Level::INFO,
            &[
                ("message", "live"),
                ("session", "S3.1"),
                ("conn", &n),
                ("resubscribed", "2"),
                // Whole milliseconds, rounded down.
                ("outage_ms", "1234"),
            ]
        )
    );
}

#[test]
fn a_disconnect_is_a_warning_with_its_cause() {
    let (conn, n) = conn();
    let event = Event::Disconnected {
        conn,
        cause: Box::new(EndCause::ServerClosed {
            code: Some(1012),
            reason: "restart".into(),
        }),
        uptime: Duration::from_secs(61),
        disposition: Disposition::Retry,
    };
    assert_eq!(
        logged(&event),
        expect(
            Level::WARN,
            &[
                ("message", "disconnected"),
                ("session", "S3.1"),
                ("conn", &n),
                ("cause_kind", "server_close"),
                ("cause", "server closed with 1012 \"restart\""),
                ("uptime_ms", "61000"),
                ("disposition", "retry"),
            ]
        )
    );
}

#[test]
fn a_disconnect_the_application_asked_for_is_info() {
    let (conn, n) = conn();
    let event = Event::Disconnected {
        conn,
        cause: Box::new(EndCause::Closed),
        uptime: Duration::from_millis(5),
        disposition: Disposition::Closed,
    };
    assert_eq!(
        logged(&event),
        expect(
            Level::INFO,
            &[
                ("message", "disconnected"),
                ("session", "S3.1"),
                ("conn", &n),
                ("cause_kind", "closed"),
                ("cause", "closed by the application"),
                ("uptime_ms", "5"),
                ("disposition", "closed"),
            ]
        )
    );
}

#[test]
fn a_failed_attempt_is_a_warning_and_names_no_conn_before_one_existed() {
    let event = Event::AttemptFailed {
        conn: None,
        attempt: 4,
        cause: Box::new(EndCause::CredentialsUnavailable("vault down".into())),
        disposition: Disposition::Retry,
    };
    assert_eq!(
        logged(&event),
        expect(
            Level::WARN,
            &[
                ("message", "attempt failed"),
                ("session", "S3.1"),
                ("attempt", "4"),
                ("cause_kind", "credentials_unavailable"),
                ("cause", "credentials unavailable: vault down"),
                ("disposition", "retry"),
            ]
        )
    );
    let (conn, n) = conn();
    let refused = Event::AttemptFailed {
        conn: Some(conn),
        attempt: 1,
        cause: Box::new(EndCause::Transport(TransportError::new(
            TransportErrorKind::Refused,
            "connection refused",
        ))),
        disposition: Disposition::Retry,
    };
    assert_eq!(
        logged(&refused).fields,
        expect(
            Level::WARN,
            &[
                ("message", "attempt failed"),
                ("session", "S3.1"),
                ("conn", &n),
                ("attempt", "1"),
                ("cause_kind", "refused"),
                ("cause", "transport: Refused: connection refused"),
                ("disposition", "retry"),
            ]
        )
        .fields
    );
}

#[test]
fn a_scheduled_reconnect_is_info_with_the_drawn_delay() {
    let event = Event::ReconnectScheduled {
        attempt: 5,
        delay: Delay {
            base: Duration::from_millis(800),
            drawn: Duration::from_millis(431),
            jitter: Jitter::Full,
        },
        source: DelaySource::Backoff,
        failures: 4,
    };
    assert_eq!(
        logged(&event),
        expect(
            Level::INFO,
            &[
                ("message", "reconnect scheduled"),
                ("session", "S3.1"),
                ("attempt", "5"),
                ("delay_ms", "431"),
                ("base_ms", "800"),
                ("source", "backoff"),
                ("failures", "4"),
            ]
        )
    );
    let hinted = Event::ReconnectScheduled {
        attempt: 2,
        delay: Delay {
            base: Duration::from_secs(3),
            drawn: Duration::from_secs(3),
            jitter: Jitter::None,
        },
        source: DelaySource::RetryAfter {
            hint: Duration::from_secs(7),
        },
        failures: 1,
    };
    assert_eq!(
        logged(&hinted).field("retry_after_ms"),
        Some("7000"),
        "the server's hint, next to the delay it was bounded to"
    );
}

#[test]
fn credentials_requested_and_renewed_are_info() {
    assert_eq!(
        logged(&Event::CredentialsRequested),
        expect(
            Level::INFO,
            &[("message", "credentials requested"), ("session", "S3.1")]
        )
    );
    let (conn, n) = conn();
    let renewed = Event::CredentialsRenewed {
        conn,
        source: RenewalSource::RefreshToken,
        expires_in: Some(Duration::from_secs(900)),
    };
    assert_eq!(
        logged(&renewed),
        expect(
            Level::INFO,
            &[
                ("message", "credentials renewed"),
                ("session", "S3.1"),
                ("conn", &n),
                ("source", "refresh_token"),
                ("expires_in_ms", "900000"),
            ]
        )
    );
}

#[test]
fn a_rejected_subscription_is_a_warning_with_the_servers_reason() {
    let event = Event::SubscribeRejected {
        topic: Topic::new("book.BTC"),
        error: Box::new(ServerError::new(Some(-32602), "unknown channel")),
        retry_in: None,
    };
    assert_eq!(
        logged(&event),
        expect(
            Level::WARN,
            &[
                ("message", "subscription rejected"),
                ("session", "S3.1"),
                ("topic", "book.BTC"),
                ("error_code", "-32602"),
                ("error", "unknown channel"),
            ]
        )
    );
}

#[test]
fn a_gap_is_a_warning_with_how_many_are_missing() {
    let event = Event::Gap {
        topic: Topic::new("trades"),
        expected: 41,
        received: 45,
    };
    assert_eq!(
        logged(&event),
        expect(
            Level::WARN,
            &[
                ("message", "gap detected"),
                ("session", "S3.1"),
                ("topic", "trades"),
                ("expected", "41"),
                ("received", "45"),
                ("missing", "4"),
            ]
        )
    );
}

#[test]
fn a_message_is_debug_with_its_length_and_never_its_payload() {
    let (conn, n) = conn();
    let event = Event::Message {
        conn,
        topic: Some(Topic::new("trades")),
        seq: Some(12),
        frame: Frame::from("{\"px\":\"payload-text\"}"),
    };
    let seen = logged(&event);
    assert_eq!(
        seen,
        expect(
            Level::DEBUG,
            &[
                ("message", "message received"),
                ("session", "S3.1"),
                ("conn", &n),
                ("topic", "trades"),
                ("seq", "12"),
                ("kind", "text"),
                ("len", "21"),
            ]
        )
    );
    assert!(!format!("{seen:?}").contains("payload-text"));
}

#[test]
fn a_dropped_outbox_message_is_debug_only() {
    let event = Event::OutboxDropped {
        frame: Frame::from(vec![1, 2, 3]),
        reason: DropReason::Overflow,
    };
    assert_eq!(
        logged(&event),
        expect(
            Level::DEBUG,
            &[
                ("message", "outbox message dropped"),
                ("session", "S3.1"),
                ("reason", "overflow"),
                ("kind", "binary"),
                ("len", "3"),
            ]
        )
    );
}

#[test]
fn an_open_circuit_is_a_warning_and_its_closing_info() {
    let open = logged(&Event::Circuit {
        state: CircuitState::Open,
        failures: 6,
    });
    assert_eq!(
        open,
        expect(
            Level::WARN,
            &[
                ("message", "circuit changed"),
                ("session", "S3.1"),
                ("state", "open"),
                ("failures", "6"),
            ]
        )
    );
    let closed = logged(&Event::Circuit {
        state: CircuitState::Closed,
        failures: 0,
    });
    assert_eq!(
        (closed.level, closed.field("state")),
        (Level::INFO, Some("closed"))
    );
}

#[test]
fn stopping_is_info_when_closed_and_a_warning_otherwise() {
    assert_eq!(
        logged(&Event::Stopped {
            reason: StopReason::Closed { clean: true }
        }),
        expect(
            Level::INFO,
            &[
                ("message", "stopped"),
                ("session", "S3.1"),
                ("reason", "closed"),
                ("clean", "true"),
            ]
        )
    );
    assert_eq!(
        logged(&Event::Stopped {
            reason: StopReason::GaveUp { attempts: 10 }
        }),
        expect(
            Level::WARN,
            &[
                ("message", "stopped"),
                ("session", "S3.1"),
                ("reason", "gave_up"),
                ("attempts", "10"),
            ]
        )
    );
    assert_eq!(
        logged(&Event::Stopped {
            reason: StopReason::Fatal(EndCause::Timeout(TimeoutKind::Auth))
        }),
        expect(
            Level::WARN,
            &[
                ("message", "stopped"),
                ("session", "S3.1"),
                ("reason", "fatal"),
                ("cause_kind", "auth_timeout"),
                ("cause", "Auth timeout"),
            ]
        )
    );
}
