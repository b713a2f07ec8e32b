//! A Hyperliquid-style adapter in a few dozen lines, fed canned frames through a `Session` (no
//! network): `cargo run -p reconnect-core --example hyperliquid_adapter`.
//!
//! Hyperliquid: `{"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}` is
//! answered `{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{…}}}`
//! — without an id — or `{"channel":"error","data":"…"}`; data arrives as
//! `{"channel":"trades","data":[{"coin":"BTC",…}]}`; `{"method":"ping"}` gets
//! `{"channel":"pong"}`. Topics are written `type:coin` (`trades:BTC`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use reconnect_core::{
    Action, Config, Event, Frame, Inbound, Input, Output, Protocol, RequestId, Resume, ServerError,
    Session, Topic, TopicLookup,
};
use serde_json::{json, Value};

/// Answers carry no id, so the adapter keeps the requests in flight, oldest first: an answer
/// that echoes a subscription matches the request for it, and an error (which echoes nothing)
/// answers the oldest, since the server handles requests in order.
#[derive(Default)]
struct Hyperliquid {
    in_flight: VecDeque<(RequestId, &'static str, String)>,
    ping: Option<RequestId>,
}

fn subscription(topic: &str) -> Value {
    match topic.split_once(':') {
        Some((kind, coin)) => json!({"type": kind, "coin": coin}),
        None => json!({"type": topic}),
    }
}

fn topic_of(kind: Option<&str>, coin: Option<&str>) -> Option<String> {
    Some(match coin {
        Some(coin) => format!("{}:{coin}", kind?),
        None => kind?.to_owned(),
    })
}

impl Hyperliquid {
    fn request(&mut self, id: RequestId, method: &'static str, topic: &str) -> Frame {
        self.in_flight.push_back((id, method, topic.to_owned()));
        Frame::text(json!({"method": method, "subscription": subscription(topic)}).to_string())
    }
}

impl Protocol for Hyperliquid {
    fn setup_request(&mut self, _index: usize, _id: RequestId) -> Option<Frame> {
        // Asked once per connection before any subscription: nothing older will be answered.
        self.in_flight.clear();
        None
    }

    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        // max_batch is 1: exactly one topic per request.
        self.request(
            id,
            "subscribe",
            topics.first().map_or("", |r| r.topic.as_str()),
        )
    }

    fn unsubscribe_request(&mut self, id: RequestId, topics: &[Topic]) -> Option<Frame> {
        Some(self.request(id, "unsubscribe", topics.first()?.as_str()))
    }

    fn has_heartbeat(&self) -> bool {
        true
    }

    fn heartbeat_request(&mut self, id: RequestId) -> Option<Frame> {
        self.ping = Some(id);
        Some(Frame::from(r#"{"method":"ping"}"#))
    }

    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        let Some(Ok(v)) = frame.as_text().map(serde_json::from_str::<Value>) else {
            return Inbound::Other;
        };
        let (channel, data) = (v["channel"].as_str(), &v["data"]);
        match channel {
            Some("pong") => self
                .ping
                .take()
                .map_or(Inbound::Heartbeat, |id| Inbound::Ack {
                    id,
                    rejected: vec![],
                }),
            Some("subscriptionResponse") => {
                let sub = &data["subscription"];
                let topic = topic_of(sub["type"].as_str(), sub["coin"].as_str());
                let method = data["method"].as_str();
                let answered = self
                    .in_flight
                    .iter()
                    .position(|(_, m, t)| Some(*m) == method && Some(t) == topic.as_ref());
                match answered.and_then(|i| self.in_flight.remove(i)) {
                    Some((id, ..)) => Inbound::Ack {
                        id,
                        rejected: vec![],
                    },
                    None => Inbound::Other,
                }
            }
            Some("error") => {
                let error = ServerError::new(None, data.as_str().unwrap_or_default());
                match self.in_flight.pop_front() {
                    Some((id, ..)) => Inbound::Nack { id, error },
                    None => Inbound::ServerError(error),
                }
            }
            Some(channel) => {
                // trades: an array of trades; l2Book: one object. Both name their coin.
                let coin = data["coin"].as_str().or_else(|| data[0]["coin"].as_str());
                let topic = topic_of(Some(channel), coin).and_then(|t| topics.find(&t));
                Inbound::Data { topic, seq: None }
            }
            None => Inbound::Other,
        }
    }
}

/// The server's side: echoes subscriptions, refuses unknown coins, answers pings.
fn server_answers(frame: &Frame) -> Vec<String> {
    let Some(Ok(request)) = frame.as_text().map(serde_json::from_str::<Value>) else {
        return vec![];
    };
    if request["method"] == "ping" {
        return vec![json!({"channel": "pong"}).to_string()];
    }
    if request["subscription"]["coin"] == "NOPE" {
        return vec![
            json!({"channel": "error", "data": "Invalid subscription: unknown coin"}).to_string(),
        ];
    }
    let echo = json!({"method": request["method"], "subscription": request["subscription"]});
    vec![json!({"channel": "subscriptionResponse", "data": echo}).to_string()]
}

fn main() {
    let start = Instant::now(); // the only clock reading: the rest is virtual time
    let mut config = Config::new(2);
    config.liveness.ping_interval = None;
    config.liveness.heartbeat_interval = Some(Duration::from_secs(30));
    let mut session = Session::new(config, Hyperliquid::default()).expect("a valid config");
    for topic in ["trades:BTC", "l2Book:ETH", "trades:NOPE"] {
        session.subscribe(start, topic).expect("subscribed");
    }
    session.start(start).expect("started");

    let data = [
        r#"{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"65000.0","sz":"0.1","time":1,"hash":"0x0","tid":7}]}"#,
        r#"{"channel":"l2Book","data":{"coin":"ETH","time":2,"levels":[[{"px":"3000.1","sz":"4","n":2}],[]]}}"#,
    ];
    let mut inbox = VecDeque::new();
    let mut data = data.iter();
    let mut now = start;
    loop {
        for output in session.drain() {
            println!(
                "{:>6} ms  {output:?}",
                now.saturating_duration_since(start).as_millis()
            );
            match output {
                Output::Action(Action::Connect { conn, .. }) => {
                    inbox.push_back(Input::Opened { conn });
                }
                Output::Action(Action::Send { conn, frame, .. }) => {
                    for answer in server_answers(&frame) {
                        inbox.push_back(Input::Frame {
                            conn,
                            frame: answer.into(),
                        });
                    }
                }
                Output::Event(Event::Live { conn, .. }) => {
                    for frame in data.by_ref() {
                        inbox.push_back(Input::Frame {
                            conn,
                            frame: (*frame).into(),
                        });
                    }
                }
                _ => {}
            }
        }
        if let Some(input) = inbox.pop_front() {
            now += Duration::from_millis(5);
            session.handle_input(now, input);
            continue;
        }
        // Nothing more to read: jump to the next deadline (the 30 s ping), for 40 s at most.
        match session.poll_timeout() {
            Some(deadline) if deadline.saturating_duration_since(start).as_secs() <= 40 => {
                now = deadline.max(now);
                session.handle_timeout(now);
            }
            _ => break,
        }
    }
    let wanted: Vec<_> = session.subscriptions().map(|s| s.topic).collect();
    println!("still wanted: {wanted:?}");
}
