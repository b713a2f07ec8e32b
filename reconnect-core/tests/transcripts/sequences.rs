//! Sequence tracking, gaps across reconnects, resume positions.

use crate::common::rig::{config, Rig};
use reconnect_core::{Event, TransportErrorKind};

#[test]
fn gaps_are_reported_also_across_reconnects_and_positions_are_offered_on_resubscribe() {
    let mut h = Rig::new(config());
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.go_live();
    h.skip();
    h.recv("data a 1");
    h.recv("data a 2");
    h.recv("data a 5");
    h.expect(&[
        "> message a seq=1 \"data a 1\"",
        "> message a seq=2 \"data a 2\"",
        "> gap a expected=3 received=5",
        "> message a seq=5 \"data a 5\"",
    ]);
    h.fail(TransportErrorKind::Reset);
    h.go_live();
    assert_eq!(h.sent_texts().last().unwrap(), "sub 2 a@5");
    h.skip();
    h.recv("data a 9");
    h.expect(&[
        "> gap a expected=6 received=9",
        "> message a seq=9 \"data a 9\"",
    ]);
    assert_eq!(h.session.stats().gaps, 2);
    assert_eq!(h.session.subscriptions().next().unwrap().last_seq, Some(9));
}

#[test]
fn a_regression_is_reported_and_tracking_restarts_from_it() {
    let mut h = Rig::new(config());
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.go_live();
    h.recv("data a 10");
    h.recv("data a 1");
    h.recv("data a 2");
    let regressions: Vec<_> = h
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::SequenceRegressed { .. }))
        .collect();
    assert_eq!(regressions.len(), 1);
    assert!(h.events().iter().all(|e| !matches!(e, Event::Gap { .. })));
}

#[test]
fn data_for_unknown_topics_is_delivered_without_tracking() {
    let mut h = Rig::new(config());
    h.start();
    h.go_live();
    h.skip();
    h.recv("data other 7");
    h.expect(&["> message - seq=7 \"data other 7\""]);
}

#[test]
fn a_gap_of_exactly_one_missing_number_is_reported_with_its_bounds() {
    let mut h = Rig::new(config());
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.go_live();
    h.skip();
    h.recv("data a 1");
    h.recv("data a 2");
    h.recv("data a 4");
    h.recv("data a 5");
    let gaps: Vec<_> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Gap {
                topic,
                expected,
                received,
            } => Some((topic.as_str().to_owned(), expected, received)),
            _ => None,
        })
        .collect();
    // Only 3 is missing: the first number not seen is 3, the one that arrived is 4, so exactly
    // one number (received - expected) was skipped.
    assert_eq!(gaps, [("a".to_owned(), 3, 4)]);
    let (_, expected, received) = &gaps[0];
    assert_eq!(received - expected, 1);
    assert_eq!(h.session.stats().gaps, 1);
    // Every message is still delivered, the one after the gap included.
    let seqs: Vec<_> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Message { seq, .. } => seq,
            _ => None,
        })
        .collect();
    assert_eq!(seqs, [1, 2, 4, 5]);
    assert_eq!(h.session.subscriptions().next().unwrap().last_seq, Some(5));
}
