//! Subscription topics.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// The name of one subscription (a channel, a stream, or for the raw adapter the literal frame).
///
/// Cheap to clone (a reference count), so events can carry the topic of every data frame
/// without allocating.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Topic(Arc<str>);

impl Topic {
    /// Makes a topic from its name.
    pub fn new(name: impl AsRef<str>) -> Self {
        Topic(Arc::from(name.as_ref()))
    }

    /// The topic's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identity of this topic's shared name: equal for clones of one `Topic` (and only
    /// for them, while any of them lives).
    pub(crate) fn key_ptr(&self) -> *const u8 {
        self.0.as_ptr()
    }
}

impl From<&str> for Topic {
    fn from(s: &str) -> Self {
        Topic::new(s)
    }
}

impl From<String> for Topic {
    fn from(s: String) -> Self {
        Topic(Arc::from(s))
    }
}

impl Borrow<str> for Topic {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Topic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Topic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Topic::new(s))
    }
}
