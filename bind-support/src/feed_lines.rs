//! The JSON lines of the feed followers (bind-mio's `wsfeed`, bind-smol's `feed`): one object
//! per event, each with `"event"` (its name) and `"t_ms"` (added by [`emit`]).
//!
//! Every field is a value, not prose: durations are whole milliseconds in fields named `*_ms`,
//! codes are numbers, kinds are snake_case names. A few lines also carry `reason`, a sentence
//! for people. Nothing that may be secret is printed: outbound frames (which may carry
//! credentials or orders) only as their length in `bytes`. The table of lines is
//! [`EVENT_LINES`], printed by `--help` and kept in the README.

use std::time::{Duration, Instant};

use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{
    CircuitState, CommandError, ConnId, DelaySource, Disposition, DropReason, EndCause, Event,
    Frame, Refusal, Refused, SendError, SendErrorKind, ServerError, Stats, StopReason,
    SubscribeError, TransportErrorKind,
};
use serde_json::{json, Map, Value};

/// Every line and its fields, for `--help` (the README has the same table).
pub const EVENT_LINES: &str = "\
output lines (JSON, one per event; every line also has t_ms, milliseconds since start):
  connecting            conn attempt
  connected             conn
  attempt_failed        conn attempt reason cause disposition [retry_after_ms]
  authenticated         conn
  setup_complete        conn
  subscribed            conn channel
  subscribe_rejected    channel code message retry_in_ms (null: permanent) [retry_after_ms]
  unsubscribed          conn channel
  live                  conn resubscribed outage_ms
  stable                conn
  message               conn channel data [seq]
  gap                   channel expected got
  sequence_regressed    channel last got
  server_error          conn code message [retry_after_ms]
  disconnected          conn reason cause uptime_ms disposition [retry_after_ms]
  reconnect_scheduled   attempt delay_ms base_ms jitter source failures [hint_ms]
  circuit               state (open|half_open|closed) failures
  credentials_requested
  credentials_renewed   conn source (application|lifetime|refresh_token) [expires_in_ms]
  renewal_failed        reason cause
  outbox_dropped        reason (overflow|expired|coalesced|stopped) bytes
  paused, resumed
  recycling             conn
  stopped               reason stop (closed|fatal|gave_up|outage_too_long) [clean attempts
                        outage_ms cause]
  refused               command refusal [bytes channel limit]   (a stdin command refused,
                        by the session or at once by the handle: a send too large)
  giving_up             reason   (the tool closes the session itself; exit status 2)
  event                 debug    (an event this version does not know, as Rust Debug text)
  stats                 attempts live_connections reconnections outages disconnects
                        retries_scheduled frames_in frames_out gaps uptime_ms downtime_ms
                        (the last line)
  cause = {kind, ...}: transport {error, detail, [status, retry_after_ms]},
  server_closed {code, reason}, timeout {timeout}, auth_rejected / setup_rejected {code,
  message, [retry_after_ms]}, credentials_unavailable {why}, reconnect_requested, recycled,
  closed, gave_up, frame_too_large {purpose, bytes, limit, reason}";

/// Whole milliseconds (saturating), the unit of every `*_ms` field.
fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `SomeName { .. }` or `SomeName(..)` or `SomeName` (a Debug text) as `some_name`: the name of
/// a variant the tool has no arm for (the core's enums are `#[non_exhaustive]`).
fn snake_name(debug: &str) -> String {
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("");
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Adds the fields of `extra` (an object) to `line`.
fn with(mut line: Value, extra: Value) -> Value {
    if let (Value::Object(line), Value::Object(extra)) = (&mut line, extra) {
        line.extend(extra);
    }
    line
}

/// `code`, `message` and (when the server gave one) `retry_after_ms` of a server error.
fn server_error_fields(error: &ServerError) -> Value {
    let mut fields = json!({"code": error.code, "message": error.message});
    if let Some(hint) = error.retry_after {
        fields["retry_after_ms"] = json!(ms(hint));
    }
    fields
}

/// Why an attempt, a connection or a renewal ended, as an object with its `kind`.
pub fn cause_fields(cause: &EndCause) -> Value {
    match cause {
        EndCause::Transport(error) => {
            let mut fields = json!({"kind": "transport", "detail": error.detail});
            match &error.kind {
                TransportErrorKind::Handshake {
                    status,
                    retry_after,
                } => {
                    fields["error"] = json!("handshake");
                    fields["status"] = json!(status);
                    if let Some(hint) = retry_after {
                        fields["retry_after_ms"] = json!(ms(*hint));
                    }
                }
                other => fields["error"] = json!(snake_name(&format!("{other:?}"))),
            }
            fields
        }
        EndCause::ServerClosed { code, reason } => {
            json!({"kind": "server_closed", "code": code, "reason": reason})
        }
        EndCause::Timeout(kind) => {
            json!({"kind": "timeout", "timeout": snake_name(&format!("{kind:?}"))})
        }
        EndCause::AuthRejected(error) => {
            with(json!({"kind": "auth_rejected"}), server_error_fields(error))
        }
        EndCause::SetupRejected(error) => with(
            json!({"kind": "setup_rejected"}),
            server_error_fields(error),
        ),
        EndCause::CredentialsUnavailable(why) => {
            json!({"kind": "credentials_unavailable", "why": why})
        }
        EndCause::ReconnectRequested => json!({"kind": "reconnect_requested"}),
        EndCause::Recycled => json!({"kind": "recycled"}),
        EndCause::Closed => json!({"kind": "closed"}),
        EndCause::GaveUp => json!({"kind": "gave_up"}),
        EndCause::FrameTooLarge { purpose, len, max } => json!({
            "kind": "frame_too_large",
            "purpose": snake_name(&format!("{purpose:?}")),
            "bytes": len,
            "limit": max,
            "reason": cause.to_string(),
        }),
        // A cause this version does not know: its name, and its Debug text (the core's Debug
        // never shows credentials).
        other => json!({"kind": snake_name(&format!("{other:?}")), "debug": format!("{other:?}")}),
    }
}

/// `disposition` (and `retry_after_ms` for a server's hint): what the session does next.
fn disposition_fields(disposition: &Disposition) -> Value {
    match disposition {
        Disposition::Retry => json!({"disposition": "retry"}),
        Disposition::RetryAfter(hint) => {
            json!({"disposition": "retry_after", "retry_after_ms": ms(*hint)})
        }
        Disposition::Fatal => json!({"disposition": "fatal"}),
        Disposition::RefreshCredentials => json!({"disposition": "refresh_credentials"}),
        Disposition::Closed => json!({"disposition": "closed"}),
    }
}

/// A message's `data`: a notification's payload, `params.data`, found by the adapter's own
/// [`JsonRpcAdapter::data_of`] (the same name and the same bytes as in Rust); any other frame
/// whole, as JSON if it is JSON, else as text.
fn message_data(frame: &Frame) -> Value {
    let text = match frame {
        Frame::Text(t) => t.as_str(),
        Frame::Binary(b) => return json!({ "binary_bytes": b.len() }),
    };
    let json = JsonRpcAdapter::data_of(frame).unwrap_or(text);
    serde_json::from_str::<Value>(json).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The `credentials_renewed` line: fresh credentials were accepted on `conn`, renewed by
/// `source` ([`RenewalSource::as_str`](reconnect_core::RenewalSource::as_str): `application`,
/// new ones the application set; `lifetime`, the current credentials sent again before they
/// expired; `refresh_token`, the server's refresh token). `expires_in`, when the server said how
/// long they last, becomes `expires_in_ms`.
fn credentials_renewed(conn: ConnId, expires_in: Option<Duration>, source: &str) -> Value {
    let mut line = json!({"event": "credentials_renewed", "conn": conn.get(), "source": source});
    if let Some(left) = expires_in {
        line["expires_in_ms"] = json!(ms(left));
    }
    line
}

/// The JSON line of a session event. Every event the core defines has its own line; an event
/// of a newer core that this tool does not know yet still gets one, `{"event":"event",
/// "debug":...}`, so nothing the session reports goes unseen.
pub fn line_for(event: &Event) -> Value {
    match event {
        Event::Connecting { conn, attempt } => {
            json!({"event": "connecting", "conn": conn.get(), "attempt": attempt})
        }
        Event::Connected { conn } => json!({"event": "connected", "conn": conn.get()}),
        Event::AttemptFailed {
            conn,
            attempt,
            cause,
            disposition,
        } => with(
            json!({
                "event": "attempt_failed",
                "conn": conn.map(ConnId::get),
                "attempt": attempt,
                "reason": cause.to_string(),
                "cause": cause_fields(cause),
            }),
            disposition_fields(disposition),
        ),
        Event::Authenticated { conn } => {
            json!({"event": "authenticated", "conn": conn.get()})
        }
        Event::SetupComplete { conn } => {
            json!({"event": "setup_complete", "conn": conn.get()})
        }
        Event::Subscribed { conn, topic } => {
            json!({"event": "subscribed", "conn": conn.get(), "channel": topic.as_str()})
        }
        Event::SubscribeRejected {
            topic,
            error,
            retry_in,
        } => with(
            json!({
                "event": "subscribe_rejected",
                "channel": topic.as_str(),
                "retry_in_ms": retry_in.map(ms),
            }),
            server_error_fields(error),
        ),
        Event::Unsubscribed { conn, topic } => {
            json!({"event": "unsubscribed", "conn": conn.get(), "channel": topic.as_str()})
        }
        Event::Live {
            conn,
            resubscribed,
            outage,
        } => json!({
            "event": "live",
            "conn": conn.get(),
            "resubscribed": resubscribed,
            "outage_ms": ms(*outage),
        }),
        Event::Stable { conn } => json!({"event": "stable", "conn": conn.get()}),
        Event::Message {
            conn,
            topic,
            seq,
            frame,
        } => {
            let mut line = json!({
                "event": "message",
                "conn": conn.get(),
                "channel": topic.as_ref().map(|t| t.as_str()),
                "data": message_data(frame),
            });
            if let Some(seq) = seq {
                line["seq"] = json!(seq);
            }
            line
        }
        Event::Gap {
            topic,
            expected,
            received,
        } => json!({
            "event": "gap",
            "channel": topic.as_str(),
            "expected": expected,
            "got": received,
        }),
        Event::SequenceRegressed {
            topic,
            last,
            received,
        } => json!({
            "event": "sequence_regressed",
            "channel": topic.as_str(),
            "last": last,
            "got": received,
        }),
        Event::ServerError { conn, error } => with(
            json!({"event": "server_error", "conn": conn.get()}),
            server_error_fields(error),
        ),
        Event::Disconnected {
            conn,
            cause,
            uptime,
            disposition,
        } => with(
            json!({
                "event": "disconnected",
                "conn": conn.get(),
                "reason": cause.to_string(),
                "cause": cause_fields(cause),
                "uptime_ms": ms(*uptime),
            }),
            disposition_fields(disposition),
        ),
        Event::ReconnectScheduled {
            attempt,
            delay,
            source,
            failures,
        } => {
            let mut line = json!({
                "event": "reconnect_scheduled",
                "attempt": attempt,
                "delay_ms": ms(delay.drawn),
                "base_ms": ms(delay.base),
                "jitter": snake_name(&format!("{:?}", delay.jitter)),
                "source": snake_name(&format!("{source:?}")),
                "failures": failures,
            });
            if let DelaySource::RetryAfter { hint } = source {
                line["hint_ms"] = json!(ms(*hint));
            }
            line
        }
        Event::Circuit { state, failures } => json!({
            "event": "circuit",
            "state": match state {
                CircuitState::Open => "open",
                CircuitState::HalfOpen => "half_open",
                CircuitState::Closed => "closed",
            },
            "failures": failures,
        }),
        Event::CredentialsRequested => json!({"event": "credentials_requested"}),
        Event::CredentialsRenewed {
            conn,
            source,
            expires_in,
        } => credentials_renewed(*conn, *expires_in, source.as_str()),
        Event::RenewalFailed { cause } => json!({
            "event": "renewal_failed",
            "reason": cause.to_string(),
            "cause": cause_fields(cause),
        }),
        Event::OutboxDropped { frame, reason } => json!({
            "event": "outbox_dropped",
            "reason": match reason {
                DropReason::Overflow => "overflow",
                DropReason::Expired => "expired",
                DropReason::Coalesced => "coalesced",
                DropReason::Stopped => "stopped",
            },
            "bytes": frame.len(),
        }),
        Event::Paused => json!({"event": "paused"}),
        Event::Resumed => json!({"event": "resumed"}),
        Event::Recycling { conn } => json!({"event": "recycling", "conn": conn.get()}),
        Event::Stopped { reason } => stopped_line(reason),
        Event::Refused(refused) => refused_line(refused),
        // `Event` is `#[non_exhaustive]`: a variant added after this tool was written.
        other => unknown_line(other),
    }
}

/// The generic line of something this version of the tool has no line for.
pub fn unknown_line(what: &impl std::fmt::Debug) -> Value {
    json!({"event": "event", "debug": format!("{what:?}")})
}

fn stopped_line(reason: &StopReason) -> Value {
    let line = json!({"event": "stopped", "reason": stop_text(reason)});
    let fields = match reason {
        StopReason::Closed { clean } => json!({"stop": "closed", "clean": clean}),
        StopReason::Fatal(cause) => json!({"stop": "fatal", "cause": cause_fields(cause)}),
        StopReason::GaveUp { attempts } => json!({"stop": "gave_up", "attempts": attempts}),
        StopReason::OutageTooLong { outage } => {
            json!({"stop": "outage_too_long", "outage_ms": ms(*outage)})
        }
    };
    with(line, fields)
}

fn stop_text(reason: &StopReason) -> String {
    match reason {
        StopReason::Closed { clean } => format!("closed (clean: {clean})"),
        StopReason::Fatal(cause) => format!("fatal: {cause}"),
        StopReason::GaveUp { attempts } => format!("gave up after {attempts} attempts"),
        StopReason::OutageTooLong { outage } => {
            format!("outage too long: {} ms", ms(*outage))
        }
    }
}

/// The `refused` line: the session refused a command from standard input (it changed
/// nothing). A refused send's frame is reported by its length only.
pub fn refused_line(refused: &Refused) -> Value {
    let mut line = Map::new();
    line.insert("event".into(), json!("refused"));
    line.insert(
        "command".into(),
        json!(snake_name(&format!("{:?}", refused.command))),
    );
    let command_error = |e: &CommandError| snake_name(&format!("{e:?}"));
    match &refused.refusal {
        Refusal::Send(SendError { kind, frame }) => {
            line.insert("refusal".into(), json!(snake_name(&format!("{kind:?}"))));
            line.insert("bytes".into(), json!(frame.len()));
            if let SendErrorKind::TooLarge { max, .. } = kind {
                line.insert("limit".into(), json!(max));
            }
        }
        Refusal::Subscribe(SubscribeError::EmptyTopic) => {
            line.insert("refusal".into(), json!("empty_topic"));
        }
        Refusal::Subscribe(SubscribeError::LimitReached { topic, limit }) => {
            line.insert("refusal".into(), json!("limit_reached"));
            line.insert("channel".into(), json!(topic.as_str()));
            line.insert("limit".into(), json!(limit));
        }
        Refusal::Subscribe(SubscribeError::NotRunning(e)) | Refusal::Command(e) => {
            line.insert("refusal".into(), json!(command_error(e)));
        }
    }
    Value::Object(line)
}

/// The exit status for how the session stopped: 0 after a close, 2 otherwise.
pub fn exit_status(reason: &StopReason) -> i32 {
    match reason {
        StopReason::Closed { .. } => 0,
        _ => 2,
    }
}

/// The last line: the session's counters.
pub fn stats_line(s: &Stats) -> Value {
    json!({
        "event": "stats",
        "attempts": s.attempts,
        "live_connections": s.live_connections,
        "reconnections": s.reconnections,
        "outages": s.outages,
        "disconnects": s.disconnects,
        "retries_scheduled": s.retries_scheduled,
        "frames_in": s.frames_in,
        "frames_out": s.frames_out,
        "gaps": s.gaps,
        "uptime_ms": ms(s.uptime),
        "downtime_ms": ms(s.downtime),
    })
}

/// Writes one line with its `t_ms`; a closed standard output (`| head`) ends the tool quietly.
pub fn emit(out: &mut impl std::io::Write, started: Instant, mut line: Value) {
    line["t_ms"] = json!(ms(started.elapsed()));
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}
