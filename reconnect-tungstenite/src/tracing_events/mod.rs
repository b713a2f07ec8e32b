//! One structured [`tracing`] event per session event: the mapping both bindings call where
//! they hand a session's event to the application, so that a log reads the same whatever the
//! runtime.
//!
//! Every event has the target [`TARGET`] (`"reconnect"`), a fixed short message, and everything
//! that varies in fields: `session` (the name the binding passes), `conn` (the
//! [`ConnId`](reconnect_core::ConnId) as a number), `attempt`, durations in milliseconds
//! (`delay_ms`, `uptime_ms`, …), and a cause both as a stable word (`cause_kind`:
//! [`cause_word`](crate::cause_word), the same word as the metrics' `cause` label: `reset`,
//! `server_close`, `pong_timeout`, …) and as text (`cause`).
//!
//! Levels, as a production log wants them:
//!
//! | level | events |
//! |-------|--------|
//! | `INFO` | connecting, connected, authenticated, setup complete, subscribed, unsubscribed, live, stable, reconnect scheduled, circuit half-open or closed, credentials requested, credentials renewed, paused, resumed, recycling, a disconnect the application asked for, stopped by the application |
//! | `WARN` | attempt failed, disconnected (any other cause), subscription rejected, gap detected, sequence regressed, server error, circuit open, renewal failed, stopped for any other reason (fatal, gave up, outage too long) |
//! | `DEBUG` | message received (its length, topic and sequence number; never its payload), outbox message dropped (per message, so no higher) |
//!
//! Secrets never appear: no frame's content is logged (a message is logged by its length), and
//! the credentials are in no event. What is logged as text is what the core documents as meant
//! for people: a transport error's detail (which a driver must keep free of secrets), a close
//! reason, a server's error message, and the application's own reason why credentials were
//! unavailable.

use std::fmt;
use std::time::Duration;

use reconnect_core::{
    CircuitState, DelaySource, Disposition, DropReason, Event, Frame, StopReason,
};

/// The target of every event this module emits: filter on it (`RUST_LOG=reconnect=info`).
pub const TARGET: &str = "reconnect";

/// Emits the `tracing` event for one session event of the session named `session` (formatted
/// only when a subscriber wants the event).
///
/// A binding must call it once for every session event it delivers, before the application
/// sees the event, and nowhere else (so that each event is logged exactly once).
pub fn trace_event(session: &dyn fmt::Display, event: &Event) {
    match event {
        Event::Connecting { conn, attempt } => tracing::info!(
            target: TARGET, session = %session, conn = conn.get(), attempt, "connecting"
        ),
        Event::Connected { conn } => {
            tracing::info!(target: TARGET, session = %session, conn = conn.get(), "connected")
        }
        Event::AttemptFailed {
            conn,
            attempt,
            cause,
            disposition,
        } => tracing::warn!(
            target: TARGET,
            session = %session,
            conn = conn.map(|c| c.get()),
            attempt,
            cause_kind = crate::cause_word(cause),
            cause = %cause,
            disposition = disposition_word(disposition),
            "attempt failed"
        ),
        Event::Authenticated { conn } => {
            tracing::info!(target: TARGET, session = %session, conn = conn.get(), "authenticated")
        }
        Event::SetupComplete { conn } => {
            tracing::info!(target: TARGET, session = %session, conn = conn.get(), "setup complete")
        }
        Event::Subscribed { conn, topic } => tracing::info!(
            target: TARGET, session = %session, conn = conn.get(), topic = topic.as_str(), "subscribed"
        ),
        Event::SubscribeRejected {
            topic,
            error,
            retry_in,
        } => tracing::warn!(
            target: TARGET,
            session = %session,
            topic = topic.as_str(),
            error_code = error.code,
            error = error.message.as_str(),
            retry_in_ms = retry_in.map(millis),
            "subscription rejected"
        ),
        Event::Unsubscribed { conn, topic } => tracing::info!(
            target: TARGET, session = %session, conn = conn.get(), topic = topic.as_str(), "unsubscribed"
        ),
        Event::Live {
            conn,
            resubscribed,
            outage,
        } => tracing::info!(
            target: TARGET,
            session = %session,
            conn = conn.get(),
            resubscribed,
            outage_ms = millis(*outage),
            "live"
        ),
        Event::Stable { conn } => {
            tracing::info!(target: TARGET, session = %session, conn = conn.get(), "stable")
        }
        Event::Message {
            conn,
            topic,
            seq,
            frame,
        } => tracing::debug!(
            target: TARGET,
            session = %session,
            conn = conn.get(),
            topic = topic.as_ref().map(|t| t.as_str()),
            seq = *seq,
            kind = frame_kind(frame),
            len = frame.len(),
            "message received"
        ),
        Event::Gap {
            topic,
            expected,
            received,
        } => tracing::warn!(
            target: TARGET,
            session = %session,
            topic = topic.as_str(),
            expected,
            received,
            missing = received.saturating_sub(*expected),
            "gap detected"
        ),
        Event::SequenceRegressed {
            topic,
            last,
            received,
        } => tracing::warn!(
            target: TARGET, session = %session, topic = topic.as_str(), last, received, "sequence regressed"
        ),
        Event::ServerError { conn, error } => tracing::warn!(
            target: TARGET,
            session = %session,
            conn = conn.get(),
            error_code = error.code,
            error = error.message.as_str(),
            "server error"
        ),
        Event::Disconnected {
            conn,
            cause,
            uptime,
            disposition,
        } => {
            // Only the session reports `Closed`, on the connection the application closed:
            // that ending is what was asked for, not a failure.
            if *disposition == Disposition::Closed {
                tracing::info!(
                    target: TARGET,
                    session = %session,
                    conn = conn.get(),
                    cause_kind = crate::cause_word(cause),
                    cause = %cause,
                    uptime_ms = millis(*uptime),
                    disposition = disposition_word(disposition),
                    "disconnected"
                )
            } else {
                tracing::warn!(
                    target: TARGET,
                    session = %session,
                    conn = conn.get(),
                    cause_kind = crate::cause_word(cause),
                    cause = %cause,
                    uptime_ms = millis(*uptime),
                    disposition = disposition_word(disposition),
                    "disconnected"
                )
            }
        }
        Event::ReconnectScheduled {
            attempt,
            delay,
            source,
            failures,
        } => tracing::info!(
            target: TARGET,
            session = %session,
            attempt,
            delay_ms = millis(delay.drawn),
            base_ms = millis(delay.base),
            source = source_word(source),
            retry_after_ms = match source {
                DelaySource::RetryAfter { hint } => Some(millis(*hint)),
                _ => None,
            },
            failures,
            "reconnect scheduled"
        ),
        Event::Circuit { state, failures } => match state {
            CircuitState::Open => tracing::warn!(
                target: TARGET, session = %session, state = "open", failures, "circuit changed"
            ),
            CircuitState::HalfOpen => tracing::info!(
                target: TARGET, session = %session, state = "half_open", failures, "circuit changed"
            ),
            CircuitState::Closed => tracing::info!(
                target: TARGET, session = %session, state = "closed", failures, "circuit changed"
            ),
        },
        Event::CredentialsRequested => {
            tracing::info!(target: TARGET, session = %session, "credentials requested")
        }
        Event::RenewalFailed { cause } => tracing::warn!(
            target: TARGET,
            session = %session,
            cause_kind = crate::cause_word(cause),
            cause = %cause,
            "renewal failed"
        ),
        Event::CredentialsRenewed {
            conn,
            source,
            expires_in,
        } => tracing::info!(
            target: TARGET,
            session = %session,
            conn = conn.get(),
            source = source.as_str(),
            expires_in_ms = expires_in.map(millis),
            "credentials renewed"
        ),
        Event::OutboxDropped { frame, reason } => tracing::debug!(
            target: TARGET,
            session = %session,
            reason = drop_word(reason),
            kind = frame_kind(frame),
            len = frame.len(),
            "outbox message dropped"
        ),
        Event::Paused => tracing::info!(target: TARGET, session = %session, "paused"),
        Event::Resumed => tracing::info!(target: TARGET, session = %session, "resumed"),
        Event::Recycling { conn } => {
            tracing::info!(target: TARGET, session = %session, conn = conn.get(), "recycling")
        }
        Event::Stopped { reason } => trace_stopped(session, reason),
        // An event kind newer than this mapping: named, never dumped (its payload is unknown).
        _ => tracing::debug!(target: TARGET, session = %session, "other event"),
    }
}

fn trace_stopped(session: &dyn fmt::Display, reason: &StopReason) {
    match reason {
        StopReason::Closed { clean } => {
            tracing::info!(target: TARGET, session = %session, reason = "closed", clean, "stopped")
        }
        StopReason::Fatal(cause) => tracing::warn!(
            target: TARGET,
            session = %session,
            reason = "fatal",
            cause_kind = crate::cause_word(cause),
            cause = %cause,
            "stopped"
        ),
        StopReason::GaveUp { attempts } => {
            tracing::warn!(target: TARGET, session = %session, reason = "gave_up", attempts, "stopped")
        }
        StopReason::OutageTooLong { outage } => tracing::warn!(
            target: TARGET,
            session = %session,
            reason = "outage_too_long",
            outage_ms = millis(*outage),
            "stopped"
        ),
    }
}

/// A duration as whole milliseconds (saturating: no log field is worth a panic).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn disposition_word(disposition: &Disposition) -> &'static str {
    match disposition {
        Disposition::Retry => "retry",
        Disposition::RetryAfter(_) => "retry_after",
        Disposition::Fatal => "fatal",
        Disposition::RefreshCredentials => "refresh_credentials",
        Disposition::Closed => "closed",
    }
}

fn source_word(source: &DelaySource) -> &'static str {
    match source {
        DelaySource::Backoff => "backoff",
        DelaySource::FirstRetry => "first_retry",
        DelaySource::RetryAfter { .. } => "retry_after",
        DelaySource::CircuitOpen => "circuit_open",
        DelaySource::Immediate => "immediate",
    }
}

fn drop_word(reason: &DropReason) -> &'static str {
    match reason {
        DropReason::Overflow => "overflow",
        DropReason::Expired => "expired",
        DropReason::Coalesced => "coalesced",
        DropReason::Stopped => "stopped",
    }
}

fn frame_kind(frame: &Frame) -> &'static str {
    match frame {
        Frame::Text(_) => "text",
        Frame::Binary(_) => "binary",
    }
}

#[cfg(test)]
mod capture;
#[cfg(test)]
mod tests;
