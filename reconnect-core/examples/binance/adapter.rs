//! A Binance-style adapter in a few dozen lines.
//!
//! Binance market streams: `{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}` is
//! answered `{"result":null,"id":1}` (or `{"error":{"code":2,"msg":"…"},"id":1}`), and data
//! arrives on the combined endpoint as `{"stream":"btcusdt@trade","data":{…}}`. Topics are the
//! stream names.

use reconnect_core::{
    Frame, Inbound, Protocol, RequestId, Resume, ServerError, Topic, TopicLookup,
};
use serde_json::{json, Value};

/// The adapter: stateless, as Binance's protocol needs nothing remembered.
#[derive(Clone, Copy, Debug, Default)]
pub struct Binance;

/// `{"method":…,"params":[…],"id":…}`, in the order Binance documents.
pub fn request(method: &str, id: RequestId, streams: Vec<&str>) -> Frame {
    Frame::from(format!(
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
