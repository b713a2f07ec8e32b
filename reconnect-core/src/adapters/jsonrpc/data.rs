//! A notification's payload, `params.data`, read in place: the one name the crate and the feed
//! tool give it.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::JsonRpcAdapter;
use crate::frame::Frame;

/// The members of a notification that lead to its payload; everything else is skipped.
#[derive(Deserialize)]
struct Notification<'a> {
    #[serde(borrow)]
    params: Option<DataOnly<'a>>,
}

#[derive(Deserialize)]
struct DataOnly<'a> {
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

impl JsonRpcAdapter {
    /// A notification's payload, `params.data`, as the JSON text it is in the frame (borrowed:
    /// no copy, no allocation for the payload itself); `None` for a binary frame, a frame that is
    /// not one JSON object, or one without `params.data`.
    ///
    /// [`Event::bytes`](crate::Event::bytes) and [`Event::text`](crate::Event::text) give the
    /// whole envelope; this is the part an application usually wants, and what the feed tool
    /// prints as a message's `data`.
    ///
    /// ```
    /// use reconnect_core::adapters::JsonRpcAdapter;
    /// use reconnect_core::Frame;
    ///
    /// let frame = Frame::from(
    ///     r#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"t","data":{"p":1}}}"#,
    /// );
    /// assert_eq!(JsonRpcAdapter::data_of(&frame), Some(r#"{"p":1}"#));
    /// assert_eq!(JsonRpcAdapter::data_of(&Frame::from("not json")), None);
    /// ```
    pub fn data_of(frame: &Frame) -> Option<&str> {
        let text = frame.as_text()?;
        let notification: Notification<'_> = serde_json::from_str(text).ok()?;
        Some(notification.params?.data?.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_the_frames_own_bytes() {
        let frame = Frame::from(r#"{"params":{"data":[1, 2,3],"channel":"a"},"method":"m"}"#);
        let data = JsonRpcAdapter::data_of(&frame).unwrap();
        assert_eq!(data, "[1, 2,3]");
        let whole = frame.as_text().unwrap();
        // A slice of the frame itself: no copy.
        let start = data.as_ptr() as usize - whole.as_ptr() as usize;
        assert_eq!(&whole[start..start + data.len()], data);
    }

    #[test]
    fn frames_without_a_payload_have_none() {
        for text in [
            r#"{"jsonrpc":"2.0","id":1,"result":true}"#,
            r#"{"params":{"channel":"a"}}"#,
            r#"{"params":7}"#,
            "[1,2]",
            "",
        ] {
            assert_eq!(JsonRpcAdapter::data_of(&Frame::from(text)), None, "{text}");
        }
        assert_eq!(JsonRpcAdapter::data_of(&Frame::from(vec![1u8, 2])), None);
    }
}
