//! Benchmarks of the session: one data frame through a live session, and a full reconnect with
//! the restore of 10,000 topics. Each prints its ratio to a baseline measured in the same run.
//!
//! Run with `cargo bench -p reconnect-core --bench session`; `BENCHMARKS.md` at the workspace
//! root records the results. Speed is measured here and never asserted in tests.
//!
//! The session runs on a virtual clock: one `Instant::now()` reading is the base, and every
//! later `now` is that base plus a duration. Wall time is measured only by criterion's own
//! `WallTime` measurement.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, WallTime};
use criterion::{criterion_group, criterion_main, Criterion};
use reconnect_core::{
    Action, Config, ConnId, Credentials, Event, Frame, Inbound, Input, Output, Protocol, Purpose,
    RequestId, Resume, Session, TopicLookup, TransportError, TransportErrorKind,
};

/// The topic of every data frame in the data-frame benchmark.
const TOPIC: &str = "trades.BTC-PERP";

/// A payload of a realistic size for a market-data message.
const PAYLOAD: &str = r#"{"price":"64123.5","size":"0.25","side":"buy","ts":1718000000123}"#;

/// Topics restored by the reconnect benchmark.
const RESTORED_TOPICS: usize = 10_000;

/// Topics per subscribe frame (the adapter's batch and the resubscribe policy's).
const BATCH: usize = 50;

/// Frames prepared per timed stretch of the data-frame benchmark: preparing them is not timed,
/// and a bounded stretch keeps memory small however many iterations criterion asks for.
const CHUNK: u64 = 4096;

/// A minimal text adapter, as cheap as a real one could be, so that the benchmarks show the
/// session's own cost:
///
/// - requests: `auth|<id>` and `sub|<id>|<topic>,<topic>,…`;
/// - answers: `ack|<id>`;
/// - data: `d|<topic>|<seq>|<payload>`.
struct BenchAdapter;

impl Protocol for BenchAdapter {
    fn auth_request(&mut self, id: RequestId, _credentials: &Credentials) -> Option<Frame> {
        Some(Frame::text(format!("auth|{}", id.0)))
    }

    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        let mut text = format!("sub|{}|", id.0);
        for (i, resume) in topics.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(resume.topic.as_str());
        }
        Frame::text(text)
    }

    fn max_batch(&self) -> usize {
        BATCH
    }

    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        let Some(text) = frame.as_text() else {
            return Inbound::Other;
        };
        if let Some(rest) = text.strip_prefix("d|") {
            // The same fields `splitn(3, '|')` gives (topic, seq, and the payload left
            // unread), cut at the first two bars by a byte scan instead of the `Pattern`
            // machinery, which cost more than the session's own work per frame.
            let (name, rest) = field(rest);
            let (seq, _payload) = field(rest);
            return Inbound::Data {
                topic: topics.find(name),
                seq: decimal(seq),
            };
        }
        match text.strip_prefix("ack|").and_then(|id| id.parse().ok()) {
            Some(id) => Inbound::Ack {
                id: RequestId(id),
                rejected: Vec::new(),
            },
            None => Inbound::Other,
        }
    }
}

/// `text` cut at its first `|`: what is before it, and what is after it (`""` without one).
fn field(text: &str) -> (&str, &str) {
    match text.bytes().position(|b| b == b'|') {
        // A `|` is one byte of UTF-8, so both cuts are on character boundaries.
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    }
}

/// The number `text` spells in decimal digits (`None` for anything else, or past `u64::MAX`):
/// what `str::parse::<u64>` gives for the sequence numbers the benchmark sends, without its
/// generic radix and sign handling.
fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |n, b| {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// The fake server's answer to a request frame: `ack|<id>` for `auth|<id>` and `sub|<id>|…`.
fn ack_for(request: &Frame) -> Option<Frame> {
    let text = request.as_text()?;
    let rest = text
        .strip_prefix("auth|")
        .or_else(|| text.strip_prefix("sub|"))?;
    let id = rest.split('|').next()?;
    Some(Frame::text(format!("ack|{id}")))
}

fn data_frame(seq: u64) -> Frame {
    Frame::text(format!("d|{TOPIC}|{seq}|{PAYLOAD}"))
}

/// Nanoseconds per iteration of every call criterion made to one benchmark (warm-up included),
/// so that the run can print its own ratio to a baseline.
#[derive(Default)]
struct Timings(Vec<f64>);

impl Timings {
    fn record(&mut self, elapsed: Duration, iters: u64) -> Duration {
        if iters > 0 {
            self.0.push(elapsed.as_nanos() as f64 / iters as f64);
        }
        elapsed
    }

    fn median(&self) -> Option<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    }
}

/// Prints `what` against its baseline, once both were measured.
fn print_ratio(
    what: &str,
    measured: &Timings,
    baseline_name: &str,
    baseline: &Timings,
    unit: &str,
) {
    let (Some(m), Some(b)) = (measured.median(), baseline.median()) else {
        return;
    };
    println!(
        "\n{what}: {} per {unit}; {baseline_name}: {} per {unit}; ratio {:.1}x\n",
        human(m),
        human(b),
        m / b
    );
    // Machine-readable, for `.ci/bench`'s table.
    println!("RESULT core.{what}.ns={m:.1}");
    println!("RESULT core.{what}.baseline_ns={b:.1}");
    println!("RESULT core.{what}.ratio={:.2}", m / b);
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// Drives the session the way a driver with an instant, always-acknowledging server would:
/// drains every output, opens every transport at once, answers every auth and subscribe request
/// with an ack, and otherwise moves the virtual clock to the next deadline. Returns what the
/// first `Live` event says: the transport and the number of topics restored.
fn drive_to_live(session: &mut Session<BenchAdapter>, clock: &mut Instant) -> (ConnId, usize) {
    let mut replies: VecDeque<Input> = VecDeque::new();
    loop {
        for output in session.drain() {
            match output {
                Output::Action(Action::Connect { conn, .. }) => {
                    replies.push_back(Input::Opened { conn });
                }
                Output::Action(Action::Send {
                    conn,
                    frame,
                    purpose: Purpose::Auth | Purpose::Subscribe,
                }) => {
                    if let Some(ack) = ack_for(&frame) {
                        replies.push_back(Input::Frame { conn, frame: ack });
                    }
                }
                Output::Event(Event::Live {
                    conn, resubscribed, ..
                }) => return (conn, resubscribed),
                Output::Event(Event::Stopped { reason }) => panic!("stopped: {reason:?}"),
                _ => {}
            }
        }
        // Rule 2 of the contract: one call, then drain again.
        if let Some(input) = replies.pop_front() {
            session.handle_input(*clock, input);
        } else {
            let deadline = session
                .poll_timeout()
                .expect("a session on its way to live waits on a deadline");
            *clock = (*clock).max(deadline);
            session.handle_timeout(*clock);
        }
    }
}

/// Drains and drops every output (used once the benchmark has what it needs from a step).
fn drain(session: &mut Session<BenchAdapter>) {
    while session.poll_output().is_some() {}
}

/// A live session with `topics` topics (the first is [`TOPIC`]), an auth step, a restore in
/// frames of [`BATCH`] topics paced at `frames_per_second` (`None`: all at once), and WebSocket
/// pings every `ping_interval` without inbound traffic.
fn live_session(
    frames_per_second: Option<u32>,
    ping_interval: Option<Duration>,
    topics: usize,
    clock: &mut Instant,
) -> (Session<BenchAdapter>, ConnId) {
    let mut config = Config::new(7);
    config.liveness.ping_interval = ping_interval;
    config.resubscribe.frames_per_second = frames_per_second;
    config.resubscribe.batch_size = BATCH;
    let mut session = Session::new(config, BenchAdapter).expect("valid config");
    session.set_credentials(Credentials::new("key"));
    session.subscribe(*clock, TOPIC).expect("subscribe");
    for i in 1..topics {
        session
            .subscribe(*clock, format!("book.{i:05}"))
            .expect("subscribe");
    }
    session.start(*clock).expect("start");
    let (conn, restored) = drive_to_live(&mut session, clock);
    assert_eq!(restored, topics);
    settle(&mut session, clock);
    (session, conn)
}

/// Lets the live connection become stable (its failure count resets), so that every reconnect
/// cycle starts from the same policy state.
fn settle(session: &mut Session<BenchAdapter>, clock: &mut Instant) {
    *clock += session.config().backoff.min_uptime;
    session.handle_timeout(*clock);
    drain(session);
}

/// Times `iters` steps, each fed a frame from `make`, in stretches of at most [`CHUNK`] frames.
/// Making the frames and dropping what the steps return happen outside the timed stretches.
fn timed_in_chunks<T>(
    iters: u64,
    mut make: impl FnMut() -> Frame,
    mut step: impl FnMut(Frame) -> T,
) -> Duration {
    let wall = WallTime;
    let mut elapsed = Duration::ZERO;
    let mut frames = Vec::with_capacity(CHUNK as usize);
    let mut kept = Vec::with_capacity(CHUNK as usize);
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        frames.extend((0..n).map(|_| make()));
        let start = wall.start();
        for frame in frames.drain(..) {
            kept.push(step(black_box(frame)));
        }
        elapsed += wall.end(start);
        kept.clear();
        left -= n;
    }
    elapsed
}

/// (a) One data frame for a registered topic, with a sequence number, through a live session:
/// `handle_input(Input::Frame)` and draining `poll_output`, the driver keeping the message.
/// Baseline: the same frame, wrapped in the same `Output`, through a `VecDeque` — the floor any
/// design with an output queue pays.
fn data_frame_bench(c: &mut Criterion, base: Instant) {
    let mut clock = base;
    // Pings on, as in production: every inbound frame pushes the next ping back.
    let ping = Config::new(7).liveness.ping_interval;
    let (mut session, conn) = live_session(None, ping, 1, &mut clock);
    // Check once that the measured path is the intended one: data for a registered topic, with
    // its sequence number, and nothing else.
    let mut seq = 1u64;
    session.handle_input(
        clock,
        Input::Frame {
            conn,
            frame: data_frame(seq),
        },
    );
    let outputs: Vec<Output> = std::iter::from_fn(|| session.poll_output()).collect();
    assert!(
        matches!(
            outputs.as_slice(),
            [Output::Event(Event::Message { topic: Some(t), seq: Some(1), .. })] if t.as_str() == TOPIC
        ),
        "unexpected outputs: {outputs:?}"
    );
    let mut session_times = Timings::default();
    let mut floor_times = Timings::default();

    let mut group = c.benchmark_group("data_frame");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(50);
    group.bench_function("session", |b| {
        b.iter_custom(|iters| {
            let elapsed = timed_in_chunks(
                iters,
                || {
                    seq += 1;
                    data_frame(seq)
                },
                |frame| {
                    clock += Duration::from_micros(1);
                    session.handle_input(clock, Input::Frame { conn, frame });
                    let mut message = None;
                    for output in session.drain() {
                        if matches!(output, Output::Event(Event::Message { .. })) {
                            message = Some(output);
                        }
                    }
                    message
                },
            );
            session_times.record(elapsed, iters)
        });
    });
    let mut queue: VecDeque<Output> = VecDeque::with_capacity(16);
    group.bench_function("vecdeque_floor", |b| {
        b.iter_custom(|iters| {
            let elapsed = timed_in_chunks(
                iters,
                || data_frame(1),
                |frame| {
                    queue.push_back(Output::Event(Event::Message {
                        conn,
                        topic: None,
                        seq: None,
                        frame,
                    }));
                    queue.pop_front()
                },
            );
            floor_times.record(elapsed, iters)
        });
    });
    group.finish();
    print_ratio(
        "data_frame/session",
        &session_times,
        "data_frame/vecdeque_floor",
        &floor_times,
        "frame",
    );
}

/// (b) A full reconnect with the restore of 10,000 topics in frames of 50 with an ack each:
/// transport failure, backoff timeout, connect, open, auth and its ack, the restore (paced at
/// the default 10 frames a second, or unpaced), live; then the connection is let become stable
/// so the next cycle starts alike. Baseline: the adapter's and fake server's wire work alone
/// (building the auth and 200 subscribe frames, their acks, and classifying the acks).
fn reconnect_bench(c: &mut Criterion, base: Instant) {
    let mut group = c.benchmark_group("reconnect_restore_10k");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .sample_size(20);

    let mut floor_times = Timings::default();
    let resumes: Vec<Resume> = (0..RESTORED_TOPICS)
        .map(|i| Resume {
            topic: format!("book.{i:05}").into(),
            last_seq: None,
        })
        .collect();
    group.bench_function("wire_floor", |b| {
        let mut adapter = BenchAdapter;
        let credentials = Credentials::new("key");
        b.iter_custom(|iters| {
            let wall = WallTime;
            let start = wall.start();
            for _ in 0..iters {
                black_box(wire_work(&mut adapter, &credentials, &resumes));
            }
            floor_times.record(wall.end(start), iters)
        });
    });

    let mut cycle_times = Vec::new();
    for (name, frames_per_second) in [("paced", Some(10)), ("unpaced", None)] {
        let mut clock = base;
        // No pings: a restore paced over 20 s of virtual time would meet pong deadlines that the
        // fake server would have to answer.
        let (mut session, mut conn) =
            live_session(frames_per_second, None, RESTORED_TOPICS, &mut clock);
        let mut times = Timings::default();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let wall = WallTime;
                let start = wall.start();
                for _ in 0..iters {
                    conn = reconnect_cycle(&mut session, &mut clock, conn);
                }
                times.record(wall.end(start), iters)
            });
        });
        cycle_times.push((name, times));
    }
    group.finish();
    for (name, times) in &cycle_times {
        print_ratio(
            &format!("reconnect_restore_10k/{name}"),
            times,
            "reconnect_restore_10k/wire_floor",
            &floor_times,
            "cycle",
        );
    }
}

/// One reconnect cycle of a live, stable session; returns the new transport.
fn reconnect_cycle(
    session: &mut Session<BenchAdapter>,
    clock: &mut Instant,
    conn: ConnId,
) -> ConnId {
    session.handle_input(
        *clock,
        Input::Failed {
            conn,
            error: TransportError::new(TransportErrorKind::Reset, "reset by peer"),
        },
    );
    let (conn, restored) = drive_to_live(session, clock);
    assert_eq!(restored, RESTORED_TOPICS);
    settle(session, clock);
    conn
}

/// A topic lookup that knows no topic: acks never need one.
struct NoTopics;

impl TopicLookup for NoTopics {
    fn find(&self, _name: &str) -> Option<reconnect_core::Topic> {
        None
    }
}

/// The wire work of one reconnect cycle without the session: the auth request, one subscribe
/// request per batch, the server's acks, and classifying them.
fn wire_work(adapter: &mut BenchAdapter, credentials: &Credentials, resumes: &[Resume]) -> usize {
    let mut acks = 0;
    let mut id = 1;
    let auth = adapter
        .auth_request(RequestId(id), credentials)
        .expect("an auth request");
    let mut requests = vec![auth];
    for batch in resumes.chunks(BATCH) {
        id += 1;
        requests.push(adapter.subscribe_request(RequestId(id), batch));
    }
    for request in &requests {
        let ack = ack_for(request).expect("an ack");
        if matches!(adapter.classify(&ack, &NoTopics), Inbound::Ack { .. }) {
            acks += 1;
        }
    }
    acks
}

fn benches(c: &mut Criterion) {
    // The one clock reading: the base of the virtual clock.
    let base = Instant::now();
    data_frame_bench(c, base);
    reconnect_bench(c, base);
}

criterion_group!(session_benches, benches);
criterion_main!(session_benches);
