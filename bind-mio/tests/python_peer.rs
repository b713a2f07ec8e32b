//! Interop with an independent implementation: the kit's Python `websockets` peer.
//!
//! Needs `RECONNECT_PYTHON` (see `tests/python/setup.sh`); skipped loudly without it, unless `CI`
//! is set. The driver runs on the test thread here, with `run_once` and `poll_event`, the way an
//! application that owns its loop would use it.

mod support;

use std::time::{Duration, Instant};

use bind_mio::{Driver, DriverConfig, Event, SessionId};
use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{EndCause, Event as CoreEvent, StopReason, TransportErrorKind};
use reconnect_testkit::peer::{python_or_skip, PythonPeer};
use reconnect_testkit::scenario::ClientSpec;
use serde_json::json;
use support::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(15);

/// A driver on this thread with one session for `spec`.
fn driver_for(spec: &ClientSpec) -> (Driver<JsonRpcAdapter>, SessionId) {
    let mut driver = Driver::new(DriverConfig::default()).unwrap();
    let id = driver.add_session(session_for(spec).unwrap(), endpoint_for(spec).unwrap());
    (driver, id)
}

/// Runs the driver until `done` says so (or panics after `LIMIT`), returning every core event
/// seen, in order.
fn run_until(
    driver: &mut Driver<JsonRpcAdapter>,
    seen: &mut Vec<CoreEvent>,
    mut done: impl FnMut(&[CoreEvent]) -> bool,
) {
    let deadline = Instant::now() + LIMIT;
    while !done(seen) {
        assert!(
            Instant::now() < deadline,
            "timed out; events so far: {:#?}",
            &seen[seen.len().saturating_sub(20)..]
        );
        driver.run_once(Some(Duration::from_millis(20))).unwrap();
        while let Some((_, event)) = driver.poll_event() {
            if let Event::Session(e) = event {
                seen.push(e);
            }
        }
    }
}

/// Runs the driver for `span`, returning the events seen in it.
fn run_for(driver: &mut Driver<JsonRpcAdapter>, span: Duration) -> Vec<CoreEvent> {
    let until = Instant::now() + span;
    let mut seen = Vec::new();
    run_until(driver, &mut seen, |_| Instant::now() >= until);
    seen
}

fn count(seen: &[CoreEvent], f: impl Fn(&CoreEvent) -> bool) -> usize {
    seen.iter().filter(|e| f(e)).count()
}

fn messages_on(seen: &[CoreEvent], channel: &str) -> Vec<u64> {
    seen.iter()
        .filter_map(|e| match e {
            CoreEvent::Message {
                topic: Some(t),
                seq: Some(s),
                ..
            } if t.as_str() == channel => Some(*s),
            _ => None,
        })
        .collect()
}

fn spec_for(peer: &PythonPeer, client: &str) -> ClientSpec {
    let mut spec = ClientSpec::new(peer.url(client), client);
    spec.auth = Some(json!({"key": "k"}));
    spec
}

#[test]
fn goes_live_and_answers_heartbeats_of_the_python_peer() {
    let Some(python) = python_or_skip("goes_live_and_answers_heartbeats_of_the_python_peer") else {
        return;
    };
    let peer = PythonPeer::start(&python, &["--data-interval", "0.01"]).unwrap();
    let mut spec = spec_for(&peer, "hb");
    // The peer closes (4000) a connection that leaves one test_request unanswered.
    spec.heartbeat = Some(Duration::from_millis(50));
    let (mut driver, _) = driver_for(&spec);
    let mut seen = Vec::new();
    run_until(&mut driver, &mut seen, |s| {
        count(s, |e| matches!(e, CoreEvent::Live { .. })) == 1
    });
    assert_eq!(
        count(&seen, |e| matches!(e, CoreEvent::Subscribed { .. })),
        2,
        "a and b acknowledged: {seen:#?}"
    );
    assert_eq!(
        count(&seen, |e| matches!(e, CoreEvent::Authenticated { .. })),
        1
    );

    // A second with a test_request every 50 ms and data every 10 ms: none unanswered.
    let later = run_for(&mut driver, Duration::from_secs(1));
    assert_eq!(
        count(&later, |e| matches!(
            e,
            CoreEvent::Disconnected { .. } | CoreEvent::Gap { .. }
        )),
        0,
        "{later:#?}"
    );
    for channel in ["a", "b"] {
        let seqs = messages_on(&later, channel);
        assert!(seqs.len() >= 20, "{channel}: {} messages", seqs.len());
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "{channel} numbered without holes: {seqs:?}"
        );
    }
}

#[test]
fn reconnect_now_restores_on_the_python_peer_without_gaps() {
    let Some(python) = python_or_skip("reconnect_now_restores_on_the_python_peer_without_gaps")
    else {
        return;
    };
    let peer = PythonPeer::start(&python, &["--data-interval", "0.01"]).unwrap();
    let spec = spec_for(&peer, "again");
    let (mut driver, id) = driver_for(&spec);
    let mut seen = Vec::new();
    run_until(&mut driver, &mut seen, |s| messages_on(s, "a").len() >= 5);
    for _ in 0..3 {
        let lives = count(&seen, |e| matches!(e, CoreEvent::Live { .. }));
        driver.handle(id).unwrap().reconnect_now().unwrap();
        run_until(&mut driver, &mut seen, |s| {
            count(s, |e| matches!(e, CoreEvent::Live { .. })) == lives + 1
        });
    }
    run_until(&mut driver, &mut seen, |s| {
        let a = messages_on(s, "a");
        a.len() >= 20
    });
    assert_eq!(count(&seen, |e| matches!(e, CoreEvent::Live { .. })), 4);
    assert_eq!(
        count(&seen, |e| matches!(
            e,
            CoreEvent::Disconnected {
                cause: EndCause::ReconnectRequested,
                ..
            }
        )),
        3
    );
    assert_eq!(
        count(&seen, |e| matches!(e, CoreEvent::Subscribed { .. })),
        8,
        "a and b restored on each of four connections"
    );
    // The peer numbers per client across connections. What it sent on a connection the client
    // had already released is lost: each such jump, and only those, is reported as a gap.
    for channel in ["a", "b"] {
        let seqs = messages_on(&seen, channel);
        assert!(seqs.windows(2).all(|w| w[1] > w[0]), "{channel}: {seqs:?}");
        let jumps = seqs.windows(2).filter(|w| w[1] != w[0] + 1).count();
        let gaps = count(
            &seen,
            |e| matches!(e, CoreEvent::Gap { topic, .. } if topic.as_str() == channel),
        );
        assert_eq!(gaps, jumps, "{channel}: {seqs:?}");
    }
}

#[test]
fn wrong_credentials_stop_fatally_at_the_python_peer() {
    let Some(python) = python_or_skip("wrong_credentials_stop_fatally_at_the_python_peer") else {
        return;
    };
    let peer = PythonPeer::start(&python, &["--credentials", r#"{"key":"right"}"#]).unwrap();
    let mut spec = spec_for(&peer, "wrong");
    spec.auth = Some(json!({"key": "wrong"}));
    let (mut driver, _) = driver_for(&spec);
    let mut seen = Vec::new();
    run_until(&mut driver, &mut seen, |s| {
        s.iter().any(|e| matches!(e, CoreEvent::Stopped { .. }))
    });
    let stop = seen
        .iter()
        .find_map(|e| match e {
            CoreEvent::Stopped { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        matches!(stop, StopReason::Fatal(EndCause::AuthRejected(ref e)) if e.code == Some(13004)),
        "{stop:?}"
    );
    assert_eq!(
        count(&seen, |e| matches!(e, CoreEvent::Connecting { .. })),
        1
    );
    assert_eq!(driver.sockets(), 0, "the stopped session holds no socket");
}

#[test]
fn a_vanished_python_peer_is_retried_as_refused_and_close_ends_it_cleanly() {
    let Some(python) = python_or_skip("a_vanished_python_peer_is_retried_as_refused") else {
        return;
    };
    let peer = PythonPeer::start(&python, &[]).unwrap();
    let spec = spec_for(&peer, "gone");
    let (mut driver, id) = driver_for(&spec);
    let mut seen = Vec::new();
    run_until(&mut driver, &mut seen, |s| {
        s.iter().any(|e| matches!(e, CoreEvent::Live { .. }))
    });
    drop(peer); // killed: the port now refuses
    run_until(&mut driver, &mut seen, |s| {
        count(s, |e| matches!(e, CoreEvent::AttemptFailed { .. })) >= 3
    });
    let refused = count(&seen, |e| {
        matches!(
            e,
            CoreEvent::AttemptFailed {
                cause: EndCause::Transport(t),
                ..
            } if t.kind == TransportErrorKind::Refused
        )
    });
    assert!(refused >= 3, "{seen:#?}");
    assert_eq!(
        count(&seen, |e| matches!(e, CoreEvent::Disconnected { .. })),
        1
    );

    driver.handle(id).unwrap().close().unwrap();
    run_until(&mut driver, &mut seen, |s| {
        s.iter().any(|e| matches!(e, CoreEvent::Stopped { .. }))
    });
    assert!(
        seen.iter().any(|e| matches!(
            e,
            CoreEvent::Stopped {
                reason: StopReason::Closed { .. }
            }
        )),
        "{seen:#?}"
    );
    assert_eq!(driver.sockets(), 0);
}

#[test]
fn close_completes_the_handshake_with_the_python_peer() {
    let Some(python) = python_or_skip("close_completes_the_handshake_with_the_python_peer") else {
        return;
    };
    let peer = PythonPeer::start(&python, &[]).unwrap();
    let spec = spec_for(&peer, "bye");
    let (mut driver, id) = driver_for(&spec);
    let mut seen = Vec::new();
    run_until(&mut driver, &mut seen, |s| {
        s.iter().any(|e| matches!(e, CoreEvent::Live { .. }))
    });
    driver.handle(id).unwrap().close().unwrap();
    run_until(&mut driver, &mut seen, |s| {
        s.iter().any(|e| matches!(e, CoreEvent::Stopped { .. }))
    });
    assert!(
        seen.iter().any(|e| matches!(
            e,
            CoreEvent::Stopped {
                reason: StopReason::Closed { clean: true }
            }
        )),
        "the peer answered the close frame: {seen:#?}"
    );
    assert_eq!(driver.sockets(), 0);
}
