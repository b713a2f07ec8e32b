//! C2: exponential backoff with jitter, first retry, min_uptime.

use crate::harness::{config, ms, Harness};
use reconnect_core::{seed_from_client_id, Config, Event, FirstRetry, Jitter, TransportErrorKind};

fn delays(h: &Harness) -> Vec<u128> {
    h.events()
        .iter()
        .filter_map(|e| match e {
            Event::ReconnectScheduled { delay, .. } => Some(delay.drawn.as_millis()),
            _ => None,
        })
        .collect()
}

#[test]
fn delays_grow_exponentially_to_the_cap() {
    let mut h = Harness::new(config());
    h.start();
    for _ in 0..7 {
        h.connect_failed(TransportErrorKind::Refused);
        h.fire_next();
    }
    assert_eq!(delays(&h), [100, 200, 400, 800, 1600, 2000, 2000]);
}

#[test]
fn jittered_delays_stay_within_bounds_and_spread_at_the_cap() {
    for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
        let mut c = config();
        c.backoff.jitter = jitter;
        let cfg = c.backoff.clone();
        let mut h = Harness::new(c);
        h.start();
        for n in 1..=60u32 {
            h.connect_failed(TransportErrorKind::Refused);
            let Some(Event::ReconnectScheduled {
                delay, failures, ..
            }) = h.events().pop()
            else {
                panic!("no reconnect scheduled")
            };
            assert_eq!(failures, n);
            let (lo, hi) = cfg.bounds(n);
            assert!(delay.drawn >= lo && delay.drawn <= hi, "{jitter:?} {n}");
            h.fire_next();
        }
        let at_cap: Vec<_> = delays(&h)[20..].to_vec();
        let distinct: std::collections::HashSet<_> = at_cap.iter().collect();
        assert!(distinct.len() > 20, "{jitter:?}: no spread at the cap");
        assert!(at_cap.iter().all(|d| *d <= 2000));
    }
}

#[test]
fn different_seeds_spread_a_fleet() {
    let first_delay = |seed: u64| {
        let mut c = config();
        c.seed = seed;
        c.backoff.jitter = Jitter::Full;
        let mut h = Harness::new(c);
        h.start();
        h.connect_failed(TransportErrorKind::Refused);
        delays(&h)[0]
    };
    let fleet: std::collections::HashSet<_> = (0..50)
        .map(|i| first_delay(seed_from_client_id(&format!("bot-{i}"))))
        .collect();
    assert!(fleet.len() > 40, "{fleet:?}");
    assert_eq!(
        Config::for_client("bot-1").seed,
        seed_from_client_id("bot-1")
    );
}

#[test]
fn a_connection_that_drops_before_min_uptime_counts_as_a_failure() {
    let mut h = Harness::new(config());
    h.start();
    // Accept-then-close: the server opens and closes at once, again and again.
    for _ in 0..4 {
        h.go_live();
        h.server_close(1000);
        h.fire_next();
    }
    assert_eq!(delays(&h), [100, 200, 400, 800]);
    assert_eq!(h.session.health().consecutive_failures, 4);
}

#[test]
fn a_stable_connection_resets_the_count_and_retries_first_per_policy() {
    let mut h = Harness::new(config());
    h.start();
    for _ in 0..3 {
        h.connect_failed(TransportErrorKind::Refused);
        h.fire_next();
    }
    h.go_live();
    h.skip();
    h.advance(ms(5_000));
    h.expect(&["> stable #4"]);
    assert_eq!(h.session.health().consecutive_failures, 0);
    h.fail(TransportErrorKind::Reset);
    let lines = h.take();
    assert!(
        lines.contains(&"> reconnect attempt=1 in 0ms (FirstRetry)".to_string()),
        "{lines:#?}"
    );
    assert!(lines.contains(&"connect #5 attempt=1".to_string()));
}

#[test]
fn jittered_first_retry_is_drawn_from_zero_to_initial() {
    let mut c = config();
    c.backoff.first_retry = FirstRetry::Jittered;
    c.backoff.initial = ms(1000);
    let mut h = Harness::new(c);
    h.start();
    let mut seen = Vec::new();
    for _ in 0..20 {
        h.go_live();
        h.advance(ms(5_000));
        h.fail(TransportErrorKind::Reset);
        let Some(Event::ReconnectScheduled { delay, .. }) = h.events().pop() else {
            panic!("no reconnect scheduled")
        };
        assert!(delay.drawn <= ms(1000));
        seen.push(delay.drawn);
        if h.session.current_conn().is_none() {
            h.fire_next();
        }
    }
    let distinct: std::collections::HashSet<_> = seen.iter().collect();
    assert!(distinct.len() > 10);
}
