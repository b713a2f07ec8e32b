//! `record_batched` + `publish` give the counts `record` gives, as of the batch's end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Action, Config, Event, Frame, Input, Output, Session};

use super::SessionMetrics;

/// Every counter by name (the test's one session is the only label value).
#[derive(Default)]
struct Counters(Mutex<HashMap<String, Arc<AtomicU64>>>);

impl Counters {
    fn get(&self, name: &str) -> u64 {
        let map = self.0.lock().unwrap();
        map.get(name).map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

impl Recorder for Counters {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut map = self.0.lock().unwrap();
        let counter = map.entry(key.name().to_string()).or_default();
        Counter::from_arc(Arc::clone(counter))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// Takes every output, recording its events batched; returns the connection asked for, if any.
fn drain(
    session: &mut Session<RawAdapter>,
    metrics: &mut SessionMetrics,
) -> Option<reconnect_core::ConnId> {
    let mut connect = None;
    while let Some(output) = session.poll_output() {
        match output {
            Output::Event(event) => metrics.record_batched(&event, session),
            Output::Action(Action::Connect { conn, .. }) => connect = Some(conn),
            Output::Action(_) => {}
        }
    }
    connect
}

#[test]
fn batched_messages_are_published_at_the_end_of_the_batch_and_by_the_next_other_event() {
    let counters = Counters::default();
    let mut metrics = metrics::with_local_recorder(&counters, || SessionMetrics::new("t"));
    let mut session = Session::new(Config::new(7), RawAdapter::new()).unwrap();
    let t0 = Instant::now();
    session.start(t0).unwrap();
    let conn = drain(&mut session, &mut metrics).expect("start asks for a connection");
    session.handle_input(t0, Input::Opened { conn });
    drain(&mut session, &mut metrics);
    metrics.publish(&session);
    assert_eq!(counters.get("reconnect_connects_total"), 1);
    assert_eq!(counters.get("reconnect_frames_received_total"), 0);

    // A batch of three messages: published once, at its end.
    for text in ["a", "b", "c"] {
        let frame = Frame::text(text);
        session.handle_input(t0, Input::Frame { conn, frame });
        drain(&mut session, &mut metrics);
    }
    metrics.publish(&session);
    assert_eq!(counters.get("reconnect_frames_received_total"), 3);
    // Nothing new: publishing again changes nothing.
    metrics.publish(&session);
    assert_eq!(counters.get("reconnect_frames_received_total"), 3);

    // Two more messages, then an event that is not one (the connection fails): recording it
    // publishes the messages' counts without a `publish`.
    for text in ["d", "e"] {
        let frame = Frame::text(text);
        session.handle_input(t0, Input::Frame { conn, frame });
        drain(&mut session, &mut metrics);
    }
    let error = reconnect_core::TransportError::new(reconnect_core::TransportErrorKind::Io, "x");
    session.handle_input(t0, Input::Failed { conn, error });
    let mut saw_disconnect = false;
    while let Some(output) = session.poll_output() {
        if let Output::Event(event) = output {
            saw_disconnect |= matches!(event, Event::Disconnected { .. });
            metrics.record_batched(&event, &session);
        }
    }
    assert!(saw_disconnect);
    assert_eq!(counters.get("reconnect_frames_received_total"), 5);
}
