//! The check behind [`Expect::Backoff`](crate::scenario::Expect::Backoff): announced delays
//! within the spec's bounds, growing where they must, and really waited.

use std::time::{Duration, Instant};

use super::super::runner::Ctx;
use super::{Check, SLACK};
use crate::scenario::{Jitter, ScenarioClient};

pub(super) fn backoff<C: ScenarioClient>(ctx: &Ctx<C>, since: &str, grows: bool) -> Check {
    let m = ctx.mark(since)?;
    let delays = ctx.delays_since(m.at);
    if delays.len() < 2 {
        return Err(format!(
            "only {} ReconnectScheduled event(s) to judge the backoff by",
            delays.len()
        ));
    }
    let (initial, max) = (ctx.spec.backoff_initial, ctx.spec.backoff_max);
    let tol = Duration::from_millis(1);
    for (attempt, d) in &delays {
        if *d > max + tol {
            return Err(format!(
                "attempt {attempt} delayed {d:?}, above backoff_max {max:?}"
            ));
        }
        if matches!(ctx.spec.jitter, Jitter::None | Jitter::Decorrelated) && *d + tol < initial {
            return Err(format!(
                "attempt {attempt} delayed {d:?}, below backoff_initial {initial:?}"
            ));
        }
    }
    if grows {
        for w in delays.windows(2) {
            if w[1].1 + tol < w[0].1 {
                return Err(format!(
                    "the delay shrank from {:?} to {:?} during one outage: {delays:?}",
                    w[0].1, w[1].1
                ));
            }
        }
        let (first, last) = (delays[0].1, delays[delays.len() - 1].1);
        if delays.len() >= 3 && last <= first && first < max {
            return Err(format!(
                "the delay never grew during one outage: {delays:?}"
            ));
        }
    }
    // The client must really wait: the server's accepts are at least as far apart as the delays
    // the client announced between them.
    let s = ctx.server.stats();
    let accepts: Vec<Instant> = ctx
        .my_conns(&s)
        .iter()
        .map(|c| c.accepted_at)
        .filter(|t| *t >= m.at)
        .collect();
    if accepts.len() >= 2 {
        let span = accepts[accepts.len() - 1].duration_since(accepts[0]);
        let announced: Duration = delays
            .iter()
            .skip(1)
            .take(accepts.len() - 1)
            .map(|(_, d)| *d)
            .sum();
        let slack = SLACK * accepts.len() as u32;
        if span + slack < announced {
            return Err(format!(
                "{} attempts reached the server within {span:?}, but the client announced {announced:?} of delays",
                accepts.len()
            ));
        }
    }
    Ok(())
}
