//! The public invariant checker attached to the simulator: a correct session through every
//! kind of fault breaks none of the rules, and a checker fed a doctored output names the rule
//! it breaks.
#![cfg(feature = "json")]

use std::time::Instant;

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::sim::{
    millis, secs, AuthRejection, Call, Fault, Invariant, Invariants, JsonRpcServer,
    JsonRpcServerConfig, Script, Simulator,
};
use reconnect_core::{Config, Jitter, Session};

const CHANNELS: [&str; 3] = ["book.A", "trades.B", "ticker.C"];

fn sim(config: Config, script: Script) -> Simulator<JsonRpcAdapter, JsonRpcServer> {
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default()
            .server_heartbeat(Some(secs(10)))
            .seq_pointer(Some(SeqPointer::parse("/seq").unwrap())),
    );
    let base = Instant::now();
    let mut session = Session::new(config, adapter).unwrap();
    session.set_credentials(JsonRpcAdapter::client_credentials("sim-client", "s3cret"));
    for channel in CHANNELS {
        session.subscribe(base, channel).unwrap();
    }
    let invariants = Invariants::for_session(&session);
    let server =
        JsonRpcServer::with_config(JsonRpcServerConfig::default().data_interval(millis(250)));
    Simulator::new(base, session, server)
        .script(script)
        .check(invariants)
}

fn every_fault() -> Script {
    Script::new()
        .at(secs(20), Fault::Reset)
        .at(secs(60), Fault::Stall)
        .at(secs(120), Fault::RefuseFor(secs(40)))
        .at(secs(120), Fault::Reset)
        .at(
            secs(200),
            Fault::RejectHandshake {
                status: 429,
                retry_after: Some(secs(7)),
            },
        )
        .at(secs(200), Fault::Reset)
        .at(secs(260), Fault::Restart { downtime: secs(15) })
        .at(secs(320), Fault::reject_auth(AuthRejection::Transient))
        .at(secs(320), Fault::Reset)
        .at(secs(380), Fault::nack("trades.B"))
        .at(secs(380), Fault::Reset)
        .at(secs(440), Fault::skip_sequence("book.A", 3))
        .at(secs(500), Fault::BlackholeFor(secs(30)))
        .at(secs(500), Fault::Reset)
        .at(secs(600), Fault::close(1012, "restart"))
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
        config.backoff.max = secs(4);
        let mut sim = sim(config, every_fault());
        sim.start().unwrap();
        sim.run_until(secs(700));
        assert_eq!(sim.violation(), None, "{jitter:?}\n{}", sim.transcript());
        let steps = sim.invariants().unwrap().steps();
        assert!(steps > 100, "only {steps} calls were checked");
        sim.command_as(Call::Unsubscribe("ticker.C".into()), |s, now| {
            s.unsubscribe(now, "ticker.C")
        })
        .unwrap();
        sim.run_for(secs(30));
        sim.command_as(Call::Close, |s, now| s.close(now)).unwrap();
        sim.run_for(secs(30));
        assert_eq!(sim.violation(), None, "{jitter:?}\n{}", sim.transcript());
        assert!(sim.session().is_stopped());
    }
}

#[test]
fn an_unwanted_topic_on_the_wire_is_named() {
    // The checker believes only two topics are wanted: the third, which the session restores
    // and the server holds, is reported.
    let mut config = Config::new(3);
    config.backoff.max = secs(4);
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
    sim.run_until(secs(10));
    let violation = sim.violation().expect("a violation");
    assert_eq!(violation.invariant, Invariant::Restore, "{violation}");
    assert!(violation.evidence.contains("ticker.C"), "{violation}");
}
