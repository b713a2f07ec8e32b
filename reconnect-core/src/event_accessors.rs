//! One-level reads of an [`Event`]: a message's payload, topic and sequence number, the topic a
//! subscription event is about, the reason of the last event. The bindings' own event types
//! delegate here, so every driver reads events the same way.

use crate::boundary::{Event, StopReason};
use crate::frame::Frame;
use crate::topic::Topic;

impl Event {
    /// Whether this is application data ([`Event::Message`]).
    pub fn is_message(&self) -> bool {
        matches!(self, Event::Message { .. })
    }

    /// A message's payload, text or binary; `None` for any other event.
    pub fn frame(&self) -> Option<&Frame> {
        match self {
            Event::Message { frame, .. } => Some(frame),
            _ => None,
        }
    }

    /// A message's payload, taken out of the event; `None` for any other event.
    pub fn into_frame(self) -> Option<Frame> {
        match self {
            Event::Message { frame, .. } => Some(frame),
            _ => None,
        }
    }

    /// A text message's text; `None` for a binary message and for any other event.
    pub fn text(&self) -> Option<&str> {
        self.frame()?.as_text()
    }

    /// A message's payload bytes, text or binary; `None` for any other event.
    pub fn data(&self) -> Option<&[u8]> {
        Some(self.frame()?.as_bytes())
    }

    /// The topic the event is about: a message's (when the adapter could tell), or the
    /// subscription's of `Subscribed`, `Unsubscribed`, `SubscribeRejected`, `Gap` and
    /// `SequenceRegressed`. `None` for any other event.
    pub fn topic(&self) -> Option<&Topic> {
        match self {
            Event::Message { topic, .. } => topic.as_ref(),
            Event::Subscribed { topic, .. }
            | Event::Unsubscribed { topic, .. }
            | Event::SubscribeRejected { topic, .. }
            | Event::Gap { topic, .. }
            | Event::SequenceRegressed { topic, .. } => Some(topic),
            _ => None,
        }
    }

    /// A message's sequence number, when the protocol has one; `None` for any other event.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Event::Message { seq, .. } => *seq,
            _ => None,
        }
    }

    /// Why the session stopped, when this is its last event ([`Event::Stopped`]); `None`
    /// otherwise.
    pub fn stop_reason(&self) -> Option<&StopReason> {
        match self {
            Event::Stopped { reason } => Some(reason),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(frame: Frame, topic: Option<&str>, seq: Option<u64>) -> Event {
        Event::Message {
            conn: crate::ConnId::FIRST,
            topic: topic.map(Topic::new),
            seq,
            frame,
        }
    }

    #[test]
    fn a_text_message_gives_its_text_bytes_topic_and_seq() {
        let event = message(Frame::from("hello"), Some("trades"), Some(7));
        assert!(event.is_message());
        assert_eq!(event.text(), Some("hello"));
        assert_eq!(event.data(), Some(&b"hello"[..]));
        assert_eq!(event.frame(), Some(&Frame::from("hello")));
        assert_eq!(event.topic().map(Topic::as_str), Some("trades"));
        assert_eq!(event.seq(), Some(7));
        assert_eq!(event.stop_reason(), None);
        assert_eq!(event.into_frame(), Some(Frame::from("hello")));
    }

    #[test]
    fn a_binary_message_has_bytes_but_no_text_and_may_lack_topic_and_seq() {
        let event = message(Frame::from(vec![0, 159, 146]), None, None);
        assert!(event.is_message());
        assert_eq!(event.text(), None);
        assert_eq!(event.data(), Some(&[0u8, 159, 146][..]));
        assert_eq!(event.topic(), None);
        assert_eq!(event.seq(), None);
    }

    #[test]
    fn other_events_have_no_payload_but_subscription_events_name_their_topic() {
        let gap = Event::Gap {
            topic: Topic::new("book"),
            expected: 3,
            received: 5,
        };
        assert!(!gap.is_message());
        assert_eq!((gap.text(), gap.data(), gap.seq()), (None, None, None));
        assert_eq!(gap.topic().map(Topic::as_str), Some("book"));

        let connected = Event::Connected {
            conn: crate::ConnId::FIRST,
        };
        assert_eq!(connected.topic(), None);
        assert_eq!(connected.frame(), None);
        assert_eq!(connected.into_frame(), None);
    }

    #[test]
    fn the_last_event_gives_the_stop_reason() {
        let stopped = Event::Stopped {
            reason: StopReason::GaveUp { attempts: 4 },
        };
        assert_eq!(
            stopped.stop_reason(),
            Some(&StopReason::GaveUp { attempts: 4 })
        );
        assert!(!stopped.is_message());
    }
}
