//! A consumer slower than its feed: the session's task stops reading while the event queue is
//! full, so memory stays bounded by `event_capacity`, and every message still arrives, in
//! order, once the consumer catches up. Also: a flooded session on one executor thread leaves
//! room for the other tasks of that thread, and what it sends goes out while the flood lasts.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bind_smol::{Endpoint, Options};
use futures_lite::StreamExt;
use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Config, Event as CoreEvent, Session};
use reconnect_testkit::bench::Flood;

/// Only a real hang reaches it.
const LIMIT: Duration = Duration::from_secs(60);

fn quiet_session() -> Session<RawAdapter> {
    // No pings: a consumer that pauses must not be mistaken for a dead peer here.
    let mut config = Config::new(3);
    config.liveness.ping_interval = None;
    Session::new(config, RawAdapter::new()).unwrap()
}

#[test]
fn a_flooded_session_leaves_its_thread_to_other_tasks() {
    const MESSAGES: usize = 200_000;
    let flood = Flood::start(64, MESSAGES).unwrap();
    let endpoint = Endpoint::new(&flood.url()).unwrap();
    let (handle, mut events, task) =
        bind_smol::connect(quiet_session(), endpoint, Options::default());
    let executor = smol::LocalExecutor::new();
    let task = executor.spawn(task);
    // A neighbour that counts its turns while the flood is read on the same thread.
    let ticks = Rc::new(Cell::new(0u32));
    let neighbour = executor.spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                ticks.set(ticks.get() + 1);
                futures_lite::future::yield_now().await;
            }
        }
    });
    smol::block_on(executor.run(async {
        let started = Instant::now();
        let mut received = 0;
        let mut first_half = None;
        while received < MESSAGES {
            assert!(started.elapsed() < LIMIT, "stalled at {received}");
            if let Some(CoreEvent::Message { .. }) = events.next().await {
                received += 1;
                if received == MESSAGES / 2 {
                    first_half = Some(ticks.get());
                }
            }
        }
        // The session yields every 128 inputs, so the neighbour ran all along, not only after.
        let halfway = first_half.expect("halfway");
        assert!(
            halfway > 10,
            "the neighbour ran {halfway} times in 100,000 messages"
        );
        handle.close().await.ok(); // Err(Gone) if it had stopped already
        handle.closed().await;
        task.await;
    }));
    drop(neighbour);
}

#[test]
fn what_the_session_sends_goes_out_while_a_flood_comes_in() {
    // Long enough that the flood is still coming in when the send is made.
    const MESSAGES: usize = 1_000_000;
    let flood = Flood::start(64, MESSAGES).unwrap();
    let endpoint = Endpoint::new(&flood.url()).unwrap();
    let (handle, mut events, task) =
        bind_smol::connect(quiet_session(), endpoint, Options::default());
    let task = smol::spawn(task);
    smol::block_on(async {
        let started = Instant::now();
        let mut received = 0;
        let mut sent_at = None;
        while received < MESSAGES {
            assert!(started.elapsed() < LIMIT, "stalled at {received}");
            if let Some(CoreEvent::Message { .. }) = events.next().await {
                received += 1;
            }
            if received == 1_000 && sent_at.is_none() {
                // Reading never pauses from here on: the socket always has more of the flood.
                handle.send("an order").await.unwrap();
                sent_at = Some(received);
            }
            if sent_at.is_some() && flood.received_bytes() > 0 {
                break;
            }
        }
        // A heartbeat reply or an order must not wait for the flood to end.
        assert!(
            received < MESSAGES - 100_000,
            "the frame left only after {received} of {MESSAGES} messages"
        );
    });
    // Cancelled, not closed: the flood never answers a close frame.
    drop(task);
    drop(handle);
}
