//! Hours of outages in a fraction of a second: twelve hours of virtual time with a fault every
//! few minutes, and the session comes back from every one of them.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::line_server::{line_sim, sim_config};
use reconnect_core::sim::{AuthRejection, Fault, Script};
use reconnect_core::{Event, State};

/// The faults that end the live connection, each a separate outage.
fn outage(i: u64) -> Vec<Fault> {
    match i % 8 {
        0 => vec![Fault::Reset],
        1 => vec![Fault::Stall],
        2 => vec![Fault::close(1011, "internal error")],
        3 => vec![Fault::RefuseFor(Duration::from_secs(40)), Fault::Reset],
        4 => vec![Fault::BlackholeFor(Duration::from_secs(25)), Fault::Reset],
        5 => vec![
            Fault::RejectHandshake {
                status: 503,
                retry_after: Some(Duration::from_secs(10)),
            },
            Fault::Reset,
        ],
        6 => vec![Fault::Restart {
            downtime: Duration::from_secs(20),
        }],
        _ => vec![Fault::reject_auth(AuthRejection::Transient), Fault::Reset],
    }
}

#[test]
fn twelve_hours_of_outages() {
    let hours = 12;
    let every = Duration::from_secs(180);
    let outages = hours * 3600 / every.as_secs() - 1;
    let mut script = Script::new();
    for i in 1..=outages {
        for fault in outage(i) {
            script.push(every * i as u32, fault);
        }
    }
    let mut cfg = sim_config(42);
    cfg.timeouts.connect = Duration::from_secs(5);
    let mut sim = line_sim(cfg, &["a", "b", "c"])
        .script(script)
        .record_messages(true);
    sim.server_mut().data_interval = Duration::from_secs(1);
    sim.start().unwrap();

    // Per topic: messages delivered, numbers reported missing, the last number seen.
    let mut delivered: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut max_connections = 0;
    let mut max_footprint = 0;
    for hour in 1..=hours {
        sim.run_until(Duration::from_secs(hour * 3600));
        max_connections = max_connections.max(sim.connections());
        max_footprint = max_footprint.max(sim.session().footprint());
        // Tally the hour's events, then drop them, so that they do not pile up.
        for e in sim.take_events() {
            match e.event {
                Event::Message {
                    topic: Some(topic),
                    seq: Some(seq),
                    ..
                } => {
                    let entry = delivered.entry(topic.to_string()).or_default();
                    entry.0 += 1;
                    entry.2 = seq;
                }
                Event::Gap {
                    topic,
                    expected,
                    received,
                } => delivered.entry(topic.to_string()).or_default().1 += received - expected,
                Event::SequenceRegressed { .. } => panic!("no number arrives twice"),
                Event::Stopped { .. } => panic!("the session never gives up"),
                _ => {}
            }
        }
    }

    let summary = sim.summary();
    assert_eq!(summary.virtual_time, Duration::from_secs(hours * 3600));
    assert_eq!(summary.outages_survived, outages, "{summary}");
    assert!(
        summary.max_time_to_resubscribe < Duration::from_secs(90),
        "{summary}"
    );
    assert!(summary.messages > 3 * 3600 * hours * 9 / 10, "{summary}");
    // Every number up to the last one seen was either delivered or reported missing: messages
    // lost on stalled or reset connections are never lost silently.
    for (topic, (count, missing, last)) in &delivered {
        assert_eq!(count + missing, *last, "{topic}");
    }
    assert!(
        summary.gaps > 0,
        "stalls lose messages, and the gaps say so"
    );
    assert!(matches!(sim.session().state(), State::Live { .. }));
    assert!(max_connections <= 3, "finished connections are forgotten");
    assert!(max_footprint < 4096, "footprint {max_footprint}");
    assert_eq!(sim.server().open(), 1);
    // Each outage shows in the timeline.
    let lives = sim
        .transcript()
        .timeline()
        .filter(|l| l.text.starts_with("live "))
        .count() as u64;
    assert_eq!(lives, outages + 1);
}
