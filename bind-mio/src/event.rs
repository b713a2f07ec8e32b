//! What the driver tells the application about each session.

use reconnect_core::{Frame, Refused, StopReason, Topic};

/// One event of one session, in the order the session produced it.
///
/// The common cases read one level deep through the accessors: [`text`](Self::text),
/// [`data`](Self::data) or [`frame`](Self::frame) of a message, its [`topic`](Self::topic) and
/// [`seq`](Self::seq), and the [`stop_reason`](Self::stop_reason) of the last event. Match
/// [`Event::Session`] for everything else.
///
/// ```
/// use bind_mio::prelude::*;
///
/// fn show(event: &Event) {
///     match event.text() {
///         Some(text) => println!("{}: {text}", event.topic().map_or("-", Topic::as_str)),
///         None => println!("{event:?}"),
///     }
/// }
/// # show(&Event::Removed);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// What the session reported: lifecycle, messages, gaps, reconnect schedule, and so on.
    Session(reconnect_core::Event),
    /// The session refused a command sent through a [`SessionHandle`](crate::SessionHandle);
    /// it changed nothing (a refused send hands its frame back inside).
    Refused(Refused),
    /// The session was removed from the driver through its handle; nothing follows, and its
    /// handles now fail with [`HandleError::Gone`](crate::HandleError::Gone).
    Removed,
}

impl Event {
    /// The session's own event, unless this is one of the driver's ([`Event::Refused`],
    /// [`Event::Removed`]).
    pub fn as_session(&self) -> Option<&reconnect_core::Event> {
        match self {
            Event::Session(event) => Some(event),
            _ => None,
        }
    }

    /// Whether this is application data (the session's `Event::Message`).
    pub fn is_message(&self) -> bool {
        self.as_session()
            .is_some_and(reconnect_core::Event::is_message)
    }

    /// A message's payload, text or binary; `None` for any other event.
    pub fn frame(&self) -> Option<&Frame> {
        self.as_session()?.frame()
    }

    /// A message's payload, taken out of the event; `None` for any other event.
    pub fn into_frame(self) -> Option<Frame> {
        match self {
            Event::Session(event) => event.into_frame(),
            _ => None,
        }
    }

    /// A text message's text; `None` for a binary message and for any other event.
    pub fn text(&self) -> Option<&str> {
        self.as_session()?.text()
    }

    /// A message's payload bytes, text or binary; `None` for any other event.
    pub fn data(&self) -> Option<&[u8]> {
        self.as_session()?.data()
    }

    /// The topic the event is about: a message's (when the adapter could tell), or the
    /// subscription's of `Subscribed`, `Unsubscribed`, `SubscribeRejected`, `Gap` and
    /// `SequenceRegressed`. `None` for any other event.
    pub fn topic(&self) -> Option<&Topic> {
        self.as_session()?.topic()
    }

    /// A message's sequence number, when the protocol has one; `None` for any other event.
    pub fn seq(&self) -> Option<u64> {
        self.as_session()?.seq()
    }

    /// Why the session stopped, when this is its last event (`Stopped`); `None` otherwise.
    pub fn stop_reason(&self) -> Option<&StopReason> {
        self.as_session()?.stop_reason()
    }
}

#[cfg(test)]
mod tests {
    use reconnect_core::{Event as CoreEvent, StopReason};

    use super::*;
    use reconnect_core::sim::first_conn_id;

    // What each accessor reads is the core's (tested there); these check the delegation.
    #[test]
    fn a_session_message_reads_one_level_deep() {
        let event = Event::Session(CoreEvent::Message {
            conn: first_conn_id(),
            topic: Some(Topic::new("trades")),
            seq: Some(7),
            frame: Frame::Text("hello".into()),
        });
        assert!(event.is_message());
        assert_eq!(event.text(), Some("hello"));
        assert_eq!(event.data(), Some(&b"hello"[..]));
        assert_eq!(event.frame(), Some(&Frame::Text("hello".into())));
        assert_eq!(event.topic().map(Topic::as_str), Some("trades"));
        assert_eq!(event.seq(), Some(7));
        assert_eq!(event.stop_reason(), None);
        assert_eq!(event.into_frame(), Some(Frame::Text("hello".into())));
    }

    #[test]
    fn the_last_session_event_gives_the_stop_reason() {
        let stopped = Event::Session(CoreEvent::Stopped {
            reason: StopReason::GaveUp { attempts: 4 },
        });
        assert_eq!(
            stopped.stop_reason(),
            Some(&StopReason::GaveUp { attempts: 4 })
        );
        assert!(!stopped.is_message());
        assert!(stopped.as_session().is_some());
    }

    #[test]
    fn a_driver_event_is_not_a_session_event() {
        assert_eq!(Event::Removed.as_session(), None);
        assert_eq!(Event::Removed.text(), None);
        assert_eq!(Event::Removed.stop_reason(), None);
        assert_eq!(Event::Removed.into_frame(), None);
    }

    /// The binding's event wraps the session's without growing it: the session's `Event` is
    /// 80 bytes (its `Message`, see `reconnect_core::Event`) and the binding's own variants
    /// fit in its spare tag values.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_event_is_no_larger_than_the_sessions() {
        assert!(
            std::mem::size_of::<Event>() <= 80,
            "Event is {} bytes",
            std::mem::size_of::<Event>()
        );
    }
}
