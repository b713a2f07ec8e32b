//! The state of the hostile frame faults on one session ([`Fault::HugeFrameHeader`],
//! [`Fault::EmptyContinuations`], [`Fault::PingFlood`]) and the shapes they write.
//!
//! [`Fault::HugeFrameHeader`]: super::Fault::HugeFrameHeader
//! [`Fault::EmptyContinuations`]: super::Fault::EmptyContinuations
//! [`Fault::PingFlood`]: super::Fault::PingFlood

/// The hostile frame faults of one session.
#[derive(Default)]
pub(crate) struct Hostile {
    /// A frame header announced a payload that never comes: nothing may be written any more.
    pub(crate) muted: bool,
    /// A fragmented text message is open and flooded with empty continuation frames.
    pub(crate) fragment_open: bool,
    /// Pings go out every tick.
    pub(crate) ping_flood: bool,
    /// Pings of the flood so far (their payload).
    pub(crate) pings: u64,
    /// Whether the last flush emptied tungstenite's write buffer (the flood waits otherwise, so
    /// a client that does not read cannot grow the server's buffer).
    pub(crate) flushed: bool,
}

impl Hostile {
    /// Whether text frames must wait: they would land inside an unfinished frame or message.
    pub(crate) fn holds_text(&self) -> bool {
        self.muted || self.fragment_open
    }
}

/// The start of the fragmented message of [`Fault::EmptyContinuations`](super::Fault::EmptyContinuations), and its end: together
/// a notification of a method no client subscribes to.
pub(crate) const FRAGMENT_START: &[u8] = br#"{"jsonrpc":"2.0","method":"flood","params":{"#;
pub(crate) const FRAGMENT_END: &[u8] = b"}}";
/// Empty continuation frames per tick of a flood (2 bytes each).
pub(crate) const CONTINUATIONS_PER_TICK: usize = 256;
/// Pings per tick of a ping flood.
pub(crate) const PINGS_PER_TICK: usize = 16;
