//! Why a binding's handle could not pass a command on: one type for every binding, so that an
//! application that moves from one binding to another keeps its error handling.

use std::fmt;

use crate::command::Command;
use crate::frame::Frame;
use crate::outbox::{SendError, SendErrorKind};

/// Why a handle could not pass a command on to its session. A send's frame is always handed
/// back (inside [`Full`](Self::Full) or [`TooLarge`](Self::TooLarge)); nothing was queued.
///
/// Every binding gives these variants the same meaning:
///
/// - [`Gone`](Self::Gone) once the session has ended for its handles: it stopped (the binding
///   marks this before the application can see the `Stopped` event), it was removed from its
///   driver, or its driver or task was dropped. Normal at shutdown; the handle stays `Gone`.
/// - [`Full`](Self::Full) when the mailbox is at its bound (in commands or in payload bytes):
///   the loop that owns the session is not keeping up. Transient: try again later, or use a
///   form that waits for room where the binding has one.
/// - [`TooLarge`](Self::TooLarge) for a send the connection could never write: a programmer
///   error or bad input, never retried by the session.
///
/// A command the handle accepted reaches the session in order; whatever the session refuses
/// comes back as [`Event::Refused`](crate::Event::Refused) in the session's events.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandleError {
    /// The session has ended for its handles: it stopped, was removed, or its driver or task
    /// is gone.
    Gone,
    /// The mailbox is full (commands or payload bytes); the command was not queued. A send's
    /// frame is handed back.
    Full(Option<Frame>),
    /// The frame is larger than the session's connection can ever write
    /// ([`Config::max_frame_len`](crate::Config::max_frame_len), lowered by the binding to what
    /// the endpoint's WebSocket configuration can write). The error is the session's own
    /// refusal, [`SendErrorKind::TooLarge`], with the frame inside: nothing was queued and the
    /// connection is untouched.
    TooLarge(SendError),
}

impl HandleError {
    /// The check every handle makes before it queues `command`: a send longer than
    /// `max_frame_len` is refused at once, with its frame, as the session would refuse it
    /// (a frame of exactly `max_frame_len` bytes passes). Every other command passes.
    ///
    /// # Errors
    /// [`HandleError::TooLarge`] with the frame inside.
    pub fn check_frame_len(command: Command, max_frame_len: usize) -> Result<Command, HandleError> {
        match command {
            Command::Send(frame, _) if frame.len() > max_frame_len => {
                Err(HandleError::TooLarge(SendError {
                    kind: SendErrorKind::TooLarge {
                        len: frame.len(),
                        max: max_frame_len,
                    },
                    frame,
                }))
            }
            command => Ok(command),
        }
    }

    /// The frame the error hands back, if the refused command carried one.
    pub fn into_frame(self) -> Option<Frame> {
        match self {
            HandleError::Gone => None,
            HandleError::Full(frame) => frame,
            HandleError::TooLarge(e) => Some(e.frame),
        }
    }
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleError::Gone => f.write_str("the session has ended"),
            HandleError::Full(_) => f.write_str("the session's mailbox is full"),
            HandleError::TooLarge(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for HandleError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::SendOptions;

    fn send(len: usize) -> Command {
        Command::Send(Frame::from("x".repeat(len)), SendOptions::default())
    }

    #[test]
    fn a_send_at_the_limit_passes_and_one_byte_over_comes_back_whole() {
        assert_eq!(HandleError::check_frame_len(send(10), 10), Ok(send(10)));
        let err = HandleError::check_frame_len(send(11), 10).unwrap_err();
        assert_eq!(
            err,
            HandleError::TooLarge(SendError {
                kind: SendErrorKind::TooLarge { len: 11, max: 10 },
                frame: Frame::from("x".repeat(11)),
            })
        );
        assert_eq!(err.into_frame(), Some(Frame::from("x".repeat(11))));
    }

    #[test]
    fn other_commands_pass_whatever_the_limit() {
        assert_eq!(
            HandleError::check_frame_len(Command::Close, 0),
            Ok(Command::Close)
        );
        assert_eq!(HandleError::Gone.into_frame(), None);
        assert_eq!(HandleError::Gone.to_string(), "the session has ended");
    }
}
