//! The property kit against the crate's own JSON-RPC adapter and simulated server: a correct
//! adapter passes every generated case, and each rare path and each command the kit makes is
//! reached in every run.
#![cfg(all(feature = "proptest", feature = "json"))]

use proptest::strategy::{Strategy, ValueTree};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::sim::proptest::{Kit, Outcome, RarePath};
use reconnect_core::sim::JsonRpcServer;
use reconnect_core::Command;

const TOPICS: [&str; 3] = ["book.A", "trades.B", "ticker.C"];

fn adapter() -> JsonRpcAdapter {
    JsonRpcAdapter::new(
        JsonRpcConfig::default().seq_pointer(Some(SeqPointer::parse("/seq").unwrap())),
    )
}

fn kit() -> Kit {
    Kit::new(Instant::now(), TOPICS).regressions(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/kit_jsonrpc.proptest-regressions"
    ))
}

#[test]
fn the_json_rpc_adapter_keeps_every_rule() {
    if let Err(failure) = kit().check(adapter, JsonRpcServer::new) {
        panic!("{failure}");
    }
}

#[test]
fn every_rare_path_is_reached_in_every_run() {
    let kit = kit();
    let strategy = kit.scenarios();
    let mut runner = kit.runner();
    let mut reached = [0u32; 3];
    for _ in 0..64 {
        let scenario = strategy.new_tree(&mut runner).unwrap().current();
        let outcome: Outcome = kit
            .run(&scenario, adapter, JsonRpcServer::new)
            .unwrap_or_else(|v| panic!("{v}\n{scenario}"))
            .expect("the adapter takes every configuration");
        reached[0] += u32::from(outcome.closed_during_recycle);
        reached[1] += u32::from(outcome.gave_up);
        reached[2] += u32::from(outcome.breaker_opened);
        if scenario.rare == Some(RarePath::GiveUp) {
            assert!(outcome.gave_up, "{scenario}");
        }
    }
    assert!(
        reached.iter().all(|n| *n > 0),
        "reached (recycle close, give-up, breaker): {reached:?}"
    );
}

#[test]
fn every_command_the_kit_makes_comes_up_in_every_run() {
    let kit = kit();
    let strategy = kit.scenarios();
    let mut runner = kit.runner();
    let mut seen = BTreeSet::new();
    for _ in 0..64 {
        let scenario = strategy.new_tree(&mut runner).unwrap().current();
        for (_, command) in &scenario.commands {
            if let Command::Subscribe(topic) | Command::Unsubscribe(topic) = command {
                assert!(
                    TOPICS.contains(&topic.as_str()),
                    "{topic:?} is not the kit's"
                );
            }
            seen.insert(format!("{:?}", command.kind()));
        }
    }
    let expected = ["Close", "ReconnectNow", "Send", "Subscribe", "Unsubscribe"];
    assert_eq!(
        seen,
        expected.map(String::from).into(),
        "the commands generated"
    );
}

/// A longer hunt with fresh seeds: `KIT_HUNT=2000 cargo test -p reconnect-core --all-features
/// --test kit_jsonrpc hunt -- --ignored`.
#[test]
#[ignore = "a long hunt, run by hand"]
fn hunt() {
    let cases = std::env::var("KIT_HUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    for round in 0..4u8 {
        let kit = Kit::new(Instant::now(), TOPICS)
            .cases(cases)
            .seed([round + 1; 32]);
        if let Err(failure) = kit.check(adapter, JsonRpcServer::new) {
            panic!("{failure}");
        }
        let kit = kit.credentials(JsonRpcAdapter::client_credentials("hunt", "s3cret"));
        if let Err(failure) = kit.check(heartbeats, JsonRpcServer::new) {
            panic!("with credentials and heartbeats: {failure}");
        }
    }
}

/// The adapter with the server's heartbeat switched on.
fn heartbeats() -> JsonRpcAdapter {
    JsonRpcAdapter::new(
        JsonRpcConfig::default()
            .server_heartbeat(Some(Duration::from_secs(10)))
            .seq_pointer(Some(SeqPointer::parse("/seq").unwrap())),
    )
}

#[test]
fn with_credentials_and_server_heartbeats() {
    let kit = kit().credentials(JsonRpcAdapter::client_credentials("kit", "s3cret"));
    if let Err(failure) = kit.check(heartbeats, JsonRpcServer::new) {
        panic!("{failure}");
    }
}
