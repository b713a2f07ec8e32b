//! The registry of wanted topics: insertion-ordered, without duplicates, with per-topic state.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use crate::protocol::{RequestId, TopicLookup};
use crate::topic::Topic;

/// Where one wanted topic stands on the current connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubscriptionStatus {
    /// Not (yet) requested on the current connection: it will be sent by the next resubscription or,
    /// while live, at once.
    Unsent,
    /// Requested; waiting for the server's answer, or, for a topic of a batch the server refused
    /// as a whole, waiting to be requested again on this connection (see
    /// [`Protocol`](crate::Protocol#request-level-rejections-of-a-batch)).
    Pending,
    /// Confirmed by the server (or sent, for protocols without acks).
    Active,
    /// Transiently refused; retried at the given time.
    RetryAt(Instant),
}

/// One wanted topic, as [`Session::subscriptions`](crate::Session::subscriptions) reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The topic.
    pub topic: Topic,
    /// Its state on the current connection.
    pub status: SubscriptionStatus,
    /// The last sequence number seen on it, across connections.
    pub last_seq: Option<u64>,
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    order: u64,
    pub(crate) status: SubscriptionStatus,
    pub(crate) request: Option<RequestId>,
    pub(crate) last_seq: Option<u64>,
    /// Consecutive transient rejections, for the per-topic retry backoff. Survives reconnects so
    /// that a topic the server keeps refusing backs off further each time.
    pub(crate) nacks: u32,
}

/// Topics of a refused subscribe request that must be requested again together, as one
/// request, on the current connection (the rest of a batch after attribution, or one half of a
/// bisected batch).
#[derive(Clone, Debug)]
struct Requeued {
    /// The refused request the topics still wait on: a topic whose entry no longer names it was
    /// unsubscribed (or the connection ended) meanwhile and is left out.
    refused: RequestId,
    topics: Vec<Topic>,
}

/// Topics in insertion order. `unsent` indexes the topics that still have to be requested on the
/// current connection, so that a paced resubscription of many topics costs O(log n) per batch.
/// `requeued` holds groups of topics to request again as they are, ahead of the unsent ones.
#[derive(Clone, Debug, Default)]
pub(crate) struct Registry {
    entries: crate::FixedHashMap<Topic, Entry>,
    order: BTreeMap<u64, Topic>,
    unsent: BTreeSet<u64>,
    requeued: VecDeque<Requeued>,
    next_order: u64,
    active: usize,
}

impl Registry {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Adds a topic as unsent; false when it was already wanted.
    pub(crate) fn insert(&mut self, topic: Topic, last_seq: Option<u64>) -> bool {
        if self.entries.contains_key(topic.as_str()) {
            return false;
        }
        let order = self.next_order;
        self.next_order += 1;
        self.order.insert(order, topic.clone());
        self.unsent.insert(order);
        self.entries.insert(
            topic,
            Entry {
                order,
                status: SubscriptionStatus::Unsent,
                request: None,
                last_seq,
                nacks: 0,
            },
        );
        true
    }

    /// Removes a topic; returns its entry.
    pub(crate) fn remove(&mut self, name: &str) -> Option<Entry> {
        let entry = self.entries.remove(name)?;
        self.order.remove(&entry.order);
        self.unsent.remove(&entry.order);
        if entry.status == SubscriptionStatus::Active {
            self.active -= 1;
        }
        Some(entry)
    }

    pub(crate) fn set_status(&mut self, name: &str, status: SubscriptionStatus) {
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        if entry.status == SubscriptionStatus::Active {
            self.active -= 1;
        }
        if entry.status == SubscriptionStatus::Unsent {
            self.unsent.remove(&entry.order);
        }
        entry.status = status;
        match status {
            SubscriptionStatus::Active => self.active += 1,
            SubscriptionStatus::Unsent => {
                self.unsent.insert(entry.order);
            }
            _ => {}
        }
        if status != SubscriptionStatus::Pending {
            entry.request = None;
        }
    }

    pub(crate) fn entry_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.entries.get_mut(name)
    }

    /// Marks up to `n` unsent topics pending under `request`, in insertion order, and returns
    /// them with their last sequence numbers.
    pub(crate) fn take_unsent(
        &mut self,
        n: usize,
        request: RequestId,
    ) -> Vec<(Topic, Option<u64>)> {
        let orders: Vec<u64> = self.unsent.iter().take(n).copied().collect();
        let mut taken = Vec::with_capacity(orders.len());
        for order in orders {
            self.unsent.remove(&order);
            let topic = self.order[&order].clone();
            let entry = self.entries.get_mut(topic.as_str()).expect("indexed topic");
            entry.status = SubscriptionStatus::Pending;
            entry.request = Some(request);
            taken.push((topic, entry.last_seq));
        }
        taken
    }

    pub(crate) fn has_unsent(&self) -> bool {
        !self.unsent.is_empty()
    }

    pub(crate) fn has_active(&self) -> bool {
        self.active > 0
    }

    /// After a connection ended: every topic must be requested again on the next one. Retry
    /// waits end too (the reconnect itself is backed off); rejection counts are kept.
    pub(crate) fn reset_for_new_connection(&mut self) {
        self.unsent.clear();
        self.requeued.clear();
        for entry in self.entries.values_mut() {
            entry.status = SubscriptionStatus::Unsent;
            entry.request = None;
            self.unsent.insert(entry.order);
        }
        self.active = 0;
    }

    /// Topics whose retry time has come go back to unsent; returns the earliest retry time left.
    pub(crate) fn release_due_retries(&mut self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for entry in self.entries.values_mut() {
            if let SubscriptionStatus::RetryAt(at) = entry.status {
                if at <= now {
                    entry.status = SubscriptionStatus::Unsent;
                    self.unsent.insert(entry.order);
                } else {
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
        }
        next
    }

    /// Every wanted topic in insertion order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Topic, &Entry)> + '_ {
        self.order
            .values()
            .map(move |t| (t, self.entries.get(t.as_str()).expect("indexed topic")))
    }

    /// Bytes this registry holds beyond its topics' names, for the bounded-memory soak.
    pub(crate) fn footprint(&self) -> usize {
        self.entries.capacity() + self.order.len() + self.unsent.len() + self.requeued.capacity()
    }

    /// Queues `topics`, which still wait on the refused request `refused` (status pending,
    /// `request == Some(refused)`), to be requested again together. They stay pending meanwhile.
    pub(crate) fn requeue(&mut self, refused: RequestId, topics: Vec<Topic>) {
        if !topics.is_empty() {
            self.requeued.push_back(Requeued { refused, topics });
        }
    }

    /// Whether a requeued topic still waits to be requested again.
    pub(crate) fn has_requeued(&self) -> bool {
        self.requeued.iter().any(|group| {
            group
                .topics
                .iter()
                .any(|t| self.still_refused(t, group.refused))
        })
    }

    /// Takes the oldest requeued group that still has topics waiting, marks them pending under
    /// `request`, and returns them with their last sequence numbers. Topics unsubscribed since
    /// (or subscribed again, as a new want) are left out: a re-request never resurrects them.
    pub(crate) fn take_requeued(&mut self, request: RequestId) -> Vec<(Topic, Option<u64>)> {
        while let Some(group) = self.requeued.pop_front() {
            let mut taken = Vec::with_capacity(group.topics.len());
            for topic in group.topics {
                if !self.still_refused(&topic, group.refused) {
                    continue;
                }
                let entry = self.entries.get_mut(topic.as_str()).expect("checked above");
                entry.request = Some(request);
                taken.push((topic, entry.last_seq));
            }
            if !taken.is_empty() {
                return taken;
            }
        }
        Vec::new()
    }

    fn still_refused(&self, topic: &Topic, refused: RequestId) -> bool {
        self.entries
            .get(topic.as_str())
            .is_some_and(|e| e.status == SubscriptionStatus::Pending && e.request == Some(refused))
    }
}

impl TopicLookup for Registry {
    fn find(&self, name: &str) -> Option<Topic> {
        self.entries.get_key_value(name).map(|(t, _)| t.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insertion_ordered_without_duplicates() {
        let mut r = Registry::default();
        assert!(r.insert("b".into(), None));
        assert!(r.insert("a".into(), Some(4)));
        assert!(!r.insert("b".into(), None));
        let names: Vec<_> = r.iter().map(|(t, _)| t.as_str().to_owned()).collect();
        assert_eq!(names, ["b", "a"]);
        let taken = r.take_unsent(10, RequestId(1));
        assert_eq!(taken, vec![("b".into(), None), ("a".into(), Some(4))]);
        assert!(!r.has_unsent());
        r.remove("b");
        r.reset_for_new_connection();
        let taken = r.take_unsent(10, RequestId(2));
        assert_eq!(taken, vec![("a".into(), Some(4))]);
    }

    #[test]
    fn active_count_follows_status_changes() {
        let mut r = Registry::default();
        r.insert("x".into(), None);
        r.set_status("x", SubscriptionStatus::Active);
        assert!(r.has_active());
        r.remove("x");
        assert!(!r.has_active());
    }
}
