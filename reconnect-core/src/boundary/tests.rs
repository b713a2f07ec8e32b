//! The boundary types' own behaviour: sentences and sizes.

use super::*;

#[test]
fn a_stop_reason_reads_as_a_sentence() {
    assert_eq!(
        StopReason::GaveUp { attempts: 4 }.to_string(),
        "gave up after 4 failed attempts"
    );
    assert_eq!(
        StopReason::Closed { clean: true }.to_string(),
        "closed by the application"
    );
    assert_eq!(
        StopReason::OutageTooLong {
            outage: Duration::from_millis(90_500)
        }
        .to_string(),
        "no live connection for 90.500s"
    );
    assert_eq!(
        StopReason::Fatal(EndCause::GaveUp).to_string(),
        "fatal: gave up"
    );
}

/// Every event is moved several times between the session and the application, so its
/// size is part of the data path's cost. [`Event::Message`] sets the floor: a frame (a
/// `Bytes`, 32 bytes, and its kind), the connection (8), the topic (16) and the sequence
/// number (16) make 80 bytes on a 64-bit target; no other variant may be larger.
#[test]
#[cfg(target_pointer_width = "64")]
fn an_event_is_no_larger_than_a_message() {
    assert_eq!(std::mem::size_of::<Frame>(), 40);
    assert!(
        std::mem::size_of::<Event>() <= 80,
        "Event is {} bytes",
        std::mem::size_of::<Event>()
    );
    assert!(std::mem::size_of::<Output>() <= 80);
}
