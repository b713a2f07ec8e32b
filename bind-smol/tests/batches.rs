//! `EventStream::next_batch` / `try_next_batch` against a real server on 127.0.0.1: a batch
//! hands over every waiting event in the stream's order, and mixing batches with `next()` loses
//! and repeats nothing.

mod support;

use std::time::{Duration, Instant};

use bind_smol::{Event, Options};
use bind_support::no_copy::payloads_back_to_back;
use futures_lite::StreamExt;
use reconnect_core::Event as CoreEvent;
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{ServerConfig, TestServer};
use support::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(20);
/// Data messages to see on the one channel.
const WANTED: usize = 400;

#[test]
fn batches_keep_the_order_and_lose_nothing() {
    let server =
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(1))).unwrap();
    let mut spec = ClientSpec::new(server.url("batches"), "batches");
    spec.channels = vec!["a".into(), "b".into(), "c".into()];
    // No liveness pings: a loaded machine must not cause a reconnect in the middle.
    spec.ping_interval = None;
    let (handle, mut events, task) = bind_smol::connect(
        session_for(&spec).unwrap(),
        endpoint_for(&spec).unwrap(),
        Options::default(),
    );
    let task = std::thread::spawn(move || smol::block_on(task));
    let deadline = Instant::now() + LIMIT;

    let mut seen: Vec<CoreEvent> = Vec::new();
    let mut batch = Vec::new();
    let mut batches = 0usize;
    let mut largest = 0usize;
    let messages = |seen: &[CoreEvent]| seen.iter().filter(|e| e.is_message()).count();
    smol::block_on(async {
        let mut round = 0u32;
        while messages(&seen) < WANTED {
            assert!(Instant::now() < deadline, "timed out; events: {seen:#?}");
            round += 1;
            // Three ways to take events, in turn: one event, a waiting batch, a non-blocking
            // batch (which may find nothing). Whatever a batch appends comes after what `batch`
            // holds already.
            // The pauses let events pile up, so that `next()` leaves some of the batch it
            // took behind and the following batch finds both those and newer ones waiting.
            if round % 3 != 2 {
                async_io::Timer::after(Duration::from_millis(30)).await;
            }
            match round % 3 {
                0 => match events.next().await {
                    Some(Event::Refused(r)) => panic!("unexpected {r:?}"),
                    Some(e) => seen.push(e),
                    None => panic!("the stream ended; events: {seen:#?}"),
                },
                1 => {
                    batch.push(Event::Refused(marker()));
                    let n = events.next_batch(&mut batch).await;
                    assert!(n > 0, "the stream ended; events: {seen:#?}");
                    assert_eq!(
                        batch.len(),
                        n + 1,
                        "a batch appends exactly what it reports"
                    );
                    assert_eq!(
                        batch[0],
                        Event::Refused(marker()),
                        "what `out` held stays first"
                    );
                    batches += 1;
                    largest = largest.max(n);
                    take(&mut batch, &mut seen, 1);
                }
                _ => {
                    let n = events.try_next_batch(&mut batch);
                    assert!(!events.is_ended(), "not ended");
                    assert_eq!(batch.len(), n);
                    take(&mut batch, &mut seen, 0);
                    if n == 0 {
                        async_io::Timer::after(Duration::from_millis(2)).await;
                    }
                }
            }
        }
    });
    handle.try_close().unwrap();
    // Drain to the end: the last batch ends with `Stopped`, then 0 for good.
    smol::block_on(async {
        loop {
            assert!(Instant::now() < deadline, "no end; events: {seen:#?}");
            let n = events.next_batch(&mut batch).await;
            if n == 0 {
                break;
            }
            take(&mut batch, &mut seen, 0);
        }
        assert_eq!(events.next_batch(&mut batch).await, 0);
        assert_eq!(events.try_next_batch(&mut batch), 0);
        assert!(events.is_ended());
    });
    task.join().unwrap();

    // The stream's order: the lifecycle first, then the data, each seq once and in order.
    assert!(
        matches!(seen.first(), Some(CoreEvent::Connecting { .. })),
        "{seen:#?}"
    );
    assert!(
        matches!(seen.last(), Some(CoreEvent::Stopped { .. })),
        "{seen:#?}"
    );
    let live_at = seen
        .iter()
        .position(|e| matches!(e, CoreEvent::Live { .. }))
        .expect("live");
    for channel in ["a", "b", "c"] {
        let seqs: Vec<u64> = seen
            .iter()
            .filter(|e| e.topic().is_some_and(|t| t.as_str() == channel))
            .filter_map(CoreEvent::seq)
            .collect();
        assert!(
            seqs.len() >= WANTED / 4,
            "{} data messages on {channel}",
            seqs.len()
        );
        for pair in seqs.windows(2) {
            assert_eq!(
                pair[1],
                pair[0] + 1,
                "lost or reordered on {channel}: {pair:?}"
            );
        }
    }
    assert!(
        seen.iter().all(|e| !matches!(
            e,
            CoreEvent::Gap { .. } | CoreEvent::SequenceRegressed { .. }
        )),
        "{seen:#?}"
    );
    assert!(
        seen[..live_at].iter().all(|e| !e.is_message()),
        "data before live: {seen:#?}"
    );
    assert!(batches > 0 && largest > 0);
}

/// A refusal this session never produces here, to mark what `out` held before a batch.
fn marker() -> reconnect_core::Refused {
    reconnect_core::Refused {
        command: reconnect_core::CommandKind::Pause,
        refusal: reconnect_core::Refusal::Command(reconnect_core::CommandError::Stopped),
    }
}

/// Moves `batch[skip..]` (session events only) to `seen` and clears `batch`.
fn take(batch: &mut Vec<Event>, seen: &mut Vec<CoreEvent>, skip: usize) {
    for event in batch.drain(..).skip(skip) {
        assert!(!matches!(event, Event::Refused(_)), "unexpected {event:?}");
        seen.push(event);
    }
}

/// No copy from the socket to the application: tungstenite reads a burst of messages into one
/// buffer and hands out each payload as a slice of it, so the payloads of messages that
/// arrived in one read sit back to back, one frame header (2 or 4 bytes from a server) apart.
/// A copy anywhere on the way (the conversion, the session, the binding's queue) would put
/// each payload in its own allocation, at least 8 bytes of allocator overhead apart.
#[test]
fn payloads_reach_the_application_where_tungstenite_read_them() {
    let server =
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(2))).unwrap();
    let mut spec = ClientSpec::new(server.url("nocopy"), "nocopy");
    // Four channels: each tick's four messages go out in one write.
    spec.channels = vec!["a".into(), "b".into(), "c".into(), "d".into()];
    spec.ping_interval = None;
    let (handle, mut events, task) = bind_smol::connect(
        session_for(&spec).unwrap(),
        endpoint_for(&spec).unwrap(),
        Options::default(),
    );
    let task = std::thread::spawn(move || smol::block_on(task));
    let deadline = Instant::now() + LIMIT;
    // The frames stay alive, so no address is reused while we compare.
    let mut frames = Vec::new();
    let mut batch = Vec::new();
    smol::block_on(async {
        while frames.len() < 400 {
            assert!(Instant::now() < deadline, "timed out");
            assert!(events.next_batch(&mut batch).await > 0, "ended");
            frames.extend(batch.drain(..).filter_map(Event::into_frame));
        }
    });
    handle.try_close().unwrap();
    drop(events);
    task.join().unwrap();
    assert!(frames.iter().all(|f| f.as_text().is_some()));
    let adjacent = payloads_back_to_back(&frames);
    assert!(
        adjacent > 0,
        "no two of {} payloads share tungstenite's read buffer: something copies them",
        frames.len()
    );
}
