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

mod common;

use std::time::{Duration, Instant};

use allocation_counter::{measure, AllocationInfo};
use common::line_adapter::LineAdapter;
use reconnect_core::{Action, Config, ConnId, Event, Frame, Input, Output, Protocol, Session};

/// The topic every data frame of these tests is for.
const TOPIC: &str = "trades.BTC-PERP";

/// A payload of a realistic size for a market-data message.
const PAYLOAD: &str = r#"{"price":"64123.5","size":"0.25","side":"buy","ts":1718000000123}"#;

/// The shared line adapter without acks (a subscription is active once sent); its data frames
/// are `data <topic> <seq> <payload>`.
fn line_adapter() -> LineAdapter {
    LineAdapter {
        acks: false,
        ..LineAdapter::default()
    }
}

fn seq_frame(seq: u64) -> Frame {
    Frame::text(format!("data {TOPIC} {seq} {PAYLOAD}"))
}

/// Subscribes `topic`, starts, and drives the session to live at `now`, answering each request
/// frame with `answer` (if it gives one). Returns the live transport.
fn live_session<P: Protocol>(
    session: &mut Session<P>,
    topic: &str,
    now: Instant,
    answer: impl Fn(&Frame) -> Option<Frame>,
) -> ConnId {
    session.subscribe(now, topic).expect("subscribe");
    session.start(now).expect("start");
    let mut inputs = Vec::new();
    // Bounded: connect, open, then at most a few request/answer rounds.
    for _ in 0..8 {
        for output in session.drain() {
            match output {
                Output::Action(Action::Connect { conn, .. }) => {
                    inputs.push(Input::Opened { conn });
                }
                Output::Action(Action::Send { conn, frame, .. }) => {
                    if let Some(frame) = answer(&frame) {
                        inputs.push(Input::Frame { conn, frame });
                    }
                }
                Output::Event(Event::Live { conn, .. }) => return conn,
                _ => {}
            }
        }
        for input in inputs.drain(..) {
            session.handle_input(now, input);
        }
    }
    panic!("the session did not reach live: {:?}", session.state());
}

// The drive loop is this file's own, not the shared rig: the rig formats every output into a
// line, and a measured region must contain nothing but the session's own work.

/// Feeds one frame and drains the outputs the way a driver does, keeping the taken outputs in
/// `taken` (whose capacity the caller reserved, so that keeping them does not allocate).
fn deliver<P: Protocol>(
    session: &mut Session<P>,
    now: Instant,
    conn: ConnId,
    frame: Frame,
    taken: &mut Vec<Output>,
) {
    session.handle_input(now, Input::Frame { conn, frame });
    for output in session.drain() {
        taken.push(output);
    }
}

/// Warms the session up with `warm_up` frames (its output queue and tables reach their working
/// sizes), then delivers `frames` one measured region per frame, 1 ms of virtual time apart.
/// Returns the summed allocations of the measured regions and every output the driver took
/// from them.
fn measure_path<P: Protocol>(
    session: &mut Session<P>,
    start: Instant,
    conn: ConnId,
    warm_up: Vec<Frame>,
    frames: Vec<Frame>,
) -> (AllocationInfo, Vec<Output>) {
    let mut clock = start;
    let mut taken = Vec::with_capacity(4 * (warm_up.len() + frames.len()));
    for frame in warm_up {
        clock += Duration::from_millis(1);
        deliver(session, clock, conn, frame, &mut taken);
    }
    taken.clear();
    let mut total = AllocationInfo::default();
    for frame in frames {
        clock += Duration::from_millis(1);
        let now = clock;
        let taken = &mut taken;
        total += measure(|| deliver(session, now, conn, frame, taken));
    }
    (total, taken)
}

/// The messages among `taken`, as (topic, seq, frame).
fn messages(taken: &[Output]) -> Vec<(Option<&str>, Option<u64>, &Frame)> {
    taken
        .iter()
        .filter_map(|o| match o {
            Output::Event(Event::Message {
                topic, seq, frame, ..
            }) => Some((topic.as_ref().map(|t| t.as_str()), *seq, frame)),
            _ => None,
        })
        .collect()
}

fn count(taken: &[Output], pred: impl Fn(&Event) -> bool) -> usize {
    taken
        .iter()
        .filter(|o| matches!(o, Output::Event(e) if pred(e)))
        .count()
}

#[test]
fn the_counting_allocator_is_installed() {
    // Without it every measurement would read zero and prove nothing.
    let probe = measure(|| drop(std::hint::black_box(Box::new(1_u64))));
    assert_eq!((probe.count_total, probe.bytes_total), (1, 8));
}

#[test]
fn data_frames_for_a_registered_topic_allocate_nothing() {
    let start = Instant::now(); // the one clock reading: the base of the virtual clock
    let mut session = Session::new(Config::new(7), line_adapter()).expect("valid config");
    let conn = live_session(&mut session, TOPIC, start, |_| None);

    // In order, then a gap and a regression: each takes the sequence-tracking branch that emits
    // an extra event, and none of it may allocate either.
    let seqs: Vec<u64> = (65..=564).chain([600, 601, 590, 591]).collect();
    let (info, taken) = measure_path(
        &mut session,
        start,
        conn,
        (1..=64).map(seq_frame).collect(),
        seqs.iter().map(|&seq| seq_frame(seq)).collect(),
    );

    assert_eq!(
        (info.count_total, info.bytes_total),
        (0, 0),
        "the data-frame path allocated: {info:?}"
    );
    // And the driver really got every message, with its topic and sequence number.
    let got = messages(&taken);
    assert_eq!(got.len(), seqs.len());
    for ((topic, seq, frame), &expected) in got.into_iter().zip(&seqs) {
        assert_eq!((topic, seq), (Some(TOPIC), Some(expected)));
        assert_eq!(frame, &seq_frame(expected));
    }
    assert_eq!(count(&taken, |e| matches!(e, Event::Gap { .. })), 1);
    assert_eq!(
        count(&taken, |e| matches!(e, Event::SequenceRegressed { .. })),
        1
    );
}

#[test]
fn data_frames_on_a_topic_with_a_staleness_deadline_allocate_nothing() {
    // The deadline is watched, so every frame writes the topic's last-data timestamp; the
    // deadline itself (never reached here) is checked by a timer, off the data path.
    let start = Instant::now(); // the one clock reading: the base of the virtual clock
    let mut config = Config::new(7);
    config.liveness.topic_stale_after = Some(Duration::from_secs(10));
    let mut session = Session::new(config, line_adapter()).expect("valid config");
    let conn = live_session(&mut session, TOPIC, start, |_| None);
    let (info, taken) = measure_path(
        &mut session,
        start,
        conn,
        (1..=64).map(seq_frame).collect(),
        (65..=564).map(seq_frame).collect(),
    );
    assert_eq!(
        (info.count_total, info.bytes_total),
        (0, 0),
        "the data-frame path allocated: {info:?}"
    );
    assert_eq!(messages(&taken).len(), 500);
}

#[cfg(feature = "json")]
mod jsonrpc {
    //! The same path with the built-in JSON-RPC adapter, on Deribit-style notifications.

    use super::*;
    use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
    use reconnect_core::{Inbound, Topic, TopicLookup};

    const CHANNEL: &str = "book.BTC-PERPETUAL.100ms";

    fn deribit() -> JsonRpcAdapter {
        JsonRpcAdapter::new(JsonRpcConfig::default().seq_pointer(Some(
            SeqPointer::parse("/change_id").expect("a valid pointer"),
        )))
    }

    /// The server's answer to a subscribe request: every channel confirmed.
    fn confirm(request: &Frame) -> Option<Frame> {
        let request: serde_json::Value = serde_json::from_str(request.as_text()?).ok()?;
        let answer = serde_json::json!({
            "jsonrpc": "2.0",
            "id": request["id"],
            "result": request["params"]["channels"],
        });
        Some(Frame::text(answer.to_string()))
    }

    /// A book change notification; `instrument` goes into the data as a raw JSON string body.
    fn notification(change_id: u64, instrument: &str) -> Frame {
        Frame::text(format!(
            r#"{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"{CHANNEL}","data":{{"type":"change","timestamp":1718000000123,"instrument_name":"{instrument}","prev_change_id":{},"change_id":{change_id},"bids":[["new",64123.5,1250.0],["delete",64120.0,0.0]],"asks":[["change",64125.0,300.0]]}}}}}}"#,
            change_id - 1
        ))
    }

    fn live() -> (Session<JsonRpcAdapter>, ConnId, Instant) {
        let start = Instant::now(); // the one clock reading: the base of the virtual clock
        let mut config = Config::new(7);
        config.liveness.ping_interval = None;
        let mut session = Session::new(config, deribit()).expect("valid config");
        let conn = live_session(&mut session, CHANNEL, start, confirm);
        (session, conn, start)
    }

    #[test]
    fn notifications_for_a_registered_channel_allocate_nothing() {
        let (mut session, conn, start) = live();
        let ids: Vec<u64> = (65..=564).chain([600, 590]).collect();
        let (info, taken) = measure_path(
            &mut session,
            start,
            conn,
            (1..=64)
                .map(|id| notification(id, "BTC-PERPETUAL"))
                .collect(),
            ids.iter()
                .map(|&id| notification(id, "BTC-PERPETUAL"))
                .collect(),
        );

        assert_eq!(
            (info.count_total, info.bytes_total),
            (0, 0),
            "the JSON-RPC data-frame path allocated: {info:?}"
        );
        let got = messages(&taken);
        assert_eq!(got.len(), ids.len());
        for ((topic, seq, _), &expected) in got.into_iter().zip(&ids) {
            assert_eq!((topic, seq), (Some(CHANNEL), Some(expected)));
        }
        assert_eq!(count(&taken, |e| matches!(e, Event::Gap { .. })), 1);
    }

    /// Finds only [`CHANNEL`], cloning one topic (a reference count, no allocation).
    struct OneChannel(Topic);

    impl TopicLookup for OneChannel {
        fn find(&self, name: &str) -> Option<Topic> {
            (name == self.0.as_str()).then(|| self.0.clone())
        }
    }

    /// A string with JSON escapes is unescaped by `serde_json` into the scratch `Vec` of its
    /// `Deserializer`, inside the adapter's `classify`, even when the string is off the path and
    /// only skipped (here `instrument_name`: 3 allocations of 8, 16 and 32 bytes per frame, as
    /// the buffer grows). The session itself still adds nothing.
    #[test]
    fn escaped_strings_allocate_only_inside_the_adapters_classify() {
        let escaped = r#"BTC\u002DPERPETUAL \"quoted\""#;
        let frames = || -> Vec<Frame> { (65..=164).map(|id| notification(id, escaped)).collect() };

        let mut adapter = deribit();
        let lookup = OneChannel(Topic::new(CHANNEL));
        let mut in_adapter = AllocationInfo::default();
        for frame in frames() {
            in_adapter += measure(|| {
                let inbound = adapter.classify(&frame, &lookup);
                assert!(matches!(inbound, Inbound::Data { seq: Some(_), .. }));
            });
        }

        let (mut session, conn, start) = live();
        let warm_up = (1..=64).map(|id| notification(id, escaped)).collect();
        let (in_path, taken) = measure_path(&mut session, start, conn, warm_up, frames());

        assert_eq!(messages(&taken).len(), 100);
        assert!(
            in_adapter.count_total > 0,
            "escapes no longer allocate: tighten this test to zero"
        );
        assert_eq!(
            (in_path.count_total, in_path.bytes_total),
            (in_adapter.count_total, in_adapter.bytes_total),
            "the session added allocations beyond the adapter's classify"
        );
    }
}
