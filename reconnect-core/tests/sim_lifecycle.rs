//! Session policies seen through the simulator: recycling at max lifetime, the circuit
//! breaker, a close that cannot finish, the outage limit, pause and resume.

mod common;

use std::time::Duration;

use common::line_server::{line_sim, sim_config, times_of};
use reconnect_core::sim::{Fault, Script};
use reconnect_core::{
    CircuitBreaker, CircuitState, DelaySource, EndCause, Event, State, StopReason,
};

fn is_connecting(e: &Event) -> bool {
    matches!(e, Event::Connecting { .. })
}

#[test]
fn a_connection_is_recycled_at_max_lifetime_without_counting_a_failure() {
    let mut cfg = sim_config(1);
    cfg.max_lifetime = Some(Duration::from_secs(60));
    let mut sim = line_sim(cfg, &["a"]);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(130));

    // Lifetime counts from the open (one round trip, 40 ms, after the connect).
    let recycled = times_of(&sim, |e| matches!(e, Event::Recycling { .. }));
    assert_eq!(
        recycled.first(),
        Some(&(Duration::from_secs(60) + Duration::from_millis(40)))
    );
    assert_eq!(recycled.len(), 2);
    assert!(sim.events().iter().all(|e| match &e.event {
        Event::Disconnected { cause, .. } => **cause == EndCause::Recycled,
        Event::ReconnectScheduled { source, .. } => *source == DelaySource::Immediate,
        Event::Connecting { attempt, .. } => *attempt == 1,
        _ => true,
    }));
    assert_eq!(times_of(&sim, |e| matches!(e, Event::Live { .. })).len(), 3);
    assert!(sim
        .transcript()
        .contains("close #1 with 1000 \"recycling connection\""));
}

#[test]
fn the_circuit_breaker_opens_probes_and_closes() {
    let breaker = CircuitBreaker {
        threshold: 3,
        cooldown: Duration::from_secs(20),
    };
    let script = Script::new()
        .at(
            Duration::from_secs(10),
            Fault::RefuseFor(Duration::from_secs(60)),
        )
        .at(Duration::from_secs(10), Fault::Reset);
    let mut cfg = sim_config(2);
    cfg.limits.circuit_breaker = Some(breaker);
    let mut sim = line_sim(cfg, &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(130));

    let states: Vec<CircuitState> = sim
        .events()
        .iter()
        .filter_map(|e| match e.event {
            Event::Circuit { state, .. } => Some(state),
            _ => None,
        })
        .collect();
    assert_eq!(states.first(), Some(&CircuitState::Open));
    assert_eq!(states.last(), Some(&CircuitState::Closed));
    assert!(states.contains(&CircuitState::HalfOpen));
    // While open, attempts are exactly a cooldown apart.
    let cooldowns = sim
        .events()
        .iter()
        .filter(|e| {
            matches!(e.event, Event::ReconnectScheduled { source: DelaySource::CircuitOpen, delay, .. } if delay.drawn == Duration::from_secs(20))
        })
        .count();
    assert!(cooldowns >= 2);
    assert!(matches!(sim.session().state(), State::Live { .. }));
}

#[test]
fn a_close_on_a_stalled_connection_stops_unclean_after_the_close_timeout() {
    let cfg = sim_config(3);
    let close_timeout = cfg.timeouts.close;
    let mut sim =
        line_sim(cfg, &["a"]).script(Script::new().at(Duration::from_secs(10), Fault::Stall));
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(11));
    sim.command("close", |s, now| s.close(now)).unwrap();
    sim.run_until(Duration::from_secs(600));

    let stopped = times_of(&sim, |e| matches!(e, Event::Stopped { .. }));
    assert_eq!(stopped, [Duration::from_secs(11) + close_timeout]);
    assert_eq!(
        sim.session().state(),
        State::Stopped(StopReason::Closed { clean: false })
    );
    assert_eq!(times_of(&sim, is_connecting).len(), 1);
}

#[test]
fn an_outage_longer_than_max_outage_stops_the_session() {
    let script = Script::new()
        .at(
            Duration::from_secs(10),
            Fault::RefuseFor(Duration::from_secs(600)),
        )
        .at(Duration::from_secs(10), Fault::Reset);
    let mut cfg = sim_config(4);
    cfg.limits.max_outage = Some(Duration::from_secs(30));
    let mut sim = line_sim(cfg, &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(600));

    // The outage began when the reset reached the client.
    let began = Duration::from_secs(10) + Duration::from_millis(20);
    assert_eq!(
        times_of(&sim, |e| matches!(e, Event::Stopped { .. })),
        [began + Duration::from_secs(30)]
    );
    assert!(matches!(
        sim.session().state(),
        State::Stopped(StopReason::OutageTooLong { outage }) if outage == Duration::from_secs(30)
    ));
    assert!(times_of(&sim, is_connecting)
        .iter()
        .all(|t| *t < began + Duration::from_secs(30)));
}

#[test]
fn a_paused_session_waits_for_resume_and_reconnect_now_skips_the_wait() {
    let mut sim = line_sim(sim_config(5), &["a"])
        .script(Script::new().at(Duration::from_secs(10), Fault::Reset));
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(5));
    sim.command("pause", |s, now| s.pause(now)).unwrap();
    sim.run_until(Duration::from_secs(20));
    assert_eq!(sim.session().state(), State::Paused);
    assert_eq!(times_of(&sim, is_connecting), [Duration::ZERO]);

    sim.command("resume", |s, now| s.resume(now)).unwrap();
    assert_eq!(
        times_of(&sim, is_connecting),
        [Duration::ZERO, Duration::from_secs(20)]
    );
    sim.run_until(Duration::from_secs(30));
    sim.command("reconnect now", |s, now| s.reconnect_now(now))
        .unwrap();
    sim.run_until(Duration::from_secs(40));
    assert_eq!(
        times_of(&sim, is_connecting),
        [
            Duration::ZERO,
            Duration::from_secs(20),
            Duration::from_secs(30)
        ]
    );
    assert!(sim.events().iter().any(|e| matches!(
        &e.event,
        Event::Disconnected { cause, .. } if **cause == EndCause::ReconnectRequested
    )));
    assert!(matches!(sim.session().state(), State::Live { .. }));
}
