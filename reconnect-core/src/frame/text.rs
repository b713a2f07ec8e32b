//! [`Text`]: the payload of a text message, bytes known to be UTF-8.
//!
//! # Why this module holds unsafe code
//!
//! The crate forbids unsafe code everywhere else; this module is the one exception, and it
//! holds exactly two `unsafe` spots: [`Text::as_str`] reads the bytes as `&str` without
//! checking them again, and [`Text::from_utf8_unchecked`] lets a caller that already knows the
//! bytes are UTF-8 say so.
//!
//! The reason is the data path. tungstenite validates every text message it reads and hands it
//! over as `Utf8Bytes` (a `bytes::Bytes` with that guarantee), which converts into `Bytes` for
//! free. Keeping those bytes, instead of copying them into a `String`, saves a malloc, a copy and
//! a free per message. But safe Rust cannot turn `Bytes` into `&str` without validating it again,
//! and validating a 4 KiB message costs about 1,300 instructions: more than the whole budget of
//! a binding per message. So the invariant "these bytes are UTF-8" is carried by the type:
//! every safe constructor validates (or starts from a `str`), and the one unsafe constructor
//! states the caller's obligation. `reconnect-tungstenite` calls it once, for tungstenite's
//! already validated text.

use std::fmt;
use std::ops::Deref;
use std::str::Utf8Error;

use bytes::Bytes;

/// The payload of a text message: [`Bytes`] that are always valid UTF-8.
///
/// Cheap to clone (a reference count, or a copy of a pointer for static text). Build it from a
/// `String` (no copy), a `&str` (one copy), static text ([`Text::from_static`], no copy) or
/// `Bytes` ([`TryFrom`], validated); read it as `&str` (it derefs to `str`).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Bytes);

impl Text {
    /// Text from a static string, without copying it.
    pub const fn from_static(text: &'static str) -> Self {
        Text(Bytes::from_static(text.as_bytes()))
    }

    /// Text from bytes the caller knows to be UTF-8, without checking them.
    ///
    /// # Safety
    ///
    /// `bytes` must be valid UTF-8. [`Text::as_str`] hands them out as `&str` without checking,
    /// so invalid bytes would be undefined behaviour wherever the text is read. Use
    /// [`Text::try_from`] when the bytes come from anywhere that did not validate them.
    #[allow(unsafe_code)]
    pub unsafe fn from_utf8_unchecked(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Text(bytes)
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor of `Text` either starts from a `str`/`String`, validates the
        // bytes (`TryFrom<Bytes>`), or is `from_utf8_unchecked`, whose caller must guarantee
        // UTF-8. `Bytes` is immutable, so the bytes stay what they were checked to be.
        #[allow(unsafe_code)]
        unsafe {
            std::str::from_utf8_unchecked(&self.0)
        }
    }

    /// The text's bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying [`Bytes`].
    #[inline]
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// The underlying [`Bytes`], without copying.
    #[inline]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Text {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Takes the string's buffer: no copy.
impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Bytes::from(s))
    }
}

/// Copies the string once.
impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}

/// Copies the string once.
impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text::from(s.as_str())
    }
}

/// Validates the bytes (no copy).
impl TryFrom<Bytes> for Text {
    type Error = Utf8Error;

    fn try_from(bytes: Bytes) -> Result<Self, Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Text(bytes))
    }
}

impl From<Text> for Bytes {
    fn from(text: Text) -> Bytes {
        text.0
    }
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        text.as_str().to_owned()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_reads_the_same_bytes_it_was_given() {
        let owned = String::from("héllo, wörld ✓");
        let ptr = owned.as_ptr();
        let text = Text::from(owned);
        assert_eq!(text.as_str(), "héllo, wörld ✓");
        // From<String> keeps the buffer: the text is read where the string was.
        assert_eq!(text.as_str().as_ptr(), ptr);
        assert_eq!(text.as_bytes(), "héllo, wörld ✓".as_bytes());
        assert_eq!(text.len(), "héllo, wörld ✓".len());

        let bytes = Bytes::from(vec![0xe2, 0x9c, 0x93, b'!']);
        let ptr = bytes.as_ptr();
        let text = Text::try_from(bytes).expect("valid UTF-8");
        assert_eq!(text.as_str(), "✓!");
        assert_eq!(text.as_str().as_ptr(), ptr);
        assert_eq!(text.into_bytes().as_ptr(), ptr);

        let unchecked = unsafe_free_roundtrip("plain ascii");
        assert_eq!(unchecked, "plain ascii");
    }

    /// `from_static` and `From<&str>` agree with the string they came from.
    fn unsafe_free_roundtrip(s: &'static str) -> Text {
        let stat = Text::from_static(s);
        assert_eq!(stat.as_str().as_ptr(), s.as_ptr());
        assert_eq!(stat, Text::from(s));
        stat
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert!(Text::try_from(Bytes::from(vec![0xff, 0xfe])).is_err());
        assert!(Text::try_from(Bytes::from(vec![0xe2, 0x9c])).is_err());
    }

    #[test]
    fn debug_and_display_show_the_text() {
        let text = Text::from("a\"b");
        assert_eq!(format!("{text:?}"), "\"a\\\"b\"");
        assert_eq!(format!("{text}"), "a\"b");
    }
}
