//! `jsonrpc_frames`: arbitrary inbound text and binary frames into the JSON-RPC adapter's
//! classification. Never a panic; what comes out must be consistent with what went in.

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{Frame, Inbound, Protocol, RequestId, Resume, Topic, TopicLookup};

struct Topics(Vec<Topic>);

impl TopicLookup for Topics {
    fn find(&self, name: &str) -> Option<Topic> {
        self.0.iter().find(|t| t.as_str() == name).cloned()
    }
}

pub fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut config = JsonRpcConfig::default();
    if selector & 1 == 1 {
        config = config.seq_pointer(Some(SeqPointer::parse("/seq").expect("valid pointer")));
    }
    if selector & 2 == 2 {
        config = config.seq_pointer(Some(SeqPointer::parse("/a/0/b~1c").expect("valid pointer")));
    }
    let mut adapter = JsonRpcAdapter::new(config);
    let topics = Topics(vec![Topic::new("trades"), Topic::new("book.BTC")]);
    // Issue a few requests first so that answers can match remembered ids.
    let _ = adapter.setup_request(0, RequestId(1));
    let resume: Vec<Resume> = topics
        .0
        .iter()
        .map(|t| Resume {
            topic: t.clone(),
            last_seq: None,
        })
        .collect();
    let _ = adapter.subscribe_request(RequestId(2), &resume);

    let frame = if selector & 4 == 4 {
        Frame::binary(rest.to_vec())
    } else {
        match std::str::from_utf8(rest) {
            Ok(text) => Frame::text(text.to_owned()),
            Err(_) => Frame::binary(rest.to_vec()),
        }
    };
    match adapter.classify(&frame, &topics) {
        Inbound::Data {
            topic: Some(topic), ..
        } => {
            assert!(topics.0.contains(&topic), "data for an unregistered topic");
        }
        Inbound::HeartbeatRequest { reply } => {
            let text = reply.as_text().expect("heartbeat replies are text");
            serde_json::from_str::<serde_json::Value>(text).expect("heartbeat replies are JSON");
        }
        Inbound::Ack { rejected, .. } => {
            for r in rejected {
                assert!(
                    topics.0.iter().any(|t| t.as_str() == r.topic),
                    "a rejection of a topic that was never requested"
                );
            }
        }
        _ => {}
    }
    if matches!(frame, Frame::Binary(_)) {
        // Binary frames are never data of this text protocol.
        let again = adapter.classify(&frame, &topics);
        assert!(matches!(again, Inbound::Other), "{again:?}");
    }
}
