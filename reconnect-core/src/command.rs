//! Application commands as values, for drivers that pass them through a mailbox.
//!
//! A driver that owns the session on one thread or task and takes commands from others (both
//! bindings do) needs the same three things: a value for each command, one place that applies it
//! to the session, and a typed report of what the session refused. They live here so that every
//! driver applies commands the same way and reports refusals with the same types.

use std::fmt;
use std::time::Instant;

use crate::credentials::Credentials;
use crate::frame::Frame;
use crate::outbox::{SendError, SendOptions};
use crate::protocol::Protocol;
use crate::session::{CommandError, Session, SubscribeError};
use crate::topic::Topic;

/// One application command, as a value: what [`Session::apply`] runs.
///
/// `Debug` never shows credentials (see [`Credentials`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// [`Session::subscribe`].
    Subscribe(Topic),
    /// [`Session::unsubscribe`].
    Unsubscribe(String),
    /// [`Session::send_with`].
    Send(Frame, SendOptions),
    /// [`Session::close`].
    Close,
    /// [`Session::reconnect_now`].
    ReconnectNow,
    /// [`Session::pause`].
    Pause,
    /// [`Session::resume`].
    Resume,
    /// [`Session::set_credentials`] (never refused).
    SetCredentials(Credentials),
    /// [`Session::provide_credentials`].
    ProvideCredentials(Credentials),
    /// [`Session::credentials_failed`], with the application's reason.
    CredentialsFailed(String),
}

impl Command {
    /// Which command this is.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Subscribe(_) => CommandKind::Subscribe,
            Command::Unsubscribe(_) => CommandKind::Unsubscribe,
            Command::Send(..) => CommandKind::Send,
            Command::Close => CommandKind::Close,
            Command::ReconnectNow => CommandKind::ReconnectNow,
            Command::Pause => CommandKind::Pause,
            Command::Resume => CommandKind::Resume,
            Command::SetCredentials(_) => CommandKind::SetCredentials,
            Command::ProvideCredentials(_) => CommandKind::ProvideCredentials,
            Command::CredentialsFailed(_) => CommandKind::CredentialsFailed,
        }
    }

    /// The frame a [`Command::Send`] carries, so that a mailbox that cannot take the command
    /// can hand it back; `None` for every other command.
    pub fn into_frame(self) -> Option<Frame> {
        match self {
            Command::Send(frame, _) => Some(frame),
            _ => None,
        }
    }
}

/// Which command a session refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandKind {
    /// [`Command::Subscribe`].
    Subscribe,
    /// [`Command::Unsubscribe`].
    Unsubscribe,
    /// [`Command::Send`].
    Send,
    /// [`Command::Close`].
    Close,
    /// [`Command::ReconnectNow`].
    ReconnectNow,
    /// [`Command::Pause`].
    Pause,
    /// [`Command::Resume`].
    Resume,
    /// [`Command::SetCredentials`].
    SetCredentials,
    /// [`Command::ProvideCredentials`].
    ProvideCredentials,
    /// [`Command::CredentialsFailed`].
    CredentialsFailed,
}

/// The session's reason for refusing a command: the error the matching method returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A refused send; the frame is handed back inside.
    Send(SendError),
    /// A refused subscription.
    Subscribe(SubscribeError),
    /// A command that does not apply in the session's state.
    Command(CommandError),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Send(e) => write!(f, "{:?}", e.kind),
            Refusal::Subscribe(e) => write!(f, "{e}"),
            Refusal::Command(e) => write!(f, "{e}"),
        }
    }
}

/// A command the session refused, and why. A refused command changed nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The command.
    pub command: CommandKind,
    /// Why.
    pub refusal: Refusal,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} refused: {}", self.command, self.refusal)
    }
}

impl std::error::Error for Refused {}

impl<P: Protocol> Session<P> {
    /// Applies `command` exactly as its method would (see each [`Command`] variant) and keeps
    /// only the verdict: what the command did is in the outputs it queued.
    ///
    /// A driver that reports refusals to the application must first drain
    /// [`poll_output`](Self::poll_output): the deadlines that were due at `now` ran before the
    /// command, so their outputs come first, and the refusal after them keeps causal order.
    ///
    /// # Errors
    /// The command was refused; the session is unchanged (a refused send hands its frame back).
    pub fn apply(&mut self, now: Instant, command: Command) -> Result<(), Refused> {
        let kind = command.kind();
        let refusal = match command {
            Command::Subscribe(topic) => self.subscribe(now, topic).err().map(Refusal::Subscribe),
            Command::Unsubscribe(topic) => {
                self.unsubscribe(now, &topic).err().map(Refusal::Command)
            }
            Command::Send(frame, options) => {
                self.send_with(now, frame, options).err().map(Refusal::Send)
            }
            Command::Close => self.close(now).err().map(Refusal::Command),
            Command::ReconnectNow => self.reconnect_now(now).err().map(Refusal::Command),
            Command::Pause => self.pause(now).err().map(Refusal::Command),
            Command::Resume => self.resume(now).err().map(Refusal::Command),
            Command::SetCredentials(credentials) => {
                self.set_credentials(credentials);
                None
            }
            Command::ProvideCredentials(credentials) => self
                .provide_credentials(now, credentials)
                .err()
                .map(Refusal::Command),
            Command::CredentialsFailed(why) => self
                .credentials_failed(now, &why)
                .err()
                .map(Refusal::Command),
        };
        match refusal {
            None => Ok(()),
            Some(refusal) => Err(Refused {
                command: kind,
                refusal,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::RawAdapter;
    use crate::config::Config;
    use crate::outbox::SendErrorKind;
    use crate::{Action, Output};

    fn started() -> (Session<RawAdapter>, Instant) {
        let now = Instant::now();
        let mut session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
        session.start(now).unwrap();
        while session.poll_output().is_some() {}
        (session, now)
    }

    #[test]
    fn an_applied_command_does_what_its_method_does() {
        let (mut session, now) = started();
        session
            .apply(now, Command::Subscribe(Topic::from("a")))
            .unwrap();
        assert_eq!(session.subscriptions().count(), 1);
        session.apply(now, Command::Close).unwrap();
        // Closing while connecting releases the attempt and stops.
        let outputs: Vec<Output> = std::iter::from_fn(|| session.poll_output()).collect();
        assert!(outputs
            .iter()
            .any(|o| matches!(o, Output::Action(Action::Release { .. }))));
        assert!(session.is_stopped());
    }

    #[test]
    fn a_refusal_names_the_command_and_hands_the_frame_back() {
        let (mut session, now) = started();
        session.close(now).unwrap();
        let refused = session
            .apply(
                now,
                Command::Send(Frame::from("order"), SendOptions::default()),
            )
            .unwrap_err();
        assert_eq!(refused.command, CommandKind::Send);
        match refused.refusal {
            Refusal::Send(e) => {
                assert_eq!(e.frame, Frame::from("order"));
                assert_eq!(e.kind, SendErrorKind::Stopped);
            }
            other => panic!("{other:?}"),
        }
        let refused = session.apply(now, Command::Pause).unwrap_err();
        assert_eq!(
            refused,
            Refused {
                command: CommandKind::Pause,
                refusal: Refusal::Command(CommandError::Stopped)
            }
        );
        assert_eq!(
            refused.to_string(),
            "Pause refused: the session has stopped"
        );
    }

    #[test]
    fn credentials_are_never_printed() {
        let command = Command::ProvideCredentials(Credentials::new("s3cret"));
        assert!(!format!("{command:?}").contains("s3cret"));
        assert_eq!(command.kind(), CommandKind::ProvideCredentials);
        assert_eq!(command.into_frame(), None);
    }

    #[test]
    fn a_send_over_the_frame_limit_is_refused_and_the_live_connection_is_untouched() {
        let (mut session, now) = started();
        session.limit_frame_len(10);
        session.limit_frame_len(1_000); // never raises it
        let conn = session.conn_id().expect("an attempt is in flight");
        session.handle_input(now, crate::Input::Opened { conn });
        while session.poll_output().is_some() {}
        assert!(matches!(session.state(), crate::State::Live { .. }));
        let refused = session
            .apply(
                now,
                Command::Send(Frame::from("eleven byte"), SendOptions::default()),
            )
            .unwrap_err();
        assert_eq!(
            refused.refusal,
            Refusal::Send(SendError {
                kind: SendErrorKind::TooLarge { len: 11, max: 10 },
                frame: Frame::from("eleven byte"),
            }),
            "the 11-byte frame comes back with its length and the limit"
        );
        assert_eq!(
            session.poll_output(),
            None,
            "a refused send neither writes nor ends the connection"
        );
        session
            .apply(
                now,
                Command::Send(Frame::from("ten bytes!"), SendOptions::default()),
            )
            .unwrap();
        let outputs: Vec<Output> = std::iter::from_fn(|| session.poll_output()).collect();
        assert!(
            matches!(
                outputs.as_slice(),
                [Output::Action(Action::Send { conn: c, frame, .. })]
                    if *c == conn && *frame == Frame::from("ten bytes!")
            ),
            "a frame at the limit goes out on the same connection: {outputs:?}"
        );
        assert!(matches!(session.state(), crate::State::Live { .. }));
    }
}
