//! The outbound send rate (`limits.send_rate`): frames over the quota wait, in order, and go out
//! at the token times; nothing is dropped; pings count; each connection has its own bucket.
//!
//! Times are worked out from the bucket's rule: a token every `per / frames`, at most `burst`
//! held, a full bucket on each new connection.

use crate::common::line_adapter::LineAdapter;
use crate::common::rig::{assert_unique_timer, config, ms, Rig};
use reconnect_core::{
    Action, ConnId, Event, Output, OverflowPolicy, SendErrorKind, SendRate, SendStatus, State,
    TransportErrorKind,
};

/// The times (ms since the start) of the frames written on `conn`, sends and pings.
fn times_on(h: &Rig, conn: ConnId) -> Vec<u128> {
    h.outputs
        .iter()
        .zip(&h.times)
        .filter(|(o, _)| {
            matches!(o, Output::Action(Action::Send { conn: c, .. } | Action::Ping { conn: c }) if *c == conn)
        })
        .map(|(_, at)| at.as_millis())
        .collect()
}

/// The most frames in any window `[t, t + window)`.
fn busiest_window(times: &[u128], window: u128) -> usize {
    times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && **t < start + window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Fires deadlines and acks requests until live.
fn live(h: &mut Rig) {
    for _ in 0..10_000 {
        h.ack_all_pending();
        if matches!(h.session.state(), State::Live { .. }) {
            return;
        }
        h.fire_next();
    }
    panic!("never live: {:?}", h.session.state());
}

#[test]
fn sends_beyond_the_burst_wait_and_go_out_in_order_at_the_token_times() {
    let mut c = config();
    // A token every 100 ms, 3 at once.
    c.limits.send_rate = Some(SendRate::new(10, ms(1_000)).burst(3));
    let mut h = Rig::new(c);
    h.start();
    h.go_live();
    h.skip();
    let statuses: Vec<SendStatus> = (1..=7)
        .map(|i| h.session.send(h.now, i.to_string()).unwrap())
        .collect();
    use SendStatus::{Queued, Sent};
    assert_eq!(statuses, [Sent, Sent, Sent, Queued, Queued, Queued, Queued]);
    h.expect(&["send #1 1", "send #1 2", "send #1 3"]);
    for _ in 0..4 {
        h.fire_next();
    }
    assert_eq!(
        h.written(),
        [
            (0, "send #1 1".to_string()),
            (0, "send #1 2".to_string()),
            (0, "send #1 3".to_string()),
            (100, "send #1 4".to_string()),
            (200, "send #1 5".to_string()),
            (300, "send #1 6".to_string()),
            (400, "send #1 7".to_string()),
        ]
    );
    // Nothing dropped, nothing left, and no deadline but the stable one (min_uptime, 5 s).
    assert_eq!(h.session.queued(), 0);
    let drops = h.events().into_iter();
    assert_eq!(
        drops
            .filter(|e| matches!(e, Event::OutboxDropped { .. }))
            .count(),
        0
    );
    assert_eq!(h.session.poll_timeout(), Some(h.at(5_000)));
}

#[test]
fn a_heartbeat_reply_overtakes_waiting_application_sends() {
    let mut c = config();
    // A token every 100 ms, one at a time.
    c.limits.send_rate = Some(SendRate::new(10, ms(1_000)));
    let mut h = Rig::new(c);
    h.start();
    h.go_live();
    h.skip();
    assert_eq!(h.session.send(h.now, "1"), Ok(SendStatus::Sent));
    assert_eq!(h.session.send(h.now, "2"), Ok(SendStatus::Queued));
    h.recv("ping 9");
    h.expect(&["send #1 1"]);
    assert_eq!(h.fire_next(), ms(100));
    h.expect(&["send #1 pong 9"]);
    assert_eq!(h.fire_next(), ms(100));
    h.expect(&["send #1 2"]);
}

#[test]
fn a_full_outbox_under_the_send_rate_hands_the_frame_back() {
    let mut c = config();
    c.limits.send_rate = Some(SendRate::new(10, ms(1_000)));
    c.outbox.max_messages = 2;
    c.outbox.overflow = OverflowPolicy::Reject;
    let mut h = Rig::new(c);
    h.start();
    h.go_live();
    assert_eq!(h.session.send(h.now, "1"), Ok(SendStatus::Sent));
    assert_eq!(h.session.send(h.now, "2"), Ok(SendStatus::Queued));
    assert_eq!(h.session.send(h.now, "3"), Ok(SendStatus::Queued));
    let refused = h.session.send(h.now, "4").unwrap_err();
    assert_eq!(refused.kind, SendErrorKind::OutboxFull);
    assert_eq!(refused.frame.as_text(), Some("4"));
}

#[test]
fn pings_take_tokens_too() {
    let mut c = config();
    // One frame a second.
    c.limits.send_rate = Some(SendRate::new(1, ms(1_000)));
    c.liveness.ping_interval = Some(ms(2_500));
    assert_unique_timer(&c, "liveness.ping_interval");
    let mut h = Rig::new(c);
    h.start();
    h.go_live();
    h.skip();
    assert_eq!(h.session.send(h.now, "a"), Ok(SendStatus::Sent));
    h.expect(&["send #1 a"]);
    // The ping at 2.5 s finds the token of 1 s free and takes it.
    assert_eq!(h.fire_next(), ms(2_500));
    h.expect(&["ping #1"]);
    // So this send waits for the next token, at 3.5 s.
    assert_eq!(h.session.send(h.now, "b"), Ok(SendStatus::Queued));
    assert_eq!(h.fire_next(), ms(1_000));
    h.expect(&["send #1 b"]);
    assert_eq!(
        h.written(),
        [
            (0, "send #1 a".to_string()),
            (2_500, "ping #1".to_string()),
            (3_500, "send #1 b".to_string()),
        ]
    );
}

#[test]
fn a_reconnect_resubscribes_200_topics_never_more_than_5_frames_a_second() {
    let mut c = config();
    // Binance spot's limit: 5 a second, evenly spaced (a frame every 200 ms).
    c.limits.send_rate = Some(SendRate::new(5, ms(1_000)));
    // Ack deadlines count from the write: 13 s is far shorter than the 40 s the 200 frames
    // take, and no request may time out.
    let mut h = Rig::with_adapter(c, LineAdapter::new());
    let topics: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
    for t in &topics {
        h.session.subscribe(h.now, t.as_str()).unwrap();
    }
    h.start();
    let first_conn = h.conn();
    h.open();
    live(&mut h);
    let first = times_on(&h, first_conn);
    assert_eq!(first.len(), 200);
    // One subscribe frame per topic (the line adapter's batch is one), a token every 200 ms:
    // the last at 199 × 200 ms.
    assert_eq!(first.first(), Some(&0));
    assert_eq!(first.last(), Some(&39_800));
    assert_eq!(busiest_window(&first, 1_000), 5);

    // The connection drops; the next one starts with a full bucket and writes at once.
    h.fail(TransportErrorKind::Reset);
    while !matches!(h.session.state(), State::Connecting { .. }) {
        h.fire_next();
    }
    let second_conn = h.conn();
    let opened_at = h.elapsed().as_millis();
    h.open();
    live(&mut h);
    let second = times_on(&h, second_conn);
    assert_eq!(second.len(), 200);
    assert_eq!(second.first(), Some(&opened_at));
    assert_eq!(second.last(), Some(&(opened_at + 39_800)));
    assert_eq!(busiest_window(&second, 1_000), 5);
    // Every topic went live on both connections, none twice.
    assert_eq!(h.count("> subscribed "), 400);
    // No request timed out: the only ending is the reset.
    let endings: Vec<&String> = h
        .log
        .iter()
        .filter(|l| l.starts_with("> attempt ") || l.starts_with("> disconnected "))
        .collect();
    assert_eq!(endings.len(), 1, "only the reset: {endings:#?}");
}

#[test]
fn control_frames_still_waiting_are_not_written_after_the_close_frame() {
    let mut c = config();
    // One frame a second.
    c.limits.send_rate = Some(SendRate::new(1, ms(1_000)));
    let mut h = Rig::new(c);
    h.start();
    h.go_live();
    h.skip();
    h.recv("ping 1");
    h.recv("ping 2");
    h.expect(&["send #1 pong 1"]);
    h.session.close(h.now).unwrap();
    h.expect(&["close #1 1000 client closing"]);
    // The close timeout (4 s) is the only deadline left; the reply due at 1 s is gone.
    assert_eq!(h.fire_next(), ms(4_000));
    assert!(!h.log.iter().any(|l| l == "send #1 pong 2"), "{:#?}", h.log);
}

#[test]
fn replies_asked_for_faster_than_the_rate_end_the_connection_instead_of_piling_up() {
    let mut c = config();
    c.limits.send_rate = Some(SendRate::new(1, ms(1_000)));
    let mut h = Rig::new(c);
    h.start();
    h.go_live();
    h.skip();
    // The first reply takes the token; the next MAX_WAITING wait; one more is one too many.
    let asked = 1 + SendRate::MAX_WAITING + 1;
    for token in 0..asked {
        h.recv(&format!("ping {token}"));
    }
    assert_eq!(h.take(), ["send #1 pong 0"]);
    // Ended on the next turn of the clock, not from inside the input that overflowed.
    assert_eq!(h.fire_next(), ms(0));
    let lines = h.take();
    assert_eq!(
        lines[..2],
        [
            "release #1",
            "> disconnected #1: 4097 frames waited for the send rate, more than it can ever \
             write in time => Retry"
        ],
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("send #1")),
        "{lines:#?}"
    );
    assert_eq!(h.session.stats().failures.rejected, 1);
}

#[test]
fn each_connection_starts_with_a_full_bucket() {
    let mut c = config();
    // One frame every 7 s.
    c.limits.send_rate = Some(SendRate::new(1, ms(7_000)));
    let mut h = Rig::new(c);
    h.start();
    h.go_live();
    assert_eq!(h.session.send(h.now, "a"), Ok(SendStatus::Sent));
    assert_eq!(h.session.send(h.now, "b"), Ok(SendStatus::Queued));
    h.skip();
    // Dropped at once; the next connection opens after the 100 ms backoff.
    h.fail(TransportErrorKind::Reset);
    assert_eq!(h.fire_next(), ms(100));
    h.open();
    // Its bucket is full: the waiting send goes out as it goes live, 6.9 s before the first
    // connection's next token would have come; the one after waits the full 7 s.
    assert_eq!(
        h.written(),
        [(0, "send #1 a".to_string()), (100, "send #2 b".to_string())]
    );
    assert_eq!(h.session.send(h.now, "c"), Ok(SendStatus::Queued));
    h.advance(ms(6_999));
    assert_eq!(h.written().len(), 2);
    h.advance(ms(1));
    assert_eq!(h.written().last(), Some(&(7_100, "send #2 c".to_string())));
}
