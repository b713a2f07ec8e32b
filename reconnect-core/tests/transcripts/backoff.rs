//! Exponential backoff with jitter, first retry, min_uptime.

use crate::common::rig::{config, ms, Rig};
use reconnect_core::{Config, Event, FirstRetry, Jitter, TransportErrorKind};

fn delays(h: &Rig) -> Vec<u128> {
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
    let mut h = Rig::new(config());
    h.start();
    for _ in 0..7 {
        h.connect_failed(TransportErrorKind::Refused);
        h.fire_next();
    }
    assert_eq!(delays(&h), [100, 200, 400, 800, 1600, 2000, 2000]);
}

/// The documented range of the `n`-th consecutive failure's delay (`BackoffConfig`'s docs),
/// worked out here rather than asked of the library: the base is `initial × factor^(n-1)`
/// capped at `max`; `Full` draws from `[0, base]`, `Equal` from `[base / 2, base]`, and
/// `Decorrelated` from `[initial, min(max, 3 × previous)]`, where `previous` is the delay drawn
/// before (`initial` for the first failure).
fn documented_range(
    initial: u128,
    max: u128,
    jitter: Jitter,
    n: u32,
    previous_ns: Option<u128>,
) -> (u128, u128) {
    let mut base = initial;
    for _ in 1..n {
        base = (base * 2).min(max);
    }
    match jitter {
        Jitter::None => (base, base),
        Jitter::Full => (0, base),
        Jitter::Equal => (base / 2, base),
        Jitter::Decorrelated => {
            let previous = previous_ns.unwrap_or(initial).max(initial);
            (initial, (previous * 3).min(max).max(initial))
        }
    }
}

fn drawn_nanos(h: &Rig) -> Vec<u128> {
    h.events()
        .iter()
        .filter_map(|e| match e {
            Event::ReconnectScheduled { delay, .. } => Some(delay.drawn.as_nanos()),
            _ => None,
        })
        .collect()
}

#[test]
fn jittered_delays_stay_within_bounds_and_spread_at_the_cap() {
    let (initial, max) = (ms(100).as_nanos(), ms(2_000).as_nanos());
    for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
        let mut c = config();
        c.backoff.jitter = jitter;
        assert_eq!((c.backoff.initial, c.backoff.max), (ms(100), ms(2_000)));
        assert_eq!(c.backoff.factor, 2.0);
        let mut h = Rig::new(c);
        h.start();
        let mut previous = None;
        for n in 1..=60u32 {
            h.connect_failed(TransportErrorKind::Refused);
            let Some(Event::ReconnectScheduled {
                delay, failures, ..
            }) = h.events().pop()
            else {
                panic!("no reconnect scheduled")
            };
            assert_eq!(failures, n);
            let drawn = delay.drawn.as_nanos();
            let (lo, hi) = documented_range(initial, max, jitter, n, previous);
            assert!(
                drawn >= lo && drawn <= hi,
                "{jitter:?} failure {n}: {drawn} ns outside [{lo}, {hi}]"
            );
            previous = Some(drawn);
            h.fire_next();
        }
        let at_cap: Vec<_> = drawn_nanos(&h)[20..].to_vec();
        let distinct: std::collections::HashSet<_> = at_cap.iter().collect();
        assert!(distinct.len() > 20, "{jitter:?}: no spread at the cap");
        assert!(at_cap.iter().all(|d| *d <= max));
        // Uniform draws at nanosecond resolution almost never hit the cap exactly: many that do
        // mean the cap was applied to the draw rather than to the range.
        let exactly_max = at_cap.iter().filter(|d| **d == max).count();
        assert!(
            exactly_max < at_cap.len() / 10,
            "{jitter:?}: {exactly_max} of {} draws at the cap are exactly the cap",
            at_cap.len()
        );
        // The spread reaches well below the cap, as the documented range says it must.
        let lowest = at_cap.iter().min().unwrap();
        assert!(
            *lowest < max * 3 / 4,
            "{jitter:?}: lowest at the cap {lowest}"
        );
    }
}

#[test]
fn decorrelated_delays_grow_from_the_previous_one_toward_the_cap() {
    // initial 100 ms, cap 2 s: a draw that forgot the previous delay would stay within
    // [100 ms, 300 ms] for ever.
    let (initial, max) = (ms(100).as_nanos(), ms(2_000).as_nanos());
    for seed in [1, 7, 42, 1_000, 65_537] {
        let mut c = config();
        c.seed = seed;
        c.backoff.jitter = Jitter::Decorrelated;
        let mut h = Rig::new(c);
        h.start();
        for _ in 0..80 {
            h.connect_failed(TransportErrorKind::Refused);
            h.fire_next();
        }
        let drawn = drawn_nanos(&h);
        assert_eq!(drawn.len(), 80);
        let mut previous = initial;
        for (i, d) in drawn.iter().enumerate() {
            let hi = (previous * 3).min(max);
            assert!(
                *d >= initial && *d <= hi,
                "seed {seed}, draw {i}: {d} ns outside [{initial}, {hi}] (previous {previous})"
            );
            previous = *d;
        }
        let past_three_initials = drawn.iter().filter(|d| **d > 3 * initial).count();
        let past_half_the_cap = drawn.iter().filter(|d| **d > max / 2).count();
        assert!(
            past_three_initials > 40 && past_half_the_cap > 20,
            "seed {seed}: delays do not grow toward the cap ({past_three_initials} beyond \
             3 × initial, {past_half_the_cap} beyond half the cap): {drawn:?}"
        );
        // Once there, draws cover [initial, max]: their mean sits near the middle of it.
        let tail = &drawn[40..];
        let mean = tail.iter().sum::<u128>() / tail.len() as u128;
        assert!(
            mean > (initial + max) / 2 / 2 && mean < max,
            "seed {seed}: mean at the cap {mean} ns"
        );
    }
}

#[test]
fn different_seeds_spread_a_fleet() {
    let first_delay = |seed: u64| {
        let mut c = config();
        c.seed = seed;
        c.backoff.jitter = Jitter::Full;
        let mut h = Rig::new(c);
        h.start();
        h.connect_failed(TransportErrorKind::Refused);
        delays(&h)[0]
    };
    let fleet: std::collections::HashSet<_> = (0..50)
        .map(|i| first_delay(Config::for_client(&format!("bot-{i}")).seed))
        .collect();
    assert!(fleet.len() > 40, "{fleet:?}");
    assert_eq!(
        Config::for_client("bot-1").seed,
        Config::for_client("bot-1").seed
    );
}

#[test]
fn a_connection_that_drops_before_min_uptime_counts_as_a_failure() {
    let mut h = Rig::new(config());
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
    let mut h = Rig::new(config());
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
    let mut h = Rig::new(c);
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
