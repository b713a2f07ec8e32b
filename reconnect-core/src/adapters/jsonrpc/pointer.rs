//! Sequence numbers inside notification data, found by a JSON pointer without building a `Value`.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::skip::{KeyIs, Skip};

/// A JSON pointer ([RFC 6901]) to the sequence number inside a notification's `data`, such as
/// `/change_id` for Deribit order books or `/seq` for a feed that numbers its messages.
///
/// The value it points to must be an unsigned integer (up to `u64::MAX`); anything else (a
/// string, a negative or fractional number, an object, a missing member) means the message has
/// no sequence number. Segments are unescaped as the RFC says (`~1` is `/`, `~0` is `~`); a
/// segment of decimal digits without a leading zero also indexes arrays.
///
/// Finding the number walks the text once and allocates nothing: there is no intermediate
/// `serde_json::Value`.
///
/// ```
/// use reconnect_core::adapters::SeqPointer;
///
/// let pointer = SeqPointer::parse("/book/0/a~1b").unwrap();
/// assert_eq!(pointer.find(r#"{"book":[{"a/b":42}]}"#), Some(42));
/// assert_eq!(pointer.find(r#"{"book":[{"a/b":-1}]}"#), None);
/// assert!(SeqPointer::parse("seq").is_err());
/// ```
///
/// [RFC 6901]: https://www.rfc-editor.org/rfc/rfc6901
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeqPointer {
    text: String,
    segments: Vec<Segment>,
}

/// One reference token of the pointer, unescaped, with its array index when it is one.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    key: String,
    index: Option<usize>,
}

/// A string that is not a JSON pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointerError(&'static str);

impl fmt::Display for PointerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON pointer: {}", self.0)
    }
}

impl std::error::Error for PointerError {}

impl SeqPointer {
    /// Parses a pointer. The empty pointer names `data` itself; any other must start with `/`,
    /// and every `~` must be followed by `0` or `1`.
    pub fn parse(pointer: &str) -> Result<Self, PointerError> {
        let mut segments = Vec::new();
        if !pointer.is_empty() {
            let Some(rest) = pointer.strip_prefix('/') else {
                return Err(PointerError("a non-empty pointer must start with '/'"));
            };
            for token in rest.split('/') {
                segments.push(Segment::parse(token)?);
            }
        }
        Ok(SeqPointer {
            text: pointer.to_owned(),
            segments,
        })
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The unsigned integer the pointer names inside the JSON text `json`, if there is one.
    /// Invalid JSON has none.
    pub fn find(&self, json: &str) -> Option<u64> {
        let mut de = serde_json::Deserializer::from_str(json);
        let found = self.seed().deserialize(&mut de).ok()?;
        de.end().ok()?;
        found
    }

    /// A seed that reads one JSON value and returns the number the pointer names in it.
    pub(super) fn seed(&self) -> PointerSeed<'_> {
        PointerSeed {
            segments: &self.segments,
        }
    }
}

impl Segment {
    fn parse(token: &str) -> Result<Self, PointerError> {
        let mut key = String::with_capacity(token.len());
        let mut chars = token.chars();
        while let Some(c) = chars.next() {
            if c != '~' {
                key.push(c);
                continue;
            }
            match chars.next() {
                Some('0') => key.push('~'),
                Some('1') => key.push('/'),
                _ => return Err(PointerError("'~' must be followed by '0' or '1'")),
            }
        }
        // RFC 6901: an array index is "0" or digits without a leading zero. An index too large
        // for usize can never be in bounds.
        let is_index = key == "0"
            || (key.starts_with(|c: char| matches!(c, '1'..='9'))
                && key.bytes().all(|b| b.is_ascii_digit()));
        let index = if is_index { key.parse().ok() } else { None };
        Ok(Segment { key, index })
    }
}

/// Reads one JSON value and follows the remaining segments into it.
///
/// Members and elements off the path are skipped with [`Skip`]; the whole value is always
/// consumed, so the surrounding document stays parseable.
#[derive(Clone, Copy, Debug)]
pub(super) struct PointerSeed<'s> {
    segments: &'s [Segment],
}

impl<'de> DeserializeSeed<'de> for PointerSeed<'_> {
    type Value = Option<u64>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PointerSeed<'_> {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_u64<E>(self, v: u64) -> Result<Option<u64>, E> {
        Ok(self.segments.is_empty().then_some(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Option<u64>, E> {
        // serde_json reports non-negative integers as u64; this is only for other formats.
        Ok(u64::try_from(v).ok().filter(|_| self.segments.is_empty()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<u64>, A::Error> {
        let Some((first, rest)) = self.segments.split_first() else {
            Skip.visit_map(map)?;
            return Ok(None);
        };
        let mut found = None;
        while let Some(hit) = map.next_key_seed(KeyIs(&first.key))? {
            if hit {
                // A duplicated member: the last one wins, as in serde_json's `Value`.
                found = map.next_value_seed(PointerSeed { segments: rest })?;
            } else {
                map.next_value_seed(Skip)?;
            }
        }
        Ok(found)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<u64>, A::Error> {
        let target = match self.segments.split_first() {
            Some((first, rest)) => first.index.map(|i| (i, rest)),
            None => None,
        };
        let mut found = None;
        let mut position = 0usize;
        loop {
            let element = match target {
                Some((index, rest)) if position == index => seq
                    .next_element_seed(PointerSeed { segments: rest })?
                    .map(|hit| found = hit),
                _ => seq.next_element_seed(Skip)?,
            };
            if element.is_none() {
                return Ok(found);
            }
            position = position.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(pointer: &str, json: &str) -> Option<u64> {
        SeqPointer::parse(pointer).unwrap().find(json)
    }

    #[test]
    fn parses_and_unescapes_segments() {
        let p = SeqPointer::parse("/a~1b/~0c/0/10/01/-").unwrap();
        let keys: Vec<_> = p.segments.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["a/b", "~c", "0", "10", "01", "-"]);
        let indices: Vec<_> = p.segments.iter().map(|s| s.index).collect();
        assert_eq!(indices, [None, None, Some(0), Some(10), None, None]);
        assert_eq!(p.as_str(), "/a~1b/~0c/0/10/01/-");
        assert!(SeqPointer::parse("").unwrap().segments.is_empty());
        assert_eq!(SeqPointer::parse("/").unwrap().segments[0].key, "");
        for bad in ["seq", "/a~", "/a~2", "~0"] {
            assert!(SeqPointer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn finds_unsigned_integers_only() {
        assert_eq!(find("/seq", r#"{"seq":7}"#), Some(7));
        assert_eq!(
            find("/seq", r#"{"seq":18446744073709551615}"#),
            Some(u64::MAX)
        );
        for json in [
            r#"{"seq":-7}"#,
            r#"{"seq":7.5}"#,
            r#"{"seq":7e2}"#,
            r#"{"seq":"7"}"#,
            r#"{"seq":null}"#,
            r#"{"seq":true}"#,
            r#"{"seq":{"v":7}}"#,
            r#"{"seq":[7]}"#,
            r#"{"seq":18446744073709551616}"#,
            r#"{"other":7}"#,
            r#"[7]"#,
            "7",
            r#"{"seq":7"#,
            r#"{"seq":7}x"#,
        ] {
            assert_eq!(find("/seq", json), None, "{json}");
        }
        assert_eq!(find("", "7"), Some(7));
        assert_eq!(find("", r#"{"seq":7}"#), None);
    }

    #[test]
    fn walks_nested_objects_arrays_and_escaped_keys() {
        let json = r#"{"x":[{"y":1},{"a/b":{"~c":[5,6,{"z":9}]}}],"after":[[1],[2]]}"#;
        assert_eq!(find("/x/1/a~1b/~0c/1", json), Some(6));
        assert_eq!(find("/x/1/a~1b/~0c/2/z", json), Some(9));
        assert_eq!(find("/x/0/y", json), Some(1));
        assert_eq!(find("/x/2/y", json), None, "index out of bounds");
        assert_eq!(
            find("/x/01/a~1b", json),
            None,
            "leading zero is not an index"
        );
        assert_eq!(find("/x/-/y", json), None);
        assert_eq!(find("/x/y", json), None, "a key does not index an array");
        assert_eq!(find("/after/1/0", json), Some(2));
        // Keys are compared after unescaping the JSON string.
        assert_eq!(find("/a~1b", r#"{"a\/b":3}"#), Some(3));
        // Object members named like indices are still found by key.
        assert_eq!(find("/0", r#"{"0":4}"#), Some(4));
    }

    #[test]
    fn last_duplicate_wins() {
        assert_eq!(find("/s", r#"{"s":1,"s":2}"#), Some(2));
        assert_eq!(find("/s", r#"{"s":1,"s":"x"}"#), None);
    }
}
