//! How evenly events (connections, typically) spread over time: the busiest window against
//! the mean, which is what a thundering herd after a server restart drives up.

use std::time::{Duration, Instant};

/// The busiest `window` of a series of instants, and the mean per `window`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakAndMean {
    /// The most instants in any `window` (sliding: windows start at every instant).
    pub peak: usize,
    /// The number of instants per `window` on average over the measured span.
    pub mean: f64,
}

impl PeakAndMean {
    /// `peak / mean`: 1 for a perfectly even spread, larger for bursts.
    pub fn ratio(&self) -> f64 {
        self.peak as f64 / self.mean
    }
}

/// The most of the `instants` in any `window` (sliding over them), over the mean per `window`
/// across `[from, to]`.
///
/// `instants` must be in ascending order, as they are when recorded with `Instant::now()` as
/// the events arrive. Instants outside `[from, to]` still count in the peak and the total: pass
/// the span the instants were recorded over.
pub fn peak_over_mean(
    instants: &[Instant],
    from: Instant,
    to: Instant,
    window: Duration,
) -> PeakAndMean {
    debug_assert!(
        instants.windows(2).all(|w| w[0] <= w[1]),
        "unsorted instants"
    );
    let mut peak = 0;
    let mut start = 0;
    for end in 0..instants.len() {
        while instants[end].duration_since(instants[start]) >= window {
            start += 1;
        }
        peak = peak.max(end - start + 1);
    }
    let windows = to.duration_since(from).as_secs_f64() / window.as_secs_f64();
    PeakAndMean {
        peak,
        mean: instants.len() as f64 / windows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn an_even_spread_has_a_ratio_near_one_and_a_burst_a_high_one() {
        let base = Instant::now();
        // One instant every 10 ms for 1 s: 10 per 100 ms window, everywhere.
        let even: Vec<Instant> = (0..100).map(|i| base + i * 10 * MS).collect();
        let spread = peak_over_mean(&even, base, base + 1000 * MS, 100 * MS);
        assert_eq!(spread.peak, 10);
        assert!((spread.mean - 10.0).abs() < 1e-9);
        assert!((spread.ratio() - 1.0).abs() < 1e-9);

        // The same 100 instants, 50 of them in the first millisecond.
        let mut burst: Vec<Instant> = (0..50).map(|_| base).collect();
        burst.extend((0..50).map(|i| base + 500 * MS + i * 10 * MS));
        let spread = peak_over_mean(&burst, base, base + 1000 * MS, 100 * MS);
        assert_eq!(spread.peak, 50);
        assert!((spread.ratio() - 5.0).abs() < 1e-9);
    }

    #[test]
    fn the_window_is_half_open() {
        let base = Instant::now();
        let two = [base, base + 100 * MS];
        assert_eq!(
            peak_over_mean(&two, base, base + 200 * MS, 100 * MS).peak,
            1
        );
        let two = [base, base + 99 * MS];
        assert_eq!(
            peak_over_mean(&two, base, base + 200 * MS, 100 * MS).peak,
            2
        );
    }

    #[test]
    fn no_instants_is_a_zero_peak() {
        let base = Instant::now();
        let spread = peak_over_mean(&[], base, base + 100 * MS, 100 * MS);
        assert_eq!((spread.peak, spread.mean), (0, 0.0));
    }
}
