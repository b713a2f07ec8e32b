//! A Binance-style adapter in a few dozen lines, fed canned frames through a `Session` (no
//! network): `cargo run -p reconnect-core --example binance_adapter`.
//!
//! Binance market streams: `{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}` is
//! answered `{"result":null,"id":1}` (or `{"error":{"code":2,"msg":"…"},"id":1}`), and data
//! arrives on the combined endpoint as `{"stream":"btcusdt@trade","data":{…}}`. Topics are the
//! stream names.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use reconnect_core::{
    Action, Config, Frame, Inbound, Input, Output, Protocol, RequestId, Resume, ServerError,
    Session, Topic, TopicLookup,
};
use serde_json::{json, Value};

struct Binance;

/// `{"method":…,"params":[…],"id":…}`, in the order Binance documents.
fn request(method: &str, id: RequestId, streams: Vec<&str>) -> Frame {
    Frame::text(format!(
        r#"{{"method":"{method}","params":{},"id":{}}}"#,
        json!(streams),
        id.0
    ))
}

/// Trade ids (`t`) are consecutive per symbol, so a jump is a real gap. Depth updates carry a
/// range `U..=u` instead (the next event's `U` is the last `u` + 1), which one number cannot
/// express: they stay unnumbered and the application checks `U` against its book.
fn sequence(stream: &str, data: &Value) -> Option<u64> {
    stream
        .ends_with("@trade")
        .then(|| data["t"].as_u64())
        .flatten()
}

impl Protocol for Binance {
    fn subscribe_request(&mut self, id: RequestId, topics: &[Resume]) -> Frame {
        request(
            "SUBSCRIBE",
            id,
            topics.iter().map(|r| r.topic.as_str()).collect(),
        )
    }

    fn unsubscribe_request(&mut self, id: RequestId, topics: &[Topic]) -> Option<Frame> {
        Some(request(
            "UNSUBSCRIBE",
            id,
            topics.iter().map(Topic::as_str).collect(),
        ))
    }

    fn max_batch(&self) -> usize {
        200
    }

    fn classify(&mut self, frame: &Frame, topics: &dyn TopicLookup) -> Inbound {
        let Some(Ok(v)) = frame.as_text().map(serde_json::from_str::<Value>) else {
            return Inbound::Other;
        };
        if let (Some(stream), Some(data)) = (v["stream"].as_str(), v.get("data")) {
            return Inbound::Data {
                topic: topics.find(stream),
                seq: sequence(stream, data),
            };
        }
        let error = v
            .get("error")
            .map(|e| ServerError::new(e["code"].as_i64(), e["msg"].as_str().unwrap_or_default()));
        match (v["id"].as_u64().map(RequestId), error) {
            (Some(id), Some(error)) => Inbound::Nack { id, error },
            (Some(id), None) if v.get("result").is_some() => Inbound::Ack {
                id,
                rejected: vec![],
            },
            (None, Some(error)) => Inbound::ServerError(error),
            _ => Inbound::Other,
        }
    }
}

/// The server's side of the conversation: acknowledges every request by its id.
fn server_answers(frame: &Frame) -> Vec<String> {
    let Some(Ok(request)) = frame.as_text().map(serde_json::from_str::<Value>) else {
        return vec![];
    };
    vec![json!({"result": null, "id": request["id"]}).to_string()]
}

fn main() {
    let start = Instant::now(); // the only clock reading: the rest is virtual time
    let mut config = Config::new(1);
    config.liveness.ping_interval = None;
    let mut session = Session::new(config, Binance).expect("a valid config");
    session
        .subscribe(start, "btcusdt@trade")
        .expect("subscribed");
    session
        .subscribe(start, "btcusdt@depth@100ms")
        .expect("subscribed");
    session.start(start).expect("started");

    let data = [
        r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":1001,"p":"65000.10","q":"0.01","T":1,"m":true}}"#,
        r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":2,"s":"BTCUSDT","U":500,"u":504,"b":[["64999.9","1.2"]],"a":[]}}"#,
        r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":3,"s":"BTCUSDT","t":1004,"p":"65000.20","q":"0.02","T":3,"m":false}}"#,
    ];
    let mut inbox = VecDeque::new();
    let mut data = data.iter();
    let mut ms = 0;
    loop {
        for output in session.drain() {
            println!("{ms:>3} ms  {output:?}");
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
                Output::Event(reconnect_core::Event::Live { conn, .. }) => {
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
        let Some(input) = inbox.pop_front() else {
            break;
        };
        ms += 5;
        session.handle_input(start + Duration::from_millis(ms), input);
    }
    println!("gaps reported: {}", session.stats().gaps);
}
