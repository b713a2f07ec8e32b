//! Interop with an independent implementation, the kit's Python `websockets` peer. One suite
//! for both bindings: each runs it on its own [`Harness`] with [`python_suite!`](crate::python_suite!).
//!
//! Runs the peer with [`python()`]: `RECONNECT_PYTHON`, or a venv made on first use in the
//! target directory; a machine that can make neither fails these tests, saying how to fix it.

use std::time::Duration;

use reconnect_core::{Command, EndCause, Event, StopReason, TransportErrorKind};
use reconnect_testkit::peer::{python, PythonPeer};
use reconnect_testkit::scenario::ClientSpec;
use serde_json::json;

use crate::harness::{count, Harness};
use crate::kit::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(15);

/// The suite as `#[test]` functions on the harness type `$harness`.
#[macro_export]
macro_rules! python_suite {
    ($harness:ty) => {
        #[test]
        fn goes_live_and_answers_heartbeats_of_the_python_peer() {
            $crate::python_suite::heartbeats::<$harness>();
        }

        #[test]
        fn reconnect_now_restores_on_the_python_peer_without_gaps() {
            $crate::python_suite::reconnect_now_restores::<$harness>();
        }

        #[test]
        fn wrong_credentials_stop_fatally_at_the_python_peer() {
            $crate::python_suite::wrong_credentials::<$harness>();
        }

        #[test]
        fn a_vanished_python_peer_is_retried_as_refused_and_close_ends_it_cleanly() {
            $crate::python_suite::vanished_peer::<$harness>();
        }

        #[test]
        fn close_completes_the_handshake_with_the_python_peer() {
            $crate::python_suite::clean_close::<$harness>();
        }
    };
}
fn messages_on(seen: &[Event], channel: &str) -> Vec<u64> {
    seen.iter()
        .filter_map(|e| match e {
            Event::Message {
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

fn start<H: Harness>(spec: &ClientSpec) -> H {
    H::start(session_for(spec).unwrap(), endpoint_for(spec).unwrap())
}

fn is_live(e: &Event) -> bool {
    matches!(e, Event::Live { .. })
}

fn is_stopped(e: &Event) -> bool {
    matches!(e, Event::Stopped { .. })
}

/// Live with auth and two subscriptions; a second of test_requests every 50 ms and data every
/// 10 ms, none unanswered, nothing missing.
pub fn heartbeats<H: Harness>() {
    let python = python();
    let peer = PythonPeer::start(&python, &["--data-interval", "0.01"]).unwrap();
    let mut spec = spec_for(&peer, "hb");
    // The peer closes (4000) a connection that leaves one test_request unanswered.
    spec.heartbeat = Some(Duration::from_millis(50));
    let mut client: H = start(&spec);
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| count(s, is_live) == 1);
    assert_eq!(
        count(&seen, |e| matches!(e, Event::Subscribed { .. })),
        2,
        "a and b acknowledged: {seen:#?}"
    );
    assert_eq!(
        count(&seen, |e| matches!(e, Event::Authenticated { .. })),
        1
    );

    let later = client.run_for(Duration::from_secs(1));
    assert_eq!(
        count(&later, |e| matches!(
            e,
            Event::Disconnected { .. } | Event::Gap { .. }
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

/// Three `reconnect_now`s: four connections, every subscription restored on each, and a gap
/// reported for each jump in the peer's numbering (what it sent to a released connection).
pub fn reconnect_now_restores<H: Harness>() {
    let python = python();
    let peer = PythonPeer::start(&python, &["--data-interval", "0.01"]).unwrap();
    let mut client: H = start(&spec_for(&peer, "again"));
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| messages_on(s, "a").len() >= 5);
    for _ in 0..3 {
        let lives = count(&seen, is_live);
        client.command(Command::ReconnectNow);
        client.run_until(&mut seen, LIMIT, |s| count(s, is_live) == lives + 1);
    }
    client.run_until(&mut seen, LIMIT, |s| messages_on(s, "a").len() >= 20);
    assert_eq!(count(&seen, is_live), 4);
    assert_eq!(
        count(&seen, |e| matches!(
            e,
            Event::Disconnected { cause, .. } if **cause == EndCause::ReconnectRequested
        )),
        3
    );
    assert_eq!(
        count(&seen, |e| matches!(e, Event::Subscribed { .. })),
        8,
        "a and b restored on each of four connections"
    );
    for channel in ["a", "b"] {
        let seqs = messages_on(&seen, channel);
        assert!(seqs.windows(2).all(|w| w[1] > w[0]), "{channel}: {seqs:?}");
        let jumps = seqs.windows(2).filter(|w| w[1] != w[0] + 1).count();
        let gaps = count(
            &seen,
            |e| matches!(e, Event::Gap { topic, .. } if topic.as_str() == channel),
        );
        assert_eq!(gaps, jumps, "{channel}: {seqs:?}");
    }
}

/// The peer's 13004 is fatal: one attempt, a fatal stop, no socket left.
pub fn wrong_credentials<H: Harness>() {
    let python = python();
    let peer = PythonPeer::start(&python, &["--credentials", r#"{"key":"right"}"#]).unwrap();
    let mut spec = spec_for(&peer, "wrong");
    spec.auth = Some(json!({"key": "wrong"}));
    let mut client: H = start(&spec);
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| s.iter().any(is_stopped));
    let stop = seen
        .iter()
        .find_map(|e| match e {
            Event::Stopped { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        matches!(stop, StopReason::Fatal(EndCause::AuthRejected(ref e)) if e.code == Some(13004)),
        "{stop:?}"
    );
    assert_eq!(count(&seen, |e| matches!(e, Event::Connecting { .. })), 1);
    client.assert_released();
}

/// A killed peer: attempts fail as refused and are retried; a close then stops cleanly.
pub fn vanished_peer<H: Harness>() {
    let python = python();
    let peer = PythonPeer::start(&python, &[]).unwrap();
    let mut client: H = start(&spec_for(&peer, "gone"));
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| s.iter().any(is_live));
    drop(peer); // killed: the port now refuses
    client.run_until(&mut seen, LIMIT, |s| {
        count(s, |e| matches!(e, Event::AttemptFailed { .. })) >= 3
    });
    let refused = count(&seen, |e| {
        matches!(
            e,
            Event::AttemptFailed { cause, .. }
                if matches!(cause.as_ref(), EndCause::Transport(t) if t.kind == TransportErrorKind::Refused)
        )
    });
    assert!(refused >= 3, "{seen:#?}");
    assert_eq!(count(&seen, |e| matches!(e, Event::Disconnected { .. })), 1);

    client.command(Command::Close);
    client.run_until(&mut seen, LIMIT, |s| s.iter().any(is_stopped));
    assert!(
        seen.iter().any(|e| matches!(
            e,
            Event::Stopped {
                reason: StopReason::Closed { .. }
            }
        )),
        "{seen:#?}"
    );
    client.assert_released();
}

/// A close while live completes the handshake with the peer.
pub fn clean_close<H: Harness>() {
    let python = python();
    let peer = PythonPeer::start(&python, &[]).unwrap();
    let mut client: H = start(&spec_for(&peer, "bye"));
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| s.iter().any(is_live));
    client.command(Command::Close);
    client.run_until(&mut seen, LIMIT, |s| s.iter().any(is_stopped));
    assert!(
        seen.iter().any(|e| matches!(
            e,
            Event::Stopped {
                reason: StopReason::Closed { clean: true }
            }
        )),
        "the peer answered the close frame: {seen:#?}"
    );
    client.assert_released();
}
