//! The built-in JSON-RPC server against the crate's JSON-RPC adapter: the Deribit-style
//! protocol end to end, through scripted faults.
#![cfg(feature = "json")]

use std::time::{Duration, Instant};

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::sim::{
    AuthRejection, Fault, JsonRpcServer, JsonRpcServerConfig, Network, Script, Simulator,
};
use reconnect_core::{Config, EndCause, Event, Session, State, StopReason, TimeoutKind};

const CHANNELS: [&str; 3] = [
    "book.BTC-PERPETUAL.100ms",
    "trades.BTC-PERPETUAL.raw",
    "ticker.ETH-PERPETUAL.100ms",
];
const SECRET: &str = "s3cret-value";

fn json_sim(config: Config) -> Simulator<JsonRpcAdapter, JsonRpcServer> {
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default()
            .server_heartbeat(Some(Duration::from_secs(10)))
            .seq_pointer(Some(SeqPointer::parse("/seq").unwrap())),
    );
    let base = Instant::now();
    let mut session = Session::new(config, adapter).unwrap();
    session.set_credentials(JsonRpcAdapter::client_credentials("sim-client", SECRET));
    for channel in CHANNELS {
        session.subscribe(base, channel).unwrap();
    }
    let server = JsonRpcServer::with_config(
        JsonRpcServerConfig::default().data_interval(Duration::from_millis(100)),
    );
    Simulator::new(base, session, server)
}

fn count(sim: &Simulator<JsonRpcAdapter, JsonRpcServer>, pred: impl Fn(&Event) -> bool) -> usize {
    sim.events().iter().filter(|e| pred(&e.event)).count()
}

fn first_disconnect(sim: &Simulator<JsonRpcAdapter, JsonRpcServer>) -> (Duration, EndCause) {
    sim.events()
        .iter()
        .find_map(|e| match &e.event {
            Event::Disconnected { cause, .. } => Some((e.at, (**cause).clone())),
            _ => None,
        })
        .expect("a disconnect")
}

#[test]
fn server_heartbeats_are_answered_and_a_reset_restores_every_channel() {
    let mut sim =
        json_sim(Config::new(1)).script(Script::new().at(Duration::from_secs(120), Fault::Reset));
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(300));

    // One set_heartbeat and one subscribe (all three channels in one batch) per connection.
    assert_eq!(sim.server().requests("public/auth"), 2);
    assert_eq!(sim.server().requests("public/set_heartbeat"), 2);
    assert_eq!(sim.server().requests("public/subscribe"), 2);
    // The server's test_requests every 10 s were all answered.
    assert!(sim.server().requests("public/test") >= 25);
    assert_eq!(count(&sim, |e| matches!(e, Event::Disconnected { .. })), 1);
    let (_, cause) = first_disconnect(&sim);
    assert!(matches!(cause, EndCause::Transport(_)));
    let conn = sim.session().current_conn().unwrap();
    assert_eq!(sim.server().channels(conn).len(), 3);
    let summary = sim.summary();
    assert_eq!(summary.outages_survived, 1);
    assert_eq!(
        summary.gaps, 0,
        "sequence numbers continue across the reconnect"
    );
    assert!(summary.messages > 8000, "{summary}");
}

#[test]
fn auth_code_13004_stops_the_session_for_good() {
    let script = Script::new()
        .at(
            Duration::from_secs(20),
            Fault::reject_auth(AuthRejection::Fatal),
        )
        .at(Duration::from_secs(30), Fault::Reset);
    let mut sim = json_sim(Config::new(2)).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(3600));

    match sim.session().state() {
        State::Stopped(StopReason::Fatal(EndCause::AuthRejected(error))) => {
            assert_eq!(error.code, Some(JsonRpcServer::AUTH_INVALID_CREDENTIALS));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&sim, |e| matches!(e, Event::Connecting { .. })), 2);
    assert_eq!(sim.server().open_connections(), 0);
}

#[test]
fn auth_code_10028_is_retried() {
    let script = Script::new()
        .at(
            Duration::from_secs(20),
            Fault::reject_auth(AuthRejection::Transient),
        )
        .at(Duration::from_secs(30), Fault::Reset);
    let mut sim = json_sim(Config::new(3)).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(90));

    assert_eq!(sim.server().requests("public/auth"), 3);
    assert_eq!(count(&sim, |e| matches!(e, Event::Live { .. })), 2);
    assert!(sim.transcript().contains("auth rejected: 10028"));
}

#[test]
fn a_channel_missing_from_the_result_is_rejected_alone() {
    let script = Script::new()
        .at(Duration::from_secs(20), Fault::nack(CHANNELS[2]))
        .at(Duration::from_secs(30), Fault::Reset);
    let mut sim = json_sim(Config::new(4)).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(60));

    let rejected: Vec<String> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.event {
            Event::SubscribeRejected { topic, .. } => Some(topic.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(rejected, [CHANNELS[2]]);
    let conn = sim.session().current_conn().unwrap();
    assert_eq!(sim.server().channels(conn), [CHANNELS[0], CHANNELS[1]]);
    assert!(matches!(sim.session().state(), State::Live { .. }));
}

#[test]
fn a_skipped_sequence_number_is_reported_as_a_gap() {
    let script = Script::new().at(
        Duration::from_secs(10),
        Fault::skip_sequence(CHANNELS[1], 3),
    );
    let mut sim = json_sim(Config::new(5)).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(20));

    let gaps: Vec<(String, u64, u64)> = sim
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
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].0, CHANNELS[1]);
    assert_eq!(gaps[0].2, gaps[0].1 + 3);
    assert_eq!(
        sim.server().last_seq(CHANNELS[1]),
        sim.server().last_seq(CHANNELS[0]).map(|s| s + 3)
    );
}

#[test]
fn a_stall_is_caught_by_ping_and_pong_and_the_server_drops_the_silent_client() {
    let config = Config::new(6);
    let bound = config.liveness.ping_interval.unwrap() + config.liveness.pong_timeout;
    let mut sim = json_sim(config).script(Script::new().at(Duration::from_secs(60), Fault::Stall));
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(180));

    let (at, cause) = first_disconnect(&sim);
    assert_eq!(cause, EndCause::Timeout(TimeoutKind::Pong));
    assert!(at <= Duration::from_secs(60) + bound, "{at:?}");
    assert!(matches!(sim.session().state(), State::Live { .. }));
    // Only the live connection is left on the server.
    assert_eq!(sim.server().open_connections(), 1);
}

#[test]
fn a_data_stall_is_caught_by_the_idle_timeout_while_heartbeats_continue() {
    let mut config = Config::new(7);
    config.liveness.idle_timeout = Some(Duration::from_secs(5));
    let script = Script::new().at(
        Duration::from_secs(60),
        Fault::stop_data(Duration::from_secs(3)),
    );
    let mut sim = json_sim(config.clone()).script(script.clone());
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(120));
    assert_eq!(
        count(&sim, |e| matches!(e, Event::Disconnected { .. })),
        0,
        "a pause shorter than the idle timeout is ridden out"
    );

    let script = Script::new().at(
        Duration::from_secs(60),
        Fault::stop_data(Duration::from_secs(30)),
    );
    let mut sim = json_sim(config).script(script);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(120));
    let (at, cause) = first_disconnect(&sim);
    assert_eq!(cause, EndCause::Timeout(TimeoutKind::Idle));
    assert!(
        at <= Duration::from_secs(65) + Duration::from_millis(200),
        "{at:?}"
    );
}

#[test]
fn an_hour_of_outages_is_deterministic_and_keeps_secrets() {
    let run = || {
        let script = Script::new()
            .at(Duration::from_secs(300), Fault::Reset)
            .at(Duration::from_secs(600), Fault::Stall)
            .at(
                Duration::from_secs(900),
                Fault::RefuseFor(Duration::from_secs(45)),
            )
            .at(Duration::from_secs(900), Fault::Reset)
            .at(
                Duration::from_secs(1200),
                Fault::reject_auth(AuthRejection::Transient),
            )
            .at(
                Duration::from_secs(1200),
                Fault::close(1011, "internal error"),
            )
            .at(Duration::from_secs(1500), Fault::nack(CHANNELS[2]))
            .at(Duration::from_secs(1500), Fault::Reset)
            .at(
                Duration::from_secs(1800),
                Fault::skip_sequence(CHANNELS[1], 3),
            )
            .at(
                Duration::from_secs(2100),
                Fault::RejectHandshake {
                    status: 429,
                    retry_after: Some(Duration::from_secs(30)),
                },
            )
            .at(Duration::from_secs(2100), Fault::Reset)
            .at(
                Duration::from_secs(2700),
                Fault::Restart {
                    downtime: Duration::from_secs(20),
                },
            );
        let mut sim = json_sim(Config::new(8))
            .network(
                Network::new()
                    .latency(Duration::from_millis(20))
                    .jitter(Duration::from_millis(30))
                    .seed(9),
            )
            .script(script);
        sim.start().unwrap();
        sim.run_until(Duration::from_secs(3600));
        sim.command("close", |s, now| s.close(now)).unwrap();
        sim.run_for(Duration::from_secs(10));
        (sim.transcript().to_string(), sim.summary())
    };
    let (transcript, summary) = run();
    let (again, _) = run();
    assert_eq!(transcript, again);
    assert_eq!(summary.outages_survived, 7, "{summary}");
    // The skip, and the messages lost in the stall on every channel still wanted then.
    assert!(summary.gaps >= 1, "{summary}");
    assert!(transcript.contains("stopped: closed cleanly"));
    assert!(transcript.contains("auth <redacted"));
    assert!(!transcript.contains(SECRET));
}
