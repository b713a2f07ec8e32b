//! No descriptor outlives its `ConnId`: the process's open descriptors are the same before and
//! after 200 reconnect cycles of every kind (the client's own reconnect, a reset, a close frame,
//! a dropped TCP connection, refused connects), through the resolver and a name with several
//! addresses. One body for both bindings: each runs it on its own [`Harness`] with
//! [`fd_suite!`](crate::fd_suite!), as the only test of its binary, since descriptor counts are process-wide.

use std::time::{Duration, Instant};

use reconnect_core::{Command, Event};
use reconnect_testkit::fds::open_fds;
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{Fault, ServerConfig, TestServer};

use crate::harness::{count, Harness};
use crate::kit::{endpoint_for, session_for};

const CYCLES: usize = 200;
const LIMIT: Duration = Duration::from_secs(10);

/// The test as a `#[test]` function on the harness type `$harness`.
#[macro_export]
macro_rules! fd_suite {
    ($harness:ty) => {
        #[test]
        fn open_descriptors_are_equal_before_and_after_200_reconnect_cycles() {
            $crate::fd_suite::reconnect_cycles::<$harness>();
        }
    };
}
fn is_live(e: &Event) -> bool {
    matches!(e, Event::Live { .. })
}

/// The cycles, with the descriptor counts compared.
pub fn reconnect_cycles<H: Harness>() {
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
    let mut client = H::start(session_for(&spec).unwrap(), endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| count(s, is_live) == 1);
    let wait_server_open = |n: usize| {
        server
            .wait_until(Duration::from_secs(3), |s| s.open == n)
            .expect("the server reaps closed connections")
    };
    wait_server_open(1);
    // Counted after the first connection, so a reactor's own descriptors are already open.
    let before = open_fds().unwrap();

    for cycle in 0..CYCLES {
        let lives = count(&seen, is_live);
        match cycle % 5 {
            0 => client.command(Command::ReconnectNow),
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
                seen.extend(client.run_for(Duration::from_millis(30)));
                server.accept_connections();
            }
        }
        client.run_until(&mut seen, LIMIT, |s| count(s, is_live) == lives + 1);
        client.assert_sockets(1);
    }
    assert_eq!(count(&seen, is_live), CYCLES + 1);
    wait_server_open(1);
    // The server's threads close their sockets on their own schedule: give them a moment.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut after = open_fds().unwrap();
    while after != before && Instant::now() < deadline {
        client.step(&mut seen, crate::harness::STEP);
        after = open_fds().unwrap();
    }
    assert_eq!(
        after, before,
        "descriptors before and after {CYCLES} reconnect cycles"
    );
    client.command(Command::Close);
    client.run_until(&mut seen, LIMIT, |s| {
        s.iter().any(|e| matches!(e, Event::Stopped { .. }))
    });
    client.assert_released();
}
