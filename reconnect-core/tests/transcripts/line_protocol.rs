//! The shared test adapter speaks the line protocol its module documents: what every other
//! test's frames mean depends on it.

use std::time::Duration;

use crate::common::line_adapter::{
    ack_rejecting, nack, parse_request, LineAdapter, Request, AUTH_FATAL,
};
use reconnect_core::{
    Credentials, Frame, Inbound, Protocol, RequestId, Resume, ServerError, Topic, TopicLookup,
};

struct NoTopics;
impl TopicLookup for NoTopics {
    fn find(&self, _name: &str) -> Option<Topic> {
        None
    }
}

#[test]
fn requests_round_trip_through_the_parser() {
    let mut a = LineAdapter {
        max_batch: 2,
        ..LineAdapter::default()
    };
    let f = a.subscribe_request(
        RequestId(3),
        &[
            Resume {
                topic: "x".into(),
                last_seq: Some(9),
            },
            Resume {
                topic: "y".into(),
                last_seq: None,
            },
        ],
    );
    assert_eq!(f, Frame::from("sub 3 x@9,y"));
    assert_eq!(
        parse_request(&f),
        Some(Request::Subscribe {
            id: 3,
            topics: vec![("x".into(), Some(9)), ("y".into(), None)]
        })
    );
    let f = a
        .auth_request(RequestId(1), &Credentials::new("k"))
        .unwrap();
    assert_eq!(parse_request(&f), Some(Request::Auth { id: 1 }));
    assert_eq!(parse_request(&Frame::from("m7")), None);
}

#[test]
fn server_frames_classify() {
    let mut a = LineAdapter::default();
    assert_eq!(
        a.classify(&nack(4, 503, Some(Duration::from_millis(250))), &NoTopics),
        Inbound::Nack {
            id: RequestId(4),
            error: ServerError {
                code: Some(503),
                message: "code 503".into(),
                retry_after: Some(Duration::from_millis(250)),
            },
        }
    );
    match a.classify(&ack_rejecting(2, &[("t", 404)]), &NoTopics) {
        Inbound::Ack { id, rejected } => {
            assert_eq!(id, RequestId(2));
            assert_eq!(rejected[0].topic, "t");
            assert_eq!(rejected[0].error.code, Some(404));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        a.auth_rejection(&ServerError::new(Some(AUTH_FATAL), "bad key")),
        reconnect_core::Disposition::Fatal
    );
    assert_eq!(
        a.classify(&Frame::from("garbage"), &NoTopics),
        Inbound::Other
    );
    assert_eq!(a.classify(&Frame::from("ack x"), &NoTopics), Inbound::Other);
}
