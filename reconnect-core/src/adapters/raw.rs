//! The raw adapter: subscriptions are literal frames.

use crate::credentials::Credentials;
use crate::frame::Frame;
use crate::protocol::{Inbound, Protocol, RequestId, Resume, TopicLookup};

/// Subscriptions are literal frames (the topic *is* the frame text), replayed in order after
/// every connect. The server is not expected to answer: a subscription counts as active once
/// sent, and every inbound frame is delivered as a message without a topic.
///
/// Optionally, the credentials' text is sent verbatim as the first frame after connecting.
///
/// ```
/// use reconnect_core::adapters::RawAdapter;
/// use reconnect_core::{Config, Session};
///
/// let mut session = Session::new(Config::new(1), RawAdapter::new().with_auth_frame()).unwrap();
/// # let now = std::time::Instant::now();
/// session.subscribe(now, r#"{"op":"subscribe","channel":"trades"}"#).unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct RawAdapter {
    auth_frame: bool,
}

impl RawAdapter {
    /// A raw adapter that sends no auth frame.
    pub fn new() -> Self {
        RawAdapter::default()
    }

    /// Sends the credentials' text as a frame right after each connect.
    pub fn with_auth_frame(mut self) -> Self {
        self.auth_frame = true;
        self
    }
}

impl Protocol for RawAdapter {
    fn auth_request(&mut self, _id: RequestId, credentials: &Credentials) -> Option<Frame> {
        self.auth_frame.then(|| Frame::from(credentials.expose()))
    }

    fn subscribe_request(&mut self, _id: RequestId, topics: &[Resume]) -> Frame {
        // max_batch is 1, so there is exactly one topic.
        Frame::text(
            topics
                .first()
                .map_or_else(String::new, |r| r.topic.as_str().to_owned()),
        )
    }

    fn acknowledges(&self) -> bool {
        false
    }

    fn classify(&mut self, _frame: &Frame, _topics: &dyn TopicLookup) -> Inbound {
        Inbound::Other
    }
}
