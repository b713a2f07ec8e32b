//! The built-in JSON-RPC server refusing subscribe requests that ask for a bad channel, in each
//! of its three ways, against the crate's JSON-RPC adapter: the good channels end subscribed on
//! the first connection, the bad ones rejected, with the number of subscribe requests each way
//! costs.
#![cfg(feature = "json")]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::sim::{BadChannelRefusal, JsonRpcServer, JsonRpcServerConfig, Simulator};
use reconnect_core::{Config, Event, Session, State};

const CHANNELS: [&str; 8] = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"];
const BAD: [&str; 2] = ["c2", "c5"];

fn sim(server: JsonRpcServerConfig, bad: &[&str]) -> Simulator<JsonRpcAdapter, JsonRpcServer> {
    let base = Instant::now();
    let mut session = Session::new(Config::new(5), JsonRpcAdapter::default()).unwrap();
    for channel in CHANNELS {
        session.subscribe(base, channel).unwrap();
    }
    let server = bad
        .iter()
        .fold(server, |config, bad| config.bad_channel(*bad));
    Simulator::new(base, session, JsonRpcServer::with_config(server))
}

/// Every `SubscribeRejected` so far: topic to its `retry_in` values.
fn rejections(
    sim: &Simulator<JsonRpcAdapter, JsonRpcServer>,
) -> BTreeMap<String, Vec<Option<Duration>>> {
    let mut out: BTreeMap<String, Vec<Option<Duration>>> = BTreeMap::new();
    for e in sim.events() {
        if let Event::SubscribeRejected {
            topic, retry_in, ..
        } = &e.event
        {
            out.entry(topic.to_string()).or_default().push(*retry_in);
        }
    }
    out
}

fn good() -> Vec<String> {
    CHANNELS
        .iter()
        .filter(|c| !BAD.contains(c))
        .map(|c| c.to_string())
        .collect()
}

/// Runs a permanent refusal to its end and checks the outcome; returns the subscribe requests.
fn isolated(refusal: BadChannelRefusal) -> u64 {
    let mut sim = sim(
        JsonRpcServerConfig::default().bad_channel_refusal(refusal),
        &BAD,
    );
    sim.start().unwrap();
    sim.run_until(Duration::from_millis(2_000));
    let State::Live { conn } = sim.session().state() else {
        panic!("not live: {:?}", sim.session().state());
    };
    assert_eq!(sim.connections(), 1, "{refusal:?}: a reconnect happened");
    assert_eq!(sim.server().channels(conn), good(), "{refusal:?}");
    let expected: BTreeMap<String, Vec<Option<Duration>>> =
        BAD.iter().map(|b| (b.to_string(), vec![None])).collect();
    assert_eq!(rejections(&sim), expected, "{refusal:?}");
    let wanted: Vec<String> = sim
        .session()
        .subscriptions()
        .map(|s| s.topic.to_string())
        .collect();
    assert_eq!(wanted, good(), "{refusal:?}");
    sim.server().requests("public/subscribe")
}

#[test]
fn left_out_of_the_result_costs_no_extra_request() {
    assert_eq!(isolated(BadChannelRefusal::PerChannel), 1);
}

#[test]
fn a_whole_request_refusal_that_names_the_channels_costs_one_more() {
    // Both bad channels named (an array): the other six go again once.
    assert_eq!(isolated(BadChannelRefusal::WholeRequestNamed), 2);
}

#[test]
fn a_silent_whole_request_refusal_is_bisected() {
    // 8 channels, bad c2 and c5: refused [c0..c7] -> [c0..c3] (refused), [c4..c7] (refused)
    // -> [c0,c1] ok, [c2,c3] refused, [c4,c5] refused, [c6,c7] ok -> c2, c3 ok, c4 ok, c5.
    // 1 + 2 + 4 + 4 = 11, within the bound 1 + 2·(min(2,1) + min(2,2) + min(2,4)) = 11.
    assert_eq!(isolated(BadChannelRefusal::WholeRequest), 11);
}

#[test]
fn a_single_bad_channel_is_named_as_a_string() {
    let mut sim = sim(
        JsonRpcServerConfig::default().bad_channel_refusal(BadChannelRefusal::WholeRequestNamed),
        &["c7"],
    );
    sim.start().unwrap();
    sim.run_until(Duration::from_millis(500));
    assert_eq!(sim.server().requests("public/subscribe"), 2);
    assert_eq!(rejections(&sim).into_keys().collect::<Vec<_>>(), ["c7"]);
    assert!(sim
        .transcript()
        .contains("refuses request 1 on #1: bad channel c7"));
}

#[test]
fn a_transient_whole_request_refusal_is_retried_per_topic_not_bisected() {
    let mut sim = sim(
        JsonRpcServerConfig::default()
            .bad_channel_refusal(BadChannelRefusal::WholeRequest)
            .bad_channel_code(JsonRpcServer::TOO_MANY_REQUESTS),
        &BAD,
    );
    sim.start().unwrap();
    // Before the first per-topic retry (nack_retry_initial is 1 s, drawn from [0.5 s, 1 s]).
    sim.run_until(Duration::from_millis(400));
    assert_eq!(sim.server().requests("public/subscribe"), 1);
    let all = rejections(&sim);
    assert_eq!(all.len(), CHANNELS.len());
    assert!(
        all.values().all(|r| r.len() == 1 && r[0].is_some()),
        "{all:?}"
    );
    // Nothing was given up: every channel is still wanted.
    assert_eq!(sim.session().subscriptions().count(), CHANNELS.len());
}
