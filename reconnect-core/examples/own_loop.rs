//! The "drive the core from your own loop" program of README.md: the lines between the
//! `ANCHOR` markers are the README's code block, word for word (the test kit's
//! `tests/readme.rs` checks it and runs this program).
//!
//! `cargo run -p reconnect-core --example own_loop`
// ANCHOR: readme
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Action, Config, Event, Input, Output, Session};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::for_client("collector-7");
    config.liveness.ping_interval = Some(Duration::from_millis(250));
    let mut session = Session::new(config, RawAdapter::new())?;
    let start = Instant::now();
    session.subscribe(start, r#"{"op":"subscribe","args":["trades"]}"#)?;
    session.send(start, "hello")?; // waits in the outbox until the session is live
    session.start(start)?;

    // This toy's "network" is an echo peer in memory: what it answers waits in `replies`.
    let mut replies: VecDeque<Input> = VecDeque::new();
    let close_at = start + Duration::from_secs(1);
    let mut closing = false;
    loop {
        // 1. Drain every output after every call, in order, and perform the actions.
        for output in session.drain() {
            match output {
                // A real driver starts a non-blocking connect and reports `Opened` later.
                Output::Action(Action::Connect { conn, .. }) => {
                    replies.push_back(Input::Opened { conn })
                }
                Output::Action(Action::Send { conn, frame, .. }) => {
                    replies.push_back(Input::Frame { conn, frame }) // echoed
                }
                Output::Action(Action::Ping { conn }) => {
                    println!("ping"); // sent only after `ping_interval` without inbound data
                    replies.push_back(Input::Pong { conn });
                }
                Output::Action(Action::Close { conn, code, .. }) => {
                    let reason = String::new();
                    replies.push_back(Input::Closed {
                        conn,
                        code: Some(code),
                        reason,
                    });
                }
                // Drop that socket now: nothing of it may reach the session any more.
                Output::Action(Action::Release { conn }) => replies.retain(|r| r.conn() != conn),
                Output::Event(Event::Message { frame, .. }) => println!("message: {frame:?}"),
                Output::Event(Event::Stopped { reason }) => {
                    println!("stopped: {reason:?}"); // the last output
                    return Ok(());
                }
                Output::Event(event) => println!("{event:?}"),
            }
        }
        // 2. Feed what the transport reported, tagged with its ConnId.
        if let Some(reply) = replies.pop_front() {
            session.handle_input(Instant::now(), reply);
            continue;
        }
        if !closing && Instant::now() >= close_at {
            session.close(Instant::now())?; // a close frame, then `Stopped` once answered
            closing = true;
            continue;
        }
        // 3. Wait until the session's next deadline. A real driver waits for socket readiness
        //    *or* this deadline, whichever comes first (mio's `Poll::poll` with a timeout,
        //    epoll, a `select!`), and never spins: this toy has no socket, so it only sleeps.
        let mut wake = session.poll_timeout().unwrap_or(close_at);
        if !closing {
            wake = wake.min(close_at);
        }
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
        session.handle_timeout(Instant::now()); // runs whatever is due (early calls do nothing)
    }
}
// ANCHOR_END: readme
