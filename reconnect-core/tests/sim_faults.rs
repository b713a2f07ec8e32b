//! Each scripted fault produces the reaction the session promises, observed through the
//! simulator with the line protocol of `common::line_adapter` and its server `common::line_server`.

mod common;

use std::time::{Duration, Instant};

use common::line_server::{line_sim, sim_config, times_of};
use reconnect_core::adapters::RawAdapter;
use reconnect_core::sim::{
    AuthRejection, Fault, LineKind, Script, ServerCtx, SimServer, Simulator,
};
use reconnect_core::{
    BackoffConfig, Classifier, Config, ConnId, CredentialPolicy, DelaySource, Disposition,
    EndCause, Event, Frame, Jitter, Session, State, StopReason, TimeoutKind, TransportErrorKind,
};

fn is_live(e: &Event) -> bool {
    matches!(e, Event::Live { .. })
}

fn is_connecting(e: &Event) -> bool {
    matches!(e, Event::Connecting { .. })
}

fn first_disconnect(
    sim: &Simulator<common::line_adapter::LineAdapter, common::line_server::LineServer>,
) -> (Duration, EndCause) {
    sim.events()
        .iter()
        .find_map(|e| match &e.event {
            Event::Disconnected { cause, .. } => Some((e.at, (**cause).clone())),
            _ => None,
        })
        .expect("a disconnect")
}

fn transport_kind(cause: &EndCause) -> Option<&TransportErrorKind> {
    match cause {
        EndCause::Transport(e) => Some(&e.kind),
        _ => None,
    }
}

#[test]
fn a_reset_reconnects_and_restores_every_topic() {
    let mut sim = line_sim(sim_config(1), &["a", "b", "c"])
        .script(Script::new().at(Duration::from_secs(30), Fault::Reset));
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(60));

    let (at, cause) = first_disconnect(&sim);
    assert_eq!(transport_kind(&cause), Some(&TransportErrorKind::Reset));
    // The reset reaches the client one latency (20 ms) after it happened.
    assert_eq!(at, Duration::from_secs(30) + Duration::from_millis(20));
    let lives: Vec<_> = sim
        .events()
        .iter()
        .filter_map(|e| match e.event {
            Event::Live { resubscribed, .. } => Some((e.at, resubscribed)),
            _ => None,
        })
        .collect();
    assert_eq!(lives.len(), 2, "{}", sim.transcript());
    assert_eq!(lives[1].1, 3, "every topic restored");
    assert!(lives[1].0 > at);
    assert!(matches!(sim.session().state(), State::Live { .. }));
    assert_eq!(sim.server().open(), 1);
    let summary = sim.summary();
    assert_eq!(summary.outages_survived, 1);
    assert_eq!(summary.faults, 1);
    assert!(summary.messages > 1000, "{summary}");
}

#[test]
fn a_stall_is_detected_within_ping_interval_plus_pong_timeout() {
    let cfg = sim_config(2);
    let bound = cfg.liveness.ping_interval.unwrap() + cfg.liveness.pong_timeout;
    let mut sim =
        line_sim(cfg, &["a"]).script(Script::new().at(Duration::from_secs(30), Fault::Stall));
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(60));

    let (at, cause) = first_disconnect(&sim);
    assert_eq!(cause, EndCause::Timeout(TimeoutKind::Pong));
    assert!(at <= Duration::from_secs(30) + bound, "detected at {at:?}");
    // Not before a ping interval of silence could have passed.
    assert!(
        at >= Duration::from_secs(30) + Duration::from_secs(4),
        "detected at {at:?}"
    );
    assert_eq!(sim.summary().outages_survived, 1);
    assert!(sim
        .transcript()
        .of_kinds(&[LineKind::Detail])
        .any(|l| l.text.starts_with("ping #1")));
}

#[test]
fn a_refusal_period_is_ridden_through_with_growing_backoff() {
    let mut cfg = sim_config(3);
    cfg.backoff = BackoffConfig::default();
    cfg.backoff.initial = Duration::from_secs(1);
    cfg.backoff.max = Duration::from_secs(30);
    cfg.backoff.jitter = Jitter::None;
    let script = Script::new()
        .at(
            Duration::from_secs(30),
            Fault::RefuseFor(Duration::from_secs(60)),
        )
        .at(Duration::from_secs(30), Fault::Reset);
    let mut sim = line_sim(cfg, &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(200));

    let refused = sim
        .events()
        .iter()
        .filter(|e| match &e.event {
            Event::AttemptFailed { cause, .. } => {
                transport_kind(cause) == Some(&TransportErrorKind::Refused)
            }
            _ => false,
        })
        .count();
    assert!(refused >= 5, "{}", sim.transcript());
    let delays: Vec<Duration> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.event {
            Event::ReconnectScheduled {
                delay,
                source: DelaySource::Backoff,
                ..
            } => Some(delay.drawn),
            _ => None,
        })
        .collect();
    assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
    assert_eq!(
        &delays[..5],
        &[
            Duration::from_secs(1),
            Duration::from_secs(2),
            Duration::from_secs(4),
            Duration::from_secs(8),
            Duration::from_secs(16)
        ]
    );
    let lives = times_of(&sim, is_live);
    assert_eq!(lives.len(), 2);
    assert!(
        lives[1] >= Duration::from_secs(90),
        "live again only once the refusals end"
    );
    assert_eq!(sim.summary().outages_survived, 1);
}

#[test]
fn a_blackhole_ends_with_the_connect_timeout() {
    let mut cfg = sim_config(4);
    cfg.timeouts.connect = Duration::from_secs(4);
    let script = Script::new()
        .at(
            Duration::from_secs(30),
            Fault::BlackholeFor(Duration::from_secs(10)),
        )
        .at(Duration::from_secs(30), Fault::Reset);
    let mut sim = line_sim(cfg, &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(120));

    let connects = times_of(&sim, is_connecting);
    let timed_out: Vec<Duration> = times_of(&sim, |e| {
        matches!(
            e,
            Event::AttemptFailed { cause, .. }
                if **cause == EndCause::Timeout(TimeoutKind::Connect)
        )
    });
    assert!(!timed_out.is_empty(), "{}", sim.transcript());
    // Each timeout comes exactly the connect timeout after its attempt began.
    for t in &timed_out {
        assert!(
            connects.contains(&(*t - Duration::from_secs(4))),
            "{t:?} {connects:?}"
        );
    }
    assert_eq!(sim.summary().outages_survived, 1);
    assert!(sim.transcript().contains("no answer"));
}

#[test]
fn retry_after_is_honoured() {
    let script = Script::new()
        .at(
            Duration::from_secs(30),
            Fault::RejectHandshake {
                status: 429,
                retry_after: Some(Duration::from_secs(20)),
            },
        )
        .at(Duration::from_secs(30), Fault::Reset);
    let mut sim = line_sim(sim_config(5), &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(120));

    let failed = sim
        .events()
        .iter()
        .find_map(|e| match &e.event {
            Event::AttemptFailed {
                cause, disposition, ..
            } => Some((e.at, cause.clone(), *disposition)),
            _ => None,
        })
        .expect("the rejected attempt");
    assert!(matches!(
        transport_kind(&failed.1),
        Some(TransportErrorKind::Handshake {
            status: 429,
            retry_after: Some(d),
        }) if *d == Duration::from_secs(20)
    ));
    assert_eq!(failed.2, Disposition::RetryAfter(Duration::from_secs(20)));
    assert!(sim.events().iter().any(|e| matches!(
        e.event,
        Event::ReconnectScheduled {
            source: DelaySource::RetryAfter { hint },
            ..
        } if hint == Duration::from_secs(20)
    )));
    let next = times_of(&sim, is_connecting)
        .into_iter()
        .find(|t| *t > failed.0)
        .expect("a later attempt");
    assert!(
        next >= failed.0 + Duration::from_secs(20),
        "next attempt at {next:?}"
    );
    assert_eq!(sim.summary().outages_survived, 1);
}

#[test]
fn a_server_close_reports_its_code_and_the_classifier_decides() {
    let script = Script::new().at(Duration::from_secs(30), Fault::close(4000, "maintenance"));
    let mut sim = line_sim(sim_config(6), &["a"]).script(script.clone());
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(60));
    let (_, cause) = first_disconnect(&sim);
    assert_eq!(
        cause,
        EndCause::ServerClosed {
            code: Some(4000),
            reason: "maintenance".into()
        }
    );
    assert_eq!(sim.summary().outages_survived, 1);

    // The same close, classified as fatal, stops the session.
    let classifier = Classifier::default()
        .close_code(4000..=4999, Disposition::Fatal)
        .unwrap();
    let mut cfg = sim_config(6);
    cfg.classifier = classifier;
    let mut sim = line_sim(cfg, &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(600));
    assert!(sim.session().is_stopped());
    assert_eq!(times_of(&sim, is_connecting).len(), 1);
}

#[test]
fn a_fatal_auth_rejection_stops_the_session_with_no_further_connect() {
    let script = Script::new()
        .at(
            Duration::from_secs(20),
            Fault::reject_auth(AuthRejection::Fatal),
        )
        .at(Duration::from_secs(30), Fault::Reset);
    let mut sim = line_sim(sim_config(7), &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(3600));

    assert!(matches!(
        sim.session().state(),
        State::Stopped(StopReason::Fatal(EndCause::AuthRejected(_)))
    ));
    assert_eq!(
        times_of(&sim, is_connecting).len(),
        2,
        "{}",
        sim.transcript()
    );
    assert_eq!(sim.server().auth_requests, 2);
    assert_eq!(
        sim.server().open(),
        0,
        "the rejected connection was released"
    );
    assert_eq!(sim.connections(), 0, "nothing left in flight");
}

#[test]
fn a_transient_auth_rejection_backs_off_and_retries() {
    let script = Script::new()
        .at(
            Duration::from_secs(20),
            Fault::reject_auth(AuthRejection::Transient),
        )
        .at(Duration::from_secs(30), Fault::Reset);
    let mut sim = line_sim(sim_config(8), &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(120));

    assert!(sim.events().iter().any(|e| matches!(
        &e.event,
        Event::Disconnected {
            cause,
            disposition: Disposition::Retry,
            ..
        } if matches!(**cause, EndCause::AuthRejected(_))
    )));
    assert_eq!(times_of(&sim, is_live).len(), 2);
    assert_eq!(sim.server().auth_requests, 3);
}

#[test]
fn a_refused_topic_is_reported_and_the_others_restored() {
    let script = Script::new()
        .at(Duration::from_secs(20), Fault::nack("b"))
        .at(Duration::from_secs(30), Fault::Reset);
    let mut sim = line_sim(sim_config(9), &["a", "b", "c"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(60));

    let rejected: Vec<_> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.event {
            Event::SubscribeRejected {
                topic, retry_in, ..
            } => Some((topic.to_string(), *retry_in)),
            _ => None,
        })
        .collect();
    assert_eq!(rejected, vec![("b".to_owned(), None)]);
    let wanted: Vec<String> = sim
        .session()
        .subscriptions()
        .map(|s| s.topic.to_string())
        .collect();
    assert_eq!(wanted, ["a", "c"]);
    assert!(matches!(sim.session().state(), State::Live { .. }));
}

#[test]
fn a_skipped_sequence_is_reported_as_a_gap() {
    let script = Script::new().at(Duration::from_secs(10), Fault::skip_sequence("a", 2));
    let mut sim = line_sim(sim_config(10), &["a", "b"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(30));

    let gaps: Vec<_> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.event {
            Event::Gap {
                topic,
                expected,
                received,
            } => Some((topic.to_string(), *expected, *received)),
            _ => None,
        })
        .collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let (topic, expected, received) = &gaps[0];
    assert_eq!(topic, "a");
    assert_eq!(*received, expected + 2);
    assert_eq!(sim.summary().gaps, 1);
}

#[test]
fn a_data_stall_is_caught_by_the_idle_timeout() {
    let mut cfg = sim_config(11);
    cfg.liveness.idle_timeout = Some(Duration::from_secs(3));
    let script = Script::new().at(
        Duration::from_secs(30),
        Fault::stop_data(Duration::from_secs(10)),
    );
    let mut sim = line_sim(cfg, &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(90));

    let (at, cause) = first_disconnect(&sim);
    assert_eq!(cause, EndCause::Timeout(TimeoutKind::Idle));
    assert!(
        at > Duration::from_secs(30) && at <= Duration::from_secs(33) + Duration::from_millis(100),
        "{at:?}"
    );
    assert!(matches!(sim.session().state(), State::Live { .. }));
}

#[test]
fn a_server_restart_closes_with_1012_and_refuses_while_down() {
    let script = Script::new().at(
        Duration::from_secs(30),
        Fault::Restart {
            downtime: Duration::from_secs(15),
        },
    );
    let mut sim = line_sim(sim_config(12), &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(120));

    let (_, cause) = first_disconnect(&sim);
    assert!(matches!(
        cause,
        EndCause::ServerClosed {
            code: Some(1012),
            ..
        }
    ));
    assert!(sim.events().iter().any(|e| matches!(
        &e.event,
        Event::AttemptFailed { cause, .. } if transport_kind(cause) == Some(&TransportErrorKind::Refused)
    )));
    let lives = times_of(&sim, is_live);
    assert_eq!(lives.len(), 2);
    assert!(lives[1] >= Duration::from_secs(45));
}

#[test]
fn a_clean_close_sends_a_close_and_never_reconnects() {
    let script = Script::new().at(Duration::from_secs(40), Fault::Reset).at(
        Duration::from_secs(50),
        Fault::Restart {
            downtime: Duration::from_secs(5),
        },
    );
    let mut sim = line_sim(sim_config(13), &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(30));
    sim.command("close", |s, now| s.close(now)).unwrap();
    sim.run_until(Duration::from_secs(3600));

    assert!(sim.transcript().contains("close #1 with 1000"));
    assert_eq!(
        sim.session().state(),
        State::Stopped(StopReason::Closed { clean: true })
    );
    assert_eq!(times_of(&sim, is_connecting).len(), 1);
    assert_eq!(sim.server().connects, 1);
    assert_eq!(sim.server().open(), 0);
    assert!(sim.transcript().contains("nothing to do"));
}

#[test]
fn released_connections_are_gone_and_their_late_deliveries_are_stale() {
    // Ten extra seconds of latency: the pong timeout fires while data is still in flight.
    let script = Script::new().at(
        Duration::from_secs(30),
        Fault::AddLatency {
            extra: Duration::from_secs(10),
            duration: Duration::from_secs(20),
        },
    );
    let mut sim = line_sim(sim_config(14), &["a"]).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(120));

    let (_, cause) = first_disconnect(&sim);
    assert_eq!(cause, EndCause::Timeout(TimeoutKind::Pong));
    let summary = sim.summary();
    assert!(summary.late_deliveries > 10, "{summary}");
    assert_eq!(summary.stale_inputs, summary.late_deliveries);
    assert_eq!(
        sim.server().open(),
        1,
        "the released connection is gone from the server"
    );
    assert!(sim.connections() <= 2);
    assert!(matches!(sim.session().state(), State::Live { .. }));
}

#[test]
fn commands_run_at_a_virtual_time() {
    let mut sim = line_sim(sim_config(15), &["a"]).record_messages(true);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(10));
    sim.command("subscribe d", |s, now| s.subscribe(now, "d"))
        .unwrap();
    let subscribed = sim
        .run_until_event(
            Duration::from_secs(20),
            |e| matches!(e, Event::Subscribed { topic, .. } if topic.as_str() == "d"),
        )
        .expect("d subscribed");
    assert!(subscribed.at >= Duration::from_secs(10) && subscribed.at < Duration::from_secs(11));
    let message = sim
        .run_until_event(
            Duration::from_secs(20),
            |e| matches!(e, Event::Message { topic: Some(t), .. } if t.as_str() == "d"),
        )
        .expect("data on d");
    assert!(message.at > subscribed.at);
    assert!(sim
        .transcript()
        .of_kinds(&[LineKind::Command])
        .any(|l| l.at == Duration::from_secs(10) && l.text == "subscribe d"));
}

#[test]
fn requested_credentials_are_provided() {
    let mut policy = CredentialPolicy::default();
    policy.fetch_before_connect = true;
    let mut cfg = sim_config(16);
    cfg.credentials = policy;
    let sim = line_sim(cfg, &["a"]);
    let mut sim = sim
        .credentials(reconnect_core::Credentials::new("fresh-secret"))
        .script(Script::new().at(Duration::from_secs(30), Fault::Reset));
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(60));
    assert_eq!(times_of(&sim, is_live).len(), 2);
    assert!(sim.transcript().contains("credentials provided"));
    assert!(!sim.transcript().contains("fresh-secret"));
}

/// A server that supports no server-side fault.
struct Mute;

impl SimServer for Mute {
    fn on_frame(&mut self, _ctx: &mut ServerCtx<'_>, _conn: ConnId, _frame: &Frame) {}
}

#[test]
fn a_server_fault_the_server_does_not_support_is_noted() {
    let base = Instant::now();
    let session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
    let script = Script::new().at(Duration::from_secs(5), Fault::nack("x"));
    let mut sim = Simulator::new(base, session, Mute).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(10));
    assert!(sim.transcript().contains("does not support"));
    assert!(matches!(sim.session().state(), State::Live { .. }));
}

#[test]
fn step_jumps_to_the_next_thing_and_ends_when_nothing_is_left() {
    let mut sim = line_sim(sim_config(17), &["a"]);
    sim.start().unwrap();
    // The upgrade request reaches the server one latency after the connect, the 101 response
    // the client one round trip after it.
    assert_eq!(sim.step(), Some(Duration::from_millis(20)));
    assert_eq!(sim.step(), Some(Duration::from_millis(40)));
    assert!(matches!(
        sim.session().state(),
        State::Authenticating { .. }
    ));
    sim.run_for(Duration::from_secs(5));
    sim.command("close", |s, now| s.close(now)).unwrap();
    let mut steps = 0;
    while sim.step().is_some() {
        steps += 1;
        assert!(
            steps < 100,
            "a stopped session with an idle server runs out of things to do"
        );
    }
    assert_eq!(
        sim.session().state(),
        State::Stopped(StopReason::Closed { clean: true })
    );
    assert_eq!(sim.connections(), 0);
    assert!(sim.elapsed() < Duration::from_secs(6));
}
