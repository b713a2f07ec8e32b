//! The tool on bind-mio: the driver's loop on the main thread, standard input on a thread of
//! its own.

use std::time::{Duration, Instant};

use bind_mio::{Driver, DriverConfig, Endpoint, SessionHandle};
use bind_support::feed_cli::Options;
use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{Command, HandleError, Session};

use crate::output::Out;
use crate::stdin;
use crate::Run;

/// Passes `command` to the session, waiting while the driver's mailbox is full: the mailbox has
/// no way to wait for room, so a full one is retried after a pause that doubles up to 50 ms.
fn submit(handle: &SessionHandle, command: Command) -> Result<(), HandleError> {
    let mut pause = Duration::from_millis(1);
    loop {
        match handle.command(command.clone()) {
            Err(HandleError::Full(_)) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            answer => return answer,
        }
    }
}

/// Runs the session on a driver until it stops; returns the exit status.
pub fn run(
    tool: &'static str,
    options: &Options,
    session: Session<JsonRpcAdapter>,
    endpoint: Endpoint,
    out: &Out,
    mut run: Run,
) -> i32 {
    let mut config = DriverConfig::default();
    if let Some(n) = options.command_queue {
        config = config.mailbox_capacity(n);
    }
    let mut driver = match Driver::new(config) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{tool}: cannot create the event loop: {e}");
            return 1;
        }
    };
    let started = Instant::now();
    let id = driver.add_named_session(session, endpoint, tool);
    let handle = driver.handle(id).expect("just added");
    let submitter = handle.clone();
    stdin::spawn_reader(tool, out.clone(), move |command| {
        submit(&submitter, command)
    });
    let mut closing = false;
    let status = 'run: loop {
        if let Some(after) = options.exit_after {
            if !closing && started.elapsed() >= after {
                closing = true;
                let _ = handle.close();
            }
        }
        // `run_once` does not sleep while events wait (the first `Connecting`, queued by
        // `add_session`), and the session's own deadlines bound its wait: only --exit-after
        // adds one.
        let wait = match options.exit_after {
            Some(after) if !closing => Some(after.saturating_sub(started.elapsed())),
            _ => None,
        };
        if let Err(e) = driver.run_once(wait) {
            eprintln!("{tool}: the event loop failed: {e}");
            break 'run 1;
        }
        while let Some((_, event)) = driver.poll_event() {
            if let Some(command) = run.on_event(&event, out) {
                let _ = handle.command(command);
            }
            if let Some(status) = run.status(&event) {
                break 'run status;
            }
        }
    };
    // Commands that were queued when the session stopped are answered after its `Stopped`
    // (refused): one more turn of the loop prints them, as bind-smol's stream yields them.
    if driver.run_once(Some(Duration::ZERO)).is_ok() {
        while let Some((_, event)) = driver.poll_event() {
            out.emit(bind_support::feed_lines::line_for(&event));
        }
    }
    if let Some(session) = driver.session(id) {
        out.emit(bind_support::feed_lines::stats_line(session.stats()));
    }
    status
}
