//! Interop with an independent implementation: the kit's Python `websockets` peer.
//!
//! Needs `RECONNECT_PYTHON` (see `tests/python/setup.sh`); skipped loudly without it, unless `CI`
//! is set. Written the way an async application uses the binding: the task is spawned on smol's
//! global executor, the test awaits the event stream and calls the handle.

mod support;

use std::time::Duration;

use bind_smol::{Event, EventStream, Options, SessionHandle};
use futures_lite::StreamExt;
use reconnect_core::{EndCause, Event as CoreEvent, StopReason, TransportErrorKind};
use reconnect_testkit::peer::{python_or_skip, PythonPeer};
use reconnect_testkit::scenario::ClientSpec;
use serde_json::json;
use support::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(15);

/// A session for `spec`, its task spawned on smol's global executor.
fn connect(spec: &ClientSpec) -> (SessionHandle, EventStream) {
    let (handle, events, task) = bind_smol::connect(
        session_for(spec).unwrap(),
        endpoint_for(spec).unwrap(),
        Options::default(),
    );
    smol::spawn(task).detach();
    (handle, events)
}

/// Collects core events until `done` says so (or panics after `LIMIT`).
async fn run_until(
    events: &mut EventStream,
    seen: &mut Vec<CoreEvent>,
    mut done: impl FnMut(&[CoreEvent]) -> bool,
) {
    let deadline = std::time::Instant::now() + LIMIT;
    while !done(seen) {
        let next = futures_lite::future::or(events.next(), async {
            async_io::Timer::at(deadline).await;
            None
        })
        .await;
        match next {
            Some(Event::Session(e)) => seen.push(e),
            Some(_) => {}
            None => panic!(
                "timed out or ended; events so far: {:#?}",
                &seen[seen.len().saturating_sub(20)..]
            ),
        }
    }
}

/// Collects the core events of the next `span`.
async fn run_for(events: &mut EventStream, span: Duration) -> Vec<CoreEvent> {
    let until = std::time::Instant::now() + span;
    let mut seen = Vec::new();
    loop {
        let next = futures_lite::future::or(async { Some(events.next().await) }, async {
            async_io::Timer::at(until).await;
            None
        })
        .await;
        match next {
            Some(Some(Event::Session(e))) => seen.push(e),
            Some(Some(_)) => {}
            Some(None) | None => return seen,
        }
    }
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

fn is_live(e: &CoreEvent) -> bool {
    matches!(e, CoreEvent::Live { .. })
}

fn is_stopped(e: &CoreEvent) -> bool {
    matches!(e, CoreEvent::Stopped { .. })
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
    smol::block_on(async {
        let (_handle, mut events) = connect(&spec);
        let mut seen = Vec::new();
        run_until(&mut events, &mut seen, |s| count(s, is_live) == 1).await;
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
        let later = run_for(&mut events, Duration::from_secs(1)).await;
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
    });
}

#[test]
fn reconnect_now_restores_on_the_python_peer_without_gaps() {
    let Some(python) = python_or_skip("reconnect_now_restores_on_the_python_peer_without_gaps")
    else {
        return;
    };
    let peer = PythonPeer::start(&python, &["--data-interval", "0.01"]).unwrap();
    let spec = spec_for(&peer, "again");
    smol::block_on(async {
        let (handle, mut events) = connect(&spec);
        let mut seen = Vec::new();
        run_until(&mut events, &mut seen, |s| messages_on(s, "a").len() >= 5).await;
        for _ in 0..3 {
            let lives = count(&seen, is_live);
            handle.reconnect_now().await.unwrap();
            run_until(&mut events, &mut seen, |s| count(s, is_live) == lives + 1).await;
        }
        run_until(&mut events, &mut seen, |s| messages_on(s, "a").len() >= 20).await;
        assert_eq!(count(&seen, is_live), 4);
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
        // What the peer sent on a connection the client had already released is lost: each such
        // jump, and only those, is reported as a gap.
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
    });
}

#[test]
fn wrong_credentials_stop_fatally_at_the_python_peer() {
    let Some(python) = python_or_skip("wrong_credentials_stop_fatally_at_the_python_peer") else {
        return;
    };
    let peer = PythonPeer::start(&python, &["--credentials", r#"{"key":"right"}"#]).unwrap();
    let mut spec = spec_for(&peer, "wrong");
    spec.auth = Some(json!({"key": "wrong"}));
    smol::block_on(async {
        let (handle, mut events) = connect(&spec);
        let mut seen = Vec::new();
        run_until(&mut events, &mut seen, |s| s.iter().any(is_stopped)).await;
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
        // The stream ends after the stop, and the task with it.
        assert!(events.next().await.is_none());
        handle.close().await;
        assert!(handle.is_ended());
    });
}

#[test]
fn a_vanished_python_peer_is_retried_as_refused_and_close_ends_it_cleanly() {
    let Some(python) = python_or_skip("a_vanished_python_peer_is_retried_as_refused") else {
        return;
    };
    let peer = PythonPeer::start(&python, &[]).unwrap();
    let spec = spec_for(&peer, "gone");
    smol::block_on(async {
        let (handle, mut events) = connect(&spec);
        let mut seen = Vec::new();
        run_until(&mut events, &mut seen, |s| s.iter().any(is_live)).await;
        drop(peer); // killed: the port now refuses
        run_until(&mut events, &mut seen, |s| {
            count(s, |e| matches!(e, CoreEvent::AttemptFailed { .. })) >= 3
        })
        .await;
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
        handle.try_close().unwrap();
        run_until(&mut events, &mut seen, |s| s.iter().any(is_stopped)).await;
        assert!(
            seen.iter().any(|e| matches!(
                e,
                CoreEvent::Stopped {
                    reason: StopReason::Closed { .. }
                }
            )),
            "{seen:#?}"
        );
    });
}

#[test]
fn close_completes_the_handshake_with_the_python_peer() {
    let Some(python) = python_or_skip("close_completes_the_handshake_with_the_python_peer") else {
        return;
    };
    let peer = PythonPeer::start(&python, &[]).unwrap();
    let spec = spec_for(&peer, "bye");
    smol::block_on(async {
        let (handle, mut events) = connect(&spec);
        let mut seen = Vec::new();
        run_until(&mut events, &mut seen, |s| s.iter().any(is_live)).await;
        // `close` resolves once the session has stopped and its task ended.
        handle.close().await;
        assert!(handle.is_ended());
        while let Some(event) = events.next().await {
            if let Event::Session(e) = event {
                seen.push(e);
            }
        }
        assert!(
            seen.iter().any(|e| matches!(
                e,
                CoreEvent::Stopped {
                    reason: StopReason::Closed { clean: true }
                }
            )),
            "the peer answered the close frame: {seen:#?}"
        );
    });
}
