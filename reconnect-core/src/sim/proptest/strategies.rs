//! Strategies for configurations, fault scripts and command sequences, with the rare paths
//! (close during a recycle, giving up, the breaker opening) weighted so that every run of the
//! default number of cases reaches each.

use std::time::Duration;

use proptest::prelude::*;

use super::scenario::{RarePath, Scenario};
use crate::backoff::{FirstRetry, Jitter};
use crate::command::Command;
use crate::config::{CircuitBreaker, Config};
use crate::frame::Frame;
use crate::outbox::SendOptions;
use crate::send_rate::SendRate;
use crate::sim::{AuthRejection, Fault};
use crate::topic::Topic;

fn ms(range: std::ops::RangeInclusive<u64>) -> impl Strategy<Value = Duration> {
    range.prop_map(Duration::from_millis)
}

fn secs(range: std::ops::RangeInclusive<u64>) -> impl Strategy<Value = Duration> {
    range.prop_map(Duration::from_secs)
}

/// Configurations across the space that matters for reconnection: every jitter mode and
/// first-retry rule, backoff from tens of milliseconds to tens of seconds, with and without
/// pings, attempt limits, a circuit breaker, connection recycling and a send rate. Simpler values come
/// first, so a failure shrinks towards the default-like configuration. `base` supplies
/// everything not varied (the adapter's needs: heartbeats, batch sizes, credentials policy).
pub fn configs(base: Config) -> impl Strategy<Value = Config> {
    let backoff = (
        prop_oneof![
            Just(Jitter::None),
            Just(Jitter::Full),
            Just(Jitter::Equal),
            Just(Jitter::Decorrelated)
        ],
        ms(10..=2_000),
        prop_oneof![Just(2.0), 1.0f64..3.0],
        ms(0..=20_000),
        prop_oneof![Just(FirstRetry::Jittered), Just(FirstRetry::Immediate)],
        secs(1..=20),
    );
    let limits = (
        prop_oneof![4 => Just(None), 1 => (2u32..=6).prop_map(Some)],
        prop_oneof![
            4 => Just(None),
            1 => (2u32..=4, secs(5..=30)).prop_map(|(threshold, cooldown)| Some((threshold, cooldown)))
        ],
        secs(5..=60),
        // A send rate, tight enough to hold frames back often (pings included, which come
        // every 5 to 30 s): 1 to 5 frames per 1 to 10 s, bursts of 1 to 3.
        prop_oneof![
            2 => Just(None),
            1 => (1u32..=5, secs(1..=10), 1u32..=3)
                .prop_map(|(frames, per, burst)| Some(SendRate::new(frames, per).burst(burst)))
        ],
    );
    let liveness = (
        prop_oneof![Just(None), secs(5..=30).prop_map(Some)],
        secs(1..=10),
        prop_oneof![4 => Just(None), 1 => secs(60..=300).prop_map(Some)],
        any::<u64>(),
    );
    (backoff, limits, liveness).prop_map(move |(b, l, v)| {
        let mut c = base.clone();
        c.backoff.jitter = b.0;
        c.backoff.initial = b.1;
        c.backoff.factor = b.2;
        c.backoff.max = b.1 + b.3;
        c.backoff.first_retry = b.4;
        c.backoff.min_uptime = b.5;
        c.limits.max_attempts = l.0;
        c.limits.circuit_breaker = l.1.map(|(threshold, cooldown)| CircuitBreaker {
            threshold,
            cooldown,
        });
        c.limits.retry_after_ceiling = l.2;
        c.limits.send_rate = l.3;
        c.liveness.ping_interval = v.0;
        c.liveness.pong_timeout = v.1;
        c.max_lifetime = v.2;
        c.seed = v.3;
        c
    })
}

/// One fault of every kind the simulator has: resets, stalls, server closes, refusals,
/// blackholes, HTTP rejections with and without `Retry-After`, server restarts, auth and
/// subscribe rejections and skipped sequence numbers (`topics` names the topics server faults
/// act on). A server fault comes with a reset, so that a reconnect meets it.
pub fn fault(topics: Vec<String>) -> impl Strategy<Value = Vec<Fault>> {
    let topic = proptest::sample::select(if topics.is_empty() {
        vec![String::new()]
    } else {
        topics
    });
    prop_oneof![
        3 => Just(vec![Fault::Reset]),
        1 => Just(vec![Fault::Stall]),
        1 => prop_oneof![Just(1000u16), Just(1001), Just(1011), Just(1012), Just(4000)]
            .prop_map(|code| vec![Fault::close(code, "scripted")]),
        1 => secs(1..=60).prop_map(|d| vec![Fault::RefuseFor(d), Fault::Reset]),
        1 => secs(1..=30).prop_map(|d| vec![Fault::BlackholeFor(d), Fault::Reset]),
        1 => (prop_oneof![Just(429u16), Just(503)], prop_oneof![Just(None), secs(1..=20).prop_map(Some)])
            .prop_map(|(status, retry_after)| vec![Fault::RejectHandshake { status, retry_after }, Fault::Reset]),
        1 => secs(1..=30).prop_map(|downtime| vec![Fault::Restart { downtime }]),
        1 => Just(vec![Fault::reject_auth(AuthRejection::Transient), Fault::Reset]),
        1 => topic.clone().prop_map(|t| vec![Fault::nack(t), Fault::Reset]),
        1 => (topic, 1u64..=5).prop_map(|(t, n)| vec![Fault::skip_sequence(t, n)]),
    ]
}

/// Up to `max` faults at times within the first ten minutes.
pub fn fault_scripts(
    topics: Vec<String>,
    max: usize,
) -> impl Strategy<Value = Vec<(Duration, Fault)>> {
    proptest::collection::vec((ms(0..=600_000), fault(topics)), 0..=max).prop_map(|faults| {
        faults
            .into_iter()
            .flat_map(|(at, group)| group.into_iter().map(move |f| (at, f)))
            .collect()
    })
}

/// One application command: subscribe or unsubscribe one of `topics` (the empty topic, which
/// the session refuses, when there are none), send, reconnect now, and rarely close.
pub fn command(topics: Vec<String>) -> impl Strategy<Value = Command> {
    let topics: Vec<Topic> = if topics.is_empty() {
        vec![Topic::new("")]
    } else {
        topics.into_iter().map(Topic::from).collect()
    };
    // An index shrinks towards the first topic.
    let topic = move |i: usize| topics[i % topics.len()].clone();
    let unsubscribe = topic.clone();
    prop_oneof![
        3 => (0usize..8).prop_map(move |i| Command::Subscribe(topic(i))),
        3 => (0usize..8).prop_map(move |i| Command::Unsubscribe(unsubscribe(i))),
        3 => "[a-z]{1,12}"
            .prop_map(|text| Command::Send(Frame::from(text), SendOptions::default())),
        2 => Just(Command::ReconnectNow),
        1 => Just(Command::Close),
    ]
}

/// Up to `max` application [`command`]s at times within the first ten minutes.
pub fn command_sequences(
    topics: Vec<String>,
    max: usize,
) -> impl Strategy<Value = Vec<(Duration, Command)>> {
    proptest::collection::vec((ms(0..=600_000), command(topics)), 0..=max)
}

/// Whole scenarios: mostly ordinary ones, and one in six aimed at a rare path: a close during a
/// recycle, giving up after `max_attempts` in a long refusal, or the breaker opening in one.
pub fn scenarios(base: Config, topics: Vec<String>) -> impl Strategy<Value = Scenario> {
    let ordinary = (
        configs(base.clone()),
        ms(1..=200),
        fault_scripts(topics.clone(), 6),
        command_sequences(topics, 6),
    )
        .prop_map(|(config, latency, faults, commands)| Scenario {
            config,
            latency,
            faults,
            commands,
            close_when_recycling: false,
            rare: None,
        });
    let rare = (
        configs(base),
        ms(1..=200),
        prop_oneof![
            Just(RarePath::CloseDuringRecycle),
            Just(RarePath::GiveUp),
            Just(RarePath::BreakerOpen)
        ],
        secs(20..=120),
    )
        .prop_map(|(mut config, latency, rare, lifetime)| {
            let mut faults = Vec::new();
            let close_when_recycling = rare == RarePath::CloseDuringRecycle;
            match rare {
                RarePath::CloseDuringRecycle => config.max_lifetime = Some(lifetime),
                RarePath::GiveUp => {
                    config.limits.max_attempts = Some(config.limits.max_attempts.unwrap_or(3));
                    config.limits.circuit_breaker = None;
                    faults.push((
                        Duration::from_secs(5),
                        Fault::RefuseFor(Duration::from_secs(3600)),
                    ));
                    faults.push((Duration::from_secs(5), Fault::Reset));
                }
                RarePath::BreakerOpen => {
                    config.limits.circuit_breaker = Some(CircuitBreaker {
                        threshold: 2,
                        cooldown: Duration::from_secs(10),
                    });
                    config.limits.max_attempts = None;
                    faults.push((Duration::from_secs(5), Fault::RefuseFor(lifetime)));
                    faults.push((Duration::from_secs(5), Fault::Reset));
                }
            }
            Scenario {
                config,
                latency,
                faults,
                commands: Vec::new(),
                close_when_recycling,
                rare: Some(rare),
            }
        });
    prop_oneof![5 => ordinary, 1 => rare]
}
