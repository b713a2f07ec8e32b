//! The invariants the `session` fuzz target checks after every step, judged from the session's
//! outputs alone (see the list at the top of `session.rs`): the checker's memory of each
//! connection and of the requests in flight, and the assertions themselves.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{
    Action, Config, ConnId, DelaySource, Event, Frame, Output, Purpose, Session, State,
};
use serde_json::Value;

/// Everything the checker knows about one `ConnId`, from the outputs alone.
#[derive(Default)]
pub(super) struct ConnSeen {
    pub(super) released: bool,
    pub(super) authed: bool,
    pub(super) live: bool,
    pub(super) restore_sends: Vec<String>,
    pub(super) transient_retries: HashSet<String>,
}

pub(super) struct Checker {
    pub(super) config: Config,
    pub(super) conns: HashMap<ConnId, ConnSeen>,
    pub(super) in_flight: Option<ConnId>,
    pub(super) credentials: bool,
    pub(super) close_called: bool,
    pub(super) stopped: bool,
    /// (id, method, channels) of requests sent on the current connection, oldest first.
    pub(super) requests: Vec<(u64, String, Vec<String>)>,
    pub(super) last_seq: HashMap<String, u64>,
}

pub(super) fn parse_request(frame: &Frame) -> Option<(u64, String, Vec<String>)> {
    let v: Value = serde_json::from_str(frame.as_text()?).ok()?;
    let id = v.get("id")?.as_u64()?;
    let method = v.get("method")?.as_str()?.to_owned();
    let channels = v
        .pointer("/params/channels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Some((id, method, channels))
}

impl Checker {
    pub(super) fn observe(&mut self, session: &Session<JsonRpcAdapter>, outputs: &[Output]) {
        if self.stopped {
            assert!(outputs.is_empty(), "outputs after Stopped: {outputs:?}");
        }
        for o in outputs {
            match o {
                Output::Action(Action::Connect { conn, .. }) => {
                    assert!(!self.close_called, "connect after close()");
                    assert!(self.in_flight.is_none(), "two attempts in flight");
                    assert!(!self.conns.contains_key(conn), "{conn} connected twice");
                    self.conns.insert(*conn, ConnSeen::default());
                    self.in_flight = Some(*conn);
                    self.requests.clear();
                }
                Output::Action(Action::Release { conn }) => {
                    let seen = self
                        .conns
                        .get_mut(conn)
                        .expect("release of an unknown conn");
                    assert!(!seen.released, "{conn} released twice");
                    seen.released = true;
                    assert_eq!(self.in_flight, Some(*conn));
                    self.in_flight = None;
                }
                Output::Action(Action::Send {
                    conn,
                    frame,
                    purpose,
                }) => {
                    assert_eq!(Some(*conn), self.in_flight, "send on a conn not in flight");
                    let seen = self.conns.get_mut(conn).expect("known conn");
                    assert!(!seen.released);
                    match purpose {
                        Purpose::Application => assert!(seen.live, "application send before live"),
                        Purpose::Subscribe => {
                            if self.credentials {
                                assert!(seen.authed, "subscribe before the auth ack");
                            }
                            let (_, _, channels) = parse_request(frame).expect("a request");
                            if !seen.live {
                                for c in &channels {
                                    let again = seen.restore_sends.contains(c);
                                    assert!(
                                        !again || seen.transient_retries.contains(c),
                                        "{c} restored twice on {conn}"
                                    );
                                    seen.restore_sends.push(c.clone());
                                }
                            }
                        }
                        Purpose::Unsubscribe => {
                            // Wanted again later, the topic is rightly requested again.
                            let (_, _, channels) = parse_request(frame).expect("a request");
                            seen.restore_sends.retain(|c| !channels.contains(c));
                        }
                        _ => {}
                    }
                    if let Some(request) = parse_request(frame) {
                        // Heartbeat replies use the adapter's own id range; the server's
                        // answers to them are not the session's business.
                        if request.0 < (1 << 62) {
                            self.requests.push(request);
                        }
                    }
                }
                Output::Action(_) => {}
                Output::Event(e) => self.event(session, e),
            }
        }
        self.check_state(session);
    }

    fn event(&mut self, session: &Session<JsonRpcAdapter>, e: &Event) {
        match e {
            Event::Authenticated { conn } => self.conns.get_mut(conn).expect("known").authed = true,
            Event::Live { conn, .. } => {
                let seen = self.conns.get_mut(conn).expect("known");
                seen.live = true;
                // Every topic wanted now was requested on this connection (or waits to retry).
                for s in session.subscriptions() {
                    let name = s.topic.to_string();
                    assert!(
                        seen.restore_sends.contains(&name)
                            || matches!(s.status, reconnect_core::SubscriptionStatus::RetryAt(_)),
                        "{name} wanted but not restored on {conn}"
                    );
                }
            }
            Event::SubscribeRejected {
                topic, retry_in, ..
            } => {
                if let Some(conn) = self.in_flight {
                    let seen = self.conns.get_mut(&conn).expect("known");
                    match retry_in {
                        Some(_) => {
                            seen.transient_retries.insert(topic.to_string());
                        }
                        // Permanently refused, the topic left the wanted set: subscribing it
                        // again is a new want, rightly requested again.
                        None => seen.restore_sends.retain(|c| c != topic.as_str()),
                    }
                }
            }
            Event::ReconnectScheduled {
                delay,
                source,
                failures,
                ..
            } => {
                let b = &self.config.backoff;
                match source {
                    DelaySource::Backoff => {
                        let (lo, hi) = b.bounds(*failures);
                        assert!(
                            delay.drawn >= lo && delay.drawn <= hi,
                            "{delay:?} {failures}"
                        );
                        assert!(delay.drawn <= b.max);
                    }
                    DelaySource::FirstRetry => assert!(delay.drawn <= b.initial),
                    DelaySource::RetryAfter { .. } => {
                        assert!(delay.drawn <= self.config.limits.retry_after_ceiling)
                    }
                    DelaySource::CircuitOpen => {
                        let cooldown = self
                            .config
                            .limits
                            .circuit_breaker
                            .as_ref()
                            .expect("a breaker")
                            .cooldown;
                        assert_eq!(delay.drawn, cooldown);
                    }
                    DelaySource::Immediate => assert_eq!(delay.drawn, Duration::ZERO),
                }
            }
            Event::Stopped { .. } => {
                assert!(!self.stopped, "stopped twice");
                self.stopped = true;
            }
            _ => {}
        }
    }

    fn check_state(&self, session: &Session<JsonRpcAdapter>) {
        let waits = matches!(
            session.state(),
            State::Connecting { .. }
                | State::Authenticating { .. }
                | State::SettingUp { .. }
                | State::Closing { .. }
                | State::Backoff { .. }
                | State::AwaitingCredentials
                | State::Live { .. }
        );
        if waits {
            assert!(
                session.poll_timeout().is_some(),
                "{:?} without a deadline",
                session.state()
            );
        }
        if self.stopped {
            assert!(session.poll_timeout().is_none());
            assert!(self.in_flight.is_none(), "a transport survives Stopped");
        }
        assert_eq!(session.current_conn(), self.in_flight);
    }
}
