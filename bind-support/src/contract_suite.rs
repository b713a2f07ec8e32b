//! One contract for both bindings, checked the same way on each: what `Gone`, `close`,
//! `Event::Refused` and the connect budget mean, the frame-size limit at and past its bound, the
//! mailbox's byte bound, write backpressure, and the bounded event queue with its backpressure
//! to the socket. An application that switches bindings changes imports and its run loop,
//! nothing about these; each binding runs this suite on its own [`Harness`] with
//! [`contract_suite!`](crate::contract_suite!).

use std::time::{Duration, Instant};

use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{
    Command, CommandKind, ConnectBudget, EndCause, Event, Frame, HandleError, Refusal, Refused,
    SendError, SendErrorKind, SendOptions, StopReason, SubscribeError, TransportErrorKind,
};
use reconnect_testkit::bench::Flood;
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{ServerConfig, TestServer};
use reconnect_tungstenite::Endpoint;

use crate::harness::{Harness, Settings};
use crate::kit::{endpoint_for, session_for};

/// Only a real hang reaches it.
const LIMIT: Duration = Duration::from_secs(20);

/// The suite as `#[test]` functions on the harness type `$harness`.
#[macro_export]
macro_rules! contract_suite {
    ($harness:ty) => {
        #[test]
        fn a_command_after_the_session_stopped_is_gone() {
            $crate::contract_suite::gone_after_stopped::<$harness>();
        }

        #[test]
        fn close_starts_the_close_and_returns_and_the_end_follows() {
            $crate::contract_suite::close_returns_before_the_end::<$harness>();
        }

        #[test]
        fn a_refused_command_is_the_cores_event_in_order() {
            $crate::contract_suite::refusals_are_events_in_order::<$harness>();
        }

        #[test]
        fn the_connect_budget_has_one_default_and_spaces_attempts() {
            $crate::contract_suite::connect_budget::<$harness>();
        }

        #[test]
        fn a_frame_at_the_limit_passes_and_one_byte_more_is_too_large() {
            $crate::contract_suite::frame_len_limit::<$harness>();
        }

        #[test]
        fn the_mailbox_is_bounded_in_bytes_and_releases_what_it_refused() {
            $crate::contract_suite::mailbox_bytes::<$harness>();
        }

        #[test]
        fn a_peer_that_stops_reading_is_reported_as_backpressure() {
            $crate::contract_suite::write_backpressure::<$harness>();
        }

        #[test]
        fn the_event_queue_is_bounded_and_loses_nothing() {
            $crate::contract_suite::event_queue_bound::<$harness>();
        }
    };
}

fn stopped(seen: &[Event]) -> Option<&StopReason> {
    seen.iter().find_map(Event::stop_reason)
}

fn lives(seen: &[Event]) -> usize {
    seen.iter()
        .filter(|e| matches!(e, Event::Live { .. }))
        .count()
}

fn send(text: impl Into<Frame>) -> Command {
    Command::Send(text.into(), SendOptions::default())
}

/// A kit session that goes live on `server` without pings (a loaded machine must not cause a
/// reconnect in the middle of a test).
fn live_on<H: Harness>(server: &TestServer, name: &str, settings: &Settings) -> (H, Vec<Event>) {
    let mut spec = ClientSpec::new(server.url(name), name);
    spec.ping_interval = None;
    let mut h = H::start_with(
        session_for(&spec).unwrap(),
        endpoint_for(&spec).unwrap(),
        settings,
    );
    let mut seen = Vec::new();
    h.run_until(&mut seen, LIMIT, |s| lives(s) == 1);
    (h, seen)
}

/// A session that can never connect: nothing listens on the port of a listener just closed.
fn refused_endpoint() -> Endpoint {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Endpoint::new(&format!("ws://127.0.0.1:{port}/ws")).unwrap()
}

/// A plain session: no auth, no topics, no pings, `max_attempts` attempts, a 10 ms backoff.
fn plain_session(
    max_attempts: Option<u32>,
) -> reconnect_core::Session<reconnect_core::adapters::JsonRpcAdapter> {
    let mut config = reconnect_core::Config::new(7);
    config.liveness.ping_interval = None;
    config.limits.max_attempts = max_attempts;
    config.backoff.initial = Duration::from_millis(10);
    config.backoff.max = Duration::from_millis(20);
    config.backoff.jitter = reconnect_core::Jitter::None;
    reconnect_core::Session::new(config, JsonRpcAdapter::default()).unwrap()
}

/// Once the application has seen `Stopped`, every command through the handle is `Gone`.
pub fn gone_after_stopped<H: Harness>() {
    let mut h = H::start(plain_session(Some(1)), refused_endpoint());
    let mut seen = Vec::new();
    h.run_until(&mut seen, LIMIT, |s| stopped(s).is_some());
    assert!(
        matches!(stopped(&seen), Some(StopReason::GaveUp { attempts: 1 })),
        "{seen:#?}"
    );
    assert_eq!(
        h.try_command(Command::Subscribe("late".into())),
        Err(HandleError::Gone)
    );
    assert_eq!(h.try_command(send("late")), Err(HandleError::Gone));
    assert_eq!(h.close(), Err(HandleError::Gone));
}

/// `close` queues the close and returns: the end has not happened when it returns, and follows
/// as `Stopped { Closed { clean } }`; then the handle is `Gone`.
pub fn close_returns_before_the_end<H: Harness>() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let (mut h, mut seen) = live_on::<H>(&server, "closing", &Settings::default());
    assert_eq!(h.close(), Ok(()));
    assert!(
        stopped(&seen).is_none(),
        "close returned after the end: {seen:#?}"
    );
    h.run_until(&mut seen, LIMIT, |s| stopped(s).is_some());
    assert_eq!(stopped(&seen), Some(&StopReason::Closed { clean: true }));
    assert_eq!(h.try_command(send("after")), Err(HandleError::Gone));
    h.assert_released();
}

/// What the session refuses comes back as the core's `Event::Refused`, in order with the
/// session's other events (a pause between two refused subscriptions stays between them).
pub fn refusals_are_events_in_order<H: Harness>() {
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let (mut h, mut seen) = live_on::<H>(&server, "refusing", &Settings::default());
    let from = seen.len();
    h.command(Command::Subscribe("".into()));
    h.command(Command::Pause);
    h.command(Command::Subscribe("".into()));
    let done = |s: &[Event]| {
        s[from..]
            .iter()
            .filter(|e| matches!(e, Event::Refused(_)))
            .count()
            == 2
    };
    h.run_until(&mut seen, LIMIT, done);
    let empty_topic = Event::Refused(Refused {
        command: CommandKind::Subscribe,
        refusal: Refusal::Subscribe(SubscribeError::EmptyTopic),
    });
    let these: Vec<&Event> = seen[from..]
        .iter()
        .filter(|e| matches!(e, Event::Refused(_) | Event::Paused))
        .collect();
    assert_eq!(these, [&empty_topic, &Event::Paused, &empty_topic]);
}

/// One knob, one default: both bindings use the core's [`ConnectBudget::default`] unless told
/// otherwise; and a budget of 4 attempts a second, one at a time, holds back a session whose
/// backoff would retry every 10 ms.
pub fn connect_budget<H: Harness>() {
    assert_eq!(H::default_connect_budget(), Some(ConnectBudget::default()));
    let settings = Settings {
        connect_budget: Some(ConnectBudget::new(4, 1)),
        ..Settings::default()
    };
    let mut h = H::start_with(plain_session(None), refused_endpoint(), &settings);
    let mut seen = Vec::new();
    let mut failed_at = Vec::new();
    let deadline = Instant::now() + LIMIT;
    while failed_at.len() < 4 {
        assert!(Instant::now() < deadline, "{seen:#?}");
        let before = seen.len();
        h.step(&mut seen, Duration::from_millis(5));
        for event in &seen[before..] {
            if matches!(event, Event::AttemptFailed { .. }) {
                failed_at.push(Instant::now());
            }
        }
    }
    // A token every 250 ms: the fourth attempt cannot start before 750 ms after the first.
    // Each is seen when the test steps, possibly late on a loaded machine, which can only
    // shorten the span by the first one's lateness: 60 ms of slack. Without the budget the
    // 10 ms backoff would put the four within about 60 ms.
    let span = failed_at[3] - failed_at[0];
    assert!(
        span >= Duration::from_millis(690),
        "four attempts within {span:?}: {failed_at:?}"
    );
}

/// A send of exactly `max_frame_len` bytes goes out; one byte more is refused by the handle at
/// once, the frame handed back, and the connection stays up.
pub fn frame_len_limit<H: Harness>() {
    const MAX: usize = 1_000;
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut spec = ClientSpec::new(server.url("sizes"), "sizes");
    spec.ping_interval = None;
    let mut session = session_for(&spec).unwrap();
    session.limit_frame_len(MAX);
    let mut h = H::start(session, endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    h.run_until(&mut seen, LIMIT, |s| lives(s) == 1);
    let at_limit = "a".repeat(MAX);
    let over = "b".repeat(MAX + 1);
    assert_eq!(
        h.try_command(send(over.as_str())),
        Err(HandleError::TooLarge(SendError {
            kind: SendErrorKind::TooLarge {
                len: MAX + 1,
                max: MAX
            },
            frame: Frame::from(over.as_str()),
        }))
    );
    h.command(send(at_limit.as_str()));
    let deadline = Instant::now() + LIMIT;
    while !server
        .stats()
        .connections
        .iter()
        .any(|c| c.texts().contains(&at_limit.as_str()))
    {
        assert!(
            Instant::now() < deadline,
            "the frame at the limit never arrived"
        );
        h.step(&mut seen, Duration::from_millis(10));
    }
    h.run_for(Duration::from_millis(100))
        .into_iter()
        .for_each(|e| seen.push(e));
    assert_eq!(server.stats().connections.len(), 1, "no reconnect");
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Disconnected { .. })),
        "{seen:#?}"
    );
}

/// The mailbox's byte bound: a frame over it passes while nothing waits; then not one byte
/// more; and the bytes of a frame refused by the count bound are not counted afterwards.
///
/// Every check that needs the mailbox to hold still is made before the binding's loop first
/// runs (bind-smol's task runs on its own once spawned, and would take commands meanwhile).
pub fn mailbox_bytes<H: Harness>() {
    const BYTES: usize = 100;
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let settings = Settings {
        mailbox_capacity: Some(2),
        mailbox_bytes: Some(BYTES),
        ..Settings::default()
    };
    let start = |name: &str| {
        let mut spec = ClientSpec::new(server.url(name), name);
        spec.ping_interval = None;
        H::start_with(
            session_for(&spec).unwrap(),
            endpoint_for(&spec).unwrap(),
            &settings,
        )
    };
    let arrived = |name: &str, text: &str| {
        server
            .stats()
            .connections_of(name)
            .any(|c| c.texts().contains(&text))
    };

    // A frame over the byte bound passes alone, and then not one byte more.
    let mut h: H = start("alone");
    let big = "B".repeat(BYTES + 50);
    assert_eq!(
        h.try_command(send(big.as_str())),
        Ok(()),
        "alone, it passes"
    );
    assert_eq!(
        h.try_command(send("1")),
        Err(HandleError::Full(Some(Frame::from("1")))),
        "not one byte more while it waits"
    );
    let mut seen = Vec::new();
    wait_for(&mut h, &mut seen, || arrived("alone", &big));

    // The count bound (2) refuses a third frame of 10 bytes; its bytes must not stay counted.
    let mut h: H = start("counted");
    let ten = |i: usize| format!("{i}{}", "x".repeat(9));
    assert_eq!(h.try_command(send(ten(1))), Ok(()));
    assert_eq!(h.try_command(send(ten(2))), Ok(()));
    assert_eq!(
        h.try_command(send(ten(3))),
        Err(HandleError::Full(Some(Frame::from(ten(3)))))
    );
    let mut seen = Vec::new();
    wait_for(&mut h, &mut seen, || arrived("counted", &ten(2)));
    // Empty again: 95 bytes fit, which they would not beside a leaked 10.
    let ninety_five = "n".repeat(95);
    let ok = h.try_command(send(ninety_five.as_str()));
    assert_eq!(ok, Ok(()), "the refused frame's bytes were not released");
    wait_for(&mut h, &mut seen, || arrived("counted", &ninety_five));
}

fn wait_for<H: Harness>(h: &mut H, seen: &mut Vec<Event>, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out; events: {seen:#?}");
        h.step(seen, Duration::from_millis(10));
    }
}

/// A server that completes the upgrade and never reads again: the binding's write buffer
/// fills and the session hears `Backpressure`, not silence.
pub fn write_backpressure<H: Harness>() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let ws = tungstenite::accept(tcp).unwrap();
        // Hold the socket, unread, until the test is done.
        let _ = held_rx.recv();
        drop(ws);
    });
    let websocket = reconnect_tungstenite::default_websocket_config()
        .write_buffer_size(8 << 10)
        .max_write_buffer_size(256 << 10);
    let endpoint = Endpoint::new(&url).unwrap().websocket_config(websocket);
    let mut h = H::start(plain_session(Some(1)), endpoint);
    let mut seen = Vec::new();
    h.run_until(&mut seen, LIMIT, |s| lives(s) == 1);
    // Far more than the kernel's buffers on both ends and the 256 KiB the binding may hold.
    let chunk = "x".repeat(64 << 10);
    let disconnected = |s: &[Event]| s.iter().any(|e| matches!(e, Event::Disconnected { .. }));
    let deadline = Instant::now() + LIMIT;
    while !disconnected(&seen) {
        assert!(Instant::now() < deadline, "writes never backed up");
        // A full mailbox only means the loop has not caught up: step, then go on.
        let _ = h.try_command(send(chunk.as_str()));
        h.step(&mut seen, Duration::ZERO);
    }
    let cause = seen.iter().find_map(|e| match e {
        Event::Disconnected { cause, .. } => Some((**cause).clone()),
        _ => None,
    });
    assert!(
        matches!(&cause, Some(EndCause::Transport(t)) if t.kind == TransportErrorKind::Backpressure),
        "{cause:?}"
    );
    held_tx.send(()).unwrap();
    server.join().unwrap();
}

/// A consumer that looks away while a flood comes in: the events waiting for it stay near the
/// bound (the binding stops reading its socket), and once it looks again every message arrives,
/// in order, none lost.
pub fn event_queue_bound<H: Harness>() {
    const CAPACITY: usize = 16;
    const MESSAGES: usize = 20_000;
    const SIZE: usize = 64;
    let flood = Flood::start(SIZE, MESSAGES).unwrap();
    let settings = Settings {
        event_capacity: Some(CAPACITY),
        ..Settings::default()
    };
    let mut h = H::start_with(
        plain_session(Some(1)),
        Endpoint::new(&flood.url()).unwrap(),
        &settings,
    );
    let mut seen = Vec::new();
    let messages = |s: &[Event]| s.iter().filter(|e| e.is_message()).count();
    h.run_until(&mut seen, LIMIT, |s| messages(s) > 0);
    let before = messages(&seen);
    // The flood goes on at full speed; without the bound, thousands would queue meanwhile.
    h.idle(Duration::from_millis(300));
    let mut batch = Vec::new();
    h.step(&mut batch, Duration::ZERO);
    let queued = messages(&batch);
    // The bound, plus what one read and one hand-over may add past it (a binding reads up to
    // 64 messages, or hands over a second queue's worth, before it looks at the bound again).
    assert!(
        queued <= 4 * CAPACITY + 64,
        "{queued} messages queued for a bound of {CAPACITY}"
    );
    seen.append(&mut batch);
    h.run_until(&mut seen, Duration::from_secs(60), |s| {
        messages(s) >= MESSAGES || stopped(s).is_some()
    });
    assert!(
        before > 0 && stopped(&seen).is_none(),
        "{:?}",
        stopped(&seen)
    );
    let bytes: usize = seen.iter().filter_map(Event::bytes).map(<[u8]>::len).sum();
    assert_eq!(messages(&seen), MESSAGES);
    assert_eq!(bytes, SIZE * MESSAGES, "every message, whole");
}
