//! The same script and seeds give the same transcript, run after run, whatever the base
//! instant; other seeds give other transcripts; secrets never reach the transcript.

mod common;

use common::line_server::{line_sim, sim_config};
use reconnect_core::sim::{AuthRejection, Fault, Network, Script, Transcript};
use reconnect_core::{BackoffConfig, Jitter};
use std::time::Duration;

/// A busy run: jittered backoff and latency, and one fault of each kind.
fn run(seed: u64, network_seed: u64) -> (Transcript, String) {
    let mut cfg = sim_config(seed);
    cfg.backoff = BackoffConfig::default();
    cfg.backoff.jitter = Jitter::Full;
    let script = Script::new()
        .at(Duration::from_secs(20), Fault::Reset)
        .at(Duration::from_secs(50), Fault::Stall)
        .at(
            Duration::from_secs(90),
            Fault::RefuseFor(Duration::from_secs(15)),
        )
        .at(Duration::from_secs(90), Fault::Reset)
        .at(
            Duration::from_secs(130),
            Fault::reject_auth(AuthRejection::Transient),
        )
        .at(
            Duration::from_secs(130),
            Fault::close(1011, "internal error"),
        )
        .at(Duration::from_secs(170), Fault::skip_sequence("b", 1))
        .at(Duration::from_secs(200), Fault::nack("c"))
        .at(
            Duration::from_secs(200),
            Fault::RejectHandshake {
                status: 503,
                retry_after: Some(Duration::from_secs(5)),
            },
        )
        .at(Duration::from_secs(200), Fault::Reset)
        .at(
            Duration::from_secs(240),
            Fault::Restart {
                downtime: Duration::from_secs(8),
            },
        );
    let network = Network::new()
        .latency(Duration::from_millis(15))
        .jitter(Duration::from_millis(30))
        .seed(network_seed);
    let mut sim = line_sim(cfg, &["a", "b", "c"])
        .network(network)
        .script(script)
        .record_messages(true);
    sim.start().unwrap();
    sim.run_until(Duration::from_secs(300));
    (sim.transcript().clone(), sim.summary().to_string())
}

#[test]
fn the_same_script_and_seeds_give_the_same_transcript() {
    let (first, first_summary) = run(1, 2);
    // Every run reads its own base instant: only offsets from it may appear.
    let (second, second_summary) = run(1, 2);
    assert_eq!(first.to_string(), second.to_string());
    assert_eq!(first_summary, second_summary);
    // A busy run, not an empty one.
    assert!(first.lines().len() > 1000, "{} lines", first.lines().len());
    assert!(first.contains("gap on b"));
    assert!(first.contains("subscribe rejected c"));
}

#[test]
fn other_seeds_give_other_transcripts() {
    let (base, _) = run(1, 2);
    let (other_backoff, _) = run(3, 2);
    let (other_network, _) = run(1, 4);
    assert_ne!(base.to_string(), other_backoff.to_string());
    assert_ne!(base.to_string(), other_network.to_string());
}

#[test]
fn secrets_never_reach_the_transcript() {
    let (transcript, _) = run(1, 2);
    let text = transcript.to_string();
    assert!(
        text.contains("auth <redacted"),
        "auth frames are shown, redacted"
    );
    assert!(!text.contains("hunter2"));
    assert!(!text.contains("secret="));
}
