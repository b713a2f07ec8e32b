//! Sessions sharing one connection budget connect no faster than the budget allows, judged by
//! the instants at which the kit's server accepted their connections.

mod support;

use std::time::{Duration, Instant};

use bind_smol::{Endpoint, Options, SharedConnectBudget};
use bind_support::fleet::{fleet_session, FleetTiming};
use futures_lite::StreamExt;
use reconnect_core::{ConnectBudget, Event as CoreEvent};
use reconnect_testkit::server::{ServerConfig, TestServer};

const SESSIONS: usize = 60;
/// 50 attempts a second (one per 20 ms), 10 at once.
const PER_SECOND: u32 = 50;
const BURST: u32 = 10;

/// The most accepts inside any window of `window` (half-open, starting at an accept).
fn most_in_any_window(sorted: &[Instant], window: Duration) -> usize {
    (0..sorted.len())
        .map(|i| {
            sorted[i..]
                .iter()
                .take_while(|t| **t < sorted[i] + window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn sessions_sharing_a_budget_connect_no_faster_than_it_allows() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let budget = SharedConnectBudget::new(ConnectBudget::new(PER_SECOND, BURST));
    let executor = smol::Executor::new();
    smol::block_on(executor.run(async {
        let (live_tx, live_rx) = async_channel::unbounded();
        let mut handles = Vec::with_capacity(SESSIONS);
        for i in 0..SESSIONS {
            let (handle, mut events) = bind_smol::spawn(
                &executor,
                fleet_session(i as u64 + 1, &FleetTiming::TEST),
                Endpoint::new(&server.url(&format!("b{i}"))).unwrap(),
                Options::default().connect_budget(Some(budget.clone())),
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
        // Bounded: only a hang reaches it (the budget alone needs about a second).
        let limit = Instant::now() + Duration::from_secs(30);
        let mut live = 0;
        while live < SESSIONS {
            let next = futures_lite::future::or(async { live_rx.recv().await.ok() }, async {
                async_io::Timer::at(limit).await;
                None
            })
            .await;
            assert!(next.is_some(), "only {live} of {SESSIONS} sessions live");
            live += 1;
        }
        for handle in &handles {
            handle.try_close().unwrap();
        }
        for handle in &handles {
            handle.close().await.ok(); // Err(Gone) if it had stopped already
            handle.closed().await;
        }
    }));

    let mut accepted: Vec<Instant> = server
        .stats()
        .connections
        .iter()
        .map(|c| c.accepted_at)
        .collect();
    accepted.sort();
    assert_eq!(accepted.len(), SESSIONS, "one connection per session");
    // By hand: 10 tokens at once, then one every 20 ms; the 60th is the 50th after the burst,
    // 50 × 20 ms = 1,000 ms after the first. The first accept may lag its token a little, so
    // allow 100 ms less. Without a budget, 60 loopback connects land within a few milliseconds.
    let span = accepted[SESSIONS - 1].duration_since(accepted[0]);
    assert!(
        span >= Duration::from_millis(900),
        "{SESSIONS} accepts spread over only {span:?}"
    );
    // Any 200 ms hold at most the burst plus 200 ms of the rate: 10 + 10 = 20 accepts. A
    // connect delayed by a busy machine can bunch with the next, so allow half as much again.
    let most = most_in_any_window(&accepted, Duration::from_millis(200));
    assert!(
        most <= 30,
        "{most} accepts in one 200 ms window (the budget allows 20)"
    );
    // And the budget was not far stricter than asked: a second of tokens within 5 s.
    assert!(
        span < Duration::from_secs(5),
        "{SESSIONS} accepts took {span:?}"
    );
}
