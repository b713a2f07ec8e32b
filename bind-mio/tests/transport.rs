//! What the binding reports about its transport, and its modes of use: the shared transport
//! suite (certificates, HTTP statuses with `Retry-After`, DNS, per-attempt requests, the
//! connect deadline; `bind_support::transport_suite`), the one contract both bindings keep
//! (`bind_support::contract_suite`), and what only this binding has: many sessions sharing the
//! driver's connection budget, embedding in a loop the application owns, read budgets.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bind_mio::{Driver, DriverConfig, Embedded, Endpoint, SessionId};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use reconnect_core::{ConnectBudget, Event as CoreEvent, HandleError};
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{ServerConfig, TestServer};
use support::{endpoint_for, run_until, session_for};

const LIMIT: Duration = Duration::from_secs(10);

type Seen = Vec<(SessionId, CoreEvent)>;

bind_support::transport_suite!(support::MioHarness);
bind_support::contract_suite!(support::MioHarness);

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
    let config = DriverConfig::default().connect_budget(Some(ConnectBudget::new(50, 5)));
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
            by_id.entry(sid).or_default().push(event);
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
            by_id.entry(sid).or_default().push(event);
        }
    }
    assert_eq!(sessions.sockets(), 0);
    // Stopped, the session stays in the driver, for its stats, and its handles are gone.
    let handle = sessions.handle(id).unwrap();
    assert!(handle.is_ended());
    assert_eq!(handle.send("late"), Err(HandleError::Gone));
    assert!(sessions.session(id).is_some_and(|s| s.is_stopped()));
    assert!(sessions.remove_session(id).is_some());
    assert!(sessions.session(id).is_none());
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
