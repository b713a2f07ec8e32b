//! What the `session` fuzz target knows beyond the public invariant checker
//! (`reconnect_core::sim::Invariants`, which judges every step): the JSON-RPC requests in
//! flight on the current connection, which the target answers oldest first, and the one rule
//! that needs the wire format to see: a restore sends each wanted topic once per connection
//! (a topic refused transiently or in a refused batch may rightly be sent again).

use std::collections::{HashMap, HashSet};

use reconnect_core::{Action, ConnId, Event, Frame, Output, Purpose};
use serde_json::Value;

/// What the target remembers of one connection.
#[derive(Default)]
pub(super) struct ConnSeen {
    pub(super) live: bool,
    pub(super) restore_sends: Vec<String>,
    pub(super) transient_retries: HashSet<String>,
}

#[derive(Default)]
pub(super) struct Checker {
    pub(super) conns: HashMap<ConnId, ConnSeen>,
    in_flight: Option<ConnId>,
    /// (id, method, channels) of requests sent on the current connection, oldest first.
    pub(super) requests: Vec<(u64, String, Vec<String>)>,
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
    pub(super) fn observe(&mut self, outputs: &[Output]) {
        for o in outputs {
            match o {
                Output::Action(Action::Connect { conn, .. }) => {
                    self.conns.insert(*conn, ConnSeen::default());
                    self.in_flight = Some(*conn);
                    self.requests.clear();
                }
                Output::Action(Action::Release { .. }) => self.in_flight = None,
                Output::Action(Action::Send {
                    conn,
                    frame,
                    purpose,
                }) => {
                    let seen = self.conns.get_mut(conn).expect("a known conn");
                    match purpose {
                        Purpose::Subscribe if !seen.live => {
                            let (_, _, channels) = parse_request(frame).expect("a request");
                            for c in &channels {
                                let again = seen.restore_sends.contains(c);
                                assert!(
                                    !again || seen.transient_retries.contains(c),
                                    "{c} restored twice on {conn}"
                                );
                                seen.restore_sends.push(c.clone());
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
                Output::Event(Event::Live { conn, .. }) => {
                    self.conns.get_mut(conn).expect("a known conn").live = true;
                }
                Output::Event(Event::SubscribeRejected {
                    topic, retry_in, ..
                }) => {
                    if let Some(seen) = self.in_flight.and_then(|c| self.conns.get_mut(&c)) {
                        match retry_in {
                            Some(_) => {
                                seen.transient_retries.insert(topic.to_string());
                            }
                            // Permanently refused, the topic left the wanted set: subscribing
                            // it again is a new want, rightly requested again.
                            None => seen.restore_sends.retain(|c| c != topic.as_str()),
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
