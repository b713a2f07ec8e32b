//! The readable record of a run: one line per action, event, fault and command, with its
//! virtual time.

use std::fmt;
use std::time::Duration;

use super::format::{offset_text, secs_text};
use crate::boundary::{
    Action, CircuitState, DelaySource, Event, Purpose, RenewalSource, StopReason,
};
use crate::error::Disposition;

/// What a transcript line is about, so that a reader can pick the level of detail it wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// A scripted fault took effect.
    Fault,
    /// The test or the application called a session command.
    Command,
    /// A step of the lifecycle worth a timeline: attempts, failures, reconnect delays, live,
    /// disconnects, gaps, refused subscriptions, stops.
    Lifecycle,
    /// Everything between: opens, auth and subscription acks, frames sent, pings, releases,
    /// server notes.
    Detail,
    /// An application data message (only when the simulator records messages).
    Data,
}

/// One line of a [`Transcript`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The virtual time, as an offset from the simulator's base instant.
    pub at: Duration,
    /// What it is about.
    pub kind: LineKind,
    /// The text, without the time.
    pub text: String,
}

/// `+12.345s text`.
impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", offset_text(self.at), self.text)
    }
}

/// The lines of a run, in order. The same session configuration, server, network, script and
/// seeds give the same transcript, byte for byte.
///
/// Secrets never reach it: auth frames are written as their length only, as
/// [`Action`]'s `Debug` does, and no event carries credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    lines: Vec<Line>,
}

impl Transcript {
    /// Every line, in order.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The lines of the given kinds, in order.
    pub fn of_kinds<'a>(&'a self, kinds: &'a [LineKind]) -> impl Iterator<Item = &'a Line> + 'a {
        self.lines.iter().filter(move |l| kinds.contains(&l.kind))
    }

    /// The timeline: faults, commands and lifecycle lines, without the details.
    pub fn timeline(&self) -> impl Iterator<Item = &Line> + '_ {
        self.of_kinds(&[LineKind::Fault, LineKind::Command, LineKind::Lifecycle])
    }

    /// Whether any line's text contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.lines.iter().any(|l| l.text.contains(needle))
    }

    pub(crate) fn push(&mut self, at: Duration, kind: LineKind, text: String) {
        self.lines.push(Line { at, kind, text });
    }
}

/// Every line, one per row.
impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// `1 topic`, `3 topics`.
fn count_text(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn disposition_text(d: Disposition) -> String {
    match d {
        Disposition::Retry => "retry".to_owned(),
        Disposition::RetryAfter(after) => format!("retry after {}", secs_text(after)),
        Disposition::Fatal => "fatal".to_owned(),
        Disposition::RefreshCredentials => "refresh credentials".to_owned(),
        Disposition::Closed => "closed".to_owned(),
    }
}

fn purpose_text(p: Purpose) -> &'static str {
    match p {
        Purpose::Auth => "auth",
        Purpose::Setup => "setup",
        Purpose::Subscribe => "subscribe",
        Purpose::Unsubscribe => "unsubscribe",
        Purpose::Heartbeat => "heartbeat",
        Purpose::HeartbeatReply => "heartbeat reply",
        Purpose::Application => "application",
    }
}

fn stop_text(reason: &StopReason) -> String {
    match reason {
        StopReason::Closed { clean: true } => "closed cleanly".to_owned(),
        StopReason::Closed { clean: false } => {
            "closed (the close handshake did not finish)".to_owned()
        }
        StopReason::Fatal(cause) => format!("fatal: {cause}"),
        StopReason::GaveUp { attempts } => format!("gave up after {attempts} attempts"),
        StopReason::OutageTooLong { outage } => format!("outage too long ({})", secs_text(*outage)),
    }
}

/// The line for an action, if it gets one (`Connect` does not: the `Connecting` event that
/// precedes it says the same).
pub(crate) fn describe_action(action: &Action) -> Option<(LineKind, String)> {
    let line = match action {
        Action::Connect { .. } => return None,
        // Never format an auth frame: it carries credentials.
        Action::Send {
            conn,
            frame,
            purpose: Purpose::Auth,
        } => (
            LineKind::Detail,
            format!("send {conn} auth <redacted {} bytes>", frame.len()),
        ),
        Action::Send {
            conn,
            frame,
            purpose,
        } => (
            LineKind::Detail,
            format!("send {conn} {} {frame:?}", purpose_text(*purpose)),
        ),
        Action::Ping { conn } => (LineKind::Detail, format!("ping {conn}")),
        Action::Close { conn, code, reason } => (
            LineKind::Lifecycle,
            format!("close {conn} with {code} {reason:?}"),
        ),
        Action::Release { conn } => (LineKind::Detail, format!("release {conn}")),
    };
    Some(line)
}

/// The line for an event.
pub(crate) fn describe_event(event: &Event) -> (LineKind, String) {
    use LineKind::{Data, Detail, Lifecycle};
    match event {
        Event::Connecting { conn, attempt } => {
            (Lifecycle, format!("connect {conn} attempt {attempt}"))
        }
        Event::Connected { conn } => (Detail, format!("open {conn}")),
        Event::AttemptFailed {
            conn,
            attempt,
            cause,
            disposition,
        } => {
            let conn = conn.map(|c| format!(" {c}")).unwrap_or_default();
            (
                Lifecycle,
                format!(
                    "attempt {attempt} failed{conn}: {cause} -> {}",
                    disposition_text(*disposition)
                ),
            )
        }
        Event::Authenticated { conn } => (Detail, format!("authenticated {conn}")),
        Event::SetupComplete { conn } => (Detail, format!("setup complete {conn}")),
        Event::Subscribed { conn, topic } => (Detail, format!("subscribed {conn} {topic}")),
        Event::SubscribeRejected {
            topic,
            error,
            retry_in,
        } => {
            let then = match retry_in {
                Some(d) => format!("retry in {}", secs_text(*d)),
                None => "dropped".to_owned(),
            };
            (
                Lifecycle,
                format!("subscribe rejected {topic}: {error} ({then})"),
            )
        }
        Event::Unsubscribed { conn, topic } => (Detail, format!("unsubscribed {conn} {topic}")),
        Event::Live {
            conn,
            resubscribed,
            outage,
        } => (
            Lifecycle,
            format!(
                "live {conn} ({} resubscribed, after {})",
                count_text(*resubscribed as u64, "topic"),
                secs_text(*outage)
            ),
        ),
        Event::Stable { conn } => (Detail, format!("stable {conn}")),
        Event::Message {
            conn, topic, seq, ..
        } => {
            let topic = topic.as_ref().map_or("-", |t| t.as_str());
            let seq = seq.map(|s| format!(" seq {s}")).unwrap_or_default();
            (Data, format!("message {conn} {topic}{seq}"))
        }
        Event::Gap {
            topic,
            expected,
            received,
        } => (
            Lifecycle,
            format!("gap on {topic}: expected {expected}, received {received}"),
        ),
        Event::TopicStale {
            conn,
            topic,
            silent_for,
            times,
        } => (
            Lifecycle,
            format!(
                "topic {topic} stale on {conn} after {} ({times} in a row)",
                secs_text(*silent_for)
            ),
        ),
        Event::Resynced {
            conn,
            topic,
            reason,
        } => (Lifecycle, format!("resynced {conn} {topic} ({reason:?})")),
        Event::SequenceRegressed {
            topic,
            last,
            received,
        } => (
            Lifecycle,
            format!("sequence regressed on {topic}: last {last}, received {received}"),
        ),
        Event::ServerError { conn, error } => (Lifecycle, format!("server error {conn}: {error}")),
        Event::Disconnected {
            conn,
            cause,
            uptime,
            disposition,
        } => (
            Lifecycle,
            format!(
                "disconnected {conn} after {}: {cause} -> {}",
                secs_text(*uptime),
                disposition_text(*disposition)
            ),
        ),
        Event::ReconnectScheduled {
            attempt,
            delay,
            source,
            failures,
        } => {
            let why = match source {
                DelaySource::Backoff => format!("backoff, base {}", secs_text(delay.base)),
                DelaySource::FirstRetry => "first retry".to_owned(),
                DelaySource::RetryAfter { hint } => format!("retry-after {}", secs_text(*hint)),
                DelaySource::CircuitOpen => "circuit open".to_owned(),
                DelaySource::Immediate => "immediate".to_owned(),
            };
            (
                Lifecycle,
                format!(
                    "reconnect attempt {attempt} in {} ({why}, {})",
                    secs_text(delay.drawn),
                    count_text(u64::from(*failures), "failure")
                ),
            )
        }
        Event::Circuit { state, failures } => {
            let state = match state {
                CircuitState::Open => "open",
                CircuitState::HalfOpen => "half-open",
                CircuitState::Closed => "closed",
            };
            (
                Lifecycle,
                format!(
                    "circuit {state} ({})",
                    count_text(u64::from(*failures), "failure")
                ),
            )
        }
        Event::CredentialsRequested => (Lifecycle, "credentials requested".to_owned()),
        Event::CredentialsRenewed {
            conn,
            source,
            expires_in,
        } => {
            let with = match source {
                RenewalSource::Application => "application's new credentials",
                RenewalSource::Lifetime => "current credentials",
                RenewalSource::RefreshToken => "refresh token",
            };
            let expiry = match expires_in {
                Some(d) => format!("expire in {}", secs_text(*d)),
                None => "no lifetime stated".to_owned(),
            };
            (
                Lifecycle,
                format!("credentials renewed {conn} with the {with} ({expiry})"),
            )
        }
        Event::RenewalFailed { cause } => (Lifecycle, format!("renewal failed: {cause}")),
        Event::OutboxDropped { frame, reason } => (
            Lifecycle,
            format!("outbox dropped a {} byte message: {reason:?}", frame.len()),
        ),
        Event::Paused => (Lifecycle, "paused".to_owned()),
        Event::Resumed => (Lifecycle, "resumed".to_owned()),
        Event::Recycling { conn } => (Lifecycle, format!("recycling {conn}")),
        Event::Refused(refused) => (Lifecycle, format!("refused: {refused}")),
        Event::Stopped { reason } => (Lifecycle, format!("stopped: {}", stop_text(reason))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn_id::ConnId;
    use crate::frame::Frame;

    #[test]
    fn auth_frames_are_redacted() {
        let action = Action::Send {
            conn: ConnId(3),
            frame: Frame::from("secret-token"),
            purpose: Purpose::Auth,
        };
        let (_, text) = describe_action(&action).unwrap();
        assert_eq!(text, "send #3 auth <redacted 12 bytes>");
        assert!(!text.contains("secret"));
    }

    #[test]
    fn renewals_say_how_and_for_how_long() {
        let event = Event::CredentialsRenewed {
            conn: ConnId(2),
            source: RenewalSource::RefreshToken,
            expires_in: Some(Duration::from_secs(900)),
        };
        assert_eq!(
            describe_event(&event),
            (
                LineKind::Lifecycle,
                "credentials renewed #2 with the refresh token (expire in 900.000s)".to_owned()
            )
        );
        let event = Event::CredentialsRenewed {
            conn: ConnId(2),
            source: RenewalSource::Lifetime,
            expires_in: None,
        };
        assert_eq!(
            describe_event(&event).1,
            "credentials renewed #2 with the current credentials (no lifetime stated)"
        );
    }

    #[test]
    fn lines_show_their_virtual_time() {
        let mut t = Transcript::default();
        t.push(
            Duration::from_millis(50),
            LineKind::Lifecycle,
            "live #1".into(),
        );
        assert_eq!(t.to_string(), "+0.050s live #1\n");
        assert_eq!(t.timeline().count(), 1);
        assert!(t.contains("live"));
    }
}
