//! What the binding reports about its transport: the shared transport suite (certificates,
//! HTTP statuses with `Retry-After`, DNS, per-attempt requests, the connect deadline;
//! `bind_support::transport_suite`), the one contract both bindings keep
//! (`bind_support::contract_suite`), and what only this binding has: the clean close when every
//! handle and the stream are dropped.

mod support;

use std::time::{Duration, Instant};

use bind_smol::{Endpoint, EventStream, Options, SessionHandle};
use futures_lite::StreamExt;
use reconnect_core::Event as CoreEvent;
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{ServerConfig, TestServer};
use support::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(10);

bind_support::transport_suite!(support::SmolHarness);
bind_support::contract_suite!(support::SmolHarness);

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
                Some(e) => seen.push(e),
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
