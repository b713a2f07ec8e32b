//! No descriptor outlives its `ConnId`: the process's open descriptors are the same before and
//! after 200 reconnect cycles of every kind (the client's own reconnect, a reset, a close frame,
//! a dropped TCP connection, refused connects), through the resolver ("localhost").
//!
//! The only test of its binary, since descriptor counts are process-wide.

mod support;

use std::time::{Duration, Instant};

use bind_smol::Event;
use reconnect_core::Event as CoreEvent;
use reconnect_testkit::fds::open_fds;
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{Fault, ServerConfig, TestServer};
use support::{endpoint_for, session_for, SmolClient};

const CYCLES: usize = 200;

/// Waits for the next `Live` event of the client.
fn until_live(client: &mut SmolClient, cycle: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "cycle {cycle}: no Live within 10 s");
        if let Some(Event::Session(CoreEvent::Live { .. })) = client.next(left) {
            return;
        }
    }
}

#[test]
fn open_descriptors_are_equal_before_and_after_200_reconnect_cycles() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    // "localhost" goes through the resolver and may name ::1 before 127.0.0.1: a refused first
    // address must not leak either.
    let url = server.url("fd").replace("127.0.0.1", "localhost");
    let mut spec = ClientSpec::new(url, "fd");
    spec.backoff_initial = Duration::from_millis(1);
    spec.backoff_max = Duration::from_millis(4);
    spec.ping_interval = Some(Duration::from_millis(500));
    spec.pong_timeout = Duration::from_millis(500);
    spec.connect_timeout = Duration::from_secs(2);
    let mut client =
        SmolClient::spawn(session_for(&spec).unwrap(), endpoint_for(&spec).unwrap()).unwrap();
    until_live(&mut client, 0);
    let wait_server_open = |n: usize| {
        server
            .wait_until(Duration::from_secs(3), |s| s.open == n)
            .expect("the server reaps closed connections")
    };
    wait_server_open(1);
    // Counted after the first connection, so the reactor's own descriptors are already open.
    let before = open_fds().unwrap();

    for cycle in 0..CYCLES {
        match cycle % 5 {
            0 => smol::block_on(client.handle().reconnect_now()).unwrap(),
            1 => server.inject(Fault::Reset),
            2 => server.inject(Fault::Close {
                code: 1012,
                reason: "restart".into(),
            }),
            3 => server.inject(Fault::Drop),
            _ => {
                // A few refused connects before the next connection.
                server.refuse_connections();
                server.inject(Fault::DropAll);
                let until = Instant::now() + Duration::from_millis(30);
                while let Some(left) = until.checked_duration_since(Instant::now()) {
                    client.next(left);
                }
                server.accept_connections();
            }
        }
        until_live(&mut client, cycle + 1);
    }
    wait_server_open(1);
    // The server's threads close their sockets on their own schedule: give them a moment.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut after = open_fds().unwrap();
    while after != before && Instant::now() < deadline {
        client.next(Duration::from_millis(20));
        after = open_fds().unwrap();
    }
    assert_eq!(
        after, before,
        "descriptors before and after {CYCLES} reconnect cycles"
    );
    let stopped = smol::block_on(async {
        client.handle().close().await;
        client.handle().is_ended()
    });
    assert!(stopped, "close resolves once the task has ended");
}
