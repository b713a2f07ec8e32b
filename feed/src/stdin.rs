//! Standard input, the same for every runtime: a thread reads one bounded line at a time,
//! turns it into a command and hands it to the runtime's `submit`, which waits for room in the
//! mailbox (the reader never drops a command); what the handle answers decides whether the
//! reader goes on, and a command the handle refuses at once (a send larger than the connection
//! can write) is a `refused` line like any other refusal.

use std::io::BufReader;

use bind_support::feed_cli;
use bind_support::feed_lines;
use bind_support::stdin_lines::{BoundedLines, Line};
use reconnect_core::{Command, CommandKind, HandleError, Refusal, Refused};

use crate::output::Out;

/// Starts the reader thread: commands go to `submit` until the end of standard input or of the
/// session (`submit` answering `Gone`).
pub fn spawn_reader(
    tool: &'static str,
    out: Out,
    mut submit: impl FnMut(Command) -> Result<(), HandleError> + Send + 'static,
) {
    let read = move || {
        let lines = BoundedLines::new(BufReader::new(std::io::stdin()));
        for (number, line) in (1u64..).zip(lines) {
            let line = match line {
                Ok(line) => line,
                Err(e) => {
                    eprintln!("{tool}: cannot read standard input: {e}; commands end here");
                    return;
                }
            };
            let Some(command) = self::command(tool, number, &line) else {
                continue;
            };
            let kind = command.kind();
            if let Flow::Stop = answered(tool, kind, submit(command), &out) {
                return;
            }
        }
    };
    std::thread::Builder::new()
        .name(format!("{tool}-stdin"))
        .spawn(read)
        .expect("a thread for standard input");
}

/// What the reader does after the handle answered.
enum Flow {
    /// Read the next line.
    Next,
    /// The session has ended: nothing takes commands any more.
    Stop,
}

/// Line `number` as a command, reporting (on stderr) a line that is not one.
fn command(tool: &str, number: u64, line: &Line) -> Option<Command> {
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
fn answered(tool: &str, kind: CommandKind, answer: Result<(), HandleError>, out: &Out) -> Flow {
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
