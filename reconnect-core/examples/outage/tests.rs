//! Keeps the picture true: the checked-in SVG is a fresh render, and the numbers behind it are
//! judged against the story's script and the budget's arithmetic, worked out here by hand.

use std::time::{Duration, Instant};

use reconnect_core::ConnectBudget;

use crate::herd::{self, Herd};
use crate::lanes::{self, Lane, Phase};

const MS: Duration = Duration::from_millis(1);

/// The phase a lane shows at `at`.
fn phase_at(lane: &Lane, at: Duration) -> Phase {
    lane.bands
        .iter()
        .find(|b| b.start <= at && at < b.end)
        .unwrap_or_else(|| panic!("{} has no band at {at:?}", lane.name))
        .phase
}

fn all_lanes() -> Vec<Lane> {
    lanes::lanes(Instant::now())
}

#[test]
fn the_checked_in_picture_is_a_fresh_render() {
    let checked_in = include_str!("../outage.svg");
    let fresh = crate::picture(Instant::now()).expect("the picture draws");
    // Two renders from different base instants: nothing in it depends on the clock.
    assert_eq!(
        fresh,
        crate::picture(Instant::now()).expect("the picture draws")
    );
    assert!(
        fresh == checked_in,
        "reconnect-core/examples/outage.svg is stale: regenerate it with \
         `cargo run -p reconnect-core --example outage -- --svg reconnect-core/examples/outage.svg`"
    );
}

#[test]
fn every_lane_is_back_to_back_from_start_to_end_and_ends_stopped() {
    for lane in all_lanes() {
        let bands = &lane.bands;
        assert_eq!(bands[0].start, Duration::ZERO, "{}", lane.name);
        assert_eq!(bands.last().unwrap().end, lanes::END, "{}", lane.name);
        for pair in bands.windows(2) {
            assert_eq!(
                pair[0].end, pair[1].start,
                "{}: a gap or overlap",
                lane.name
            );
            assert_ne!(
                pair[0].phase, pair[1].phase,
                "{}: unmerged bands",
                lane.name
            );
        }
        let last = bands.last().unwrap();
        assert_eq!(last.phase, Phase::Stopped, "{}", lane.name);
        // The close handshake takes one round trip (at most 2 x 400 ms on this link).
        assert!(
            last.start >= lanes::CLOSE_AT && last.start <= lanes::CLOSE_AT + 800 * MS,
            "{}: stopped at {:?}",
            lane.name,
            last.start
        );
    }
}

#[test]
fn every_lane_follows_the_script() {
    let lanes = all_lanes();
    for lane in &lanes {
        let name = &lane.name;
        // Live just before each fault: each earlier outage healed in time.
        for fault in [
            lanes::RESET_AT,
            lanes::STALL_AT,
            lanes::BLACKHOLE_AT,
            lanes::RESTART_AT,
            lanes::CLOSE_AT,
        ] {
            assert_eq!(
                phase_at(lane, fault - MS),
                Phase::Live,
                "{name} before {fault:?}"
            );
        }
        // A reset reaches the session one latency later: 150 ms at least, 150 + 250 ms at most.
        assert_eq!(
            phase_at(lane, lanes::RESET_AT + 149 * MS),
            Phase::Live,
            "{name}"
        );
        assert_ne!(
            phase_at(lane, lanes::RESET_AT + 401 * MS),
            Phase::Live,
            "{name}"
        );
        // A stall is silent: nothing notices it until a ping goes unanswered. The last data
        // message arrived before the stall; the ping goes out after 5 s of silence and the
        // pong timeout is 4 s: the live band ends between +4 s (the pong timeout alone) and
        // +9 s (5 s + 4 s) after the stall.
        let stalled = lane
            .bands
            .iter()
            .find(|b| b.start < lanes::STALL_AT && lanes::STALL_AT < b.end)
            .unwrap();
        assert_eq!(stalled.phase, Phase::Live, "{name}");
        let noticed = stalled.end - lanes::STALL_AT;
        assert!(
            noticed >= 4 * 1000 * MS && noticed <= 9 * 1000 * MS,
            "{name}: the stall was noticed after {noticed:?}"
        );
        // The blackhole: some attempt in it waits out the whole 6 s connect timeout.
        assert!(
            lane.bands.iter().any(|b| b.phase == Phase::Connecting
                && b.start >= lanes::BLACKHOLE_AT
                && b.start < lanes::BLACKHOLE_AT + lanes::BLACKHOLE_FOR
                && b.end - b.start == 6 * 1000 * MS),
            "{name}: no attempt hung for the connect timeout"
        );
        // The restart: nobody is live while the server is down (its close reaches the session
        // one latency, at most 400 ms, after the restart).
        let down = lane.bands.iter().filter(|b| {
            b.phase == Phase::Live
                && b.end > lanes::RESTART_AT + 401 * MS
                && b.start < lanes::RESTART_AT + lanes::RESTART_DOWNTIME
        });
        assert_eq!(down.count(), 0, "{name}: live while the server was down");
    }
    // Different seeds, different attempts.
    assert!(
        lanes.windows(2).any(|p| p[0].attempts != p[1].attempts),
        "every lane drew the same delays"
    );
}

#[test]
fn attempts_and_drawn_delays_match_the_bands() {
    for lane in all_lanes() {
        let connecting: Vec<Duration> = lane
            .bands
            .iter()
            .filter(|b| b.phase == Phase::Connecting)
            .map(|b| b.start)
            .collect();
        assert_eq!(
            lane.attempts, connecting,
            "{}: attempts vs bands",
            lane.name
        );
        let backoff: Vec<(Duration, Duration)> = lane
            .bands
            .iter()
            .filter(|b| b.phase == Phase::Backoff)
            .map(|b| (b.start, b.end - b.start))
            .collect();
        let drawn: Vec<(Duration, Duration)> =
            lane.scheduled.iter().map(|s| (s.at, s.delay)).collect();
        assert_eq!(
            backoff, drawn,
            "{}: backoff bands vs drawn delays",
            lane.name
        );
    }
}

#[test]
fn every_live_band_comes_after_connecting_authenticating_and_restoring() {
    // Every session authenticates and has two topics, so each connection that goes live
    // passes through the three steps, in order, right before.
    for lane in all_lanes() {
        let phases: Vec<Phase> = lane.bands.iter().map(|b| b.phase).collect();
        let lives = phases.iter().filter(|p| **p == Phase::Live).count();
        assert!(lives >= 5, "{}: live only {lives} times", lane.name);
        for (i, phase) in phases.iter().enumerate() {
            if *phase == Phase::Live {
                assert!(i >= 3, "{}", lane.name);
                assert_eq!(
                    phases[i - 3..i],
                    [
                        Phase::Connecting,
                        Phase::Authenticating,
                        Phase::Resubscribing
                    ],
                    "{}: band {i}",
                    lane.name
                );
            }
        }
    }
}

fn herds() -> (Herd, Herd) {
    let base = Instant::now();
    (
        herd::run(base, None),
        herd::run(base, Some(ConnectBudget::new(herd::RATE, herd::BURST))),
    )
}

/// The 100 ms buckets from the restart on.
fn after_restart(herd: &Herd) -> &[u32] {
    &herd.dials[(herd::RESTART_AT.as_millis() / 100) as usize..]
}

#[test]
fn the_budget_caps_every_bucket_and_the_fleet_still_comes_back() {
    let (without, with) = herds();
    // 100 a second and 10 at once: at most 10 + 100 x 0.1 s = 20 dials in any 100 ms.
    assert_eq!((herd::RATE, herd::BURST), (100, 10));
    if let Some(bucket) = with.dials.iter().position(|n| *n > 20) {
        panic!("bucket {bucket} holds {} dials", with.dials[bucket]);
    }
    // 500 sessions through 100 a second: after the burst of 10, the last of their first
    // retries cannot dial before 490 / 100 = 4.9 s after the restart.
    assert_eq!(herd::FLEET, 500);
    let restore = after_restart(&with);
    let last = restore.iter().rposition(|n| *n > 0).unwrap();
    assert!(last >= 49, "the budgeted restore ended in bucket {last}");
    assert!(
        restore.iter().sum::<u32>() >= 500,
        "every session dials again"
    );
    assert_eq!(with.live_at_end, 500);
    assert_eq!(without.live_at_end, 500);
}

#[test]
fn without_the_budget_the_first_retries_bunch_up() {
    let (without, _) = herds();
    let restore = after_restart(&without);
    // Every session's first retry after the close is drawn in [0, 500 ms] (the default first
    // retry, jittered up to the 500 ms initial delay): 500 dials in the first five buckets,
    // so at least one holds 100 or more, five times the budget's 20.
    let first_half_second: u32 = restore[..5].iter().sum();
    assert!(first_half_second >= 500, "{first_half_second}");
    assert!(
        restore.iter().max().unwrap() >= &100,
        "{:?}",
        &restore[..10]
    );
}
