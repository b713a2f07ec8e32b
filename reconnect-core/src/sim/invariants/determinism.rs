//! Same seed, same transcript.

use std::time::Duration;

use super::{Invariant, Violation};

/// Compares two transcripts (or any two line-oriented records) of runs that must be identical:
/// the same configuration, seed, server, network and script. Returns a
/// [`Violation`] of [`Invariant::Determinism`] naming the first line that differs.
pub fn same_transcript(first: &str, second: &str) -> Result<(), Violation> {
    let mut a = first.lines();
    let mut b = second.lines();
    let mut line = 0u64;
    loop {
        line += 1;
        match (a.next(), b.next()) {
            (None, None) => return Ok(()),
            (x, y) if x == y => continue,
            (x, y) => {
                return Err(Violation::new(
                    line,
                    Duration::ZERO,
                    Invariant::Determinism,
                    format!("line {line} differs between two runs: {x:?} then {y:?}"),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_line_that_differs() {
        assert!(same_transcript("a\nb\n", "a\nb\n").is_ok());
        let v = same_transcript("a\nb\nc", "a\nx\nc").unwrap_err();
        assert_eq!(v.invariant, Invariant::Determinism);
        assert!(v.evidence.contains("line 2"), "{v}");
        assert!(same_transcript("a", "a\nb").is_err());
    }
}
