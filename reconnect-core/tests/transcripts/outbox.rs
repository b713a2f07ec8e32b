//! The outbox: sends queued while not live, released in order once live.

use crate::common::rig::{config, ms, Rig};
use reconnect_core::{
    DropReason, Event, Frame, OverflowPolicy, SendErrorKind, SendOptions, SendStatus,
    TransportErrorKind,
};

fn drops(h: &Rig) -> Vec<(String, DropReason)> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::OutboxDropped { frame, reason } => {
                Some((frame.as_text().unwrap().to_owned(), reason))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn queued_while_down_released_in_order_once_live_then_sent_at_once() {
    let mut h = Rig::new(config());
    h.session.subscribe(h.now, "a").unwrap();
    assert_eq!(h.session.send(h.now, "1"), Ok(SendStatus::Queued));
    h.start();
    assert_eq!(h.session.send(h.now, "2"), Ok(SendStatus::Queued));
    h.open();
    assert_eq!(h.session.send(h.now, "3"), Ok(SendStatus::Queued));
    h.skip();
    h.recv("ack 1");
    h.expect(&[
        "> subscribed a",
        "> live #1 resubscribed=1 outage=0ms",
        "send #1 1",
        "send #1 2",
        "send #1 3",
    ]);
    assert_eq!(h.session.send(h.now, "4"), Ok(SendStatus::Sent));
    h.expect(&["send #1 4"]);
    assert_eq!(h.session.queued(), 0);
}

#[test]
fn reject_hands_the_frame_back() {
    let mut c = config();
    c.outbox.max_messages = 1;
    let mut h = Rig::new(c);
    h.session.send(h.now, "1").unwrap();
    let err = h.session.send(h.now, "2").unwrap_err();
    assert_eq!(err.kind, SendErrorKind::OutboxFull);
    assert_eq!(err.frame, Frame::from("2"));
}

#[test]
fn drop_oldest_and_drop_newest_report_each_drop() {
    let mut c = config();
    c.outbox.max_messages = 2;
    c.outbox.overflow = OverflowPolicy::DropOldest;
    let mut h = Rig::new(c);
    for m in ["1", "2", "3"] {
        h.session.send(h.now, m).unwrap();
    }
    h.drain();
    assert_eq!(drops(&h), [("1".into(), DropReason::Overflow)]);

    let mut c = config();
    c.outbox.max_messages = 2;
    c.outbox.overflow = OverflowPolicy::DropNewest;
    let mut h = Rig::new(c);
    for m in ["1", "2", "3"] {
        h.session.send(h.now, m).unwrap();
    }
    h.drain();
    assert_eq!(drops(&h), [("3".into(), DropReason::Overflow)]);
    h.start();
    h.go_live();
    let sent: Vec<_> = h.sent_texts();
    assert_eq!(sent, ["1", "2"]);
}

#[test]
fn expiry_and_coalescing() {
    let mut h = Rig::new(config());
    let opts = SendOptions::default().expires_after(ms(1_000));
    h.session.send_with(h.now, "stale", opts).unwrap();
    h.session
        .send_with(h.now, "pos=1", SendOptions::default().coalesce_key("pos"))
        .unwrap();
    h.session.send(h.now, "other").unwrap();
    h.session
        .send_with(h.now, "pos=2", SendOptions::default().coalesce_key("pos"))
        .unwrap();
    h.start();
    h.advance(ms(1_000));
    h.go_live();
    assert_eq!(
        drops(&h),
        [
            ("pos=1".into(), DropReason::Coalesced),
            ("stale".into(), DropReason::Expired)
        ]
    );
    assert_eq!(h.sent_texts(), ["other", "pos=2"]);
    assert_eq!(h.session.stats().outbox_drops, 2);
}

#[test]
fn closing_hands_back_what_is_still_queued() {
    let mut h = Rig::new(config());
    h.start();
    h.session.send(h.now, "never sent").unwrap();
    h.connect_failed(TransportErrorKind::Refused);
    h.session.close(h.now).unwrap();
    h.drain();
    assert_eq!(drops(&h), [("never sent".into(), DropReason::Stopped)]);
    let err = h.session.send(h.now, "late").unwrap_err();
    assert_eq!(err.kind, SendErrorKind::Stopped);
}
