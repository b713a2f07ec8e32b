//! One assertion per row of the table in the module's docs: the kind, and what the core's
//! default classifier decides for it. Expected values are written out here, not derived.

use super::*;
use reconnect_core::{Classifier, Disposition, EndCause};
use rustls::{AlertDescription as Alert, CertificateError as Cert};
use tungstenite::http::{Response, StatusCode};
use TransportErrorKind as K;

const RETRY: Disposition = Disposition::Retry;
const FATAL: Disposition = Disposition::Fatal;

fn io(kind: io::ErrorKind) -> WsError {
    WsError::Io(io::Error::from(kind))
}

fn tls(error: rustls::Error) -> WsError {
    WsError::Io(io::Error::new(io::ErrorKind::InvalidData, error))
}

fn http(status: u16) -> WsError {
    WsError::Http(Box::new(
        Response::builder().status(status).body(None).unwrap(),
    ))
}

fn handshake(status: u16) -> K {
    K::Handshake {
        status,
        retry_after: None,
    }
}

fn check(row: &str, error: WsError, kind: K, disposition: Disposition) {
    let e = from_ws(&error);
    assert_eq!(e.kind, kind, "row {row:?}: kind");
    assert_eq!(
        Classifier::default().classify(&EndCause::Transport(e)),
        disposition,
        "row {row:?}: default disposition"
    );
}

#[test]
fn io_rows() {
    use io::ErrorKind as E;
    let rows = [
        ("ConnectionRefused", E::ConnectionRefused, K::Refused),
        ("ConnectionReset", E::ConnectionReset, K::Reset),
        ("ConnectionAborted", E::ConnectionAborted, K::Reset),
        ("BrokenPipe", E::BrokenPipe, K::Reset),
        ("NotConnected", E::NotConnected, K::Reset),
        ("TimedOut", E::TimedOut, K::TimedOut),
        ("UnexpectedEof", E::UnexpectedEof, K::Eof),
        ("AddrNotAvailable", E::AddrNotAvailable, K::Io),
        ("AddrInUse", E::AddrInUse, K::Io),
        ("HostUnreachable", E::HostUnreachable, K::Io),
        ("NetworkUnreachable", E::NetworkUnreachable, K::Io),
        ("NetworkDown", E::NetworkDown, K::Io),
        ("WriteZero", E::WriteZero, K::Io),
        ("Interrupted", E::Interrupted, K::Io),
        ("Other", E::Other, K::Io),
        (
            "PermissionDenied (any other kind)",
            E::PermissionDenied,
            K::Io,
        ),
    ];
    for (row, kind, expected) in rows {
        check(row, io(kind), expected, RETRY);
        // The bare io error classifies the same.
        assert_eq!(io_kind(&io::Error::from(kind)), {
            let e = from_io(&io::Error::from(kind));
            e.kind
        });
    }
}

#[test]
fn dns_row() {
    // The resolvers report the kind themselves; the default classifier retries it.
    let e = TransportError::new(K::Dns, "no such host");
    assert_eq!(
        Classifier::default().classify(&EndCause::Transport(e)),
        RETRY,
        "row \"name resolution failed\""
    );
}

#[test]
fn tls_rows() {
    let certificate = [
        ("InvalidCertificate(UnknownIssuer)", Cert::UnknownIssuer),
        ("InvalidCertificate(Expired)", Cert::Expired),
        ("InvalidCertificate(NotValidYet)", Cert::NotValidYet),
        ("InvalidCertificate(NotValidForName)", Cert::NotValidForName),
        ("InvalidCertificate(BadSignature)", Cert::BadSignature),
        ("InvalidCertificate(Revoked)", Cert::Revoked),
        ("InvalidCertificate(BadEncoding)", Cert::BadEncoding),
    ];
    for (row, e) in certificate {
        check(
            row,
            tls(rustls::Error::InvalidCertificate(e)),
            K::TlsCertificate,
            FATAL,
        );
    }
    check(
        "NoCertificatesPresented",
        tls(rustls::Error::NoCertificatesPresented),
        K::TlsCertificate,
        FATAL,
    );
    check(
        "UnsupportedNameType",
        tls(rustls::Error::UnsupportedNameType),
        K::TlsCertificate,
        FATAL,
    );
    for alert in [
        Alert::BadCertificate,
        Alert::UnsupportedCertificate,
        Alert::CertificateRevoked,
        Alert::CertificateExpired,
        Alert::CertificateUnknown,
        Alert::UnknownCA,
        Alert::CertificateRequired,
    ] {
        let row = format!("AlertReceived({alert:?}), a certificate alert");
        check(
            &row,
            tls(rustls::Error::AlertReceived(alert)),
            K::TlsCertificate,
            FATAL,
        );
    }
    for alert in [
        Alert::HandshakeFailure,
        Alert::ProtocolVersion,
        Alert::InternalError,
        Alert::DecodeError,
        Alert::IllegalParameter,
    ] {
        let row = format!("AlertReceived({alert:?}), another alert");
        check(
            &row,
            tls(rustls::Error::AlertReceived(alert)),
            K::Tls,
            RETRY,
        );
    }
    let others = [
        ("DecryptError", rustls::Error::DecryptError),
        (
            "PeerIncompatible",
            rustls::Error::PeerIncompatible(rustls::PeerIncompatible::NoCipherSuitesInCommon),
        ),
        (
            "PeerMisbehaved",
            rustls::Error::PeerMisbehaved(rustls::PeerMisbehaved::IncorrectBinder),
        ),
        (
            "InvalidMessage",
            rustls::Error::InvalidMessage(rustls::InvalidMessage::MessageTooShort),
        ),
        ("General", rustls::Error::General("boom".into())),
    ];
    for (row, e) in others {
        check(row, tls(e), K::Tls, RETRY);
    }
}

#[test]
fn websocket_rows() {
    use ProtocolError as P;
    let bad_status: WsError = StatusCode::from_u16(0).unwrap_err().into();
    let bad_status_99: WsError = StatusCode::from_u16(99).unwrap_err().into();
    let rows: Vec<(&str, WsError, K, Disposition)> = vec![
        ("ConnectionClosed", WsError::ConnectionClosed, K::Eof, RETRY),
        ("AlreadyClosed", WsError::AlreadyClosed, K::Eof, RETRY),
        (
            "ResetWithoutClosingHandshake",
            WsError::Protocol(P::ResetWithoutClosingHandshake),
            K::Eof,
            RETRY,
        ),
        (
            "HandshakeIncomplete",
            WsError::Protocol(P::HandshakeIncomplete),
            K::Eof,
            RETRY,
        ),
        (
            "SecWebSocketAcceptKeyMismatch",
            WsError::Protocol(P::SecWebSocketAcceptKeyMismatch),
            K::Protocol,
            RETRY,
        ),
        (
            "MissingUpgradeWebSocketHeader",
            WsError::Protocol(P::MissingUpgradeWebSocketHeader),
            K::Protocol,
            RETRY,
        ),
        (
            "MissingConnectionUpgradeHeader",
            WsError::Protocol(P::MissingConnectionUpgradeHeader),
            K::Protocol,
            RETRY,
        ),
        (
            "WrongHttpVersion",
            WsError::Protocol(P::WrongHttpVersion),
            K::Protocol,
            RETRY,
        ),
        (
            "SecWebSocketSubProtocolError",
            WsError::Protocol(P::SecWebSocketSubProtocolError(
                tungstenite::error::SubProtocolError::InvalidSubProtocol,
            )),
            K::Protocol,
            RETRY,
        ),
        (
            "JunkAfterRequest",
            WsError::Protocol(P::JunkAfterRequest),
            K::Protocol,
            RETRY,
        ),
        (
            "NonZeroReservedBits",
            WsError::Protocol(P::NonZeroReservedBits),
            K::Protocol,
            RETRY,
        ),
        (
            "MaskedFrameFromServer",
            WsError::Protocol(P::MaskedFrameFromServer),
            K::Protocol,
            RETRY,
        ),
        (
            "UnknownDataFrameType",
            WsError::Protocol(P::UnknownDataFrameType(3)),
            K::Protocol,
            RETRY,
        ),
        (
            "InvalidCloseSequence",
            WsError::Protocol(P::InvalidCloseSequence),
            K::Protocol,
            RETRY,
        ),
        ("Utf8", WsError::Utf8("bad".into()), K::Protocol, RETRY),
        ("AttackAttempt", WsError::AttackAttempt, K::Protocol, RETRY),
        ("HttpFormat (status 000)", bad_status, K::Protocol, RETRY),
        ("HttpFormat (status 099)", bad_status_99, K::Protocol, RETRY),
        (
            "Capacity(TooManyHeaders)",
            WsError::Capacity(CapacityError::TooManyHeaders),
            K::Protocol,
            RETRY,
        ),
        (
            "Capacity(MessageTooLong)",
            WsError::Capacity(CapacityError::MessageTooLong {
                size: 2,
                max_size: 1,
            }),
            K::MessageTooLarge,
            RETRY,
        ),
        (
            "WriteBufferFull",
            WsError::WriteBufferFull(Box::new(tungstenite::Message::Text("x".into()))),
            K::Backpressure,
            RETRY,
        ),
        (
            "Url(NoHostName)",
            WsError::Url(UrlError::NoHostName),
            K::InvalidUrl,
            FATAL,
        ),
        (
            "Url(EmptyHostName)",
            WsError::Url(UrlError::EmptyHostName),
            K::InvalidUrl,
            FATAL,
        ),
        (
            "Url(UnsupportedUrlScheme)",
            WsError::Url(UrlError::UnsupportedUrlScheme),
            K::InvalidUrl,
            FATAL,
        ),
        (
            "Url(NoPathOrQuery)",
            WsError::Url(UrlError::NoPathOrQuery),
            K::InvalidUrl,
            FATAL,
        ),
        (
            "Url(TlsFeatureNotEnabled)",
            WsError::Url(UrlError::TlsFeatureNotEnabled),
            K::InvalidUrl,
            FATAL,
        ),
        (
            "Url(UnableToConnect)",
            WsError::Url(UrlError::UnableToConnect("x".into())),
            K::Io,
            RETRY,
        ),
    ];
    for (row, error, kind, disposition) in rows {
        check(row, error, kind, disposition);
    }
}

#[test]
fn http_status_rows() {
    let rows = [
        ("1xx: 100", 100, RETRY),
        ("1xx: 102", 102, RETRY),
        ("2xx: 200", 200, RETRY),
        ("2xx: 204", 204, RETRY),
        ("3xx: 301", 301, RETRY),
        ("3xx: 302", 302, RETRY),
        ("3xx: 307", 307, RETRY),
        ("3xx: 308", 308, RETRY),
        ("401", 401, FATAL),
        ("403", 403, FATAL),
        ("404", 404, FATAL),
        ("400", 400, RETRY),
        ("405", 405, RETRY),
        ("408", 408, RETRY),
        ("410", 410, RETRY),
        ("426", 426, RETRY),
        ("429 without Retry-After", 429, RETRY),
        ("503 without Retry-After", 503, RETRY),
        ("500", 500, RETRY),
        ("502", 502, RETRY),
        ("504", 504, RETRY),
    ];
    for (row, status, disposition) in rows {
        check(row, http(status), handshake(status), disposition);
    }
}

#[test]
fn retry_after_rows() {
    for status in [429, 503] {
        let response = Response::builder()
            .status(status)
            .header("Retry-After", "7")
            .body(None)
            .unwrap();
        let seven = Duration::from_secs(7);
        check(
            &format!("{status} with Retry-After: 7"),
            WsError::Http(Box::new(response)),
            K::Handshake {
                status,
                retry_after: Some(seven),
            },
            Disposition::RetryAfter(seven),
        );
    }
    // An HTTP date needs a wall clock, which the binding does not read: ignored.
    let dated = Response::builder()
        .status(503)
        .header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")
        .body(None)
        .unwrap();
    check(
        "503 with a dated Retry-After",
        WsError::Http(Box::new(dated)),
        handshake(503),
        RETRY,
    );
}

#[test]
fn details_name_the_failure_without_the_url() {
    let e = from_ws(&http(503));
    assert_eq!(
        e.detail,
        "the upgrade was answered with 503 Service Unavailable"
    );
    let bad: WsError = StatusCode::from_u16(0).unwrap_err().into();
    assert!(
        from_ws(&bad).detail.contains("not valid HTTP"),
        "{}",
        from_ws(&bad).detail
    );
}

#[test]
fn an_end_of_stream_says_the_server_closed_and_a_reset_says_reset() {
    // A killed server's kernel ends the connection with a FIN: tungstenite reports the read of
    // 0 bytes as `ResetWithoutClosingHandshake` (during the upgrade, `HandshakeIncomplete`).
    // The kind is `Eof`, and the detail must say the server closed the connection, never
    // "reset".
    use ProtocolError as P;
    let written_out = [
        (
            WsError::Protocol(P::ResetWithoutClosingHandshake),
            "the server closed the TCP connection without a close frame",
        ),
        (
            WsError::Protocol(P::HandshakeIncomplete),
            "the server closed the TCP connection during the upgrade",
        ),
    ];
    for (error, detail) in written_out {
        let e = from_ws(&error);
        assert_eq!((e.kind, e.detail.as_str()), (K::Eof, detail), "{error:?}");
    }
    // The other ends of stream keep their own texts, none of which says reset.
    for error in [
        WsError::ConnectionClosed,
        WsError::AlreadyClosed,
        io(io::ErrorKind::UnexpectedEof),
    ] {
        let e = from_ws(&error);
        assert_eq!(e.kind, K::Eof, "{error:?}");
        assert!(
            !e.detail.to_lowercase().contains("reset"),
            "{error:?}: {}",
            e.detail
        );
    }
    // A RST (the server died with data it had not read, or a middlebox cut the connection):
    // kind `Reset`, and the detail says reset.
    for error in [
        io(io::ErrorKind::ConnectionReset),
        WsError::Io(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "Connection reset by peer (os error 104)",
        )),
    ] {
        let e = from_ws(&error);
        assert_eq!(e.kind, K::Reset, "{error:?}");
        assert!(
            e.detail.to_lowercase().contains("reset"),
            "{error:?}: {}",
            e.detail
        );
    }
}

/// A server that completes the upgrade and then goes away as a killed process does: its kernel
/// closes the socket, with a FIN, or with a RST when data it never read is waiting in it.
#[test]
fn a_server_that_goes_away_reads_as_eof_or_as_reset_with_a_detail_that_matches() {
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc;
    for unread in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (sent, wait_sent) = mpsc::channel::<()>();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let ws = tungstenite::accept(tcp).unwrap();
            if unread {
                // Only once the client's message is in this socket's receive queue.
                wait_sent.recv().unwrap();
            }
            drop(ws);
        });
        let tcp = TcpStream::connect(addr).unwrap();
        let (mut ws, _) = tungstenite::client(format!("ws://{addr}/"), tcp).unwrap();
        if unread {
            // On loopback the bytes are in the server's queue when the write returns.
            ws.send(tungstenite::Message::text("never read")).unwrap();
            sent.send(()).unwrap();
        }
        server.join().unwrap();
        let error = ws.read().unwrap_err();
        let e = from_ws(&error);
        if unread {
            assert_eq!(e.kind, K::Reset, "{error:?}");
            assert!(e.detail.to_lowercase().contains("reset"), "{}", e.detail);
        } else {
            assert_eq!(
                (e.kind, e.detail.as_str()),
                (
                    K::Eof,
                    "the server closed the TCP connection without a close frame"
                ),
                "{error:?}"
            );
        }
    }
}
