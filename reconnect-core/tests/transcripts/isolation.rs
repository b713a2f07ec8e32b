//! A subscribe batch refused as a whole: attribution, bisection, permanent against transient
//! refusals, during a restore and while live; pacing, timeouts and unsubscribes meanwhile.

use crate::common::line_adapter::LineAdapter;
use crate::common::rig::{config, ms, Rig};
use reconnect_core::{Command, Config, Event, Output, Refusal, SubscribeError, SubscriptionStatus};

/// A session whose adapter batches up to `batch` topics, with `topics` wanted, connected and
/// open (the restore's first frames sent), the log skipped.
fn restoring(c: Config, batch: usize, topics: &[&str]) -> Rig {
    let adapter = LineAdapter {
        max_batch: batch,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    for t in topics {
        h.session.subscribe(h.now, *t).unwrap();
    }
    h.start();
    h.open();
    h
}

fn wanted(h: &Rig) -> Vec<(String, SubscriptionStatus)> {
    h.session
        .subscriptions()
        .map(|s| (s.topic.to_string(), s.status))
        .collect()
}

#[test]
fn during_restore_a_named_culprit_alone_is_rejected_and_the_rest_asked_again() {
    let mut h = restoring(config(), 10, &["a", "b", "c", "d"]);
    h.expect(&[
        "> connecting #1 attempt=1",
        "connect #1 attempt=1",
        "> connected #1",
        "send #1 sub 1 a,b,c,d",
    ]);
    h.recv("nack 1 404 blame=c");
    h.expect(&["> rejected c for good", "send #1 sub 2 a,b,d"]);
    h.recv("ack 2");
    h.expect(&[
        "> subscribed a",
        "> subscribed b",
        "> subscribed d",
        "> live #1 resubscribed=3 outage=0ms",
    ]);
}

#[test]
fn during_restore_an_unattributed_permanent_refusal_is_bisected() {
    let mut h = restoring(config(), 10, &["a", "b", "c", "d", "e"]);
    h.skip();
    h.recv("nack 1 404");
    // Halves of ⌈5/2⌉ and ⌊5/2⌋, both on the same connection.
    h.expect(&["send #1 sub 2 a,b,c", "send #1 sub 3 d,e"]);
    h.recv("ack 3");
    h.expect(&["> subscribed d", "> subscribed e"]);
    h.recv("nack 2 404");
    h.expect(&["send #1 sub 4 a,b", "send #1 sub 5 c"]);
    // A single topic's refusal is its own.
    h.recv("nack 5 404");
    h.expect(&["> rejected c for good"]);
    h.recv("ack 4");
    h.expect(&[
        "> subscribed a",
        "> subscribed b",
        "> live #1 resubscribed=4 outage=0ms",
    ]);
    let names: Vec<String> = wanted(&h).into_iter().map(|(t, _)| t).collect();
    assert_eq!(names, ["a", "b", "d", "e"]);
    assert_eq!(h.count("connect"), 1);
}

#[test]
fn an_unattributed_transient_refusal_is_not_bisected_but_retried_per_topic() {
    let mut c = config();
    c.resubscribe.nack_retry_initial = ms(400);
    let mut h = restoring(c, 10, &["a", "b", "c"]);
    h.skip();
    // A rate limit with a hint: every topic waits the hint, none is split off or lost.
    h.recv("nack 1 503 1000");
    h.expect(&[
        "> rejected a, retry in 1000ms",
        "> rejected b, retry in 1000ms",
        "> rejected c, retry in 1000ms",
        "> live #1 resubscribed=0 outage=0ms",
    ]);
    assert!(wanted(&h)
        .iter()
        .all(|(_, s)| matches!(s, SubscriptionStatus::RetryAt(_))));
    assert_eq!(h.fire_next(), ms(1000));
    h.expect(&["send #1 sub 2 a,b,c"]);
    h.recv("ack 2");
    h.expect(&["> subscribed a", "> subscribed b", "> subscribed c"]);
}

#[test]
fn a_named_culprit_of_a_transient_refusal_retries_alone() {
    let mut c = config();
    c.resubscribe.nack_retry_initial = ms(400);
    let mut h = restoring(c, 10, &["a", "b", "c"]);
    h.skip();
    h.recv("nack 1 503 1000 blame=b");
    h.expect(&["> rejected b, retry in 1000ms", "send #1 sub 2 a,c"]);
    h.recv("ack 2");
    h.expect(&[
        "> subscribed a",
        "> subscribed c",
        "> live #1 resubscribed=2 outage=0ms",
    ]);
    h.fire_next();
    h.expect(&["send #1 sub 3 b"]);
}

#[test]
fn while_live_a_refused_retry_batch_is_bisected_at_once() {
    let mut c = config();
    c.resubscribe.nack_retry_initial = ms(400);
    c.backoff.min_uptime = ms(3_600_000);
    let mut h = restoring(c, 10, &["a", "b", "c", "d"]);
    h.skip();
    h.recv("nack 1 503 1000");
    h.skip();
    h.fire_next();
    // Live: the retry went out as one batch.
    assert!(matches!(
        h.session.state(),
        reconnect_core::State::Live { .. }
    ));
    h.expect(&["send #1 sub 2 a,b,c,d"]);
    h.recv("nack 2 404");
    h.expect(&["send #1 sub 3 a,b", "send #1 sub 4 c,d"]);
    h.recv("nack 4 404 blame=d");
    h.expect(&["> rejected d for good", "send #1 sub 5 c"]);
    h.recv("ack 3");
    h.recv("ack 5");
    h.expect(&["> subscribed a", "> subscribed b", "> subscribed c"]);
    let names: Vec<String> = wanted(&h).into_iter().map(|(t, _)| t).collect();
    assert_eq!(names, ["a", "b", "c"]);
}

#[test]
fn re_requests_keep_the_restore_pace_and_live_waits_for_them() {
    let mut c = config();
    c.resubscribe.frames_per_second = Some(10);
    let mut h = restoring(c, 2, &["a", "b", "c", "d"]);
    h.skip();
    h.recv("nack 1 404");
    // The pace timer (100 ms) is already running for c,d: nothing goes out now.
    h.expect(&[]);
    assert_eq!(h.fire_next(), ms(100));
    // Requeued topics go first, one frame per tick.
    h.expect(&["send #1 sub 2 a"]);
    h.recv("ack 2");
    h.expect(&["> subscribed a"]);
    assert_eq!(h.fire_next(), ms(100));
    h.expect(&["send #1 sub 3 b"]);
    assert_eq!(h.fire_next(), ms(100));
    h.expect(&["send #1 sub 4 c,d"]);
    h.recv("ack 4");
    h.recv("nack 3 404");
    h.expect(&[
        "> subscribed c",
        "> subscribed d",
        "> rejected b for good",
        "> live #1 resubscribed=3 outage=300ms",
    ]);
}

#[test]
fn a_refusal_after_the_last_frame_waits_a_full_pace_gap() {
    let mut c = config();
    c.resubscribe.frames_per_second = Some(4);
    let mut h = restoring(c, 10, &["a", "b"]);
    h.skip();
    h.advance(ms(30));
    h.recv("nack 1 404");
    h.expect(&[]);
    assert_eq!(h.fire_next(), ms(250));
    h.expect(&["send #1 sub 2 a"]);
    assert_eq!(h.fire_next(), ms(250));
    h.expect(&["send #1 sub 3 b"]);
}

#[test]
fn a_topic_unsubscribed_meanwhile_is_left_out_of_the_re_request() {
    let mut c = config();
    c.resubscribe.frames_per_second = Some(10);
    let mut h = restoring(c, 10, &["a", "b", "c", "d"]);
    h.skip();
    h.recv("nack 1 404");
    h.session.unsubscribe(h.now, "b").unwrap();
    h.session.unsubscribe(h.now, "c").unwrap();
    // c is wanted again: a new want, requested on its own, not as part of the refused batch.
    h.session.subscribe(h.now, "c").unwrap();
    h.skip();
    h.fire_next();
    h.expect(&["send #1 sub 4 a"]);
    h.fire_next();
    h.expect(&["send #1 sub 5 d"]);
    h.fire_next();
    h.expect(&["send #1 sub 6 c"]);
    h.ack_all_pending();
    let names: Vec<String> = wanted(&h).into_iter().map(|(t, _)| t).collect();
    assert_eq!(names, ["a", "d", "c"]);
    // b never asked for again; c only as the new want.
    assert_eq!(
        h.sent_texts(),
        [
            "sub 1 a,b,c,d",
            "unsub 2 b",
            "unsub 3 c",
            "sub 4 a",
            "sub 5 d",
            "sub 6 c"
        ]
    );
}

#[test]
fn each_re_request_has_its_own_subscribe_timeout() {
    let mut c = config();
    c.timeouts.subscribe = ms(4_321);
    let mut h = restoring(c, 10, &["a", "b"]);
    h.skip();
    h.advance(ms(1_000));
    h.recv("nack 1 404");
    h.expect(&["send #1 sub 2 a", "send #1 sub 3 b"]);
    h.recv("ack 2");
    h.skip();
    // Measured from the re-request, not from the refused request.
    assert_eq!(h.fire_next(), ms(4_321));
    let lines = h.take();
    assert!(
        lines.iter().any(|l| l.contains("Subscribe timeout")),
        "{lines:#?}"
    );
}

#[test]
fn an_empty_topic_is_refused_with_a_typed_error() {
    let mut h = Rig::new(config());
    assert_eq!(
        h.session.subscribe(h.now, ""),
        Err(SubscribeError::EmptyTopic)
    );
    h.session.apply(h.now, Command::Subscribe("".into()));
    h.drain();
    let refused: Vec<_> = h
        .take_outputs()
        .into_iter()
        .filter_map(|o| match o {
            Output::Event(Event::Refused(r)) => Some(r.refusal),
            _ => None,
        })
        .collect();
    assert_eq!(refused, [Refusal::Subscribe(SubscribeError::EmptyTopic)]);
    assert_eq!(h.session.subscriptions().count(), 0);
    h.start();
    h.go_live();
    assert_eq!(
        h.session.subscribe(h.now, ""),
        Err(SubscribeError::EmptyTopic)
    );
    assert!(h.sent_texts().iter().all(|t| !t.starts_with("sub")));
}

/// A session like [`restoring`]'s whose adapter hands back whatever the server blamed, even
/// topics that were not in the refused request: the session must do the filtering.
fn restoring_with_verbatim_blame(c: Config, batch: usize, topics: &[&str]) -> Rig {
    let adapter = LineAdapter {
        max_batch: batch,
        blame_verbatim: true,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    for t in topics {
        h.session.subscribe(h.now, *t).unwrap();
    }
    h.start();
    h.open();
    h
}

#[test]
fn a_blame_naming_only_an_unknown_topic_counts_as_unattributed() {
    // A server that refuses every request holding `c` and always blames `zz`, a topic nobody
    // subscribed. Taken at its word, the blame would leave the whole batch innocent and ask for
    // it again, refused again, forever; ignored, the refusal is bisected like any other.
    let mut h = restoring_with_verbatim_blame(config(), 10, &["a", "b", "c"]);
    h.skip();
    let mut answered = 0;
    let mut refused = 0;
    while !matches!(h.session.state(), reconnect_core::State::Live { .. }) {
        // The requests of a bisection stay well below this; a session that asks for the same
        // batch again and again never gets out of the loop otherwise.
        assert!(
            refused < 10,
            "not live after {refused} refusals:\n{:#?}",
            h.log
        );
        let texts = h.sent_texts();
        let Some(next) = texts.get(answered) else {
            panic!("waits for nothing the server can answer:\n{:#?}", h.log)
        };
        answered += 1;
        let mut words = next.split(' ');
        let (id, topics) = match (words.next(), words.next(), words.next()) {
            (Some("sub"), Some(id), Some(topics)) => (id.to_owned(), topics.to_owned()),
            _ => continue,
        };
        if topics.split(',').any(|t| t == "c") {
            refused += 1;
            h.recv(&format!("nack {id} 404 blame=zz"));
        } else {
            h.recv(&format!("ack {id}"));
        }
    }
    assert_eq!(
        h.sent_texts(),
        ["sub 1 a,b,c", "sub 2 a,b", "sub 3 c"],
        "halves of ⌈3/2⌉ and ⌊3/2⌋, then the lone culprit"
    );
    assert_eq!(
        wanted(&h),
        [
            ("a".to_owned(), SubscriptionStatus::Active),
            ("b".to_owned(), SubscriptionStatus::Active),
        ]
    );
    let rejected: Vec<String> = h
        .log
        .iter()
        .filter(|l| l.starts_with("> rejected"))
        .cloned()
        .collect();
    assert_eq!(rejected, ["> rejected c for good"]);
}

#[test]
fn a_blame_naming_a_live_topic_outside_the_request_leaves_it_alone() {
    let mut c = config();
    c.resubscribe.nack_retry_initial = ms(400);
    let mut h = restoring_with_verbatim_blame(c, 10, &["a", "b", "c"]);
    h.skip();
    // A rate limit: a, b and c retry later, as one batch, while live.
    h.recv("nack 1 503 1000");
    h.skip();
    h.session.subscribe(h.now, "x").unwrap();
    h.recv("ack 2");
    h.expect(&["send #1 sub 2 x", "> subscribed x"]);
    h.fire_next();
    h.expect(&["send #1 sub 3 a,b,c"]);
    // The server blames x, live and not in this request, and zz, wanted by nobody: neither is
    // rejected, and the refusal is bisected as unattributed.
    h.recv("nack 3 404 blame=x,zz");
    h.expect(&["send #1 sub 4 a,b", "send #1 sub 5 c"]);
    h.recv("ack 4");
    h.recv("nack 5 404");
    h.expect(&["> subscribed a", "> subscribed b", "> rejected c for good"]);
    assert_eq!(
        wanted(&h),
        [
            ("a".to_owned(), SubscriptionStatus::Active),
            ("b".to_owned(), SubscriptionStatus::Active),
            ("x".to_owned(), SubscriptionStatus::Active),
        ]
    );
}

#[test]
fn of_a_blame_naming_topics_inside_and_outside_the_request_only_the_inside_ones_count() {
    let mut h = restoring_with_verbatim_blame(config(), 10, &["a", "b", "c"]);
    h.skip();
    h.recv("nack 1 404 blame=zz,b");
    h.expect(&["> rejected b for good", "send #1 sub 2 a,c"]);
    h.recv("ack 2");
    h.expect(&[
        "> subscribed a",
        "> subscribed c",
        "> live #1 resubscribed=2 outage=0ms",
    ]);
}
