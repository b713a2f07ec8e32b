//! What the binding reports about its transport, and its modes of use: the shared transport
//! suite (certificates, HTTP statuses with `Retry-After`, DNS, per-attempt requests, the
//! connect deadline; `bind_support::transport_suite`), and what only this binding has: the
//! connection budget, embedding in a loop the application owns, backpressure and read budgets.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bind_mio::{ConnectRate, Driver, DriverConfig, Embedded, Endpoint, Event, SessionId};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use reconnect_core::{EndCause, Event as CoreEvent, TransportErrorKind};
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{ServerConfig, TestServer};
use support::{endpoint_for, run_until, session_for};

const LIMIT: Duration = Duration::from_secs(10);

type Seen = Vec<(SessionId, CoreEvent)>;

bind_support::transport_suite!(support::MioHarness);

fn spec(url: String) -> ClientSpec {
    ClientSpec::new(url, "t")
}

fn lives(seen: &[(SessionId, CoreEvent)]) -> usize {
    seen.iter()
        .filter(|(_, e)| matches!(e, CoreEvent::Live { .. }))
        .count()
}

#[test]
fn the_connection_budget_spreads_a_storm() {
    const N: usize = 30;
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let config = DriverConfig::default().connect_rate(Some(ConnectRate {
        per_second: 50,
        burst: 5,
    }));
    let mut driver = Driver::new(config).unwrap();
    for i in 0..N {
        let mut spec = ClientSpec::new(server.url(&format!("s{i}")), format!("s{i}"));
        spec.connect_timeout = Duration::from_secs(5);
        spec.seed = i as u64 + 1;
        driver.add_session(session_for(&spec).unwrap(), endpoint_for(&spec).unwrap());
    }
    let mut seen = Seen::new();
    run_until(&mut driver, &mut seen, LIMIT, |s| lives(s) == N);
    let stats = server.stats();
    let mut accepted: Vec<Instant> = stats.connections.iter().map(|c| c.accepted_at).collect();
    accepted.sort();
    assert_eq!(accepted.len(), N, "no attempt failed or timed out");
    let span = accepted[N - 1].duration_since(accepted[0]);
    // 5 at once, then one per 20 ms: the last is admitted at least (N - 5) * 20 ms later.
    assert!(
        span >= Duration::from_millis((N as u64 - 5) * 20 - 20),
        "accepts spread over only {span:?}"
    );
}

#[test]
fn embedded_in_a_loop_the_application_owns() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(256);
    // The application's own source on token 1; the binding gets tokens 100..200.
    const MINE: Token = Token(1);
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    poll.registry()
        .register(&mut listener, MINE, Interest::READABLE)
        .unwrap();
    let mut sessions = Embedded::new(poll.registry(), 100..200, DriverConfig::default()).unwrap();
    assert!(!sessions.owns(MINE) && sessions.owns(Token(100)) && sessions.owns(Token(199)));
    let spec = spec(server.url("t"));
    let id = sessions.add_session(session_for(&spec).unwrap(), endpoint_for(&spec).unwrap());
    let _peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();

    let mut mine_ready = false;
    let mut by_id: HashMap<SessionId, Vec<CoreEvent>> = HashMap::new();
    let deadline = Instant::now() + LIMIT;
    let messages = |by_id: &HashMap<SessionId, Vec<CoreEvent>>| {
        by_id.get(&id).map_or(0, |v| {
            v.iter()
                .filter(|e| matches!(e, CoreEvent::Message { .. }))
                .count()
        })
    };
    while !(mine_ready && messages(&by_id) >= 5) {
        assert!(Instant::now() < deadline, "{by_id:#?}");
        let timeout = sessions
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, timeout).unwrap();
        for event in events.iter() {
            if sessions.owns(event.token()) {
                sessions.handle_event(event);
            } else {
                assert_eq!(event.token(), MINE);
                mine_ready = true;
            }
        }
        sessions.handle_timeout();
        while let Some((sid, event)) = sessions.poll_event() {
            if let Event::Session(e) = event {
                by_id.entry(sid).or_default().push(e);
            }
        }
    }
    // A command through the handle, answered through the binding's waker on token 100.
    sessions.handle(id).unwrap().close().unwrap();
    while !by_id[&id]
        .iter()
        .any(|e| matches!(e, CoreEvent::Stopped { .. }))
    {
        assert!(Instant::now() < deadline);
        let timeout = sessions
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, timeout).unwrap();
        sessions.handle_events(&events);
        sessions.handle_timeout();
        while let Some((sid, event)) = sessions.poll_event() {
            if let Event::Session(e) = event {
                by_id.entry(sid).or_default().push(e);
            }
        }
    }
    assert_eq!(sessions.sockets(), 0);
    // Stopped, the session stays in the driver: its handle has not ended. Removed, it has.
    let handle = sessions.handle(id).unwrap();
    assert!(!handle.is_ended());
    assert!(sessions.remove_session(id).is_some());
    assert!(handle.is_ended());
    assert_eq!(handle.send("late"), Err(bind_mio::HandleError::Gone));
}

#[test]
fn a_peer_that_stops_reading_is_reported_as_backpressure() {
    use reconnect_core::adapters::RawAdapter;
    use reconnect_core::{Config, Session};

    // A WebSocket server that completes the upgrade and then never reads again.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let ws = bind_mio::tungstenite::accept(tcp).unwrap();
        // Hold the socket, unread, until the test is done.
        let _ = held_rx.recv();
        drop(ws);
    });

    let mut config = Config::new(1);
    config.liveness.ping_interval = None;
    let session = Session::new(config, RawAdapter::new()).unwrap();
    let websocket = bind_mio::default_websocket_config()
        .write_buffer_size(8 << 10)
        .max_write_buffer_size(256 << 10);
    let endpoint = Endpoint::new(&url).unwrap().websocket_config(websocket);
    let mut driver = Driver::new(DriverConfig::default()).unwrap();
    let id = driver.add_session(session, endpoint);
    let mut seen = Seen::new();
    run_until(&mut driver, &mut seen, LIMIT, |s| lives(s) == 1);

    // Far more than the kernel's buffers on both ends and the 256 KiB the binding may hold.
    let chunk = "x".repeat(64 << 10);
    let disconnected = |s: &[(SessionId, CoreEvent)]| {
        s.iter()
            .any(|(_, e)| matches!(e, CoreEvent::Disconnected { .. }))
    };
    let deadline = Instant::now() + LIMIT;
    while !disconnected(&seen) {
        assert!(Instant::now() < deadline, "writes never backed up");
        driver
            .with_session(id, |s, now| {
                let _ = s.send(now, chunk.as_str());
            })
            .unwrap();
        driver.run_once(Some(Duration::ZERO)).unwrap();
        while let Some((sid, Event::Session(e))) = driver.poll_event() {
            seen.push((sid, e));
        }
    }
    let cause = seen.iter().find_map(|(_, e)| match e {
        CoreEvent::Disconnected { cause, .. } => Some((**cause).clone()),
        _ => None,
    });
    assert!(
        matches!(&cause, Some(EndCause::Transport(t)) if t.kind == TransportErrorKind::Backpressure),
        "{cause:?}"
    );
    held_tx.send(()).unwrap();
    server.join().unwrap();
}

#[test]
fn a_burst_beyond_the_read_budget_is_read_to_the_end() {
    use reconnect_core::adapters::RawAdapter;
    use reconnect_core::{Config, Session};

    // A server that writes a burst at once and then goes quiet: with edge-triggered readiness
    // nothing announces the rest of the burst, so the driver must come back on its own.
    const BURST: usize = 5000;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = bind_mio::tungstenite::accept(tcp).unwrap();
        for i in 0..BURST {
            ws.write(bind_mio::tungstenite::Message::text(i.to_string()))
                .unwrap();
        }
        ws.flush().unwrap();
        let _ = done_rx.recv();
    });
    let mut config = Config::new(1);
    config.liveness.ping_interval = None;
    let session = Session::new(config, RawAdapter::new()).unwrap();
    let mut driver = Driver::new(DriverConfig::default().read_budget(4)).unwrap();
    driver.add_session(session, Endpoint::new(&url).unwrap());
    let mut seen = Seen::new();
    let texts = |s: &[(SessionId, CoreEvent)]| -> Vec<String> {
        s.iter()
            .filter_map(|(_, e)| match e {
                CoreEvent::Message { frame, .. } => frame.as_text().map(str::to_owned),
                _ => None,
            })
            .collect()
    };
    run_until(&mut driver, &mut seen, LIMIT, |s| texts(s).len() == BURST);
    let expected: Vec<String> = (0..BURST).map(|i| i.to_string()).collect();
    assert_eq!(texts(&seen), expected);
    done_tx.send(()).unwrap();
    server.join().unwrap();
}

/// A text of exactly `len` bytes that names `i`.
fn numbered(i: usize, len: usize) -> String {
    let mut text = format!("m{i}:");
    text.push_str(&"x".repeat(len - text.len()));
    text
}

#[test]
fn a_frame_larger_than_the_connection_can_write_is_refused_and_the_connection_stays() {
    use bind_mio::HandleError;
    use reconnect_core::{Frame, SendError, SendErrorKind};

    let server = TestServer::start(ServerConfig::default()).unwrap();
    let spec = spec(server.url("t"));
    let mut driver = Driver::new(DriverConfig::default()).unwrap();
    // The binding's default WebSocket configuration (the kit's lowers the message size).
    let endpoint = endpoint_for(&spec)
        .unwrap()
        .websocket_config(bind_mio::default_websocket_config());
    let id = driver.add_session(session_for(&spec).unwrap(), endpoint);
    let handle = driver.handle(id).unwrap();
    let mut seen = Seen::new();
    run_until(&mut driver, &mut seen, LIMIT, |s| lives(s) == 1);

    // The default WebSocket configuration: a 4 MiB write buffer, 8 KiB batches, and a frame
    // header of up to 14 bytes.
    let max = (4 << 20) - (8 << 10) - 14;
    let big = "y".repeat(5_000_000);
    assert_eq!(
        handle.send(big.as_str()),
        Err(HandleError::TooLarge(SendError {
            kind: SendErrorKind::TooLarge {
                len: 5_000_000,
                max
            },
            frame: Frame::from(big.as_str()),
        })),
        "refused at once, the frame handed back"
    );
    // The session itself refuses it too, on the driver's thread.
    let direct = driver
        .with_session(id, |s, now| s.send(now, big.as_str()).map_err(|e| e.kind))
        .unwrap();
    assert_eq!(
        direct,
        Err(SendErrorKind::TooLarge {
            len: 5_000_000,
            max
        })
    );
    handle.send("small after big").unwrap();
    run_until(&mut driver, &mut seen, LIMIT, |_| {
        server
            .stats()
            .connections
            .iter()
            .any(|c| c.texts().contains(&"small after big"))
    });
    // Run the loop a little longer: an end of the connection would show up now.
    let until = Instant::now() + Duration::from_millis(200);
    run_until(&mut driver, &mut seen, LIMIT, |_| Instant::now() >= until);
    assert_eq!(server.stats().connections.len(), 1, "no reconnect");
    assert!(
        !seen
            .iter()
            .any(|(_, e)| matches!(e, CoreEvent::Disconnected { .. })),
        "{seen:#?}"
    );
}

#[test]
fn the_mailbox_is_bounded_in_bytes_and_hands_the_frame_back() {
    use bind_mio::HandleError;
    use reconnect_core::Frame;

    const FRAME: usize = 16 << 10;
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let spec = spec(server.url("t"));
    let config = DriverConfig::default().mailbox_bytes(4 * FRAME);
    let mut driver = Driver::new(config).unwrap();
    let id = driver.add_session(session_for(&spec).unwrap(), endpoint_for(&spec).unwrap());
    let handle = driver.handle(id).unwrap();
    // The loop is stalled (not run): four frames fill the byte bound, far below the count bound.
    for i in 0..4 {
        handle.send(numbered(i, FRAME)).unwrap();
    }
    let fifth = numbered(4, FRAME);
    assert_eq!(
        handle.send(fifth.as_str()),
        Err(HandleError::Full(Some(Frame::from(fifth.as_str())))),
        "the bound holds and the frame comes back"
    );
    assert_eq!(
        handle.send("1"),
        Err(HandleError::Full(Some(Frame::from("1")))),
        "not even one byte more"
    );
    handle
        .unsubscribe("never wanted")
        .unwrap_or_else(|e| panic!("a command without payload passes: {e}"));
    // The loop takes them: every accepted frame arrives, in order, and there is room again.
    let mut seen = Seen::new();
    run_until(&mut driver, &mut seen, LIMIT, |s| lives(s) == 1);
    handle.send(fifth.as_str()).unwrap();
    let expected: Vec<String> = (0..5).map(|i| numbered(i, FRAME)).collect();
    let received = |server: &TestServer| -> usize {
        let stats = server.stats();
        stats.connections.iter().map(|c| c.texts().len()).sum()
    };
    run_until(&mut driver, &mut seen, LIMIT, |_| received(&server) >= 5);
    let stats = server.stats();
    let texts: Vec<String> = stats
        .connections
        .iter()
        .flat_map(|c| c.texts())
        .map(str::to_owned)
        .collect();
    assert_eq!(texts, expected);
}
