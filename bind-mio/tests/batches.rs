//! `Driver::drain_events` against a real server on 127.0.0.1: a batch hands over every queued
//! event in `poll_event`'s order, and mixing the two loses and repeats nothing, across two
//! sessions on one driver.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bind_mio::{Driver, DriverConfig, Event, SessionId};
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
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(1)))
            .unwrap();
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
        batch.push((ids[0], Event::Removed));
        let n = driver.drain_events(&mut batch);
        assert_eq!(batch.len(), n + 1, "a batch appends exactly what it reports");
        assert_eq!(batch[0], (ids[0], Event::Removed));
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
        assert!(matches!(events.first(), Some(CoreEvent::Connecting { .. })), "{events:#?}");
        let live_at = events
            .iter()
            .position(|e| matches!(e, CoreEvent::Live { .. }))
            .expect("live");
        assert!(events[..live_at].iter().all(|e| !e.is_message()), "{events:#?}");
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
            events
                .iter()
                .all(|e| !matches!(e, CoreEvent::Gap { .. } | CoreEvent::SequenceRegressed { .. })),
            "{events:#?}"
        );
    }
}

fn record(seen: &mut HashMap<SessionId, Vec<CoreEvent>>, id: SessionId, event: Event) {
    match event {
        Event::Session(e) => seen.entry(id).or_default().push(e),
        other => panic!("unexpected {other:?}"),
    }
}
