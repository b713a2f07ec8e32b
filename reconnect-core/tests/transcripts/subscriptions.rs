//! The subscription registry, acks and nacks, batched and paced restore.

use crate::common::line_adapter::LineAdapter;
use crate::common::rig::{config, ms, Rig};
use reconnect_core::{
    SubscribeError, SubscribeStatus, SubscriptionStatus, TransportErrorKind, UnsubscribeStatus,
};

#[test]
fn subscribing_while_down_records_and_unsubscribing_forgets() {
    let mut h = Rig::new(config());
    let now = h.now;
    assert_eq!(h.session.subscribe(now, "a"), Ok(SubscribeStatus::Recorded));
    assert_eq!(h.session.subscribe(now, "b"), Ok(SubscribeStatus::Recorded));
    assert_eq!(
        h.session.subscribe(now, "a"),
        Ok(SubscribeStatus::AlreadyWanted)
    );
    assert_eq!(h.session.subscribe(now, "c"), Ok(SubscribeStatus::Recorded));
    assert_eq!(
        h.session.unsubscribe(now, "b"),
        Ok(UnsubscribeStatus::Removed)
    );
    assert_eq!(
        h.session.unsubscribe(now, "zz"),
        Ok(UnsubscribeStatus::NotWanted)
    );
    h.start();
    h.go_live();
    let subs: Vec<_> = h
        .sent_texts()
        .into_iter()
        .filter(|t| t.starts_with("sub"))
        .collect();
    assert_eq!(subs, ["sub 1 a", "sub 2 c"]);
    let names: Vec<_> = h
        .session
        .subscriptions()
        .map(|s| s.topic.to_string())
        .collect();
    assert_eq!(names, ["a", "c"]);
}

/// Unsubscribed and subscribed again before either answer: the server processes the two in
/// order, so the topic ends subscribed. An answer to the unsubscribe that arrives after the
/// subscribe's (the model found it) must not report the topic unsubscribed.
#[test]
fn a_late_answer_to_an_unsubscribe_does_not_undo_the_subscribe_that_followed_it() {
    let mut h = Rig::new(config());
    h.start();
    h.go_live();
    h.skip();
    assert_eq!(h.session.subscribe(h.now, "x"), Ok(SubscribeStatus::Sent));
    h.recv("ack 1");
    h.skip();
    assert_eq!(
        h.session.unsubscribe(h.now, "x"),
        Ok(UnsubscribeStatus::Sent)
    );
    assert_eq!(h.session.subscribe(h.now, "x"), Ok(SubscribeStatus::Sent));
    h.expect(&["send #1 unsub 2 x", "send #1 sub 3 x"]);
    h.recv("ack 3");
    h.expect(&["> subscribed x"]);
    h.recv("ack 2");
    h.expect(&[]);
    assert_eq!(
        h.session
            .subscriptions()
            .map(|s| s.topic.as_str().to_owned())
            .collect::<Vec<_>>(),
        ["x"]
    );
}

#[test]
fn while_live_both_are_sent_at_once() {
    let mut h = Rig::new(config());
    h.start();
    h.go_live();
    h.skip();
    assert_eq!(h.session.subscribe(h.now, "x"), Ok(SubscribeStatus::Sent));
    h.expect(&["send #1 sub 1 x"]);
    h.recv("ack 1");
    h.expect(&["> subscribed x"]);
    assert_eq!(
        h.session.unsubscribe(h.now, "x"),
        Ok(UnsubscribeStatus::Sent)
    );
    h.expect(&["send #1 unsub 2 x"]);
    h.recv("ack 2");
    h.expect(&["> unsubscribed x"]);
    // Never restored again.
    h.fail(TransportErrorKind::Reset);
    h.go_live();
    assert!(h.take().iter().all(|l| !l.contains("sub 3")));
}

#[test]
fn a_permanent_nack_reports_the_reason_and_drops_the_topic() {
    let mut h = Rig::new(config());
    h.session.subscribe(h.now, "bad").unwrap();
    h.session.subscribe(h.now, "good").unwrap();
    h.start();
    h.open();
    h.skip();
    h.recv("nack 1 404");
    h.expect(&["> rejected bad for good"]);
    h.recv("ack 2");
    h.expect(&["> subscribed good", "> live #1 resubscribed=1 outage=0ms"]);
    let names: Vec<_> = h
        .session
        .subscriptions()
        .map(|s| s.topic.to_string())
        .collect();
    assert_eq!(names, ["good"]);
}

#[test]
fn a_transient_nack_is_retried_with_its_own_growing_backoff() {
    let mut c = config();
    c.resubscribe.nack_retry_initial = ms(1_000);
    c.resubscribe.nack_retry_max = ms(8_000);
    // Keep the stability timer out of the way of the retry timers this test jumps to.
    c.backoff.min_uptime = ms(3_600_000);
    let mut h = Rig::new(c);
    h.session.subscribe(h.now, "busy").unwrap();
    h.start();
    h.open();
    h.skip();
    let mut waits = Vec::new();
    for _ in 0..5 {
        let id = h.last_request("sub");
        h.recv(&format!("nack {id} 503"));
        let at = h.now;
        h.fire_next();
        waits.push(h.now - at);
        let s = h.session.subscriptions().next().unwrap();
        assert_eq!(s.status, SubscriptionStatus::Pending);
    }
    // Each wait is within [base/2, base] of a doubling base capped at 8 s: never a tight loop.
    for (i, w) in waits.iter().enumerate() {
        let base = ms(1_000 * (1 << i)).min(ms(8_000));
        assert!(*w >= base / 2 && *w <= base, "wait {i}: {w:?}");
    }
    assert!(matches!(
        h.session.state(),
        reconnect_core::State::Live { .. }
    ));
}

#[test]
fn per_topic_rejection_inside_a_batch() {
    let adapter = LineAdapter {
        max_batch: 10,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(config(), adapter);
    for t in ["a", "b", "c"] {
        h.session.subscribe(h.now, t).unwrap();
    }
    h.start();
    h.skip();
    h.open();
    h.expect(&["> connected #1", "send #1 sub 1 a,b,c"]);
    h.recv("ack 1 -b:503");
    h.expect(&[
        "> subscribed a",
        "> rejected b, retry in 694ms",
        "> subscribed c",
        "> live #1 resubscribed=2 outage=0ms",
    ]);
}

#[test]
fn restore_is_batched_and_paced() {
    let mut c = config();
    c.resubscribe.batch_size = 100;
    c.resubscribe.frames_per_second = Some(10);
    let adapter = LineAdapter {
        max_batch: 1_000,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    for i in 0..1_000 {
        h.session.subscribe(h.now, format!("t{i}")).unwrap();
    }
    h.start();
    h.open();
    let start = h.now;
    let mut frames = Vec::new();
    while !matches!(h.session.state(), reconnect_core::State::Live { .. }) {
        h.ack_all_pending();
        if matches!(h.session.state(), reconnect_core::State::Live { .. }) {
            break;
        }
        h.fire_next();
        frames.push(h.now - start);
    }
    let subs: Vec<_> = h
        .sent_texts()
        .into_iter()
        .filter(|t| t.starts_with("sub"))
        .collect();
    assert_eq!(subs.len(), 10);
    assert!(subs.iter().all(|s| s.split(',').count() == 100));
    // 10 frames at most 10 per second: the last goes out 900 ms after the first.
    assert_eq!(h.now - start, ms(900));
    let restored: usize = h.session.subscriptions().count();
    assert_eq!(restored, 1_000);
}

#[test]
fn the_registry_is_bounded() {
    let mut c = config();
    c.resubscribe.max_topics = 2;
    let mut h = Rig::new(c);
    h.session.subscribe(h.now, "a").unwrap();
    h.session.subscribe(h.now, "b").unwrap();
    assert_eq!(
        h.session.subscribe(h.now, "c"),
        Err(SubscribeError::LimitReached {
            topic: "c".into(),
            limit: 2
        })
    );
}

#[test]
fn live_waits_for_every_restore_ack_and_protocols_without_acks_are_live_once_sent() {
    let mut h = Rig::new(config());
    h.session.subscribe(h.now, "a").unwrap();
    h.session.subscribe(h.now, "b").unwrap();
    h.start();
    h.open();
    h.recv("ack 2");
    assert!(matches!(
        h.session.state(),
        reconnect_core::State::Resubscribing { .. }
    ));
    h.recv("ack 1");
    assert!(matches!(
        h.session.state(),
        reconnect_core::State::Live { .. }
    ));

    let adapter = LineAdapter {
        acks: false,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(config(), adapter);
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.open();
    h.expect(&[
        "> connecting #1 attempt=1",
        "connect #1 attempt=1",
        "> connected #1",
        "send #1 sub 1 a",
        "> subscribed a",
        "> live #1 resubscribed=1 outage=0ms",
    ]);
}

#[test]
fn unsubscribing_the_last_unsent_topic_of_a_paced_restore_goes_live_at_once() {
    let mut c = config();
    c.resubscribe.frames_per_second = Some(1);
    let mut h = Rig::new(c);
    h.session.subscribe(h.now, "a").unwrap();
    h.session.subscribe(h.now, "b").unwrap();
    h.start();
    h.open();
    h.recv("ack 1");
    h.skip();
    // "b" waits for the pace timer; the application no longer wants it.
    assert_eq!(
        h.session.unsubscribe(h.now, "b"),
        Ok(UnsubscribeStatus::Removed)
    );
    h.expect(&["> live #1 resubscribed=1 outage=0ms"]);
}
