//! `Driver::drain_events` against a real server on 127.0.0.1: a batch hands over every queued
//! event in `poll_event`'s order, and mixing the two loses and repeats nothing, across two
//! sessions on one driver.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bind_mio::{Driver, DriverConfig, SessionId};
use bind_support::no_copy::payloads_back_to_back;
use reconnect_core::Event as CoreEvent;
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{ServerConfig, TestServer};
use support::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(20);
/// Data messages to see per session.
const WANTED: usize = 300;

#[test]
fn drained_batches_keep_the_order_and_lose_nothing() {
    let server =
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(1))).unwrap();
    let mut driver = Driver::new(DriverConfig::default()).unwrap();
    let mut ids = Vec::new();
    for client in ["batch-1", "batch-2"] {
        let mut spec = ClientSpec::new(server.url(client), client);
        spec.channels = vec!["a".into()];
        // No liveness pings: a loaded machine must not cause a reconnect in the middle.
        spec.ping_interval = None;
        ids.push(driver.add_session(session_for(&spec).unwrap(), endpoint_for(&spec).unwrap()));
    }
    let deadline = Instant::now() + LIMIT;
    let mut seen: HashMap<SessionId, Vec<CoreEvent>> = HashMap::new();
    let mut batch = Vec::new();
    let mut round = 0u32;
    let mut batched = 0usize;
    let enough = |seen: &HashMap<SessionId, Vec<CoreEvent>>| {
        ids.iter().all(|id| {
            seen.get(id)
                .is_some_and(|s| s.iter().filter(|e| e.is_message()).count() >= WANTED)
        })
    };
    while !enough(&seen) {
        assert!(Instant::now() < deadline, "timed out; events: {seen:#?}");
        driver.run_once(Some(Duration::from_millis(50))).unwrap();
        round += 1;
        if round % 4 == 0 {
            // One at a time, as before.
            while let Some((id, event)) = driver.poll_event() {
                record(&mut seen, id, event);
            }
            continue;
        }
        // What `out` holds already stays in front.
        batch.push((ids[0], CoreEvent::Paused)); // a marker no session sends here
        let n = driver.drain_events(&mut batch);
        assert_eq!(
            batch.len(),
            n + 1,
            "a batch appends exactly what it reports"
        );
        assert_eq!(batch[0], (ids[0], CoreEvent::Paused));
        assert_eq!(driver.poll_event(), None, "a drain leaves nothing queued");
        batched += n;
        for (id, event) in batch.drain(1..) {
            record(&mut seen, id, event);
        }
        batch.clear();
    }
    assert!(batched > 0);
    for id in &ids {
        let events = &seen[id];
        assert!(
            matches!(events.first(), Some(CoreEvent::Connecting { .. })),
            "{events:#?}"
        );
        let live_at = events
            .iter()
            .position(|e| matches!(e, CoreEvent::Live { .. }))
            .expect("live");
        assert!(
            events[..live_at].iter().all(|e| !e.is_message()),
            "{events:#?}"
        );
        let seqs: Vec<u64> = events
            .iter()
            .filter(|e| e.topic().is_some_and(|t| t.as_str() == "a"))
            .filter_map(CoreEvent::seq)
            .collect();
        assert!(seqs.len() >= WANTED, "{} data messages", seqs.len());
        for pair in seqs.windows(2) {
            assert_eq!(pair[1], pair[0] + 1, "lost or reordered: {pair:?}");
        }
        assert!(
            events.iter().all(|e| !matches!(
                e,
                CoreEvent::Gap { .. } | CoreEvent::SequenceRegressed { .. }
            )),
            "{events:#?}"
        );
    }
}

fn record(seen: &mut HashMap<SessionId, Vec<CoreEvent>>, id: SessionId, event: CoreEvent) {
    assert!(!matches!(event, CoreEvent::Paused), "the marker came back");
    seen.entry(id).or_default().push(event);
}

/// No copy from the socket to the application: tungstenite reads a burst of messages into one
/// buffer and hands out each payload as a slice of it, so the payloads of messages that
/// arrived in one read sit back to back, one frame header (2 or 4 bytes from a server) apart.
/// A copy anywhere on the way (the conversion, the session, the driver's queue) would put each
/// payload in its own allocation, at least 8 bytes of allocator overhead apart.
#[test]
fn payloads_reach_the_application_where_tungstenite_read_them() {
    let server =
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(2))).unwrap();
    let mut driver = Driver::new(DriverConfig::default()).unwrap();
    let mut spec = ClientSpec::new(server.url("nocopy"), "nocopy");
    // Four channels: each tick's four messages go out in one write.
    spec.channels = vec!["a".into(), "b".into(), "c".into(), "d".into()];
    spec.ping_interval = None;
    driver.add_session(session_for(&spec).unwrap(), endpoint_for(&spec).unwrap());
    let deadline = Instant::now() + LIMIT;
    // The frames stay alive, so no address is reused while we compare.
    let mut frames = Vec::new();
    let mut batch = Vec::new();
    while frames.len() < 400 {
        assert!(Instant::now() < deadline, "timed out");
        driver.run_once(Some(Duration::from_millis(50))).unwrap();
        driver.drain_events(&mut batch);
        frames.extend(batch.drain(..).filter_map(|(_, e)| e.into_frame()));
    }
    assert!(frames.iter().all(|f| f.as_text().is_some()));
    let adjacent = payloads_back_to_back(&frames);
    assert!(
        adjacent > 0,
        "no two of {} payloads share tungstenite's read buffer: something copies them",
        frames.len()
    );
}
