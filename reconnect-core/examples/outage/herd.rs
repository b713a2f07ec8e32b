//! The herd: a fleet of sessions on one server that restarts, counted as dials per 100 ms, with
//! and without a shared [`ConnectBudget`] in front of the dialer.
//!
//! The simulator drives one session; a fleet needs one driver for many sessions sharing one
//! budget, so this is a small driver of its own, on a virtual clock: a `Connect` action books a
//! token ([`ConnectBudget::reserve`]) and dials at the booked instant; one latency later the
//! attempt is refused while the server is down, and opens otherwise. The sessions speak the raw
//! adapter with no topics, so an open connection is live at once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use reconnect_core::adapters::RawAdapter;
use reconnect_core::{
    Action, Config, ConnId, ConnectBudget, Input, Output, Session, State, TransportError,
    TransportErrorKind,
};

/// The fleet.
pub const FLEET: usize = 500;
/// The shared budget: attempts a second.
pub const RATE: u32 = 100;
/// The shared budget: attempts at once.
pub const BURST: u32 = 10;
/// The server restarts (every connection closed with 1012) at this virtual time.
pub const RESTART_AT: Duration = Duration::from_secs(10);
/// And refuses connections for this long.
pub const DOWNTIME: Duration = Duration::from_secs(3);
/// One-way latency: an attempt is answered this long after its dial.
pub const LATENCY: Duration = Duration::from_millis(10);
/// The counting bucket.
pub const BUCKET: Duration = Duration::from_millis(100);
/// The end of the run.
pub const END: Duration = Duration::from_secs(30);

/// What happened to a fleet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Herd {
    /// Dials per [`BUCKET`], from virtual time zero to [`END`].
    pub dials: Vec<u32>,
    /// Sessions live at the end.
    pub live_at_end: usize,
}

/// Something the driver does later.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    /// Dial the attempt (its booked instant has come).
    Dial(ConnId),
    /// The attempt's answer arrives.
    Answer(ConnId),
}

/// Runs the fleet through the restart; with `budget`, every dial waits for a token.
pub fn run(base: Instant, mut budget: Option<ConnectBudget>) -> Herd {
    let at = |d: Duration| base + d;
    let since = |t: Instant| t.saturating_duration_since(base);
    let mut sessions: Vec<Session<RawAdapter>> = (0..FLEET)
        .map(|i| {
            let mut config = Config::for_replica("herd", i as u64);
            // No pings: the only thing that ends a connection here is the restart.
            config.liveness.ping_interval = None;
            Session::new(config, RawAdapter::new()).expect("a valid config")
        })
        .collect();
    // Min-heap of (when, sequence for ties, session, what).
    let mut pending: BinaryHeap<Reverse<(Instant, u64, usize, Pending)>> = BinaryHeap::new();
    let mut sequence = 0u64;
    let mut dials = vec![0u32; (END.as_millis() / BUCKET.as_millis()) as usize];
    let mut restarted = false;
    let mut now = base;

    for (index, session) in sessions.iter_mut().enumerate() {
        session.start(now).expect("a fresh session starts");
        perform(
            session,
            index,
            now,
            &mut budget,
            &mut pending,
            &mut sequence,
        );
    }
    loop {
        let next_session = sessions
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.poll_timeout().map(|t| (t, i)))
            .min();
        let next_pending = pending.peek().map(|Reverse((t, ..))| *t);
        let restart = (!restarted).then(|| at(RESTART_AT));
        let Some(next) = [next_session.map(|(t, _)| t), next_pending, restart]
            .into_iter()
            .flatten()
            .min()
        else {
            break;
        };
        if next > at(END) {
            break;
        }
        now = next.max(now);
        if restart == Some(next) {
            restarted = true;
            for (index, session) in sessions.iter_mut().enumerate() {
                if let State::Live { conn } = session.state() {
                    let input = Input::Closed {
                        conn,
                        code: Some(1012),
                        reason: "service restart".to_owned(),
                    };
                    session.handle_input(now, input);
                    perform(
                        session,
                        index,
                        now,
                        &mut budget,
                        &mut pending,
                        &mut sequence,
                    );
                }
            }
        } else if next_pending == Some(next) {
            let Reverse((_, _, index, what)) = pending.pop().expect("peeked");
            let session = &mut sessions[index];
            match what {
                Pending::Dial(conn) => {
                    // An attempt the session gave up on while it waited is not dialed.
                    if matches!(session.state(), State::Connecting { conn: c, .. } if c == conn) {
                        let bucket = (since(now).as_millis() / BUCKET.as_millis()) as usize;
                        if let Some(count) = dials.get_mut(bucket) {
                            *count += 1;
                        }
                        sequence += 1;
                        pending.push(Reverse((
                            now + LATENCY,
                            sequence,
                            index,
                            Pending::Answer(conn),
                        )));
                    }
                }
                Pending::Answer(conn) => {
                    let down = since(now) >= RESTART_AT && since(now) < RESTART_AT + DOWNTIME;
                    let input = if down {
                        Input::ConnectFailed {
                            conn,
                            error: TransportError::new(TransportErrorKind::Refused, "refused"),
                        }
                    } else {
                        Input::Opened { conn }
                    };
                    session.handle_input(now, input);
                    perform(
                        session,
                        index,
                        now,
                        &mut budget,
                        &mut pending,
                        &mut sequence,
                    );
                }
            }
        } else if let Some((_, index)) = next_session {
            sessions[index].handle_timeout(now);
            perform(
                &mut sessions[index],
                index,
                now,
                &mut budget,
                &mut pending,
                &mut sequence,
            );
        }
    }
    let live_at_end = sessions
        .iter()
        .filter(|s| matches!(s.state(), State::Live { .. }))
        .count();
    Herd { dials, live_at_end }
}

/// Drains a session's outputs: a `Connect` books its dial; nothing else needs a peer here.
fn perform(
    session: &mut Session<RawAdapter>,
    index: usize,
    now: Instant,
    budget: &mut Option<ConnectBudget>,
    pending: &mut BinaryHeap<Reverse<(Instant, u64, usize, Pending)>>,
    sequence: &mut u64,
) {
    for output in session.drain() {
        if let Output::Action(Action::Connect { conn, .. }) = output {
            let dial_at = budget.as_mut().map_or(now, |b| b.reserve(now));
            *sequence += 1;
            pending.push(Reverse((dial_at, *sequence, index, Pending::Dial(conn))));
        }
    }
}
