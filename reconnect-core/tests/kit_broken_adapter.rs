//! Proof that the property kit finds real bugs: the Binance-style example adapter with a bug
//! planted in it (a topic forgotten on resubscribe, acks for the wrong request id, refusals
//! swallowed as successes), run through the kit with a fixed seed. The kit must catch each bug, name the
//! invariant it breaks, and shrink the case to a script of a few steps.
#![cfg(feature = "proptest")]

#[path = "../examples/binance/adapter.rs"]
mod adapter;
#[path = "../examples/binance/server.rs"]
mod server;

use std::collections::BTreeSet;
use std::time::Instant;

use reconnect_core::sim::proptest::{Failure, Kit};
use reconnect_core::sim::Invariant;
use reconnect_core::{Frame, Inbound, Protocol, RequestId, Resume, Topic, TopicLookup};

use adapter::Binance;
use server::BinanceServer;

const STREAMS: [&str; 3] = ["btcusdt@trade", "ethusdt@trade", "solusdt@trade"];

/// The longest shrunk script the test accepts.
const SHORT: usize = 3;

fn kit() -> Kit {
    Kit::new(Instant::now(), STREAMS).cases(32)
}

fn caught(failure: Result<(), Failure>) -> Failure {
    let failure = failure.expect_err("the kit must catch the planted bug");
    println!("{failure}");
    assert!(
        failure.scenario.len() <= SHORT,
        "not shrunk to a short script:\n{failure}"
    );
    failure
}

/// Forgets a topic when it re-sends it: the first topic of a subscribe request that was already
/// requested once (on an earlier connection) is left out of the frame.
#[derive(Default)]
struct ForgetsOnResubscribe {
    inner: Binance,
    requested: BTreeSet<String>,
}

impl Protocol for ForgetsOnResubscribe {
    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        let again = topics
            .iter()
            .position(|r| self.requested.contains(r.topic.as_str()));
        let mut kept = topics.to_vec();
        if let Some(i) = again {
            kept.remove(i);
        }
        self.requested
            .extend(topics.iter().map(|r| r.topic.as_str().to_owned()));
        self.inner.subscribe_request(id, &kept)
    }
    fn unsubscribe_request(&mut self, id: RequestId, topics: &[Topic]) -> Option<Frame> {
        self.inner.unsubscribe_request(id, topics)
    }
    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }
    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        self.inner.classify(frame, topics)
    }
}

/// Acknowledges the wrong request: reports the server's answer to request `n` as the answer to
/// request `n + 1`.
#[derive(Default)]
struct AcksTheWrongId {
    inner: Binance,
}

impl Protocol for AcksTheWrongId {
    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        self.inner.subscribe_request(id, topics)
    }
    fn unsubscribe_request(&mut self, id: RequestId, topics: &[Topic]) -> Option<Frame> {
        self.inner.unsubscribe_request(id, topics)
    }
    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }
    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        match self.inner.classify(frame, topics) {
            Inbound::Ack { id, rejected } => Inbound::Ack {
                id: RequestId(id.0 + 1),
                rejected,
            },
            other => other,
        }
    }
}

/// Swallows rejections: reports the server's refusal of a subscribe request as a success.
#[derive(Default)]
struct SwallowsRejections {
    inner: Binance,
}

impl Protocol for SwallowsRejections {
    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        self.inner.subscribe_request(id, topics)
    }
    fn unsubscribe_request(&mut self, id: RequestId, topics: &[Topic]) -> Option<Frame> {
        self.inner.unsubscribe_request(id, topics)
    }
    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }
    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        match self.inner.classify(frame, topics) {
            Inbound::Nack { id, .. } => Inbound::Ack {
                id,
                rejected: vec![],
            },
            other => other,
        }
    }
}

#[test]
fn the_correct_adapter_passes() {
    if let Err(failure) = kit().check(|| Binance, BinanceServer::new) {
        panic!("{failure}");
    }
}

#[test]
fn a_topic_forgotten_on_resubscribe_is_caught_on_the_wire() {
    let failure = caught(kit().check(ForgetsOnResubscribe::default, BinanceServer::new));
    assert_eq!(failure.violation.invariant, Invariant::Wire, "{failure}");
    assert!(
        failure.violation.evidence.contains("usdt@trade"),
        "{failure}"
    );
    // It takes a reconnect (or a subscription sent again) to show: the script is not empty.
    assert!(!failure.scenario.is_empty(), "{failure}");
}

#[test]
fn acks_of_the_wrong_request_are_caught() {
    let failure = caught(kit().check(AcksTheWrongId::default, BinanceServer::new));
    assert_eq!(
        failure.violation.invariant,
        Invariant::Recovery,
        "{failure}"
    );
}

#[test]
fn a_swallowed_rejection_is_caught_on_the_wire() {
    let failure = caught(kit().check(SwallowsRejections::default, BinanceServer::new));
    assert_eq!(failure.violation.invariant, Invariant::Wire, "{failure}");
    // Only a server that refuses shows it: the shrunk script holds the refusal.
    assert!(
        failure.scenario.to_string().contains("refuses"),
        "{failure}"
    );
}
