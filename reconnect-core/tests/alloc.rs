//! The data-frame path allocates nothing in the core.
//!
//! A live session that receives a data frame for a registered topic with a sequence number, and
//! a driver that takes the resulting `Event::Message` out of `poll_output`, must not touch the
//! allocator once warmed up: the frame is allocated by the driver before the measured region,
//! moves through the session and comes back out inside the event.
//!
//! `allocation-counter` replaces the global allocator of this test binary (no unsafe code here)
//! and counts per thread, so tests running in parallel on other threads cannot disturb a
//! measurement.

use std::time::{Duration, Instant};

use allocation_counter::{measure, AllocationInfo};
use reconnect_core::{
    Action, Config, ConnId, Event, Frame, Inbound, Input, Output, Protocol, RequestId, Resume,
    Session, TopicLookup,
};

/// The topic every data frame in this file is for.
const TOPIC: &str = "trades.BTC-PERP";

/// A payload of a realistic size for a market-data message.
const PAYLOAD: &str = r#"{"price":"64123.5","size":"0.25","side":"buy","ts":1718000000123}"#;

/// A minimal adapter: a data frame is `d|<topic>|<seq>|<payload>`; the server does not answer
/// requests, so a subscription is active once sent.
struct SeqAdapter;

impl Protocol for SeqAdapter {
    fn subscribe_request(&mut self, _id: RequestId, topics: &[Resume]) -> Frame {
        let names: Vec<&str> = topics.iter().map(|r| r.topic.as_str()).collect();
        Frame::Text(format!("sub|{}", names.join(",")))
    }

    fn acknowledges(&self) -> bool {
        false
    }

    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        let Some(rest) = frame.as_text().and_then(|t| t.strip_prefix("d|")) else {
            return Inbound::Other;
        };
        let mut fields = rest.splitn(3, '|');
        let topic = fields.next().and_then(|name| topics.find(name));
        let seq = fields.next().and_then(|s| s.parse().ok());
        Inbound::Data { topic, seq }
    }
}

fn data_frame(seq: u64) -> Frame {
    Frame::Text(format!("d|{TOPIC}|{seq}|{PAYLOAD}"))
}

/// A session with [`TOPIC`] subscribed, driven to live at `now`; returns it with its transport.
fn live_session(now: Instant) -> (Session<SeqAdapter>, ConnId) {
    let mut session = Session::new(Config::new(7), SeqAdapter).expect("valid config");
    session.subscribe(now, TOPIC).expect("subscribe");
    session.start(now).expect("start");
    let mut conn = None;
    let mut live = false;
    // Two rounds: the connect, then everything the open transport triggers.
    for _ in 0..2 {
        while let Some(output) = session.poll_output() {
            match output {
                Output::Action(Action::Connect { conn: c, .. }) => conn = Some(c),
                Output::Event(Event::Live { .. }) => live = true,
                _ => {}
            }
        }
        if let (Some(c), false) = (conn, live) {
            session.handle_input(now, Input::Opened { conn: c });
        }
    }
    assert!(live, "the session must reach live");
    (session, conn.expect("a connect action"))
}

/// Feeds one frame and drains the outputs the way a driver does, keeping the taken outputs in
/// `taken` (whose capacity the caller reserved, so that keeping them does not allocate).
fn deliver(
    session: &mut Session<SeqAdapter>,
    now: Instant,
    conn: ConnId,
    frame: Frame,
    taken: &mut Vec<Output>,
) {
    session.handle_input(now, Input::Frame { conn, frame });
    while let Some(output) = session.poll_output() {
        taken.push(output);
    }
}

/// Allocations while delivering `frames`, one measured region per frame, summed.
fn measure_deliveries(
    session: &mut Session<SeqAdapter>,
    clock: &mut Instant,
    conn: ConnId,
    frames: Vec<Frame>,
    taken: &mut Vec<Output>,
) -> AllocationInfo {
    let mut total = AllocationInfo::default();
    for frame in frames {
        *clock += Duration::from_millis(1);
        let now = *clock;
        total += measure(|| deliver(session, now, conn, frame, taken));
    }
    total
}

#[test]
fn data_frames_for_a_registered_topic_allocate_nothing() {
    // The instrument itself must count, or a zero below would prove nothing.
    let probe = measure(|| drop(std::hint::black_box(Box::new(1_u64))));
    assert_eq!(
        probe.count_total, 1,
        "the counting allocator is not installed"
    );

    let mut clock = Instant::now(); // the one clock reading: the base of the virtual clock
    let (mut session, conn) = live_session(clock);

    // Warm up: the output queue and the timer table reach their working sizes.
    let mut taken = Vec::with_capacity(1024);
    for seq in 1..=64 {
        clock += Duration::from_millis(1);
        deliver(&mut session, clock, conn, data_frame(seq), &mut taken);
    }
    taken.clear();

    // In order, then a gap and a regression: each takes the sequence-tracking branch that emits
    // an extra event, and none of it may allocate either.
    let seqs: Vec<u64> = (65..=564).chain([600, 601, 590, 591]).collect();
    let frames: Vec<Frame> = seqs.iter().map(|&seq| data_frame(seq)).collect();
    let info = measure_deliveries(&mut session, &mut clock, conn, frames, &mut taken);

    assert_eq!(
        (info.count_total, info.bytes_total),
        (0, 0),
        "the data-frame path allocated: {info:?}"
    );

    // And the driver really got every message, with its topic and sequence number.
    let messages: Vec<(Option<&str>, Option<u64>, &Frame)> = taken
        .iter()
        .filter_map(|o| match o {
            Output::Event(Event::Message {
                topic, seq, frame, ..
            }) => Some((topic.as_ref().map(|t| t.as_str()), *seq, frame)),
            _ => None,
        })
        .collect();
    assert_eq!(messages.len(), seqs.len());
    for ((topic, seq, frame), expected) in messages.into_iter().zip(&seqs) {
        assert_eq!(topic, Some(TOPIC));
        assert_eq!(seq, Some(*expected));
        assert_eq!(frame, &data_frame(*expected));
    }
    let gaps = taken
        .iter()
        .filter(|o| matches!(o, Output::Event(Event::Gap { .. })))
        .count();
    let regressions = taken
        .iter()
        .filter(|o| matches!(o, Output::Event(Event::SequenceRegressed { .. })))
        .count();
    assert_eq!((gaps, regressions), (1, 1));
}
