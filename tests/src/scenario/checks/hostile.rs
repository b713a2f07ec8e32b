//! The checks of the hostile-server scenarios: bounded resources, per-channel rejections, the
//! reason of a disconnect caused by an invalid close code, credential renewal in place, and
//! pongs under a ping flood.

use std::time::{Duration, Instant};

use super::super::runner::Ctx;
use super::{latest_session, Check};
use crate::rpc;
use crate::scenario::{ClientEvent, Expect, ScenarioClient};

/// The checks of `e`; `Ok(false)` when `e` is not one of them.
pub(super) fn expect<C: ScenarioClient>(ctx: &mut Ctx<C>, e: &Expect) -> Result<bool, String> {
    match e {
        Expect::ResourcesBounded {
            since,
            fds,
            rss_mib,
        } => {
            let m = ctx.mark(since)?;
            let (base_fds, base_rss) = (m.fds, m.rss);
            fds_fall_back(ctx, base_fds.ok_or("fds cannot be counted here")?, *fds)?;
            let base_rss = base_rss.ok_or("resident memory cannot be read here")?;
            let now = crate::bench::rss_bytes().map_err(|e| e.to_string())?;
            let grown = now.saturating_sub(base_rss);
            if grown > rss_mib << 20 {
                return Err(format!(
                    "resident memory grew by {} MiB since the mark (bound {rss_mib} MiB)",
                    grown >> 20
                ));
            }
        }
        Expect::RejectedExactly(want) => {
            let mut got: Vec<&str> = ctx
                .log
                .iter()
                .filter_map(|(_, e)| match e {
                    ClientEvent::SubscribeRejected { channel, .. } => Some(channel.as_str()),
                    _ => None,
                })
                .collect();
            got.sort_unstable();
            got.dedup();
            let mut want = want.to_vec();
            want.sort_unstable();
            if got != want {
                return Err(format!(
                    "channels reported rejected: {got:?}; expected exactly {want:?}"
                ));
            }
        }
        Expect::DisconnectNamesCloseCode(code) => {
            let reason = ctx
                .log
                .iter()
                .rev()
                .find_map(|(_, e)| match e {
                    ClientEvent::Disconnected { reason } => Some(reason.clone()),
                    _ => None,
                })
                .ok_or("no Disconnected event")?;
            if !names_invalid_code(&reason, *code) {
                return Err(format!(
                    "the disconnect reason {reason:?} does not name the invalid close code {code} \
                     (expected e.g. \"invalid close code {code}\")"
                ));
            }
        }
        Expect::AuthRenewed(n) => auth_renewed(ctx, *n)?,
        Expect::PongsAnswered(n) => {
            let s = ctx.server.stats();
            let conns = ctx.my_conns(&s);
            let i = latest_session(&conns).ok_or("no session")?;
            let c = conns[i];
            if c.pongs < *n {
                return Err(format!(
                    "connection {} answered {} of {} pings with a pong; expected at least {n}",
                    c.id, c.pongs, c.pings_sent
                ));
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Waits (up to 3 s, while the server reaps closed connections) for the process's open fds to
/// fall to at most `base + slack`.
pub(super) fn fds_fall_back<C: ScenarioClient>(
    ctx: &mut Ctx<C>,
    base: usize,
    slack: usize,
) -> Check {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut now = crate::fds::open_fds().map_err(|e| e.to_string())?;
    while now > base + slack && Instant::now() < deadline {
        ctx.pump_until(Instant::now() + Duration::from_millis(50), |_| false);
        now = crate::fds::open_fds().map_err(|e| e.to_string())?;
    }
    if now > base + slack {
        return Err(format!(
            "{now} fds open; {base} at the mark (slack {slack}): a leak"
        ));
    }
    Ok(())
}

/// Whether `reason` says "invalid" and names `code` as a number of its own.
fn names_invalid_code(reason: &str, code: u16) -> bool {
    let numbers = reason
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty());
    let mut named = false;
    for n in numbers {
        named |= n.parse::<u64>().ok() == Some(u64::from(code));
    }
    named && reason.to_ascii_lowercase().contains("invalid")
}

fn auth_renewed<C: ScenarioClient>(ctx: &Ctx<C>, n: usize) -> Check {
    let lifetime = ctx
        .server
        .token_lifetime()
        .ok_or("the scenario's server hands out tokens that never expire")?;
    let s = ctx.server.stats();
    let conns = ctx.my_conns(&s);
    let c = conns[latest_session(&conns).ok_or("no session")?];
    let auths: Vec<_> = c.requests(rpc::AUTH).collect();
    let acks = &c.auth_acks;
    if auths.len() < n + 1 {
        return Err(format!(
            "{} auth request(s) on connection {}; expected the first and at least {n} renewal(s) \
             of a token that expires after {lifetime:?}",
            auths.len(),
            c.id
        ));
    }
    for w in auths.windows(2) {
        let apart = w[1].at.duration_since(w[0].at);
        if apart < lifetime / 10 {
            return Err(format!(
                "two auth requests {apart:?} apart on connection {}: renewing in a loop",
                c.id
            ));
        }
    }
    for (i, r) in auths.iter().enumerate().skip(1) {
        let grant = r.params().get("grant_type").and_then(|g| g.as_str());
        if grant != Some("refresh_token") {
            return Err(format!(
                "auth request {} on connection {} has grant_type {grant:?}, not \"refresh_token\"",
                i + 1,
                c.id
            ));
        }
        let previous = acks.get(i - 1).ok_or(format!(
            "auth request {} came before the server accepted the one before it",
            i + 1
        ))?;
        if r.at > *previous + lifetime {
            return Err(format!(
                "renewal {i} came {} after the token it renews was handed out; the token expired \
                 after {lifetime:?}",
                ctx.t_between(*previous, r.at)
            ));
        }
        if acks.len() <= i {
            return Err(format!(
                "the server refused renewal {i} on connection {}",
                c.id
            ));
        }
    }
    let last = *acks.last().ok_or("no auth ack")?;
    if Instant::now() > last + lifetime {
        return Err(format!(
            "the token handed out on connection {} at {} expired at {} without a renewal",
            c.id,
            ctx.t(last),
            ctx.t(last + lifetime)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::names_invalid_code;

    #[test]
    fn a_reason_names_the_code_only_as_a_number_of_its_own() {
        assert!(names_invalid_code("protocol: invalid close code 999", 999));
        assert!(names_invalid_code(
            "Invalid close code: 1005 (answered 1002)",
            1005
        ));
        assert!(!names_invalid_code("protocol violation 1002", 999));
        assert!(!names_invalid_code("invalid close code 9999", 999));
        assert!(
            !names_invalid_code("close code 5000", 5000),
            "says nothing is invalid"
        );
    }
}
