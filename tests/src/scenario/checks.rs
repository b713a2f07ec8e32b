//! The checks behind [`Expect`] and [`Invariant`]. Each returns a sentence that explains a
//! failure in terms of what the client did and what the server saw.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

mod backoff;
mod hostile;

use backoff::backoff;

use super::runner::Ctx;
use super::{ClientEvent, Expect, Invariant, Jitter, ScenarioClient, Within};
use crate::rpc;
use crate::server::{ClientFrame, ConnEnd, ConnRecord, Stats};

/// Timer slack for comparisons of delays the client reports with delays the server measures.
const SLACK: Duration = Duration::from_millis(15);
/// How long the server may take to notice a close (it polls every 2 ms; scheduling adds noise).
const CLOSE_GRACE: Duration = Duration::from_millis(25);

type Check = Result<(), String>;

impl<C: ScenarioClient> Ctx<C> {
    fn mark(&self, name: &str) -> Result<&super::runner::Mark, String> {
        self.marks
            .get(name)
            .ok_or_else(|| format!("no mark named {name:?} before this step"))
    }

    fn within(&self, w: Within) -> Result<Duration, String> {
        Ok(match w {
            Within::Fixed(d) => d,
            Within::PingPong(m) => {
                self.spec
                    .ping_interval
                    .ok_or("PingPong bound without ping_interval")?
                    + self.spec.pong_timeout
                    + m
            }
            Within::Idle(m) => {
                self.spec
                    .idle_timeout
                    .ok_or("Idle bound without idle_timeout")?
                    + m
            }
            Within::Connect(m) => self.spec.connect_timeout + m,
        })
    }

    fn events_since(&self, at: Instant) -> impl Iterator<Item = &(Instant, ClientEvent)> {
        self.log.iter().filter(move |(t, _)| *t >= at)
    }

    fn delays_since(&self, at: Instant) -> Vec<(u32, Duration)> {
        self.events_since(at)
            .filter_map(|(_, e)| match e {
                ClientEvent::ReconnectScheduled { attempt, delay } => Some((*attempt, *delay)),
                _ => None,
            })
            .collect()
    }

    fn my_conns<'a>(&self, s: &'a Stats) -> Vec<&'a ConnRecord> {
        s.connections_of(&self.spec.client_id).collect()
    }

    fn t_between(&self, from: Instant, to: Instant) -> String {
        format!("{:.3}s", to.saturating_duration_since(from).as_secs_f64())
    }

    fn t(&self, i: Instant) -> String {
        format!(
            "{:.3}s",
            i.saturating_duration_since(self.started).as_secs_f64()
        )
    }
}

fn latest_session(conns: &[&ConnRecord]) -> Option<usize> {
    conns.iter().rposition(|c| c.handshake_at.is_some())
}

fn duplicates(items: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .iter()
        .filter(|c| !seen.insert(c.as_str()))
        .cloned()
        .collect()
}

pub(crate) fn expect<C: ScenarioClient>(ctx: &mut Ctx<C>, e: &Expect) -> Check {
    match e {
        Expect::Restored(want) => {
            let s = ctx.server.stats();
            let conns = ctx.my_conns(&s);
            let i = latest_session(&conns).ok_or("no WebSocket session at all")?;
            let got = conns[i].subscribed_channels();
            let mut sorted = got.clone();
            sorted.sort();
            let mut want_sorted: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            want_sorted.sort();
            if sorted != want_sorted {
                return Err(format!(
                    "connection {} subscribed {got:?}; expected exactly {want:?}, once each",
                    conns[i].id
                ));
            }
        }
        Expect::NotRestoredSince(mark, channel) => {
            let m = ctx.mark(mark)?;
            let s = ctx.server.stats();
            for c in ctx.my_conns(&s).iter().filter(|c| c.accepted_at >= m.at) {
                if c.subscribed_channels().iter().any(|x| x == channel) {
                    return Err(format!("connection {} subscribed {channel:?} again", c.id));
                }
            }
        }
        Expect::DisconnectedWithin(mark, w) => {
            let m = ctx.mark(mark)?;
            let bound = ctx.within(*w)?;
            let (t, _) = ctx
                .events_since(m.at)
                .find(|(_, e)| matches!(e, ClientEvent::Disconnected { .. }))
                .ok_or("no Disconnected event after the mark")?;
            let took = t.duration_since(m.at);
            if took > bound {
                return Err(format!("detected after {took:?}; the bound is {bound:?}"));
            }
        }
        Expect::AbandonedWithin(mark, w) => {
            let m = ctx.mark(mark)?;
            let bound = ctx.within(*w)?;
            let s = ctx.server.stats();
            let c = s
                .connections
                .iter()
                .find(|c| c.accepted_at >= m.at)
                .ok_or("no connection after the mark")?;
            let ended = c
                .ended_at
                .ok_or(format!("connection {} is still open", c.id))?;
            let took = ended.duration_since(c.accepted_at);
            if took > bound + CLOSE_GRACE {
                return Err(format!(
                    "connection {} was abandoned after {took:?}; the bound is {bound:?}",
                    c.id
                ));
            }
        }
        Expect::NoReconnectFor(d) => {
            let from = Instant::now();
            let before = ctx.server.stats().accepted;
            ctx.pump_until(from + *d, |_| false);
            let after = ctx.server.stats().accepted;
            if after != before {
                return Err(format!("{} new connection(s) within {d:?}", after - before));
            }
            if let Some((t, e)) = ctx
                .events_since(from)
                .find(|(_, e)| matches!(e, ClientEvent::Connecting { .. } | ClientEvent::Connected))
            {
                return Err(format!("{e:?} at {} within the quiet window", ctx.t(*t)));
            }
        }
        Expect::StaysConnectedFor(d) => {
            let from = Instant::now();
            let before = ctx.server.stats().handshakes;
            ctx.pump_until(from + *d, |_| false);
            let after = ctx.server.stats().handshakes;
            if let Some((t, e)) = ctx.events_since(from).find(|(_, e)| {
                matches!(
                    e,
                    ClientEvent::Disconnected { .. } | ClientEvent::Stopped { .. }
                )
            }) {
                return Err(format!(
                    "{e:?} at {} while the connection should hold",
                    ctx.t(*t)
                ));
            }
            if after != before {
                return Err(format!(
                    "{} new handshake(s) while the connection should hold",
                    after - before
                ));
            }
        }
        Expect::Stopped(kind) => {
            let got = ctx.log.iter().rev().find_map(|(_, e)| match e {
                ClientEvent::Stopped { kind, reason } => Some((*kind, reason.clone())),
                _ => None,
            });
            match got {
                Some((k, _)) if k == *kind => {}
                Some((k, reason)) => {
                    return Err(format!("stopped with {k:?} ({reason}); expected {kind:?}"))
                }
                None => return Err(format!("never stopped; expected {kind:?}")),
            }
        }
        Expect::Backoff { since, grows } => backoff(ctx, since, *grows)?,
        Expect::BackoffReset(mark) => {
            let m = ctx.mark(mark)?;
            let (attempt, delay) = *ctx
                .delays_since(m.at)
                .first()
                .ok_or("no ReconnectScheduled after the mark")?;
            let limit = match ctx.spec.jitter {
                Jitter::Decorrelated => ctx.spec.backoff_initial * 3,
                _ => ctx.spec.backoff_initial,
            };
            if delay > limit + Duration::from_millis(1) {
                return Err(format!(
                    "first delay after a stable connection is {delay:?} (attempt {attempt}); \
                     the backoff should have reset to {:?}",
                    ctx.spec.backoff_initial
                ));
            }
        }
        Expect::RetryAfterHonoured(d) => {
            let s = ctx.server.stats();
            let conns = ctx.my_conns(&s);
            let i = conns
                .iter()
                .position(|c| matches!(c.end, Some(ConnEnd::HttpRejected(_))))
                .ok_or("no HTTP-rejected connection")?;
            let next = conns
                .get(i + 1)
                .ok_or("no connection after the rejected one")?;
            let waited = next.accepted_at.duration_since(conns[i].accepted_at);
            if waited + SLACK < *d {
                return Err(format!("the next attempt came {waited:?} after the rejection; Retry-After asked for {d:?}"));
            }
        }
        Expect::GapReported(ch) => {
            let gap = ctx.log.iter().find_map(|(_, e)| match e {
                ClientEvent::Gap {
                    channel,
                    expected,
                    got,
                } if channel == ch => Some((*expected, *got)),
                _ => None,
            });
            match gap {
                Some((expected, got)) if got == expected + 1 => {}
                Some((expected, got)) => {
                    return Err(format!(
                        "Gap on {ch} from {expected} to {got}; one number was skipped"
                    ))
                }
                None => return Err(format!("no Gap event for {ch}")),
            }
        }
        Expect::NoGaps => {
            if let Some((t, e)) = ctx
                .log
                .iter()
                .find(|(_, e)| matches!(e, ClientEvent::Gap { .. }))
            {
                return Err(format!("unexpected {e:?} at {}", ctx.t(*t)));
            }
        }
        Expect::CloseFrame(code) => {
            let id = ctx.spec.client_id.clone();
            ctx.server
                .wait_until(Duration::from_secs(2), |s| {
                    s.connections_of(&id).any(|c| c.close_received.as_ref().is_some_and(|f| f.code == *code))
                })
                .map_err(|e| {
                    let got: Vec<_> = e.last.connections_of(&id).map(|c| c.close_received.clone()).collect();
                    format!("no close frame {code} reached the server; close frames per connection: {got:?}")
                })?;
        }
        Expect::TextsAfterLive(want) => {
            let s = ctx.server.stats();
            let mut all = Vec::new();
            for c in ctx.my_conns(&s) {
                let last_sub = c
                    .received
                    .iter()
                    .rposition(|r| r.method() == Some(rpc::SUBSCRIBE));
                for (i, r) in c.received.iter().enumerate() {
                    if let ClientFrame::Text(t) = &r.frame {
                        if want.contains(&t.as_str()) && last_sub.is_some_and(|l| i < l) {
                            return Err(format!(
                                "{t:?} reached connection {} before its restore finished",
                                c.id
                            ));
                        }
                        all.push(t.clone());
                    }
                }
            }
            if all != *want {
                return Err(format!(
                    "the server received texts {all:?}; expected {want:?} exactly once, in order"
                ));
            }
        }
        Expect::AcceptedSince(mark, n) => {
            let m = ctx.mark(mark)?;
            let got = ctx.server.stats().accepted - m.accepted;
            if got != *n {
                return Err(format!(
                    "{got} connection(s) since the mark; expected exactly {n}"
                ));
            }
        }
        Expect::NeverSubscribed(ch) => {
            if ctx
                .log
                .iter()
                .any(|(_, e)| matches!(e, ClientEvent::Subscribed { channel } if channel == ch))
            {
                return Err(format!(
                    "reported {ch:?} as subscribed although the server refused it"
                ));
            }
        }
        Expect::NoMessages => {
            if let Some((_, e)) = ctx
                .log
                .iter()
                .find(|(_, e)| matches!(e, ClientEvent::Message { .. }))
            {
                return Err(format!("unexpected {e:?}"));
            }
        }
        Expect::HeartbeatsAnswered(n) => {
            let s = ctx.server.stats();
            let conns = ctx.my_conns(&s);
            let i = latest_session(&conns).ok_or("no session")?;
            let got = conns[i].requests(rpc::TEST).count();
            if got < *n {
                return Err(format!(
                    "{got} public/test requests on the latest session; expected at least {n}"
                ));
            }
        }
        Expect::LiveNow => {
            let last = ctx.log.iter().rev().find(|(_, e)| {
                matches!(
                    e,
                    ClientEvent::Live
                        | ClientEvent::Disconnected { .. }
                        | ClientEvent::Stopped { .. }
                )
            });
            if !matches!(last, Some((_, ClientEvent::Live))) {
                return Err(format!(
                    "the latest connection-state event is {last:?}, not Live"
                ));
            }
        }
        Expect::FdsStable(mark, slack) => {
            let base = ctx
                .mark(mark)?
                .fds
                .ok_or("fds cannot be counted on this platform")?;
            hostile::fds_fall_back(ctx, base, *slack)?;
        }
        other => {
            if !hostile::expect(ctx, other)? {
                return Err(format!("{other:?} has no check"));
            }
        }
    }
    Ok(())
}

pub(crate) fn invariant<C: ScenarioClient>(ctx: &Ctx<C>, inv: Invariant) -> Check {
    let s = ctx.server.stats();
    let conns = ctx.my_conns(&s);
    match inv {
        Invariant::NeverConcurrent => {
            for (i, a) in conns.iter().enumerate() {
                let a_end = a.ended_at.unwrap_or_else(Instant::now);
                for b in &conns[i + 1..] {
                    if b.accepted_at + CLOSE_GRACE < a_end {
                        return Err(format!(
                            "connections {} and {} were open at once: {} accepted at {} while {} lasted until {}",
                            a.id, b.id, b.id, ctx.t(b.accepted_at), a.id,
                            a.ended_at.map(|e| ctx.t(e)).unwrap_or_else(|| "now".into())
                        ));
                    }
                }
            }
        }
        Invariant::SubscribeAfterAuth => {
            if ctx.spec.auth.is_none() {
                return Ok(());
            }
            for c in &conns {
                for r in c.requests(rpc::SUBSCRIBE) {
                    match c.authenticated_at {
                        Some(t) if r.at >= t => {}
                        Some(t) => {
                            return Err(format!(
                                "connection {} sent subscribe at {} before the auth ack at {}",
                                c.id,
                                ctx.t(r.at),
                                ctx.t(t)
                            ))
                        }
                        None => {
                            return Err(format!(
                                "connection {} subscribed without a successful auth",
                                c.id
                            ))
                        }
                    }
                }
            }
        }
        Invariant::OncePerConnection => {
            for c in &conns {
                let d = duplicates(&c.subscribed_channels());
                if !d.is_empty() {
                    return Err(format!(
                        "connection {} subscribed {d:?} more than once",
                        c.id
                    ));
                }
            }
        }
        Invariant::HonestGaps => honest_gaps(&ctx.log)?,
        Invariant::SilentAfterStop => {
            let Some(stop) = ctx
                .log
                .iter()
                .position(|(_, e)| matches!(e, ClientEvent::Stopped { .. }))
            else {
                return Ok(());
            };
            let stopped_at = ctx.log[stop].0;
            if let Some((t, e)) = ctx.log[stop + 1..]
                .iter()
                .find(|(_, e)| !matches!(e, ClientEvent::Other(_) | ClientEvent::Message { .. }))
            {
                return Err(format!("{e:?} at {} after Stopped", ctx.t(*t)));
            }
            if let Some(c) = conns
                .iter()
                .find(|c| c.accepted_at > stopped_at + CLOSE_GRACE)
            {
                return Err(format!(
                    "connection {} reached the server at {} after Stopped",
                    c.id,
                    ctx.t(c.accepted_at)
                ));
            }
        }
        Invariant::ReleasedOnDrop => {} // checked by the runner after dropping the client
    }
    Ok(())
}

/// Sequence numbers per channel never repeat or go back, and every jump has exactly one `Gap`
/// event (and every `Gap` event a jump). The first number seen on a channel is the baseline.
fn honest_gaps(log: &[(Instant, ClientEvent)]) -> Check {
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    let mut jumps: Vec<(String, u64, u64)> = Vec::new();
    let mut reported: Vec<(String, u64, u64)> = Vec::new();
    for (_, e) in log {
        match e {
            ClientEvent::Message { channel, seq } => {
                if let Some(prev) = last.get(channel.as_str()) {
                    if seq <= prev {
                        return Err(format!(
                            "{channel} went from {prev} to {seq}: a duplicate or a regression"
                        ));
                    }
                    if *seq > prev + 1 {
                        jumps.push((channel.clone(), prev + 1, *seq));
                    }
                }
                last.insert(channel, *seq);
            }
            ClientEvent::Gap {
                channel,
                expected,
                got,
            } => reported.push((channel.clone(), *expected, *got)),
            _ => {}
        }
    }
    jumps.sort();
    reported.sort();
    if jumps != reported {
        return Err(format!(
            "jumps in the sequence numbers {jumps:?} but Gap events {reported:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::StopKind;

    fn msg(ch: &str, seq: u64) -> (Instant, ClientEvent) {
        (
            Instant::now(),
            ClientEvent::Message {
                channel: ch.into(),
                seq,
            },
        )
    }
    fn gap(ch: &str, expected: u64, got: u64) -> (Instant, ClientEvent) {
        (
            Instant::now(),
            ClientEvent::Gap {
                channel: ch.into(),
                expected,
                got,
            },
        )
    }

    #[test]
    fn honest_gaps_catches_silent_dishonest_and_duplicate() {
        assert!(honest_gaps(&[msg("a", 4), msg("a", 5), gap("a", 6, 7), msg("a", 7)]).is_ok());
        assert!(
            honest_gaps(&[msg("a", 1), msg("a", 3)]).is_err(),
            "silent gap"
        );
        assert!(
            honest_gaps(&[msg("a", 1), gap("a", 2, 3), msg("a", 2)]).is_err(),
            "invented gap"
        );
        assert!(
            honest_gaps(&[msg("a", 2), msg("a", 2)]).is_err(),
            "duplicate"
        );
        assert!(
            honest_gaps(&[msg("a", 1), msg("b", 9)]).is_ok(),
            "channels are independent"
        );
    }

    #[test]
    fn stop_kinds_compare() {
        assert_ne!(StopKind::Closed, StopKind::Fatal);
    }
}
