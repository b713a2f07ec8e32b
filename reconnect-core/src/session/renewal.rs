//! Credentials with a lifetime: re-authenticating on the live connection before they expire.
//!
//! The schedule is the one documented on [`LifetimeRenewal`]; the request and its answer go
//! through the same pending-request table as every auth request, so a refusal is classified by
//! [`Protocol::auth_rejection`] and a missing answer is an auth timeout.

use std::time::{Duration, Instant};

use super::lifecycle::Next;
use super::resubscribe::AuthSent;
use super::{Phase, RequestKind, Session, Timer};
use crate::boundary::{Action, Event, Purpose, RenewalSource};
use crate::config::LifetimeRenewal;
use crate::error::{EndCause, ServerError};
use crate::protocol::{Protocol, RequestId};

/// How long after the answer that granted `lifetime` to renew; `None` for a zero lifetime.
pub(super) fn renewal_delay(policy: &LifetimeRenewal, lifetime: Duration) -> Option<Duration> {
    if lifetime.is_zero() {
        return None;
    }
    let by_fraction = scaled(lifetime, policy.fraction);
    let by_margin = lifetime.saturating_sub(policy.margin);
    // The floor keeps lifetimes shorter than the margin from turning into a renewal loop.
    Some(by_fraction.min(by_margin).max(policy.min_delay))
}

/// `d × fraction`, rounded to the nanosecond, never more than `d` (the fraction is at most 1)
/// and never a panic, whatever the size of `d` (`Duration::mul_f64` panics on overflow).
fn scaled(d: Duration, fraction: f64) -> Duration {
    let nanos = (d.as_nanos() as f64 * fraction).round();
    if nanos.is_finite() && nanos >= 0.0 && nanos < u64::MAX as f64 {
        Duration::from_nanos(nanos as u64).min(d)
    } else {
        d
    }
}

impl RenewalSource {
    /// The source of a renewal before expiry.
    fn of_renewal(used_refresh_token: bool) -> Self {
        if used_refresh_token {
            RenewalSource::RefreshToken
        } else {
            RenewalSource::Lifetime
        }
    }
}

impl<P: Protocol> Session<P> {
    /// After the acknowledgement of auth request `id` on the current connection: asks the adapter
    /// what the server granted, keeps the refresh token for this connection, and arms the
    /// renewal from the lifetime. An answer without a lifetime replaces the previous grant with
    /// nothing: no renewal stays armed. Returns the lifetime granted.
    pub(super) fn accept_grant(&mut self, now: Instant, id: RequestId) -> Option<Duration> {
        // Asked even when renewal is off, so that the adapter's kept answer never outlives it.
        let grant = self.protocol.granted(id);
        self.forget_grant();
        let conn = self.conn.as_mut()?;
        let (lifetime, refresh) = match grant {
            Some(grant) => (Some(grant.lifetime), grant.refresh),
            None => (None, None),
        };
        conn.refresh_token = refresh;
        let policy = &self.config.lifetime_renewal;
        if policy.enabled {
            if let Some(delay) = lifetime.and_then(|l| renewal_delay(policy, l)) {
                self.timers
                    .set(Timer::GrantRenewal, Self::after(now, delay));
            }
        }
        lifetime
    }

    /// Drops what the last grant left on this connection: the renewal it armed and its refresh
    /// token. A grant describes the credentials it answered; once others replaced them, its
    /// schedule would renew on a lifetime nobody stated for the new ones.
    pub(super) fn forget_grant(&mut self) {
        self.timers.stop(Timer::GrantRenewal);
        if let Some(conn) = self.conn.as_mut() {
            conn.refresh_token = None;
        }
    }

    /// The renewal is due: sends the refresh grant (when the server gave a refresh token, the
    /// policy allows it and the adapter can build it), otherwise an auth request with the
    /// current credentials, on the current connection, without leaving its phase.
    pub(super) fn renew_before_expiry(&mut self, now: Instant) {
        // Armed only after auth; the connection is past it until it ends (which stops the timer).
        if !matches!(
            self.phase,
            Phase::SettingUp | Phase::Resubscribing | Phase::Live
        ) {
            return;
        }
        let Some(conn) = self.conn.as_ref() else {
            return;
        };
        let conn_id = conn.id;
        let refresh = conn
            .refresh_token
            .clone()
            .filter(|_| self.config.lifetime_renewal.use_refresh_token);
        let id = self.peek_request_id();
        let grant = refresh
            .and_then(|token| self.protocol.refresh_request(id, &token))
            // A refresh grant too large to write is passed over for the current credentials,
            // as a refused one is: they may well fit, and they renew as well.
            .filter(|frame| self.too_large(Purpose::Auth, frame).is_none());
        if let Some(frame) = grant {
            self.next_request_id();
            self.act(Action::Send {
                conn: conn_id,
                frame,
                purpose: Purpose::Auth,
            });
            if self.protocol.acknowledges() {
                let deadline = Self::after(now, self.config.timeouts.auth);
                let kind = RequestKind::GrantRenewal {
                    refresh_token: true,
                };
                self.pending.insert(id, kind, deadline);
                self.sync_request_timer();
            } else {
                self.renewed_without_answer(true);
            }
            return;
        }
        let kind = RequestKind::GrantRenewal {
            refresh_token: false,
        };
        match self.send_auth_request(now, kind) {
            AuthSent::Awaited => {} // the answer arms the next renewal
            AuthSent::Done => self.renewed_without_answer(false),
            AuthSent::Nothing => self.emit(Event::RenewalFailed {
                cause: EndCause::CredentialsUnavailable(
                    "no credentials to renew the expiring ones with".to_owned(),
                ),
            }),
            // The connection keeps what it has until the credentials run out; the cause says
            // what the limit would have to be.
            AuthSent::TooLarge(cause) => self.emit(Event::RenewalFailed { cause }),
        }
    }

    /// A protocol without acknowledgements: the renewal counts as done once sent, and with no
    /// answer there is no new lifetime to schedule from.
    fn renewed_without_answer(&mut self, used_refresh_token: bool) {
        if let Some(conn) = self.conn_id() {
            self.emit(Event::CredentialsRenewed {
                conn,
                source: RenewalSource::of_renewal(used_refresh_token),
                expires_in: None,
            });
        }
    }

    /// The server acknowledged renewal `id`: its answer's lifetime arms the next one.
    pub(super) fn on_grant_renewed(&mut self, now: Instant, id: RequestId, refresh_token: bool) {
        let expires_in = self.accept_grant(now, id);
        if let Some(conn) = self.conn_id() {
            self.emit(Event::CredentialsRenewed {
                conn,
                source: RenewalSource::of_renewal(refresh_token),
                expires_in,
            });
        }
    }

    /// The server refused the renewal. A refused refresh token is not the end of the
    /// credentials: the token may have been revoked or rotated while the application's own
    /// credentials still hold, so the renewal is asked for once more with those, on the same
    /// connection. Otherwise the credentials run out soon and the refusal is handled as a refused
    /// auth: the adapter's classification decides between a reconnect, fresh credentials and a
    /// stop.
    pub(super) fn on_grant_renewal_rejected(
        &mut self,
        now: Instant,
        error: ServerError,
        refresh_token: bool,
    ) {
        if refresh_token {
            if let Some(conn) = self.conn.as_mut() {
                conn.refresh_token = None;
            }
            let kind = RequestKind::GrantRenewal {
                refresh_token: false,
            };
            match self.send_auth_request(now, kind) {
                AuthSent::Awaited => return, // its answer decides
                AuthSent::Done => return self.renewed_without_answer(false),
                // The token's refusal is no verdict on the credentials, which hold until they
                // run out: the renewal failed, the connection stays.
                AuthSent::TooLarge(cause) => {
                    return self.emit(Event::RenewalFailed { cause });
                }
                AuthSent::Nothing => {} // no credentials of its own: the refusal stands
            }
        }
        let disposition = self.protocol.auth_rejection(&error);
        self.end_connection(
            now,
            EndCause::AuthRejected(error),
            Some(disposition),
            Next::Policy,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(fraction: f64, margin: u64, min_delay: u64) -> LifetimeRenewal {
        LifetimeRenewal {
            fraction,
            margin: Duration::from_millis(margin),
            min_delay: Duration::from_millis(min_delay),
            ..LifetimeRenewal::default()
        }
    }

    #[test]
    fn the_delay_is_the_fraction_capped_by_the_margin_and_floored() {
        let ms = Duration::from_millis;
        let p = policy(0.8, 15_000, 1_000);
        assert_eq!(renewal_delay(&p, ms(900_000)), Some(ms(720_000)));
        // 0.8 × 60 s = 48 s, but 60 s − 15 s = 45 s comes first.
        assert_eq!(renewal_delay(&p, ms(60_000)), Some(ms(45_000)));
        // Shorter than the margin: as early as allowed.
        assert_eq!(renewal_delay(&p, ms(9_000)), Some(ms(1_000)));
        assert_eq!(renewal_delay(&p, ms(1)), Some(ms(1_000)));
        assert_eq!(renewal_delay(&p, Duration::ZERO), None);
    }

    #[test]
    fn huge_lifetimes_neither_panic_nor_wrap() {
        let p = policy(0.8, 15_000, 1_000);
        let huge = Duration::MAX;
        let d = renewal_delay(&p, huge).unwrap();
        assert!(d > Duration::from_secs(u64::MAX / 2), "{d:?}");
        assert_eq!(scaled(huge, 1.0), huge);
        let big = Duration::from_secs(1 << 40);
        assert!(scaled(big, 0.5) <= big);
    }
}
