//! What the tool says when the session asks for credentials: the `--auth` credentials, once per
//! refusal. A second request in a row (the server refused them again) cannot heal by asking
//! again, so the tool gives up instead of letting the session ask forever.

use reconnect_core::{Credentials, Event};

/// The tool's answer to one event, when it has one.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Hand these to the session (`Command::ProvideCredentials`).
    Provide(Credentials),
    /// Close the session and exit with status 2, for this reason.
    GiveUp(String),
}

/// The `--auth` credentials and whether they were already given since the last success.
#[derive(Debug)]
pub struct CredentialAnswers {
    credentials: Option<Credentials>,
    given: bool,
}

impl CredentialAnswers {
    /// Answers with `credentials` (`None`: the tool has none to give).
    pub fn new(credentials: Option<Credentials>) -> Self {
        CredentialAnswers {
            credentials,
            given: false,
        }
    }

    /// What to do about `event`: a request for credentials is answered with the `--auth`
    /// credentials once; if the session asks again before they were accepted (authenticated),
    /// the server refused them again and the tool gives up. Without `--auth`, the first
    /// request already gives up: nothing the tool could give would change the answer.
    pub fn on_event(&mut self, event: &Event) -> Option<Answer> {
        match event {
            // Accepted: a later revocation is a new refusal, answered once again.
            Event::Authenticated { .. } | Event::CredentialsRenewed { .. } => {
                self.given = false;
                None
            }
            Event::CredentialsRequested => Some(match &self.credentials {
                None => Answer::GiveUp(
                    "the server asks for new credentials and the tool has no --auth to give"
                        .to_owned(),
                ),
                Some(_) if self.given => Answer::GiveUp(
                    "the server refused the --auth credentials again; give new ones with --auth"
                        .to_owned(),
                ),
                Some(credentials) => {
                    self.given = true;
                    Answer::Provide(credentials.clone())
                }
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticated() -> Event {
        // Any ConnId will do for the answers: take one from a real session.
        let mut session = reconnect_core::Session::new(
            reconnect_core::Config::new(1),
            reconnect_core::adapters::RawAdapter::new(),
        )
        .unwrap();
        session.start(std::time::Instant::now()).unwrap();
        let conn = session.state().conn().unwrap();
        Event::Authenticated { conn }
    }

    #[test]
    fn the_credentials_are_given_once_per_refusal_and_a_second_refusal_gives_up() {
        let key = Credentials::new("key");
        let mut answers = CredentialAnswers::new(Some(key.clone()));
        assert_eq!(answers.on_event(&Event::Paused), None);
        assert_eq!(
            answers.on_event(&Event::CredentialsRequested),
            Some(Answer::Provide(key.clone()))
        );
        // Refused again before any success: nothing more to try.
        assert!(matches!(
            answers.on_event(&Event::CredentialsRequested),
            Some(Answer::GiveUp(why)) if why.contains("refused the --auth credentials again")
        ));
        // After a success, a later refusal is answered once more.
        let mut answers = CredentialAnswers::new(Some(key.clone()));
        answers.on_event(&Event::CredentialsRequested);
        answers.on_event(&authenticated());
        assert_eq!(
            answers.on_event(&Event::CredentialsRequested),
            Some(Answer::Provide(key))
        );
    }

    #[test]
    fn without_auth_the_first_request_gives_up() {
        let mut answers = CredentialAnswers::new(None);
        assert!(matches!(
            answers.on_event(&Event::CredentialsRequested),
            Some(Answer::GiveUp(why)) if why.contains("no --auth")
        ));
    }
}
