//! A thousand sessions on one driver thread against one local server: all live, then all
//! restored after the server restarts, within a bounded time, with exactly one connection each.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bind_mio::{default_websocket_config, Driver, DriverConfig, Endpoint, SessionId};
use bind_support::fleet::{fleet_session, FleetTiming};
use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::Event as CoreEvent;
use reconnect_testkit::server::{ServerConfig, TestServer};

const SESSIONS: usize = 1000;

/// Runs the driver until every session has had `n` `Live` events, or panics after `limit`.
fn until_all_live(
    driver: &mut Driver<JsonRpcAdapter>,
    lives: &mut [usize],
    index: &std::collections::HashMap<SessionId, usize>,
    n: usize,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let behind = lives.iter().filter(|l| **l < n).count();
        if behind == 0 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{behind} of {SESSIONS} sessions not live for the {n}th time after {limit:?}"
        );
        driver.run_once(Some(Duration::from_millis(50))).unwrap();
        while let Some((id, event)) = driver.poll_event() {
            if let CoreEvent::Live { .. } = event {
                lives[index[&id]] += 1;
            }
        }
    }
}

#[test]
fn a_thousand_sessions_on_one_thread_all_restore_after_a_server_restart() {
    // Both ends live in this process: two descriptors per session, plus headroom.
    bind_support::fleet::raise_fd_limit(SESSIONS, 4, 2);

    let server =
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(500)))
            .unwrap();
    let mut driver = Driver::new(DriverConfig::default()).unwrap();
    let mut index = std::collections::HashMap::new();
    for i in 0..SESSIONS {
        let endpoint = Endpoint::new(&server.url(&format!("c{i}")))
            .unwrap()
            .websocket_config(default_websocket_config().read_buffer_size(4096));
        let id = driver.add_session(fleet_session(i as u64 + 1, &FleetTiming::TEST), endpoint);
        index.insert(id, i);
    }
    assert_eq!(driver.len(), SESSIONS);
    let mut lives = vec![0usize; SESSIONS];
    let first = until_all_live(&mut driver, &mut lives, &index, 1, Duration::from_secs(40));
    eprintln!("{SESSIONS} sessions live in {first:?}");
    assert_eq!(driver.sockets(), SESSIONS);

    server.restart(Duration::from_millis(300));
    let restored = until_all_live(&mut driver, &mut lives, &index, 2, Duration::from_secs(40));
    eprintln!("{SESSIONS} sessions restored {restored:?} after the restart");
    assert_eq!(driver.sockets(), SESSIONS, "one socket per session");
    assert!(
        lives.iter().all(|l| *l == 2),
        "each session live exactly twice"
    );

    let stats = server
        .wait_until(Duration::from_secs(5), |s| s.open == SESSIONS)
        .expect("the server holds one connection per session");
    let clients: HashSet<&String> = stats.clients.keys().collect();
    assert_eq!(clients.len(), SESSIONS);
    assert!(
        stats.clients.values().all(|c| c.open == 1),
        "never two connections of one session at once at the end"
    );
}
