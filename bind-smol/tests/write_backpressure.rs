//! A peer that stops reading: the write that finds tungstenite's buffer over its bound fails
//! while the task performs the session's actions. The failure is queued and fed to the session
//! once the drain ends, and reaches the application as a backpressure disconnect.

use std::time::{Duration, Instant};

use bind_smol::{default_websocket_config, Endpoint, Event, EventStream, Options};
use futures_lite::StreamExt;
use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Config, EndCause, Event as CoreEvent, Session, TransportErrorKind};

/// Only a real hang reaches it.
const LIMIT: Duration = Duration::from_secs(60);

/// The next event, or a panic once `deadline` passes.
async fn next(events: &mut EventStream, deadline: Instant) -> Option<Event> {
    futures_lite::future::or(events.next(), async {
        async_io::Timer::at(deadline).await;
        panic!("no event before the limit");
    })
    .await
}

#[test]
fn a_peer_that_stops_reading_is_reported_as_backpressure() {
    // A WebSocket server that completes the upgrade and then never reads again.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let ws = bind_smol::tungstenite::accept(tcp).unwrap();
        // Hold the socket, unread, until the test is done.
        let _ = held_rx.recv();
        drop(ws);
    });

    let mut config = Config::new(1);
    config.liveness.ping_interval = None;
    let session = Session::new(config, RawAdapter::new()).unwrap();
    let websocket = default_websocket_config()
        .write_buffer_size(8 << 10)
        .max_write_buffer_size(256 << 10);
    let endpoint = Endpoint::new(&url).unwrap().websocket_config(websocket);
    let cause = smol::block_on(async {
        let (handle, mut events, task) = bind_smol::connect(session, endpoint, Options::default());
        let task = smol::spawn(task);
        let deadline = Instant::now() + LIMIT;
        while !matches!(
            next(&mut events, deadline).await,
            Some(Event::Session(CoreEvent::Live { .. }))
        ) {}
        // Far more than the kernel's buffers on both ends and the 256 KiB tungstenite may hold.
        // Sent from a task of its own, since a send waits for room while this one reads events.
        let sender = handle.clone();
        let sending = smol::spawn(async move {
            let chunk = "x".repeat(64 << 10);
            for _ in 0..256 {
                if sender.send(chunk.as_str()).await.is_err() {
                    break;
                }
            }
        });
        let cause = loop {
            match next(&mut events, deadline).await {
                Some(Event::Session(CoreEvent::Disconnected { cause, .. })) => break *cause,
                Some(_) => {}
                None => panic!("the stream ended before a disconnect"),
            }
        };
        // Reading on while the close runs: the stream must not hold the task up.
        let draining = smol::spawn(async move { while events.next().await.is_some() {} });
        handle.close().await;
        sending.await;
        draining.await;
        task.await;
        cause
    });
    assert!(
        matches!(&cause, EndCause::Transport(t) if t.kind == TransportErrorKind::Backpressure),
        "{cause:?}"
    );
    held_tx.send(()).unwrap();
    server.join().unwrap();
}
