//! A thousand sessions on one executor thread against one local server: all live, then all
//! restored after the server restarts, with exactly one connection each at the end.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bind_smol::{default_websocket_config, Endpoint, Options};
use bind_support::fleet::{fleet_session, FleetTiming};
use futures_lite::StreamExt;
use reconnect_core::Event as CoreEvent;
use reconnect_testkit::server::{ServerConfig, TestServer};

const SESSIONS: usize = 1000;

/// Waits until every session has had `n` `Live` events, or panics after `limit`.
async fn until_all_live(
    live: &async_channel::Receiver<usize>,
    lives: &mut [usize],
    n: usize,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let behind = lives.iter().filter(|l| **l < n).count();
        if behind == 0 {
            return started.elapsed();
        }
        let left = limit.saturating_sub(started.elapsed());
        let next = futures_lite::future::or(async { live.recv().await.ok() }, async {
            async_io::Timer::after(left).await;
            None
        })
        .await;
        match next {
            Some(i) => lives[i] += 1,
            None => panic!(
                "{behind} of {SESSIONS} sessions not live for the {n}th time after {limit:?}"
            ),
        }
    }
}

#[test]
fn a_thousand_sessions_on_one_executor_all_restore_after_a_server_restart() {
    // Both ends live in this process: two descriptors per session, plus headroom.
    bind_support::fleet::raise_fd_limit(SESSIONS, 4, 2);
    let server =
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(500)))
            .unwrap();
    let executor = smol::Executor::new();
    // One thread runs every session and the test itself.
    smol::block_on(executor.run(async {
        let (live_tx, live_rx) = async_channel::unbounded();
        let mut handles = Vec::with_capacity(SESSIONS);
        for i in 0..SESSIONS {
            let endpoint = Endpoint::new(&server.url(&format!("c{i}")))
                .unwrap()
                .websocket_config(default_websocket_config().read_buffer_size(4096));
            let (handle, mut events) = bind_smol::spawn(
                &executor,
                fleet_session(i as u64 + 1, &FleetTiming::TEST),
                endpoint,
                Options::default(),
            );
            handles.push(handle);
            let live_tx = live_tx.clone();
            executor
                .spawn(async move {
                    while let Some(event) = events.next().await {
                        if let CoreEvent::Live { .. } = event {
                            let _ = live_tx.send(i).await;
                        }
                    }
                })
                .detach();
        }
        let mut lives = vec![0usize; SESSIONS];
        let first = until_all_live(&live_rx, &mut lives, 1, Duration::from_secs(40)).await;
        eprintln!("{SESSIONS} sessions live in {first:?}");

        server.restart(Duration::from_millis(300));
        let restored = until_all_live(&live_rx, &mut lives, 2, Duration::from_secs(40)).await;
        eprintln!("{SESSIONS} sessions restored {restored:?} after the restart");
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
        // Close them all; each close resolves once its task has ended.
        for handle in &handles {
            handle.try_close().unwrap();
        }
        for handle in &handles {
            handle.close().await.ok(); // Err(Gone) if it had stopped already
            handle.closed().await;
            assert!(handle.is_ended());
        }
    }));
}
