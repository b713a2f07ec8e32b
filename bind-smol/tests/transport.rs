//! What the binding reports about its transport: the shared transport suite (certificates,
//! HTTP statuses with `Retry-After`, DNS, per-attempt requests, the connect deadline;
//! `bind_support::transport_suite`), and what only this binding has: the clean close when
//! every handle and the stream are dropped.

mod support;

use std::time::{Duration, Instant};

use bind_smol::{Endpoint, Event, EventStream, Options, SessionHandle};
use futures_lite::StreamExt;
use reconnect_core::Event as CoreEvent;
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{ServerConfig, TestServer};
use support::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(10);

bind_support::transport_suite!(support::SmolHarness);

fn spec(url: String) -> ClientSpec {
    ClientSpec::new(url, "t")
}

fn start(spec: &ClientSpec, endpoint: Endpoint) -> (SessionHandle, EventStream) {
    let (handle, events, task) =
        bind_smol::connect(session_for(spec).unwrap(), endpoint, Options::default());
    smol::spawn(task).detach();
    (handle, events)
}

/// Collects core events until `done` holds (panics after `LIMIT` or if the stream ends first).
fn run_until(
    events: &mut EventStream,
    seen: &mut Vec<CoreEvent>,
    mut done: impl FnMut(&[CoreEvent]) -> bool,
) {
    let deadline = Instant::now() + LIMIT;
    smol::block_on(async {
        while !done(seen) {
            let next = futures_lite::future::or(events.next(), async {
                async_io::Timer::at(deadline).await;
                None
            })
            .await;
            match next {
                Some(Event::Session(e)) => seen.push(e),
                Some(_) => {}
                None => panic!("timed out or ended; events: {seen:#?}"),
            }
        }
    })
}

fn lives(seen: &[CoreEvent]) -> usize {
    seen.iter()
        .filter(|e| matches!(e, CoreEvent::Live { .. }))
        .count()
}

#[test]
fn dropping_every_handle_and_the_stream_closes_cleanly() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let spec = spec(server.url("t"));
    let (handle, mut events) = start(&spec, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    run_until(&mut events, &mut seen, |s| lives(s) == 1);
    let other = handle.clone();
    drop(handle);
    drop(events);
    // A clone still holds the session open; it still takes commands.
    smol::block_on(other.send("still here")).unwrap();
    drop(other);
    let stats = server
        .wait_until(Duration::from_secs(5), |s| {
            s.open == 0 && s.connections.iter().all(|c| c.ended_at.is_some())
        })
        .expect("the connection ends");
    let close = stats.connections[0]
        .close_received
        .as_ref()
        .expect("the client sent a close frame");
    assert_eq!(close.code, 1000);
}

/// Takes the events that are ready now, without waiting.
fn drain_ready(events: &mut EventStream, seen: &mut Vec<CoreEvent>) {
    while let Some(Some(event)) =
        futures_lite::future::block_on(futures_lite::future::poll_once(events.next()))
    {
        if let Event::Session(e) = event {
            seen.push(e);
        }
    }
}

/// A text of exactly `len` bytes that names `i`.
fn numbered(i: usize, len: usize) -> String {
    let mut text = format!("m{i}:");
    text.push_str(&"x".repeat(len - text.len()));
    text
}

#[test]
fn a_frame_larger_than_the_connection_can_write_is_refused_and_the_connection_stays() {
    use bind_smol::HandleError;
    use reconnect_core::{Frame, SendError, SendErrorKind};

    let server = TestServer::start(ServerConfig::default()).unwrap();
    let spec = spec(server.url("t"));
    // The binding's default WebSocket configuration (the kit's lowers the message size).
    let endpoint = endpoint_for(&spec)
        .unwrap()
        .websocket_config(bind_smol::default_websocket_config());
    let (handle, mut events) = start(&spec, endpoint);
    let mut seen = Vec::new();
    run_until(&mut events, &mut seen, |s| lives(s) == 1);

    // The default WebSocket configuration: a 4 MiB write buffer, 8 KiB batches, and a frame
    // header of up to 14 bytes.
    let max = (4 << 20) - (8 << 10) - 14;
    let big = "y".repeat(5_000_000);
    let refused = Err(HandleError::TooLarge(SendError {
        kind: SendErrorKind::TooLarge {
            len: 5_000_000,
            max,
        },
        frame: Frame::from(big.as_str()),
    }));
    assert_eq!(handle.try_send(big.as_str()), refused, "try_send");
    assert_eq!(
        smol::block_on(handle.send(big.as_str())),
        refused,
        "send, at once"
    );
    smol::block_on(handle.send("small after big")).unwrap();
    server
        .wait_until(LIMIT, |s| {
            s.connections
                .iter()
                .any(|c| c.texts().contains(&"small after big"))
        })
        .expect("the small send arrives");
    // An end of the connection would show up by now.
    std::thread::sleep(Duration::from_millis(200));
    drain_ready(&mut events, &mut seen);
    assert_eq!(server.stats().connections.len(), 1, "no reconnect");
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, CoreEvent::Disconnected { .. })),
        "{seen:#?}"
    );
}

#[test]
fn the_mailbox_is_bounded_in_bytes_and_hands_the_frame_back() {
    use bind_smol::HandleError;
    use reconnect_core::Frame;

    const FRAME: usize = 16 << 10;
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let spec = spec(server.url("t"));
    let options = Options::default().mailbox_bytes(4 * FRAME);
    let (handle, mut events, task) = bind_smol::connect(
        session_for(&spec).unwrap(),
        endpoint_for(&spec).unwrap(),
        options,
    );
    // The task is not running yet: four frames fill the byte bound, far below the count bound.
    for i in 0..4 {
        handle.try_send(numbered(i, FRAME)).unwrap();
    }
    let fifth = numbered(4, FRAME);
    assert_eq!(
        handle.try_send(fifth.as_str()),
        Err(HandleError::Full(Some(Frame::from(fifth.as_str())))),
        "the bound holds and the frame comes back"
    );
    assert_eq!(
        handle.try_send("1"),
        Err(HandleError::Full(Some(Frame::from("1")))),
        "not even one byte more"
    );
    let waiting = futures_lite::future::block_on(futures_lite::future::poll_once(
        handle.send(fifth.as_str()),
    ));
    assert_eq!(waiting, None, "the async send waits for room");
    handle
        .try_unsubscribe("never wanted")
        .unwrap_or_else(|e| panic!("a command without payload passes: {e}"));
    smol::spawn(task).detach();
    let mut seen = Vec::new();
    run_until(&mut events, &mut seen, |s| lives(s) == 1);
    smol::block_on(handle.send(fifth.as_str())).unwrap();
    let expected: Vec<String> = (0..5).map(|i| numbered(i, FRAME)).collect();
    let stats = server
        .wait_until(LIMIT, |s| {
            s.connections.iter().map(|c| c.texts().len()).sum::<usize>() >= 5
        })
        .expect("every accepted frame arrives");
    let texts: Vec<String> = stats
        .connections
        .iter()
        .flat_map(|c| c.texts())
        .map(str::to_owned)
        .collect();
    assert_eq!(texts, expected);
}
