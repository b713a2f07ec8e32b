//! The task publishes a batch's message counts before it hands the batch over: whatever number
//! of messages the application has taken, `reconnect_frames_received_total` already counts at
//! least that many. (A message only marks the counts stale; without the publish at each
//! hand-over the counter would stay where the last other event left it.)

mod support;

use std::time::{Duration, Instant};

use bind_smol::Options;
use metrics_exporter_prometheus::PrometheusBuilder;
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{ServerConfig, TestServer};
use support::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(20);
const WANTED: usize = 300;

/// The value of `reconnect_frames_received_total` in the exporter's text.
fn frames_received(text: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with("reconnect_frames_received_total"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn the_counts_are_published_before_each_batch_is_handed_over() {
    let server =
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(1))).unwrap();
    let mut spec = ClientSpec::new(server.url("counted"), "counted");
    spec.channels = vec!["a".into(), "b".into()];
    spec.ping_interval = None;
    // A recorder of this test's own (not the process's global one): the session's metric
    // handles are registered when `connect` makes them.
    let recorder = PrometheusBuilder::new().build_recorder();
    let exporter = recorder.handle();
    let (handle, mut events, task) = metrics::with_local_recorder(&recorder, || {
        bind_smol::connect(
            session_for(&spec).unwrap(),
            endpoint_for(&spec).unwrap(),
            Options::default(),
        )
    });
    let task = std::thread::spawn(move || smol::block_on(task));
    let deadline = Instant::now() + LIMIT;

    let mut taken = 0usize;
    let mut checks = 0usize;
    let mut batch = Vec::new();
    smol::block_on(async {
        while taken < WANTED {
            assert!(
                Instant::now() < deadline,
                "timed out after {taken} messages"
            );
            assert!(events.next_batch(&mut batch).await > 0, "ended");
            taken += batch.drain(..).filter(|e| e.is_message()).count();
            let counted = frames_received(&exporter.render());
            assert!(
                counted >= taken as f64,
                "{taken} messages taken, the counter says {counted}"
            );
            checks += 1;
        }
    });
    handle.try_close().unwrap();
    drop(events);
    task.join().unwrap();
    assert!(
        checks > 1,
        "one batch only: nothing was compared between batches"
    );
}
