//! `record_batched` + `publish` give the counts `record` gives, as of the batch's end; the
//! `reconnect_live` and `reconnect_state` gauges follow a real session through its states.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use metrics::{
    Counter, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Action, Config, Event, Frame, Input, Output, Session};

use super::SessionMetrics;

/// Every counter by name (the test's one session is the only label value), and every gauge
/// by name and labels.
#[derive(Default)]
struct Captured {
    counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
    gauges: Mutex<HashMap<String, Arc<GaugeCell>>>,
}

/// A gauge's last value, as the bits of an `f64`; NaN until the recorder first sets it, so that
/// a gauge never set is told apart from one set to 0.
struct GaugeCell(AtomicU64);

impl GaugeCell {
    fn unset() -> Self {
        GaugeCell(AtomicU64::new(f64::NAN.to_bits()))
    }

    /// A gauge never set counts from 0, as in an exporter.
    fn add(&self, delta: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                let current = f64::from_bits(bits);
                let base = if current.is_nan() { 0.0 } else { current };
                Some((base + delta).to_bits())
            });
    }
}

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.add(value);
    }
    fn decrement(&self, value: f64) {
        self.add(-value);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

/// `name{label=value,...}` with the labels sorted, so that the order the recorder gives them in
/// does not matter.
fn gauge_key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    format!("{name}{{{}}}", labels.join(","))
}

impl Captured {
    fn get(&self, name: &str) -> u64 {
        let map = self.counters.lock().unwrap();
        map.get(name).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// The gauge's last value; `None` if it was never registered or never set.
    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let map = self.gauges.lock().unwrap();
        let value = f64::from_bits(map.get(&gauge_key(name, labels))?.0.load(Ordering::Relaxed));
        (!value.is_nan()).then_some(value)
    }
}

impl Recorder for Captured {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut map = self.counters.lock().unwrap();
        let counter = map.entry(key.name().to_string()).or_default();
        Counter::from_arc(Arc::clone(counter))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
        let mut map = self.gauges.lock().unwrap();
        let cell = map
            .entry(gauge_key(key.name(), &labels))
            .or_insert_with(|| Arc::new(GaugeCell::unset()));
        Gauge::from_arc(Arc::clone(cell))
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
    let counters = Captured::default();
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

/// The `state` label's values, written out from the module's docs.
const STATE_LABELS: [&str; 11] = [
    "idle",
    "awaiting_credentials",
    "connecting",
    "authenticating",
    "setting_up",
    "resubscribing",
    "live",
    "closing",
    "backoff",
    "paused",
    "stopped",
];

/// Takes every output, recording each event as it comes; returns the connection asked for, if
/// any, and the events.
fn drain_recording(
    session: &mut Session<RawAdapter>,
    metrics: &mut SessionMetrics,
) -> (Option<reconnect_core::ConnId>, Vec<Event>) {
    let mut connect = None;
    let mut events = Vec::new();
    while let Some(output) = session.poll_output() {
        match output {
            Output::Event(event) => {
                metrics.record(&event, session);
                events.push(event);
            }
            Output::Action(Action::Connect { conn, .. }) => connect = Some(conn),
            Output::Action(_) => {}
        }
    }
    (connect, events)
}

/// `reconnect_state` is 1 for `current` and 0 for every other label (every one of them for
/// `None`), and `reconnect_live` is 1 exactly when `current` is live; no other state label
/// exists.
fn assert_state_gauges(captured: &Captured, current: Option<&str>, when: &str) {
    for label in STATE_LABELS {
        let expected = if Some(label) == current { 1.0 } else { 0.0 };
        assert_eq!(
            captured.gauge("reconnect_state", &[("session", "g"), ("state", label)]),
            Some(expected),
            "{when}: reconnect_state{{state={label}}}"
        );
    }
    let live = if current == Some("live") { 1.0 } else { 0.0 };
    assert_eq!(
        captured.gauge("reconnect_live", &[("session", "g")]),
        Some(live),
        "{when}: reconnect_live"
    );
    let state_series = captured
        .gauges
        .lock()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("reconnect_state{"))
        .count();
    assert_eq!(state_series, STATE_LABELS.len(), "{when}: state series");
}

#[test]
fn the_live_and_state_gauges_follow_the_session_through_connect_live_disconnect_and_backoff() {
    let captured = Captured::default();
    let mut metrics = metrics::with_local_recorder(&captured, || SessionMetrics::new("g"));
    // Every series exists at 0 before the first event.
    assert_state_gauges(&captured, None, "before start");

    let mut session = Session::new(Config::new(7), RawAdapter::new()).unwrap();
    let t0 = Instant::now();
    session.start(t0).unwrap();
    let (conn, _) = drain_recording(&mut session, &mut metrics);
    let conn = conn.expect("start asks for a connection");
    assert_state_gauges(&captured, Some("connecting"), "connecting");

    // The raw adapter needs no auth and no acknowledgements: opened is live.
    session.handle_input(t0, Input::Opened { conn });
    let (_, events) = drain_recording(&mut session, &mut metrics);
    assert!(
        events.iter().any(|e| matches!(e, Event::Live { .. })),
        "{events:?}"
    );
    assert_state_gauges(&captured, Some("live"), "live");

    // The connection drops: disconnected, then a backoff before the next attempt.
    let error = reconnect_core::TransportError::new(reconnect_core::TransportErrorKind::Reset, "x");
    session.handle_input(t0, Input::Failed { conn, error });
    let (_, events) = drain_recording(&mut session, &mut metrics);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Disconnected { .. })),
        "{events:?}"
    );
    assert_state_gauges(&captured, Some("backoff"), "backoff after the drop");

    // The backoff ends: a new attempt, then live again.
    let due = session.poll_timeout().expect("a backoff has a deadline");
    session.handle_timeout(due);
    let (conn, _) = drain_recording(&mut session, &mut metrics);
    let conn = conn.expect("the backoff's end asks for a connection");
    assert_state_gauges(&captured, Some("connecting"), "connecting again");
    session.handle_input(due, Input::Opened { conn });
    drain_recording(&mut session, &mut metrics);
    assert_state_gauges(&captured, Some("live"), "live again");

    // The application closes: a close handshake, then stopped for good. Starting the
    // handshake produces no event, and the gauges are as of the last event (the module's
    // docs), so they are checked again only once the session has stopped.
    session.close(due).unwrap();
    let (_, events) = drain_recording(&mut session, &mut metrics);
    assert!(events.is_empty(), "{events:?}");
    session.handle_input(
        due,
        Input::Closed {
            conn,
            code: Some(1000),
            reason: String::new(),
        },
    );
    let (_, events) = drain_recording(&mut session, &mut metrics);
    assert!(
        events.iter().any(|e| matches!(e, Event::Stopped { .. })),
        "{events:?}"
    );
    assert_state_gauges(&captured, Some("stopped"), "stopped");
}
