//! Commands from the application. None does IO; each returns a typed result and queues outputs.

use std::fmt;
use std::time::Instant;

use super::lifecycle::Next;
use super::resubscribe::AuthSent;
use super::{AfterClose, Phase, RequestKind, Session, Timer};
use crate::boundary::{Action, Event, Purpose, RenewalSource, StopReason};
use crate::credentials::Credentials;
use crate::error::{Disposition, EndCause};
use crate::frame::Frame;
use crate::outbox::{Queued, SendError, SendErrorKind, SendOptions};
use crate::protocol::Protocol;
use crate::staleness::Watch;
use crate::subscribe_options::{StaleAfter, SubscribeOptions};
use crate::subscriptions::SubscriptionStatus;
use crate::topic::Topic;

/// A command that does not apply in the session's current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandError {
    /// [`Session::start`] was already called.
    AlreadyStarted,
    /// The session has not been started.
    NotStarted,
    /// The session is closing.
    Closing,
    /// The session has stopped.
    Stopped,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            CommandError::AlreadyStarted => "the session was already started",
            CommandError::NotStarted => "the session has not been started",
            CommandError::Closing => "the session is closing",
            CommandError::Stopped => "the session has stopped",
        };
        f.write_str(s)
    }
}

impl std::error::Error for CommandError {}

/// What [`Session::subscribe`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubscribeStatus {
    /// The subscribe request went out now (the session is live). A request too large to
    /// write is split, and a topic too large alone is reported by
    /// [`Event::SubscribeRejected`](crate::Event::SubscribeRejected) instead.
    Sent,
    /// Recorded; it will be sent by the resubscription of the next (or the current) connection.
    Recorded,
    /// The topic was already wanted; nothing changed.
    AlreadyWanted,
}

/// A refused subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscribeError {
    /// The registry holds `resubscribe.max_topics` already.
    LimitReached {
        /// The topic that was not added.
        topic: Topic,
        /// The limit.
        limit: usize,
    },
    /// The session is closing or stopped.
    NotRunning(CommandError),
    /// The topic's name is empty: no server has a channel without a name, and a request for
    /// one would be refused (or, in a batch, could take its neighbours down with it).
    EmptyTopic,
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscribeError::LimitReached { topic, limit } => {
                write!(
                    f,
                    "cannot subscribe {topic}: the limit of {limit} topics is reached"
                )
            }
            SubscribeError::NotRunning(e) => write!(f, "cannot subscribe: {e}"),
            SubscribeError::EmptyTopic => f.write_str("cannot subscribe: the topic is empty"),
        }
    }
}

impl std::error::Error for SubscribeError {}

/// What [`Session::unsubscribe`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnsubscribeStatus {
    /// Removed, and an unsubscribe request went out on the live connection.
    Sent,
    /// Removed; it had not been requested on the current connection (or the adapter cannot
    /// unsubscribe, or its request would exceed `max_frame_len`), so nothing was sent. The
    /// next connection does not ask for it.
    Removed,
    /// The topic was not wanted.
    NotWanted,
}

impl<P: Protocol> Session<P> {
    /// Starts the session: the first attempt begins at once.
    pub fn start(&mut self, now: Instant) -> Result<(), CommandError> {
        match self.phase {
            Phase::Idle => {}
            Phase::Stopped(_) => return Err(CommandError::Stopped),
            _ => return Err(CommandError::AlreadyStarted),
        }
        let now = self.advance(now);
        self.accounted_until = Some(now);
        self.begin_attempt(now);
        Ok(())
    }

    /// Sends an application message: at once while live, otherwise queued in the outbox and
    /// released in order once live. With a [`SendRate`](crate::SendRate), a send made while
    /// live also waits in the outbox (behind the sends already there) until a token is free.
    pub fn send(&mut self, now: Instant, frame: impl Into<Frame>) -> Result<SendStatus, SendError> {
        self.send_with(now, frame, SendOptions::default())
    }

    /// [`send`](Self::send) with an expiry and a coalescing key for the time it may spend queued.
    pub fn send_with(
        &mut self,
        now: Instant,
        frame: impl Into<Frame>,
        options: SendOptions,
    ) -> Result<SendStatus, SendError> {
        let frame = frame.into();
        let refused = |kind| SendError {
            kind,
            frame: frame.clone(),
        };
        match self.phase {
            Phase::Stopped(_) => return Err(refused(SendErrorKind::Stopped)),
            Phase::Closing(AfterClose::Stop) => return Err(refused(SendErrorKind::Closing)),
            _ => {}
        }
        // Refused before anything runs: no connection can carry it, so it must not reach one.
        let (len, max) = (frame.len(), self.config.max_frame_len);
        if len > max {
            return Err(refused(SendErrorKind::TooLarge { len, max }));
        }
        let now = self.advance(now);
        // A due deadline may just have stopped the session.
        if self.is_stopped() {
            return Err(refused(SendErrorKind::Stopped));
        }
        // While live, a send goes out at once unless the send rate holds it back: then it
        // waits in the outbox, behind the sends already waiting there.
        if self.phase == Phase::Live && self.queued() == 0 && self.take_token(now) {
            if let Some(conn) = self.conn_id() {
                self.act(Action::Send {
                    conn,
                    frame,
                    purpose: Purpose::Application,
                });
                return Ok(SendStatus::Sent);
            }
        }
        let item = Queued {
            frame,
            expires_at: options.expires_after.map(|d| Self::after(now, d)),
            key: options.coalesce_key,
        };
        let mut dropped = Vec::new();
        let policy = self.config.outbox.clone();
        let result = self
            .outbox
            .push(&policy, item, &mut |f, r| dropped.push((f, r)));
        for (f, r) in dropped {
            self.report_drop(f, r);
        }
        result?;
        self.timers
            .set_opt(Timer::OutboxExpiry, self.outbox.next_expiry());
        Ok(SendStatus::Queued)
    }

    /// Lowers [`Config::max_frame_len`](crate::Config::max_frame_len) to `max` (a higher value
    /// leaves it as it is): from now on, a send larger than `max` is refused with
    /// [`SendErrorKind::TooLarge`].
    ///
    /// The driver must call it with the largest payload its transport can write (its WebSocket
    /// write buffer and frame limits) before it passes the session any send, so that one
    /// oversized frame is refused instead of ending a healthy connection. The session holds its
    /// own frames to it too (see [`Config::max_frame_len`](crate::Config::max_frame_len)).
    /// Sends already queued in the outbox are not checked again: lower the limit before queuing
    /// any.
    pub fn limit_frame_len(&mut self, max: usize) {
        self.config.max_frame_len = self.config.max_frame_len.min(max);
    }

    /// Wants `topic`: sent at once while live, otherwise recorded for the next resubscription.
    /// The same as [`subscribe_with`](Self::subscribe_with) with the default options.
    pub fn subscribe(
        &mut self,
        now: Instant,
        topic: impl Into<Topic>,
    ) -> Result<SubscribeStatus, SubscribeError> {
        self.subscribe_with(now, topic, SubscribeOptions::default())
    }

    /// [`subscribe`](Self::subscribe) with the topic's own staleness deadline and gap policy
    /// (see [`SubscribeOptions`]). The options belong to the want: for a topic already wanted
    /// nothing changes, not even its options ([`SubscribeStatus::AlreadyWanted`]);
    /// unsubscribe it first to change them. A snapshot keeps no options: a session restored
    /// from one watches every topic with the defaults (the configured deadline, gaps reported).
    pub fn subscribe_with(
        &mut self,
        now: Instant,
        topic: impl Into<Topic>,
        options: SubscribeOptions,
    ) -> Result<SubscribeStatus, SubscribeError> {
        let topic = topic.into();
        if topic.as_str().is_empty() {
            return Err(SubscribeError::EmptyTopic);
        }
        self.check_running().map_err(SubscribeError::NotRunning)?;
        let now = self.advance(now);
        // A due deadline may just have stopped the session.
        self.check_running().map_err(SubscribeError::NotRunning)?;
        if self.registry.contains(topic.as_str()) {
            return Ok(SubscribeStatus::AlreadyWanted);
        }
        let limit = self.config.resubscribe.max_topics;
        if self.registry.len() >= limit {
            return Err(SubscribeError::LimitReached { topic, limit });
        }
        let watch = self.watch_for(options);
        self.registry.insert_watched(topic, None, watch);
        if self.phase == Phase::Live {
            self.pump_subscriptions(now);
            return Ok(SubscribeStatus::Sent);
        }
        // During the resubscription the pace timer (or the next ack) picks the topic up.
        if self.phase == Phase::Resubscribing {
            self.pump_subscriptions(now);
        }
        Ok(SubscribeStatus::Recorded)
    }

    /// No longer wants `topic`: it is never resubscribed again, and while live an unsubscribe request
    /// goes out if it had been requested on this connection.
    pub fn unsubscribe(
        &mut self,
        now: Instant,
        topic: &str,
    ) -> Result<UnsubscribeStatus, CommandError> {
        self.check_running()?;
        let now = self.advance(now);
        self.check_running()?;
        let Some(entry) = self.registry.remove(topic) else {
            return Ok(UnsubscribeStatus::NotWanted);
        };
        let requested = matches!(
            entry.status,
            SubscriptionStatus::Active | SubscriptionStatus::Pending
        );
        let open = matches!(self.phase, Phase::Live | Phase::Resubscribing);
        let status = self.send_unsubscribe(now, topic, requested && open);
        // A resubscription may have been waiting only for this topic.
        self.check_resubscribed(now);
        Ok(status)
    }

    fn send_unsubscribe(
        &mut self,
        now: Instant,
        topic: &str,
        wanted_on_wire: bool,
    ) -> UnsubscribeStatus {
        if !wanted_on_wire {
            return UnsubscribeStatus::Removed;
        }
        let Some(conn) = self.conn_id() else {
            return UnsubscribeStatus::Removed;
        };
        let id = self.peek_request_id();
        let topic = Topic::new(topic);
        let Some(frame) = self
            .protocol
            .unsubscribe_request(id, std::slice::from_ref(&topic))
        else {
            return UnsubscribeStatus::Removed;
        };
        if self.too_large(Purpose::Unsubscribe, &frame).is_some() {
            // As for an adapter that cannot unsubscribe: the topic is no longer wanted, and the
            // next connection does not ask for it; until then its data arrives without a topic.
            return UnsubscribeStatus::Removed;
        }
        self.next_request_id();
        self.act(Action::Send {
            conn,
            frame,
            purpose: Purpose::Unsubscribe,
        });
        if self.protocol.acknowledges() {
            let deadline = Self::after(now, self.config.timeouts.subscribe);
            self.pending
                .insert(id, RequestKind::Unsubscribe(vec![topic]), deadline);
            self.sync_request_timer();
        }
        UnsubscribeStatus::Sent
    }

    /// Skips the wait: from backoff or pause, the next attempt starts now; with a transport in
    /// flight or open, it is released and a fresh attempt starts at once (a network-change
    /// hint). An open connection is first told goodbye with a close frame (1000, "reconnect
    /// requested"), which the driver flushes as it releases the transport; the new attempt does
    /// not wait for the server's answer. Not counted as a failure. Pausing stays in force for
    /// later automatic attempts.
    pub fn reconnect_now(&mut self, now: Instant) -> Result<(), CommandError> {
        self.check_running()?;
        if self.phase == Phase::Idle {
            return Err(CommandError::NotStarted);
        }
        let now = self.advance(now);
        self.check_running()?;
        match self.phase {
            Phase::Backoff { .. } | Phase::Paused | Phase::AwaitingCredentials => {
                self.begin_attempt(now)
            }
            _ => {
                // A server should hear that the client leaves on purpose, not see a dropped
                // socket it may count against the client (unless a close is already under
                // way: a recycle's, whose close frame went out).
                let closing = matches!(self.phase, Phase::Closing(_));
                if let Some(conn) = self
                    .conn
                    .as_ref()
                    .filter(|c| c.opened_at.is_some() && !closing)
                {
                    let conn = conn.id;
                    self.act(Action::Close {
                        conn,
                        code: 1000,
                        reason: "reconnect requested",
                    });
                }
                self.end_connection(
                    now,
                    EndCause::ReconnectRequested,
                    Some(Disposition::Retry),
                    Next::Immediately,
                )
            }
        }
        Ok(())
    }

    /// Closes the session for good: a close handshake (under `timeouts.close`) if a transport
    /// is open, then [`Event::Stopped`]. Never reconnects afterwards, from any state.
    /// Closing a closed or closing session does nothing.
    pub fn close(&mut self, now: Instant) -> Result<(), CommandError> {
        if matches!(
            self.phase,
            Phase::Stopped(_) | Phase::Closing(AfterClose::Stop)
        ) {
            return Ok(());
        }
        // Set before the overdue deadlines run, so that none of them starts an attempt.
        self.close_requested = true;
        let now = self.advance(now);
        match self.phase {
            Phase::Stopped(_) => {}
            Phase::Closing(_) => self.phase = Phase::Closing(AfterClose::Stop),
            _ if self.is_open() => self.begin_close(now, AfterClose::Stop, "client closing"),
            _ => self.stop(now, StopReason::Closed { clean: true }),
        }
        Ok(())
    }

    /// Pauses automatic reconnection: a connection that is up stays up, but once it is lost (or
    /// during a backoff) no attempt starts until [`resume`](Self::resume) or
    /// [`reconnect_now`](Self::reconnect_now).
    pub fn pause(&mut self, now: Instant) -> Result<(), CommandError> {
        self.check_running()?;
        let now = self.advance(now);
        self.check_running()?;
        if self.paused {
            return Ok(());
        }
        self.paused = true;
        if let Phase::Backoff { .. } = self.phase {
            self.timers.stop(Timer::Reconnect);
            self.phase = Phase::Paused;
        }
        let _ = now;
        self.emit(Event::Paused);
        Ok(())
    }

    /// Resumes automatic reconnection; if the session was waiting because of the pause, the next
    /// attempt starts at once.
    pub fn resume(&mut self, now: Instant) -> Result<(), CommandError> {
        self.check_running()?;
        let now = self.advance(now);
        self.check_running()?;
        if !self.paused {
            return Ok(());
        }
        self.paused = false;
        self.emit(Event::Resumed);
        if self.phase == Phase::Paused {
            self.begin_attempt(now);
        }
        Ok(())
    }

    /// Replaces the credentials; the next auth request uses them.
    pub fn set_credentials(&mut self, credentials: Credentials) {
        self.credentials = Some(credentials);
    }

    /// Answers [`Event::CredentialsRequested`](crate::Event::CredentialsRequested): stores the credentials and continues (connects,
    /// or re-authenticates on the live connection when the adapter requires it). Outside a
    /// refresh it is the same as [`set_credentials`](Self::set_credentials).
    pub fn provide_credentials(
        &mut self,
        now: Instant,
        credentials: Credentials,
    ) -> Result<(), CommandError> {
        self.credentials = Some(credentials);
        self.check_running()?;
        let now = self.advance(now);
        self.check_running()?;
        if self.phase == Phase::AwaitingCredentials {
            self.needs_refresh = false;
            self.connect(now);
            return Ok(());
        }
        let renewing = self.conn.as_mut().is_some_and(|c| {
            let was = c.renewal_wait;
            c.renewal_wait = false;
            was
        });
        if renewing {
            self.timers.stop(Timer::Credentials);
            if self.phase == Phase::Live && self.protocol.reauth_on_renewal() {
                self.reauthenticate(now);
            }
        }
        Ok(())
    }

    /// Reports that the application could not get the credentials it was asked for. Before a
    /// connect, the attempt fails and backs off; while live, the connection stays up and
    /// [`Event::RenewalFailed`] reports it.
    pub fn credentials_failed(&mut self, now: Instant, why: &str) -> Result<(), CommandError> {
        self.check_running()?;
        let now = self.advance(now);
        self.check_running()?;
        let cause = EndCause::CredentialsUnavailable(why.to_owned());
        if self.phase == Phase::AwaitingCredentials {
            self.credentials_attempt_failed(now, cause);
        } else if let Some(conn) = self.conn.as_mut() {
            if conn.renewal_wait {
                conn.renewal_wait = false;
                self.timers.stop(Timer::Credentials);
                self.emit(Event::RenewalFailed { cause });
            }
        }
        Ok(())
    }

    fn reauthenticate(&mut self, now: Instant) {
        match self.send_auth_request(now, RequestKind::Reauth) {
            AuthSent::Done => {
                // Renewed once sent, with no answer to state a lifetime: as for an answer
                // without one, nothing of the previous grant stays armed for the new credentials.
                self.forget_grant();
                if let Some(conn) = self.conn_id() {
                    self.emit(Event::CredentialsRenewed {
                        conn,
                        source: RenewalSource::Application,
                        expires_in: None,
                    });
                }
            }
            // The connection stays on the credentials it authenticated with, as when the
            // application cannot supply new ones.
            AuthSent::TooLarge(cause) => self.emit(Event::RenewalFailed { cause }),
            AuthSent::Awaited | AuthSent::Nothing => {}
        }
    }

    /// How a topic subscribed with `options` is watched: its staleness window resolved
    /// against the configuration (a zero window is none), and its gap policy.
    pub(super) fn watch_for(&self, options: SubscribeOptions) -> Watch {
        let stale_after = match options.stale {
            StaleAfter::Config => self.config.liveness.topic_stale_after,
            StaleAfter::Off => None,
            StaleAfter::After(after) => Some(after),
        };
        Watch {
            stale_after: stale_after.filter(|after| !after.is_zero()),
            gap: options.gap,
            ..Watch::default()
        }
    }

    pub(super) fn check_running(&self) -> Result<(), CommandError> {
        match self.phase {
            Phase::Stopped(_) => Err(CommandError::Stopped),
            Phase::Closing(AfterClose::Stop) => Err(CommandError::Closing),
            _ => Ok(()),
        }
    }
}

/// What [`Session::send`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// The frame went out now (an [`Action::Send`] was queued).
    Sent,
    /// The frame waits in the outbox until live, or, while live, for the send rate's token.
    Queued,
}
