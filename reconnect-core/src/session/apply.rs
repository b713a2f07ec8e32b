//! Applying a [`Command`] value: one place where every driver turns a command from its mailbox
//! into the matching method call and a typed verdict.

use std::time::Instant;

use super::Session;
use crate::command::{Command, Refusal, Refused};
use crate::protocol::Protocol;

impl<P: Protocol> Session<P> {
    /// Applies `command` exactly as its method would (see each [`Command`] variant) and keeps
    /// only the verdict: what the command did is in the outputs it queued.
    ///
    /// A driver that reports refusals to the application must first [`drain`](Self::drain) the
    /// outputs: the deadlines that were due at `now` ran before the
    /// command, so their outputs come first, and the refusal after them keeps causal order.
    ///
    /// # Errors
    /// The command was refused; the session is unchanged (a refused send hands its frame back).
    pub fn apply(&mut self, now: Instant, command: Command) -> Result<(), Refused> {
        let kind = command.kind();
        let refusal = match command {
            Command::Subscribe(topic) => self.subscribe(now, topic).err().map(Refusal::Subscribe),
            Command::Unsubscribe(topic) => self
                .unsubscribe(now, topic.as_str())
                .err()
                .map(Refusal::Command),
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
    use crate::command::CommandKind;
    use crate::config::Config;
    use crate::credentials::Credentials;
    use crate::frame::Frame;
    use crate::outbox::SendErrorKind;
    use crate::outbox::{SendError, SendOptions};
    use crate::session::CommandError;
    use crate::topic::Topic;
    use crate::{Action, Output};

    fn started() -> (Session<RawAdapter>, Instant) {
        let now = Instant::now();
        let mut session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
        session.start(now).unwrap();
        session.drain().for_each(drop);
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
        let outputs: Vec<Output> = session.drain().collect();
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
        session.drain().for_each(drop);
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
        let outputs: Vec<Output> = session.drain().collect();
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
