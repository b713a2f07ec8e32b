//! What a spawned, idle session task costs in memory: the session once, plus small change.
//!
//! Read from the process's resident set (`/proc/self/statm`) around spawning 2,000 tasks whose
//! sessions were made beforehand, so that only what `connect` and the spawn allocate is
//! counted. The tasks are never polled: no socket, no clock, nothing else allocates.

use bind_smol::{Endpoint, Options};
use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Config, Session};
use reconnect_testkit::bench::rss_bytes;

const TASKS: usize = 2_000;

#[test]
fn a_spawned_task_holds_its_session_once() {
    let sessions: Vec<_> = (0..TASKS)
        .map(|_| Session::new(Config::new(1), RawAdapter::new()).unwrap())
        .collect();
    let endpoints: Vec<_> = (0..TASKS)
        .map(|_| Endpoint::new("ws://127.0.0.1:1/").unwrap())
        .collect();
    let executor = smol::LocalExecutor::new();
    let mut kept = Vec::with_capacity(TASKS);
    // The executor's first-spawn bookkeeping is not a task's.
    executor.spawn(async {}).detach();

    let before = rss_bytes().unwrap();
    for (session, endpoint) in sessions.into_iter().zip(endpoints) {
        let (handle, events, task) = bind_smol::connect(session, endpoint, Options::default());
        kept.push((handle, events, executor.spawn(task)));
    }
    let per_task = rss_bytes().unwrap().saturating_sub(before) as usize / TASKS;

    // The session (moved into the task, once) and a few small allocations beside it: the
    // mailbox, the event queue, the session's name, the task's header and the rest of its
    // state. The session held twice (the future's room and the output's room in the
    // executor's task) is well over this.
    let session = std::mem::size_of::<Session<RawAdapter>>();
    let bound = session + session / 2;
    eprintln!("{per_task} bytes per spawned task; the session is {session} bytes");
    assert!(
        per_task <= bound,
        "{per_task} bytes per spawned task; the session is {session} bytes, bound {bound}"
    );
    drop(kept);
}
