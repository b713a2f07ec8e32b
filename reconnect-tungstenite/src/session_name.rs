//! The name of a session its application did not name: one scheme for every binding.

use std::sync::atomic::{AtomicU64, Ordering};

/// A name unique in the process for a session the application did not name: `session-1`,
/// `session-2`, …, counting the unnamed sessions of every binding in the process. It labels
/// the session's metrics and log events, so two unnamed sessions never share a series (a
/// driver's slot index would: slots are reused after a removal).
pub fn default_session_name() -> String {
    static UNNAMED: AtomicU64 = AtomicU64::new(0);
    format!("session-{}", UNNAMED.fetch_add(1, Ordering::Relaxed) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_follow_the_scheme() {
        let (a, b) = (default_session_name(), default_session_name());
        assert_ne!(a, b);
        for name in [&a, &b] {
            let n = name.strip_prefix("session-").expect("the prefix");
            assert!(n.parse::<u64>().is_ok_and(|n| n >= 1), "{name}");
        }
    }
}
