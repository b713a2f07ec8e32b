//! Skipping JSON values without allocating, and matching object keys in place.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Consumes one JSON value of any shape and keeps nothing.
///
/// `serde_json`'s own `IgnoredAny` (and `RawValue`) keep the nesting of the skipped value in a
/// heap buffer once it is two levels deep; this skips by recursion instead, so skipping a nested
/// order book allocates nothing. The depth is bounded by `serde_json`'s recursion limit (128).
#[derive(Clone, Copy, Debug)]
pub(super) struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

/// Reads an object key and tells whether it equals `.0`, without keeping the key.
#[derive(Clone, Copy, Debug)]
pub(super) struct KeyIs<'k>(pub(super) &'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// Reads an object key and returns its position in `.0`, if it is one of those names.
#[derive(Clone, Copy, Debug)]
pub(super) struct FieldOf<'n>(pub(super) &'n [&'n str]);

impl<'de> DeserializeSeed<'de> for FieldOf<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldOf<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|name| *name == key))
    }
}

/// Reads a string value, borrowed from the input when it has no escapes; any other value is
/// skipped and reads as `None`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Str;

impl<'de> DeserializeSeed<'de> for Str {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Str {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    // Only strings with escapes get here: their unescaped text lives in a scratch buffer.
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip.visit_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip.visit_map(map).map(|()| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<'a, S: DeserializeSeed<'a>>(seed: S, text: &'a str) -> Option<S::Value> {
        let mut de = serde_json::Deserializer::from_str(text);
        let value = seed.deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(value)
    }

    #[test]
    fn skip_consumes_every_shape_and_rejects_garbage() {
        for text in [
            "null",
            "true",
            "-1",
            "1.5e3",
            r#""a\"b""#,
            r#"{"a":[1,{"b":[[]]}],"c":{}}"#,
            "[[[[]]]]",
        ] {
            assert_eq!(parse(Skip, text), Some(()), "{text}");
        }
        for text in ["", "{", "[1,]", r#"{"a"}"#, "nul"] {
            assert_eq!(parse(Skip, text), None, "{text}");
        }
        // serde_json's recursion limit bounds the depth.
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(parse(Skip, &deep), None);
    }

    #[test]
    fn str_borrows_plain_strings_and_skips_others() {
        assert!(matches!(
            parse(Str, r#""abc""#),
            Some(Some(Cow::Borrowed("abc")))
        ));
        assert!(matches!(parse(Str, r#""a\u0062c""#), Some(Some(Cow::Owned(s))) if s == "abc"));
        assert_eq!(parse(Str, "[1,{\"a\":2}]"), Some(None));
        assert_eq!(parse(Str, "12"), Some(None));
    }

    #[test]
    fn keys_match_after_unescaping() {
        let mut de = serde_json::Deserializer::from_str(r#""a\/b""#);
        assert_eq!(KeyIs("a/b").deserialize(&mut de).ok(), Some(true));
        let mut de = serde_json::Deserializer::from_str(r#""result""#);
        assert_eq!(
            FieldOf(&["id", "result"]).deserialize(&mut de).ok(),
            Some(Some(1))
        );
    }
}
