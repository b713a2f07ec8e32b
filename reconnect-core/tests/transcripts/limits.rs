//! Limits: giving up, the circuit breaker, server pushback.

use crate::common::rig::{config, ms, Rig};
use reconnect_core::{CircuitBreaker, DelaySource, Event, State, StopReason, TransportErrorKind};

#[test]
fn gives_up_after_max_attempts() {
    let mut c = config();
    c.limits.max_attempts = Some(3);
    let mut h = Rig::new(c);
    h.start();
    h.connect_failed(TransportErrorKind::Refused);
    h.fire_next();
    h.connect_failed(TransportErrorKind::Refused);
    h.fire_next();
    h.skip();
    h.connect_failed(TransportErrorKind::Refused);
    h.expect(&[
        "release #3",
        "> attempt 3 failed: transport: Refused: test => Retry",
        "> stopped: GaveUp { attempts: 3 }",
    ]);
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(
        h.session.state(),
        State::Stopped(StopReason::GaveUp { attempts: 3 })
    );
}

#[test]
fn gives_up_after_max_outage_even_mid_attempt() {
    let mut c = config();
    c.limits.max_outage = Some(ms(1_000));
    let mut h = Rig::new(c);
    h.start();
    for _ in 0..4 {
        h.connect_failed(TransportErrorKind::Refused);
        h.fire_next();
    }
    // 100 + 200 + 400 + 800 > 1000: the limit fired during the fourth backoff.
    assert!(h.session.is_stopped(), "{:#?}", h.log);
    assert_eq!(
        h.log.last().unwrap(),
        "> stopped: OutageTooLong { outage: 1s }"
    );
    assert_eq!(h.count("connect #"), 4);
}

#[test]
fn an_outage_limit_does_not_fire_while_live() {
    let mut c = config();
    c.limits.max_outage = Some(ms(1_000));
    let mut h = Rig::new(c);
    h.start();
    h.go_live();
    h.advance(ms(10_000));
    assert!(!h.session.is_stopped());
}

#[test]
fn circuit_breaker_opens_probes_and_closes() {
    let mut c = config();
    c.limits.circuit_breaker = Some(CircuitBreaker {
        threshold: 3,
        cooldown: ms(60_000),
    });
    let mut h = Rig::new(c);
    h.start();
    h.connect_failed(TransportErrorKind::Refused);
    h.fire_next();
    h.connect_failed(TransportErrorKind::Refused);
    h.fire_next();
    h.skip();
    h.connect_failed(TransportErrorKind::Refused);
    h.expect(&[
        "release #3",
        "> attempt 3 failed: transport: Refused: test => Retry",
        "> Circuit { state: Open, failures: 3 }",
        "> reconnect attempt=4 in 60000ms (CircuitOpen)",
    ]);
    assert_eq!(h.fire_next(), ms(60_000));
    h.expect(&[
        "> Circuit { state: HalfOpen, failures: 3 }",
        "> connecting #4 attempt=4",
        "connect #4 attempt=4",
    ]);
    // The probe fails: open again for another cooldown.
    h.connect_failed(TransportErrorKind::Refused);
    let lines = h.take();
    assert!(lines.contains(&"> reconnect attempt=5 in 60000ms (CircuitOpen)".to_string()));
    h.fire_next();
    h.go_live();
    let lines = h.take();
    assert!(
        lines.contains(&"> Circuit { state: Closed, failures: 4 }".to_string()),
        "{lines:#?}"
    );
}

#[test]
fn retry_after_from_the_handshake_overrides_the_delay_up_to_the_ceiling() {
    let mut c = config();
    c.limits.retry_after_ceiling = ms(30_000);
    let mut h = Rig::new(c);
    h.start();
    h.connect_failed(TransportErrorKind::Handshake {
        status: 429,
        retry_after: Some(ms(7_000)),
    });
    let lines = h.take();
    assert!(
        lines.contains(&"> reconnect attempt=2 in 7000ms (RetryAfter { hint: 7s })".to_string()),
        "{lines:#?}"
    );
    assert_eq!(h.fire_next(), ms(7_000));
    h.connect_failed(TransportErrorKind::Handshake {
        status: 503,
        retry_after: Some(ms(3_600_000)),
    });
    let Some(Event::ReconnectScheduled { delay, source, .. }) = h.events().pop() else {
        panic!()
    };
    assert_eq!(delay.drawn, ms(30_000));
    assert_eq!(
        source,
        DelaySource::RetryAfter {
            hint: ms(3_600_000)
        }
    );
    // The hint is used once: the next failure backs off normally.
    h.fire_next();
    h.connect_failed(TransportErrorKind::Refused);
    let Some(Event::ReconnectScheduled { source, .. }) = h.events().pop() else {
        panic!()
    };
    assert_eq!(source, DelaySource::Backoff);
}

#[test]
fn retry_after_from_the_adapter_is_kept_for_the_next_reconnect() {
    let mut h = Rig::new(config());
    h.start();
    h.go_live();
    h.recv("error 429 5000");
    h.fail(TransportErrorKind::Reset);
    let Some(Event::ReconnectScheduled { delay, source, .. }) = h.events().pop() else {
        panic!()
    };
    assert_eq!(delay.drawn, ms(5_000));
    assert_eq!(source, DelaySource::RetryAfter { hint: ms(5_000) });
}
