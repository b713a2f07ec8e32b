//! Standard input, the same for every runtime: one bounded line at a time becomes a command;
//! what the handle answers decides whether the reader goes on, and a command the handle refuses
//! at once (a send larger than the connection can write) is a `refused` line like any other
//! refusal.

use bind_support::feed_cli;
use bind_support::feed_lines;
use bind_support::stdin_lines::Line;
use reconnect_core::{Command, CommandKind, HandleError, Refusal, Refused};

use crate::output::Out;

/// What the reader does after the handle answered.
pub enum Flow {
    /// Read the next line.
    Next,
    /// The session has ended: nothing takes commands any more.
    Stop,
}

/// Line `number` as a command, reporting (on stderr) a line that is not one.
pub fn command(tool: &str, number: u64, line: &Line) -> Option<Command> {
    match feed_cli::command_of(number, line) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("{tool}: {e}");
            None
        }
    }
}

/// Reports what the handle answered a command of `kind`. `Full` never reaches here: each
/// runtime waits for room (the reader never drops a command).
pub fn answered(tool: &str, kind: CommandKind, answer: Result<(), HandleError>, out: &Out) -> Flow {
    match answer {
        Ok(()) => Flow::Next,
        Err(HandleError::Gone) => Flow::Stop,
        Err(HandleError::TooLarge(error)) => {
            // The session's own refusal, made by the handle before anything was queued.
            out.emit(feed_lines::refused_line(&Refused {
                command: kind,
                refusal: Refusal::Send(error),
            }));
            Flow::Next
        }
        Err(other) => {
            eprintln!("{tool}: command refused: {other}");
            Flow::Next
        }
    }
}
