//! One-level reads of an [`Event`]: a message's payload, topic and sequence number, the topic a
//! subscription event is about, the reason of the last event. The bindings' own event types
//! delegate here, so every driver reads events the same way.

use crate::boundary::{Event, StopReason};
use crate::command::Refusal;
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

    /// A message's whole frame as bytes, text or binary (for a JSON-RPC notification, the
    /// whole envelope: its `params.data` alone is
    /// [`JsonRpcAdapter::data_of`](crate::adapters::JsonRpcAdapter::data_of), feature `json`);
    /// `None` for any other event.
    pub fn bytes(&self) -> Option<&[u8]> {
        Some(self.frame()?.as_bytes())
    }

    /// The topic the event is about: a message's (when the adapter could tell), or the
    /// subscription's of `Subscribed`, `Unsubscribed`, `SubscribeRejected`, `Gap`,
    /// `SequenceRegressed`, `TopicStale` and `Resynced`. `None` for any other event.
    pub fn topic(&self) -> Option<&Topic> {
        match self {
            Event::Message { topic, .. } => topic.as_ref(),
            Event::Subscribed { topic, .. }
            | Event::Unsubscribed { topic, .. }
            | Event::SubscribeRejected { topic, .. }
            | Event::Gap { topic, .. }
            | Event::SequenceRegressed { topic, .. }
            | Event::TopicStale { topic, .. }
            | Event::Resynced { topic, .. } => Some(topic),
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

    /// The frame bytes the event holds: a message's payload, and the frame handed back by
    /// `OutboxDropped` and by a refused send; 0 for any other event. What the bindings' event
    /// queues count against their byte bounds.
    pub fn payload_len(&self) -> usize {
        match self {
            Event::Message { frame, .. } | Event::OutboxDropped { frame, .. } => frame.len(),
            Event::Refused(refused) => match &refused.refusal {
                Refusal::Send(e) => e.frame.len(),
                _ => 0,
            },
            _ => 0,
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
        assert_eq!(event.bytes(), Some(&b"hello"[..]));
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
        assert_eq!(event.bytes(), Some(&[0u8, 159, 146][..]));
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
        assert_eq!((gap.text(), gap.bytes(), gap.seq()), (None, None, None));
        assert_eq!(gap.topic().map(Topic::as_str), Some("book"));
        let stale = Event::TopicStale {
            conn: crate::ConnId::FIRST,
            topic: Topic::new("quotes"),
            silent_for: std::time::Duration::from_secs(3),
            times: 1,
        };
        assert_eq!(stale.topic().map(Topic::as_str), Some("quotes"));
        let resynced = Event::Resynced {
            conn: crate::ConnId::FIRST,
            topic: Topic::new("ticks"),
            reason: crate::ResyncReason::Requested,
        };
        assert_eq!(resynced.topic().map(Topic::as_str), Some("ticks"));

        let connected = Event::Connected {
            conn: crate::ConnId::FIRST,
        };
        assert_eq!(connected.topic(), None);
        assert_eq!(connected.frame(), None);
        assert_eq!(connected.into_frame(), None);
    }

    #[test]
    fn the_payload_length_counts_the_frames_an_event_holds_and_nothing_else() {
        use crate::command::{CommandKind, Refused};
        use crate::outbox::{SendError, SendErrorKind};
        use crate::session::CommandError;
        use crate::DropReason;
        assert_eq!(message(Frame::from("hello"), None, None).payload_len(), 5);
        let dropped = Event::OutboxDropped {
            frame: Frame::from(vec![0u8; 300]),
            reason: DropReason::Expired,
        };
        assert_eq!(dropped.payload_len(), 300);
        let refused_send = Event::Refused(Refused {
            command: CommandKind::Send,
            refusal: Refusal::Send(SendError {
                kind: SendErrorKind::Stopped,
                frame: Frame::from("order"),
            }),
        });
        assert_eq!(refused_send.payload_len(), 5);
        let refused_pause = Event::Refused(Refused {
            command: CommandKind::Pause,
            refusal: Refusal::Command(CommandError::Stopped),
        });
        assert_eq!(refused_pause.payload_len(), 0);
        let gap = Event::Gap {
            topic: Topic::new("book"),
            expected: 3,
            received: 5,
        };
        assert_eq!(gap.payload_len(), 0);
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
