//! The tool on bind-smol: the session as a task on smol's executor, standard input on smol's
//! blocking pool, the event stream awaited on the main thread.

use bind_smol::{Endpoint, Options as SmolOptions, SessionHandle};
use bind_support::feed_cli::Options;
use bind_support::stdin_lines::BoundedLines;
use futures_lite::StreamExt;
use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::Session;

use crate::output::Out;
use crate::stdin::{self, Flow};
use crate::Run;

/// Reads commands until the end of standard input or of the session. `command` waits while the
/// command queue is full, so no command is dropped.
async fn read_commands(tool: &'static str, handle: SessionHandle, out: Out) {
    // One line at a time crosses from the blocking pool (the default would let 8192 wait), so
    // memory stays within a few lines of the reader's bound.
    let lines = BoundedLines::new(std::io::BufReader::new(std::io::stdin()));
    let mut lines = smol::Unblock::with_capacity(1, lines);
    for number in 1u64.. {
        let line = match lines.next().await {
            None => return,
            Some(Ok(line)) => line,
            Some(Err(e)) => {
                eprintln!("{tool}: cannot read standard input: {e}; commands end here");
                return;
            }
        };
        let Some(command) = stdin::command(tool, number, &line) else {
            continue;
        };
        let kind = command.kind();
        let answer = handle.command(command).await;
        if let Flow::Stop = stdin::answered(tool, kind, answer, &out) {
            return;
        }
    }
}

/// Runs the session as a task until it stops; returns the exit status.
pub fn run(
    tool: &'static str,
    options: &Options,
    session: Session<JsonRpcAdapter>,
    endpoint: Endpoint,
    out: &Out,
    mut run: Run,
) -> i32 {
    let mut binding = SmolOptions::default().name(tool);
    if let Some(n) = options.command_queue {
        binding = binding.mailbox_capacity(n);
    }
    smol::block_on(async {
        let (handle, mut events, task) = bind_smol::connect(session, endpoint, binding);
        let task = smol::spawn(task);
        smol::spawn(read_commands(tool, handle.clone(), out.clone())).detach();
        if let Some(after) = options.exit_after {
            let handle = handle.clone();
            smol::spawn(async move {
                async_io::Timer::after(after).await;
                let _ = handle.close().await;
            })
            .detach();
        }
        // The stream ends after `Stopped`; a stream that ended without one is a failure.
        let mut status = 1;
        while let Some(event) = events.next().await {
            if let Some(command) = run.on_event(&event, out) {
                let _ = handle.command(command).await;
            }
            if let Some(stopped) = run.status(&event) {
                status = stopped;
            }
        }
        let session = task.await;
        out.emit(bind_support::feed_lines::stats_line(session.stats()));
        status
    })
}
