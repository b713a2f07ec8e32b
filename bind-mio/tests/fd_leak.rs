//! No descriptor outlives its `ConnId`: the process's open descriptors are the same before and
//! after 200 reconnect cycles of every kind (the client's own reconnect, a reset, a close frame,
//! a dropped TCP connection, refused connects), through the resolver and a name with several
//! addresses.
//!
//! The only test of its binary, since descriptor counts are process-wide.

mod support;

use std::time::{Duration, Instant};

use bind_mio::{Driver, DriverConfig, Event};
use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::Event as CoreEvent;
use reconnect_testkit::fds::open_fds;
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{Fault, ServerConfig, TestServer};
use support::{endpoint_for, session_for};

const CYCLES: usize = 200;

/// Runs the driver until `n` more `Live` events than `lives` were seen; returns the new count.
fn until_live(driver: &mut Driver<JsonRpcAdapter>, lives: usize, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = lives;
    while seen < lives + n {
        assert!(Instant::now() < deadline, "stuck at {seen} lives");
        driver.run_once(Some(Duration::from_millis(20))).unwrap();
        while let Some((_, event)) = driver.poll_event() {
            if matches!(event, Event::Session(CoreEvent::Live { .. })) {
                seen += 1;
            }
        }
    }
    seen
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
    let mut driver = Driver::new(DriverConfig::default().connect_rate(None)).unwrap();
    let id = driver.add_session(session_for(&spec).unwrap(), endpoint_for(&spec).unwrap());
    let mut lives = until_live(&mut driver, 0, 1);
    let wait_server_open = |n: usize| {
        server
            .wait_until(Duration::from_secs(3), |s| s.open == n)
            .expect("the server reaps closed connections")
    };
    wait_server_open(1);
    let before = open_fds().unwrap();

    for cycle in 0..CYCLES {
        match cycle % 5 {
            0 => driver.handle(id).unwrap().reconnect_now().unwrap(),
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
                let deadline = Instant::now() + Duration::from_millis(30);
                while Instant::now() < deadline {
                    driver.run_once(Some(Duration::from_millis(5))).unwrap();
                }
                server.accept_connections();
            }
        }
        lives = until_live(&mut driver, lives, 1);
        assert_eq!(driver.sockets(), 1, "cycle {cycle}: one socket per session");
    }
    assert_eq!(lives, CYCLES + 1);
    wait_server_open(1);
    // The server's threads close their sockets on their own schedule: give them a moment.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut after = open_fds().unwrap();
    while after != before && Instant::now() < deadline {
        driver.run_once(Some(Duration::from_millis(20))).unwrap();
        after = open_fds().unwrap();
    }
    assert_eq!(
        after, before,
        "descriptors before and after {CYCLES} reconnect cycles"
    );

    drop(driver.remove_session(id));
    assert_eq!(driver.sockets(), 0);
}
