//! How durations and virtual times read in transcripts and summaries.

use std::time::Duration;

/// `12.345s`: seconds with millisecond precision, from integers only so that the text of a
/// transcript never depends on floating-point formatting.
pub(crate) fn secs_text(d: Duration) -> String {
    format!("{}.{:03}s", d.as_secs(), d.subsec_millis())
}

/// `+12.345s`: a virtual time, as an offset from the simulator's base instant.
pub(crate) fn offset_text(d: Duration) -> String {
    format!("+{}", secs_text(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millisecond_precision_without_floats() {
        assert_eq!(secs_text(Duration::from_millis(12_345)), "12.345s");
        assert_eq!(offset_text(Duration::from_micros(1_999)), "+0.001s");
        assert_eq!(offset_text(Duration::from_secs(3600)), "+3600.000s");
    }
}
