//! The bindings' no-copy check: payloads that tungstenite read in one go reach the application
//! back to back in its read buffer.
//!
//! tungstenite reads many frames into one buffer and hands each payload out as a slice of it, so
//! the payloads of messages that arrived in one read sit one frame header apart. A copy anywhere
//! on the way (the conversion, the session, the binding's queue) puts each payload in its own
//! allocation, and the allocator's header alone keeps two of those at least 8 bytes apart.

use reconnect_core::Frame;

/// How many consecutive payloads start one server frame header (2 or 4 bytes: a server's
/// frames are unmasked, and a payload under 64 KiB needs at most a 16-bit length) after the end
/// of the previous one.
///
/// The caller must keep every frame alive while it calls this, so that no address is reused.
pub fn payloads_back_to_back(frames: &[Frame]) -> usize {
    frames
        .windows(2)
        .filter(|pair| {
            let end = pair[0].as_bytes().as_ptr() as usize + pair[0].len();
            let next = pair[1].as_bytes().as_ptr() as usize;
            matches!(next.wrapping_sub(end), 2 | 4)
        })
        .count()
}
