//! Exactly the wanted subscriptions restored after every reconnect: at `Live`, every topic the
//! application wanted all along is confirmed on the new connection (or waits to retry after a
//! transient refusal); a topic it does not want is never confirmed; and, where the simulated
//! server can say what it holds, the server holds every confirmed topic and nothing unwanted.

use std::collections::BTreeSet;
use std::time::Duration;

use super::connections::Connections;
use super::{Call, Checked, Ctx, Invariant, Violation};
use crate::boundary::{Action, Event, Output};
use crate::command::Command;
use crate::conn_id::ConnId;

#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    /// The wanted topics, in subscription order.
    wanted: Vec<String>,
    /// Wanted both before and after the current call.
    required: BTreeSet<String>,
    /// Wanted before or after the current call.
    allowed: BTreeSet<String>,
    /// The transport the sets below describe.
    conn: Option<ConnId>,
    /// Confirmed on it.
    confirmed: BTreeSet<String>,
    /// Transiently refused on it, to be retried.
    retrying: BTreeSet<String>,
    /// No longer wanted since it connected (a server may still hold them if the protocol
    /// cannot unsubscribe).
    dropped: BTreeSet<String>,
}

impl Subscriptions {
    pub(crate) fn wanted(&self) -> &[String] {
        &self.wanted
    }

    pub(crate) fn want(&mut self, topic: &str) {
        if !self.wanted.iter().any(|t| t == topic) {
            self.wanted.push(topic.to_owned());
        }
    }

    fn is_wanted(&self, topic: &str) -> bool {
        self.wanted.iter().any(|t| t == topic)
    }

    fn unwant(&mut self, topic: &str) {
        self.wanted.retain(|t| t != topic);
        self.required.remove(topic);
        self.confirmed.remove(topic);
        self.retrying.remove(topic);
        self.dropped.insert(topic.to_owned());
    }

    pub(crate) fn begin(&mut self, ctx: &Ctx<'_>) {
        let before: BTreeSet<String> = self.wanted.iter().cloned().collect();
        // Subscribing a wanted topic, or unsubscribing one not wanted, changes nothing.
        match ctx.call {
            // Options change how a topic is watched on the live connection, not whether it
            // is wanted.
            Call::Command(Command::Subscribe(topic) | Command::SubscribeWith(topic, _)) => {
                self.want(topic.as_str())
            }
            Call::Command(Command::Unsubscribe(topic)) if self.is_wanted(topic.as_str()) => {
                self.unwant(topic.as_str());
            }
            _ => {}
        }
        let after: BTreeSet<String> = self.wanted.iter().cloned().collect();
        self.required = before.intersection(&after).cloned().collect();
        self.allowed = before.union(&after).cloned().collect();
    }

    pub(crate) fn output(
        &mut self,
        ctx: &Ctx<'_>,
        output: &Output,
        conns: &Connections,
    ) -> Checked {
        match output {
            Output::Action(Action::Connect { conn, .. }) => {
                self.conn = Some(*conn);
                self.confirmed.clear();
                self.retrying.clear();
                self.dropped.clear();
            }
            Output::Event(Event::Subscribed { conn, topic }) => {
                if !self.allowed.contains(topic.as_str()) {
                    return Err(ctx.fail(
                        Invariant::Resubscribe,
                        format!("{topic:?} confirmed on {conn:?}, but it is not wanted"),
                    ));
                }
                if self.conn != Some(*conn) {
                    return Err(ctx.fail(
                        Invariant::Resubscribe,
                        format!(
                            "{topic:?} confirmed on {conn:?}, which is not the transport in flight"
                        ),
                    ));
                }
                self.confirmed.insert(topic.as_str().to_owned());
                self.retrying.remove(topic.as_str());
            }
            Output::Event(Event::Unsubscribed { topic, .. }) => {
                self.confirmed.remove(topic.as_str());
            }
            Output::Event(Event::SubscribeRejected {
                topic, retry_in, ..
            }) => match retry_in {
                Some(_) => {
                    self.confirmed.remove(topic.as_str());
                    self.retrying.insert(topic.as_str().to_owned());
                }
                None => self.unwant(topic.as_str()),
            },
            Output::Event(Event::Live { conn, .. }) => {
                debug_assert!(conns.live_on(*conn));
                let missing: Vec<&String> = self
                    .required
                    .iter()
                    .filter(|t| !self.confirmed.contains(*t) && !self.retrying.contains(*t))
                    .collect();
                if !missing.is_empty() {
                    return Err(ctx.fail(
                        Invariant::Resubscribe,
                        format!(
                            "Live {conn:?} without restoring {missing:?} (confirmed {:?}, wanted {:?})",
                            self.confirmed, self.wanted
                        ),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Nothing to check at the end of a call yet; the sets for the next call are built then.
    pub(crate) fn end(&mut self, _ctx: &Ctx<'_>, _conns: &Connections) -> Checked {
        Ok(())
    }

    pub(crate) fn wire(
        &self,
        step: u64,
        at: Duration,
        conn: ConnId,
        server: &[String],
        conns: &Connections,
    ) -> Checked {
        if self.conn != Some(conn) || !conns.live_on(conn) {
            return Ok(());
        }
        let fail = |evidence: String| Err(Violation::new(step, at, Invariant::Wire, evidence));
        let held: BTreeSet<&str> = server.iter().map(String::as_str).collect();
        let lost: Vec<&String> = self
            .confirmed
            .iter()
            .filter(|t| self.wanted.contains(t) && !held.contains(t.as_str()))
            .collect();
        if !lost.is_empty() {
            return fail(format!(
                "the session confirmed {lost:?} on {conn:?}, but the server holds only {server:?}"
            ));
        }
        let unwanted: Vec<&&str> = held
            .iter()
            .filter(|t| !self.wanted.iter().any(|w| w == **t) && !self.dropped.contains(**t))
            .collect();
        if !unwanted.is_empty() {
            return fail(format!(
                "the server holds {unwanted:?} on {conn:?}, which the application does not want \
                 (wanted {:?})",
                self.wanted
            ));
        }
        Ok(())
    }
}
