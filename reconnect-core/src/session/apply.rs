//! Applying a [`Command`] value: one place where every driver turns a command from its mailbox
//! into the matching method call and a typed verdict.

use std::time::Instant;

use super::Session;
use crate::boundary::Event;
use crate::command::{Command, Refusal, Refused};
use crate::protocol::Protocol;

impl<P: Protocol> Session<P> {
    /// Applies `command` exactly as its method would (see each [`Command`] variant). What the
    /// command did is in the outputs it queued; a refusal is one of them,
    /// [`Event::Refused`](crate::Event::Refused), queued after the outputs of the deadlines that
    /// were due at `now` (they ran first), so the application hears of it in causal order. A
    /// refused command changed nothing; a refused send hands its frame back inside.
    ///
    /// This is the one way a driver applies a command taken from a mailbox: it needs no
    /// reporting path of its own, and every binding reports refusals alike. It also answers a
    /// command after `Stopped` (with [`Refusal::Command`] `Stopped`, or a send's `Stopped`).
    pub fn apply(&mut self, now: Instant, command: Command) {
        let kind = command.kind();
        let refusal = match command {
            Command::Subscribe(topic) => self.subscribe(now, topic).err().map(Refusal::Subscribe),
            Command::SubscribeWith(topic, options) => self
                .subscribe_with(now, topic, options)
                .err()
                .map(Refusal::Subscribe),
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
            Command::Resync(topic) => self.resync(now, topic.as_str()).err().map(Refusal::Command),
        };
        if let Some(refusal) = refusal {
            self.emit(Event::Refused(Refused {
                command: kind,
                refusal,
            }));
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

    /// The refusals among the outputs queued so far (the outputs are drained).
    fn refusals(session: &mut Session<RawAdapter>) -> Vec<Refused> {
        session
            .drain()
            .filter_map(|o| match o {
                Output::Event(Event::Refused(r)) => Some(r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_applied_command_does_what_its_method_does() {
        let (mut session, now) = started();
        session.apply(now, Command::Subscribe(Topic::from("a")));
        assert_eq!(session.subscriptions().count(), 1);
        session.apply(now, Command::Close);
        // Closing while connecting releases the attempt and stops.
        let outputs: Vec<Output> = session.drain().collect();
        assert!(outputs
            .iter()
            .any(|o| matches!(o, Output::Action(Action::Release { .. }))));
        assert!(!outputs
            .iter()
            .any(|o| matches!(o, Output::Event(Event::Refused(_)))));
        assert!(session.is_stopped());
    }

    #[test]
    fn a_refusal_is_an_event_that_names_the_command_and_hands_the_frame_back() {
        let (mut session, now) = started();
        session.close(now).unwrap();
        session.drain().for_each(drop);
        session.apply(
            now,
            Command::Send(Frame::from("order"), SendOptions::default()),
        );
        session.apply(now, Command::Pause);
        let refused = refusals(&mut session);
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert_eq!(refused[0].command, CommandKind::Send);
        match &refused[0].refusal {
            Refusal::Send(e) => {
                assert_eq!(e.frame, Frame::from("order"));
                assert_eq!(e.kind, SendErrorKind::Stopped);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            refused[1],
            Refused {
                command: CommandKind::Pause,
                refusal: Refusal::Command(CommandError::Stopped)
            }
        );
        assert_eq!(
            refused[1].to_string(),
            "Pause refused: the session has stopped"
        );
    }

    #[test]
    fn a_refusal_comes_after_the_outputs_of_the_deadlines_that_were_due() {
        let now = Instant::now();
        let mut config = Config::new(1);
        config.limits.max_attempts = Some(1);
        let connect = config.timeouts.connect;
        let mut session = Session::new(config, RawAdapter::new()).unwrap();
        session.start(now).unwrap();
        session.drain().for_each(drop);
        // The connect deadline passed: the only attempt fails and the session gives up before
        // the command runs, so the pause is refused after the `Stopped` it could not know of.
        session.apply(now + connect, Command::Pause);
        let events: Vec<Event> = session
            .drain()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e),
                Output::Action(_) => None,
            })
            .collect();
        assert!(
            matches!(
                events.as_slice(),
                [
                    Event::AttemptFailed { .. },
                    Event::Stopped { .. },
                    Event::Refused(Refused {
                        command: CommandKind::Pause,
                        refusal: Refusal::Command(CommandError::Stopped)
                    })
                ]
            ),
            "{events:?}"
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
        session.apply(
            now,
            Command::Send(Frame::from("eleven byte"), SendOptions::default()),
        );
        let outputs: Vec<Output> = session.drain().collect();
        assert_eq!(
            outputs,
            vec![Output::Event(Event::Refused(Refused {
                command: CommandKind::Send,
                refusal: Refusal::Send(SendError {
                    kind: SendErrorKind::TooLarge { len: 11, max: 10 },
                    frame: Frame::from("eleven byte"),
                }),
            }))],
            "the 11-byte frame comes back with its length and the limit, and nothing is written"
        );
        session.apply(
            now,
            Command::Send(Frame::from("ten bytes!"), SendOptions::default()),
        );
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
