//! One borrowed pass over an inbound JSON-RPC frame: the members the adapter needs, nothing more.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::pointer::SeqPointer;
use super::skip::{FieldOf, Skip, Str};

/// The `id` member of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Id {
    /// No `id` member.
    Absent,
    /// `"id": null`.
    Null,
    /// A non-negative integer id, the only kind this adapter issues.
    Number(u64),
    /// A string, a negative or fractional number, or any other value: not one of ours.
    Foreign,
}

/// What the adapter needs of a notification's `params`, found whatever the method is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Params<'a> {
    /// `params.channel`, when it is a string.
    pub(super) channel: Option<Cow<'a, str>>,
    /// `params.type`, when it is a string (heartbeats).
    pub(super) kind: Option<Cow<'a, str>>,
    /// The sequence number the configured pointer names inside `params.data`.
    pub(super) seq: Option<u64>,
}

/// The members of one frame that classification looks at, borrowed from the frame's text.
///
/// Notifications (the hot path) are read without allocating: strings without escapes are
/// borrowed, `params.data` is only walked along the sequence pointer, and everything else is
/// skipped by recursion. Responses keep `result` and `error` as raw JSON for a second, allocating
/// look: they are rare.
#[derive(Clone, Debug)]
pub(super) struct Envelope<'a> {
    pub(super) id: Id,
    /// `method`, when it is a string.
    pub(super) method: Option<Cow<'a, str>>,
    pub(super) params: Params<'a>,
    pub(super) result: Option<&'a RawValue>,
    pub(super) error: Option<&'a RawValue>,
}

impl<'a> Envelope<'a> {
    /// Reads `text`, which must be exactly one JSON object; `None` for anything else.
    pub(super) fn parse(text: &'a str, seq: Option<&SeqPointer>) -> Option<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let envelope = EnvelopeSeed { seq }.deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(envelope)
    }
}

const ENVELOPE_FIELDS: &[&str] = &["id", "method", "params", "result", "error"];
const PARAMS_FIELDS: &[&str] = &["channel", "type", "data"];

struct EnvelopeSeed<'p> {
    seq: Option<&'p SeqPointer>,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = Envelope<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut envelope = Envelope {
            id: Id::Absent,
            method: None,
            params: Params::default(),
            result: None,
            error: None,
        };
        // Duplicated members: the last one wins, as in serde_json's `Value`.
        while let Some(field) = map.next_key_seed(FieldOf(ENVELOPE_FIELDS))? {
            match field {
                Some(0) => envelope.id = map.next_value_seed(IdSeed)?,
                Some(1) => envelope.method = map.next_value_seed(Str)?,
                Some(2) => envelope.params = map.next_value_seed(ParamsSeed { seq: self.seq })?,
                Some(3) => envelope.result = Some(map.next_value()?),
                Some(4) => envelope.error = Some(map.next_value()?),
                _ => map.next_value_seed(Skip)?,
            }
        }
        Ok(envelope)
    }
}

struct IdSeed;

impl<'de> DeserializeSeed<'de> for IdSeed {
    type Value = Id;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Id, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IdSeed {
    type Value = Id;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a request id")
    }
    fn visit_u64<E>(self, v: u64) -> Result<Id, E> {
        Ok(Id::Number(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Id, E> {
        Ok(u64::try_from(v).map_or(Id::Foreign, Id::Number))
    }
    fn visit_unit<E>(self) -> Result<Id, E> {
        Ok(Id::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Id, E> {
        Ok(Id::Foreign)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Id, E> {
        Ok(Id::Foreign)
    }
    fn visit_str<E>(self, _: &str) -> Result<Id, E> {
        Ok(Id::Foreign)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Id, A::Error> {
        Skip.visit_seq(seq).map(|()| Id::Foreign)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Id, A::Error> {
        Skip.visit_map(map).map(|()| Id::Foreign)
    }
}

struct ParamsSeed<'p> {
    seq: Option<&'p SeqPointer>,
}

impl<'de> DeserializeSeed<'de> for ParamsSeed<'_> {
    type Value = Params<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ParamsSeed<'_> {
    type Value = Params<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Params::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Params::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Params::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Params::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Params::default())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Params::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip.visit_seq(seq).map(|()| Params::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut params = Params::default();
        while let Some(field) = map.next_key_seed(FieldOf(PARAMS_FIELDS))? {
            match (field, self.seq) {
                (Some(0), _) => params.channel = map.next_value_seed(Str)?,
                (Some(1), _) => params.kind = map.next_value_seed(Str)?,
                (Some(2), Some(pointer)) => params.seq = map.next_value_seed(pointer.seed())?,
                _ => map.next_value_seed(Skip)?,
            }
        }
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<Envelope<'_>> {
        Envelope::parse(text, None)
    }

    #[test]
    fn reads_notifications_with_borrowed_strings() {
        let pointer = SeqPointer::parse("/change_id").unwrap();
        let text = r#"{"jsonrpc":"2.0","method":"subscription","params":{"data":{"bids":[[1,2]],"change_id":9},"channel":"book.BTC"}}"#;
        let e = Envelope::parse(text, Some(&pointer)).unwrap();
        assert_eq!(e.id, Id::Absent);
        assert!(matches!(e.method, Some(Cow::Borrowed("subscription"))));
        assert!(matches!(e.params.channel, Some(Cow::Borrowed("book.BTC"))));
        assert_eq!(e.params.seq, Some(9));
        assert!(e.result.is_none() && e.error.is_none());
    }

    #[test]
    fn reads_ids() {
        let id = |text: &str| parse(text).map(|e| e.id);
        assert_eq!(id(r#"{"id":7,"result":1}"#), Some(Id::Number(7)));
        assert_eq!(id(r#"{"id":null,"error":{}}"#), Some(Id::Null));
        assert_eq!(id(r#"{"result":1}"#), Some(Id::Absent));
        for foreign in [r#""7""#, "-7", "7.0", "true", "[7]", r#"{"a":7}"#] {
            assert_eq!(id(&format!(r#"{{"id":{foreign}}}"#)), Some(Id::Foreign));
        }
    }

    #[test]
    fn keeps_result_and_error_raw_even_when_null() {
        let e = parse(r#"{"id":1,"result":null}"#).unwrap();
        assert_eq!(e.result.map(RawValue::get), Some("null"));
        let e = parse(r#"{"id":1,"error":{"code":1,"message":"m"}}"#).unwrap();
        assert_eq!(
            e.error.map(RawValue::get),
            Some(r#"{"code":1,"message":"m"}"#)
        );
    }

    #[test]
    fn odd_shapes_still_parse_and_non_objects_do_not() {
        let e = parse(r#"{"method":5,"params":[1,2],"x":{"y":[{}]}}"#).unwrap();
        assert_eq!(e.method, None);
        assert_eq!(e.params, Params::default());
        for text in ["[]", "1", r#""s""#, "{", r#"{"id":1}x"#, ""] {
            assert!(parse(text).is_none(), "{text}");
        }
    }
}
