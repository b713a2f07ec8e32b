//! The public invariant checker attached to the simulator: a correct session through every
//! kind of fault breaks none of the rules, and a checker fed a doctored output names the rule
//! it breaks.
#![cfg(feature = "json")]

use std::time::{Duration, Instant};

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::sim::{
    AuthRejection, Fault, Invariant, Invariants, JsonRpcServer, JsonRpcServerConfig, Script,
    Simulator,
};
use reconnect_core::{
    Command, Config, Event, GapPolicy, Jitter, SendOptions, SendRate, Session, StaleAfter,
    SubscribeOptions,
};

const CHANNELS: [&str; 3] = ["book.A", "trades.B", "ticker.C"];

fn sim(config: Config, script: Script) -> Simulator<JsonRpcAdapter, JsonRpcServer> {
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default()
            .server_heartbeat(Some(Duration::from_secs(10)))
            .seq_pointer(Some(SeqPointer::parse("/seq").unwrap())),
    );
    let base = Instant::now();
    let mut session = Session::new(config, adapter).unwrap();
    session.set_credentials(JsonRpcAdapter::client_credentials("sim-client", "s3cret"));
    for channel in CHANNELS {
        session.subscribe(base, channel).unwrap();
    }
    let invariants = Invariants::for_session(&session);
    let server = JsonRpcServer::with_config(
        JsonRpcServerConfig::default().data_interval(Duration::from_millis(250)),
    );
    Simulator::new(base, session, server)
        .script(script)
        .check(invariants)
}

fn every_fault() -> Script {
    Script::new()
        .at(Duration::from_secs(20), Fault::Reset)
        .at(Duration::from_secs(60), Fault::Stall)
        .at(
            Duration::from_secs(120),
            Fault::RefuseFor(Duration::from_secs(40)),
        )
        .at(Duration::from_secs(120), Fault::Reset)
        .at(
            Duration::from_secs(200),
            Fault::RejectHandshake {
                status: 429,
                retry_after: Some(Duration::from_secs(7)),
            },
        )
        .at(Duration::from_secs(200), Fault::Reset)
        .at(
            Duration::from_secs(260),
            Fault::Restart {
                downtime: Duration::from_secs(15),
            },
        )
        .at(
            Duration::from_secs(320),
            Fault::reject_auth(AuthRejection::Transient),
        )
        .at(Duration::from_secs(320), Fault::Reset)
        .at(Duration::from_secs(380), Fault::nack("trades.B"))
        .at(Duration::from_secs(380), Fault::Reset)
        .at(Duration::from_secs(440), Fault::skip_sequence("book.A", 3))
        .at(
            Duration::from_secs(500),
            Fault::BlackholeFor(Duration::from_secs(30)),
        )
        .at(Duration::from_secs(500), Fault::Reset)
        .at(Duration::from_secs(600), Fault::close(1012, "restart"))
}

#[test]
fn a_correct_session_keeps_every_rule_through_every_fault() {
    for jitter in [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ] {
        let mut config = Config::new(7);
        config.backoff.jitter = jitter;
        config.backoff.max = Duration::from_secs(4);
        let mut sim = sim(config, every_fault());
        sim.start().unwrap();
        sim.run_until(Duration::from_secs(700));
        assert_eq!(sim.violation(), None, "{jitter:?}\n{}", sim.transcript());
        let steps = sim.invariants().unwrap().steps();
        assert!(steps > 100, "only {steps} calls were checked");
        sim.apply(Command::Unsubscribe("ticker.C".into())).unwrap();
        sim.run_for(Duration::from_secs(30));
        sim.apply(Command::Close).unwrap();
        sim.run_for(Duration::from_secs(30));
        assert_eq!(sim.violation(), None, "{jitter:?}\n{}", sim.transcript());
        assert!(sim.session().is_stopped());
    }
}

#[test]
fn a_tight_send_rate_holds_through_every_fault() {
    // One frame every 2 s, with pings every 3 s of silence and the server's heartbeat requests
    // every 10 s answered: pings, replies, auth and subscriptions all compete for the tokens.
    let mut config = Config::new(7);
    config.backoff.max = Duration::from_secs(4);
    config.liveness.ping_interval = Some(Duration::from_secs(3));
    config.limits.send_rate = Some(SendRate::new(1, Duration::from_secs(2)));
    // A stall while 40 sends drain at the rate: pings and heartbeat replies find the bucket
    // busy, then every fault on top.
    let script = every_fault().at(Duration::from_secs(30), Fault::Stall);
    let mut sim = sim(config, script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(10));
    for i in 0..40 {
        let send = Command::Send(format!("order {i}").into(), SendOptions::default());
        sim.apply(send).unwrap();
    }
    sim.run_until(Duration::from_secs(700));
    assert_eq!(sim.violation(), None, "{}", sim.transcript());
    assert!(sim.transcript().contains("ping"), "no ping was written");
}

#[test]
fn stale_topics_gap_repairs_and_resyncs_keep_every_rule_through_every_fault() {
    // A staleness deadline shorter than the server's data interval: every topic goes stale in
    // every window, is re-subscribed on the live connection and, three windows in a row,
    // replaces the connection; gaps are repaired; the application resyncs too.
    let mut config = Config::new(11);
    config.backoff.max = Duration::from_secs(4);
    config.liveness.topic_stale_after = Some(Duration::from_millis(700));
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default().seq_pointer(Some(SeqPointer::parse("/seq").unwrap())),
    );
    let base = Instant::now();
    let mut session = Session::new(config, adapter).unwrap();
    session.set_credentials(JsonRpcAdapter::client_credentials("sim-client", "s3cret"));
    let repair = SubscribeOptions::default().gap_policy(GapPolicy::Repair);
    for channel in CHANNELS {
        session.subscribe_with(base, channel, repair).unwrap();
    }
    let invariants = Invariants::for_session(&session);
    let server = JsonRpcServer::with_config(
        JsonRpcServerConfig::default().data_interval(Duration::from_secs(1)),
    );
    let mut sim = Simulator::new(base, session, server)
        .script(every_fault())
        .check(invariants);
    sim.start().unwrap();
    sim.run_for(Duration::from_secs(5));
    // Through the command path too: the checker must take it as a want like any subscribe.
    let own =
        SubscribeOptions::default().stale_after(StaleAfter::After(Duration::from_millis(900)));
    sim.apply(Command::SubscribeWith("index.D".into(), own))
        .unwrap();
    for _ in 0..70 {
        sim.run_for(Duration::from_secs(10));
        let _ = sim.apply(Command::Resync("trades.B".into()));
    }
    assert_eq!(sim.violation(), None, "{}", sim.transcript());
    let stale = sim
        .events()
        .iter()
        .filter(|e| matches!(e.event, Event::TopicStale { .. }))
        .count();
    let resynced = sim
        .events()
        .iter()
        .filter(|e| matches!(e.event, Event::Resynced { .. }))
        .count();
    assert!(
        stale > 10 && resynced > 10,
        "stale {stale}, resynced {resynced}"
    );
}

#[test]
fn an_unwanted_topic_restored_is_named() {
    // The checker believes only two topics are wanted: the third, which the session restores
    // and the server holds, is reported.
    let mut config = Config::new(3);
    config.backoff.max = Duration::from_secs(4);
    let adapter = JsonRpcAdapter::new(JsonRpcConfig::default());
    let base = Instant::now();
    let mut session = Session::new(config, adapter).unwrap();
    for channel in CHANNELS {
        session.subscribe(base, channel).unwrap();
    }
    let invariants = Invariants::new(session.config())
        .wanting(CHANNELS[0])
        .wanting(CHANNELS[1]);
    let mut sim = Simulator::new(base, session, JsonRpcServer::new()).check(invariants);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(10));
    let violation = sim.violation().expect("a violation");
    assert_eq!(violation.invariant, Invariant::Resubscribe, "{violation}");
    assert!(violation.evidence.contains("ticker.C"), "{violation}");
}

// ---- the checker fed doctored outputs names the rule each breaks ----------------------------

mod doctored {
    use std::time::{Duration, Instant};

    use reconnect_core::adapters::RawAdapter;
    use reconnect_core::sim::{Call, Invariant, Invariants};
    use reconnect_core::{
        Action, Command, Config, Delay, DelaySource, Event, Input, Jitter, Output, Purpose,
        Session, TransportError, TransportErrorKind,
    };

    /// A session that connected and failed once, with the checker fed everything so far; returns
    /// the checker, the session, and the time.
    fn after_one_failure(config: Config) -> (Invariants, Session<RawAdapter>, Instant) {
        let mut session = Session::new(config, RawAdapter::new()).unwrap();
        let mut inv = Invariants::for_session(&session);
        let now = Instant::now();
        session.start(now).unwrap();
        let outputs: Vec<Output> = session.drain().collect();
        inv.check(now, Call::Start, &outputs, &session).unwrap();
        let conn = session.current_conn().unwrap();
        let input = Input::ConnectFailed {
            conn,
            error: TransportError::new(TransportErrorKind::Refused, "refused"),
        };
        session.handle_input(now, input.clone());
        let outputs: Vec<Output> = session.drain().collect();
        inv.check(now, Call::Input(input), &outputs, &session)
            .unwrap();
        (inv, session, now)
    }

    fn scheduled(drawn: Duration, failures: u32) -> Output {
        Output::Event(Event::ReconnectScheduled {
            attempt: failures + 1,
            delay: Delay {
                base: drawn,
                drawn,
                jitter: Jitter::Equal,
            },
            source: DelaySource::Backoff,
            failures,
        })
    }

    fn equal_jitter() -> Config {
        let mut config = Config::new(5);
        config.backoff.jitter = Jitter::Equal;
        config.backoff.initial = Duration::from_millis(100);
        config.backoff.factor = 2.0;
        config.backoff.max = Duration::from_millis(400);
        config
    }

    #[test]
    fn a_draw_above_the_documented_range() {
        // Second failure, Equal jitter: base 200 ms, the range is 100..=200 ms.
        let (mut inv, session, now) = after_one_failure(equal_jitter());
        let v = inv
            .check(
                now,
                Call::Timeout,
                &[scheduled(Duration::from_millis(201), 2)],
                &session,
            )
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::BackoffBounds, "{v}");
        assert!(v.evidence.contains("100ms..=200ms"), "{v}");
    }

    #[test]
    fn a_failure_count_that_does_not_grow() {
        let (mut inv, session, now) = after_one_failure(equal_jitter());
        let v = inv
            .check(
                now,
                Call::Timeout,
                &[scheduled(Duration::from_millis(60), 1)],
                &session,
            )
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::BackoffGrowth, "{v}");
    }

    #[test]
    fn draws_at_the_cap_that_never_spread() {
        // From the third failure on the base is at the cap (400 ms): 200..=400 ms, spread.
        let (mut inv, session, now) = after_one_failure(equal_jitter());
        let mut result = Ok(());
        for failures in 2..=6 {
            let drawn = Duration::from_millis(if failures == 2 { 150 } else { 300 });
            result = inv.check(now, Call::Timeout, &[scheduled(drawn, failures)], &session);
            if result.is_err() {
                break;
            }
        }
        let v = result.unwrap_err();
        assert_eq!(v.invariant, Invariant::BackoffSpread, "{v}");
    }

    #[test]
    fn a_frame_over_the_send_rate_is_named() {
        let mut config = Config::new(1);
        // One frame a second, one at a time.
        config.limits.send_rate = Some(reconnect_core::SendRate::new(1, Duration::from_secs(1)));
        let mut session = Session::new(config.clone(), RawAdapter::new()).unwrap();
        let mut inv = Invariants::new(&config);
        let now = Instant::now();
        session.start(now).unwrap();
        let outputs: Vec<Output> = session.drain().collect();
        inv.check(now, Call::Start, &outputs, &session).unwrap();
        let conn = session.current_conn().unwrap();
        session.handle_input(now, Input::Opened { conn });
        let outputs: Vec<Output> = session.drain().collect();
        inv.check(now, Call::Input(Input::Opened { conn }), &outputs, &session)
            .unwrap();
        // A ping at 0.5 s and another at 1.4 s: 0.9 s apart, one more than the rate allows.
        let ping = [Output::Action(Action::Ping { conn })];
        let half = now + Duration::from_millis(500);
        inv.check(half, Call::Timeout, &ping, &session).unwrap();
        let later = now + Duration::from_millis(1_400);
        let v = inv
            .check(later, Call::Timeout, &ping, &session)
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::SendRate, "{v}");
        // A full second apart is within it.
        let mut inv = Invariants::new(&config);
        let mut session = Session::new(config.clone(), RawAdapter::new()).unwrap();
        session.start(now).unwrap();
        let outputs: Vec<Output> = session.drain().collect();
        inv.check(now, Call::Start, &outputs, &session).unwrap();
        session.handle_input(now, Input::Opened { conn });
        let outputs: Vec<Output> = session.drain().collect();
        inv.check(now, Call::Input(Input::Opened { conn }), &outputs, &session)
            .unwrap();
        inv.check(half, Call::Timeout, &ping, &session).unwrap();
        let second = half + Duration::from_secs(1);
        inv.check(second, Call::Timeout, &ping, &session).unwrap();
    }

    #[test]
    fn a_second_connection_while_one_is_in_flight() {
        let mut session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
        let mut inv = Invariants::for_session(&session);
        let now = Instant::now();
        session.start(now).unwrap();
        let mut outputs: Vec<Output> = session.drain().collect();
        outputs.extend(outputs.clone());
        let v = inv.check(now, Call::Start, &outputs, &session).unwrap_err();
        assert_eq!(v.invariant, Invariant::OneConnection, "{v}");
    }

    #[test]
    fn an_application_frame_before_open_and_anything_after_stopped() {
        let mut session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
        let mut inv = Invariants::for_session(&session);
        let now = Instant::now();
        session.start(now).unwrap();
        let mut outputs: Vec<Output> = session.drain().collect();
        let conn = session.current_conn().unwrap();
        outputs.push(Output::Action(Action::Send {
            conn,
            frame: "early".into(),
            purpose: Purpose::Application,
        }));
        let v = inv.check(now, Call::Start, &outputs, &session).unwrap_err();
        assert_eq!(v.invariant, Invariant::FrameOrder, "{v}");

        let mut session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
        let mut inv = Invariants::for_session(&session);
        session.start(now).unwrap();
        let outputs: Vec<Output> = session.drain().collect();
        inv.check(now, Call::Start, &outputs, &session).unwrap();
        session.close(now).unwrap();
        let mut outputs: Vec<Output> = session.drain().collect();
        assert!(session.is_stopped());
        outputs.push(Output::Event(Event::Paused));
        let v = inv
            .check(now, Call::Command(Command::Close), &outputs, &session)
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::CloseTerminal, "{v}");
    }

    #[test]
    fn live_without_a_wanted_topic() {
        let now = Instant::now();
        let mut session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
        session.subscribe(now, "ticks").unwrap();
        let mut inv = Invariants::for_session(&session).wanting("quotes");
        session.start(now).unwrap();
        let outputs: Vec<Output> = session.drain().collect();
        inv.check(now, Call::Start, &outputs, &session).unwrap();
        let conn = session.current_conn().unwrap();
        session.handle_input(now, Input::Opened { conn });
        let outputs: Vec<Output> = session.drain().collect();
        let v = inv
            .check(now, Call::Input(Input::Opened { conn }), &outputs, &session)
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::Resubscribe, "{v}");
        assert!(v.evidence.contains("quotes"), "{v}");
        assert_eq!(inv.violation(), Some(&v), "the first violation is kept");
    }
}
