//! The tool on bind-smol: the session as a task on smol's executor, standard input on a thread
//! of its own, the event stream awaited on the main thread.

use bind_smol::{Endpoint, Options as SmolOptions};
use bind_support::feed_cli::Options;
use futures_lite::StreamExt;
use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::Session;

use crate::output::Out;
use crate::stdin;
use crate::Run;

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
        // The reader's thread blocks on the handle's `command`, which waits for room.
        let submitter = handle.clone();
        stdin::spawn_reader(tool, out.clone(), move |command| {
            smol::block_on(submitter.command(command))
        });
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
