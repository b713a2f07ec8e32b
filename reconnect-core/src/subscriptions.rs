//! The registry of wanted topics: insertion-ordered, without duplicates, with per-topic state.

use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use crate::protocol::{RequestId, TopicLookup};
use crate::staleness::{later, Stale, StaleQueue, Watch};
use crate::subscribe_options::ResyncReason;
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
    pub(crate) topic: Topic,
    order: u64,
    pub(crate) status: SubscriptionStatus,
    pub(crate) request: Option<RequestId>,
    pub(crate) last_seq: Option<u64>,
    /// Consecutive transient rejections, for the per-topic retry backoff. Survives reconnects so
    /// that a topic the server keeps refusing backs off further each time.
    pub(crate) nacks: u32,
    /// Staleness and repair.
    pub(crate) watch: Watch,
}

/// Topics of a refused subscribe request that must be requested again together, as one
/// request, on the current connection (the rest of a batch after attribution, or one half of a
/// bisected batch).
#[derive(Clone, Debug)]
struct Requeued {
    /// The request the topics still wait on (refused, or never sent: its frame was too large
    /// to write): a topic whose entry no longer names it was unsubscribed (or the connection
    /// ended) meanwhile and is left out.
    refused: RequestId,
    topics: Vec<Topic>,
}

/// Topics in insertion order. Entries live in slots (`entries`, reused through `free`), found by
/// name through `index`; a data frame's topic is looked up once, by the adapter through
/// [`Recorder`], which remembers the slot for the sequence check. `unsent` indexes the topics
/// that still have to be requested on the current connection, so that a paced resubscription
/// of many topics costs O(log n) per batch. `requeued` holds groups of topics to request again
/// as they are, ahead of the unsent ones.
#[derive(Clone, Debug, Default)]
pub(crate) struct Registry {
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
    index: crate::FixedHashMap<Topic, u32>,
    /// Insertion order to slot.
    order: BTreeMap<u64, u32>,
    /// The unsent topics: insertion order to slot, so taking the next ones needs no other
    /// lookup.
    unsent: BTreeMap<u64, u32>,
    requeued: VecDeque<Requeued>,
    next_order: u64,
    active: usize,
    /// The deadlines of watched topics (see [`crate::staleness`]).
    stale: StaleQueue,
}

impl Registry {
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    fn slot(&self, name: &str) -> Option<usize> {
        self.index.get(name).map(|&slot| slot as usize)
    }

    fn get(&self, name: &str) -> Option<&Entry> {
        self.entries[self.slot(name)?].as_ref()
    }

    /// Adds a topic as unsent, unwatched; false when it was already wanted. (The session
    /// always says how to watch a topic: only the unit tests want the short form.)
    #[cfg(test)]
    pub(crate) fn insert(&mut self, topic: Topic, last_seq: Option<u64>) -> bool {
        self.insert_watched(topic, last_seq, Watch::default())
    }

    /// Adds a topic as unsent, with its staleness and gap settings; false when it was already
    /// wanted (its settings are left as they were).
    pub(crate) fn insert_watched(
        &mut self,
        topic: Topic,
        last_seq: Option<u64>,
        watch: Watch,
    ) -> bool {
        if self.index.contains_key(topic.as_str()) {
            return false;
        }
        let order = self.next_order;
        self.next_order += 1;
        let entry = Entry {
            topic: topic.clone(),
            order,
            status: SubscriptionStatus::Unsent,
            request: None,
            last_seq,
            nacks: 0,
            watch,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.entries[slot as usize] = Some(entry);
                slot
            }
            None => {
                self.entries.push(Some(entry));
                u32::try_from(self.entries.len() - 1).expect("fewer than 2^32 topics")
            }
        };
        self.order.insert(order, slot);
        self.unsent.insert(order, slot);
        self.index.insert(topic, slot);
        true
    }

    /// Removes a topic; returns its entry.
    pub(crate) fn remove(&mut self, name: &str) -> Option<Entry> {
        let slot = self.index.remove(name)?;
        let entry = self.entries[slot as usize].take().expect("indexed slot");
        self.free.push(slot);
        self.order.remove(&entry.order);
        self.unsent.remove(&entry.order);
        if entry.status == SubscriptionStatus::Active {
            self.active -= 1;
        }
        if entry.watch.queued {
            let entries = &self.entries;
            self.stale.forget_one(|order, slot| {
                entries[slot as usize]
                    .as_ref()
                    .is_some_and(|e| e.order == order)
            });
        }
        Some(entry)
    }

    pub(crate) fn set_status(&mut self, name: &str, status: SubscriptionStatus) {
        if let Some(slot) = self.slot(name) {
            self.set_status_at(slot, status);
        }
    }

    /// Marks a topic confirmed at `now` (its rejection count starts over, its staleness
    /// window restarts, and a watched topic gets its one entry in the deadline queue). `None`
    /// when it is not wanted (any more); otherwise why it was being re-subscribed on the live
    /// connection, if it was. One lookup.
    pub(crate) fn activate(&mut self, name: &str, now: Instant) -> Option<Option<ResyncReason>> {
        let slot = self.slot(name)?;
        self.set_status_at(slot, SubscriptionStatus::Active);
        let entry = self.entries[slot].as_mut()?;
        entry.nacks = 0;
        let watch = &mut entry.watch;
        watch.confirmed_at = Some(now);
        if let (Some(after), false) = (watch.stale_after, watch.queued) {
            watch.queued = true;
            self.stale.push(later(now, after), entry.order, slot as u32);
        }
        Some(watch.repairing.take())
    }

    /// The earliest staleness deadline queued (possibly early: data may have come since).
    pub(crate) fn next_stale_check(&self) -> Option<Instant> {
        self.stale.next()
    }

    /// Checks every queued staleness deadline due at `now` on a connection live since
    /// `live_since` whose last inbound frame (of any kind) arrived at `last_inbound`. A topic
    /// whose real deadline is later goes back into the queue at it; one whose window passed
    /// with other traffic on the connection is stale (returned, and queued again one window
    /// later); one that is not confirmed (being re-subscribed, or gone) leaves the queue until
    /// it is confirmed again. A window in which nothing at all arrived is not the topic's fault
    /// and is checked again one window later.
    pub(crate) fn due_stale(
        &mut self,
        now: Instant,
        live_since: Instant,
        last_inbound: Option<Instant>,
    ) -> Vec<Stale> {
        let mut stale = Vec::new();
        while let Some((order, slot)) = self.stale.pop_due(now) {
            let Some(entry) = self.entries[slot as usize]
                .as_mut()
                .filter(|e| e.order == order)
            else {
                // Unsubscribed since; its slot may hold another topic now.
                self.stale.dropped_dead();
                continue;
            };
            let watch = &mut entry.watch;
            let Some(after) = watch
                .stale_after
                .filter(|_| entry.status == SubscriptionStatus::Active)
            else {
                watch.queued = false;
                continue;
            };
            let quiet = [watch.last_data, watch.confirmed_at, Some(live_since)]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(live_since);
            let deadline = later(quiet, after);
            if deadline > now {
                self.stale.push(deadline, order, slot);
                continue;
            }
            self.stale.push(later(now, after), order, slot);
            if last_inbound.is_none_or(|t| t <= quiet) {
                continue;
            }
            let consecutive = watch
                .last_stale
                .is_some_and(|at| watch.last_data.is_none_or(|data| data <= at));
            watch.stale_times = if consecutive {
                watch.stale_times.saturating_add(1)
            } else {
                1
            };
            watch.last_stale = Some(now);
            stale.push(Stale {
                topic: entry.topic.clone(),
                silent_for: now.saturating_duration_since(quiet),
                times: watch.stale_times,
            });
        }
        stale
    }

    fn set_status_at(&mut self, slot: usize, status: SubscriptionStatus) {
        let Some(entry) = self.entries[slot].as_mut() else {
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
                self.unsent.insert(entry.order, slot as u32);
            }
            _ => {}
        }
        if status != SubscriptionStatus::Pending {
            entry.request = None;
        }
    }

    pub(crate) fn entry_mut(&mut self, name: &str) -> Option<&mut Entry> {
        let slot = self.slot(name)?;
        self.entries[slot].as_mut()
    }

    /// The entry of `topic`, using the slot a [`Recorder`] found it in when `hit` is that
    /// find's (the same `Arc` as the registry's key, still the key in that slot), else looking
    /// it up by name.
    pub(crate) fn entry_for(&mut self, topic: &Topic, hit: Option<Hit>) -> Option<&mut Entry> {
        let key = topic.key_ptr();
        match hit {
            Some(hit)
                if hit.key == key
                    && self
                        .entries
                        .get(hit.slot as usize)
                        .and_then(Option::as_ref)
                        .is_some_and(|e| e.topic.key_ptr() == key) =>
            {
                self.entries[hit.slot as usize].as_mut()
            }
            _ => self.entry_mut(topic.as_str()),
        }
    }

    /// Marks up to `n` unsent topics pending under `request`, in insertion order, and returns
    /// them with their last sequence numbers.
    pub(crate) fn take_unsent(
        &mut self,
        n: usize,
        request: RequestId,
    ) -> Vec<(Topic, Option<u64>)> {
        let mut taken = Vec::with_capacity(n.min(self.unsent.len()));
        while taken.len() < n {
            let Some((_, slot)) = self.unsent.pop_first() else {
                break;
            };
            let entry = self.entries[slot as usize].as_mut().expect("indexed topic");
            entry.status = SubscriptionStatus::Pending;
            entry.request = Some(request);
            taken.push((entry.topic.clone(), entry.last_seq));
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
        self.requeued.clear();
        for entry in self.entries.iter_mut().flatten() {
            entry.status = SubscriptionStatus::Unsent;
            entry.request = None;
            entry.watch.repairing = None;
        }
        // Every topic, in order: built in bulk from the sorted order index (one pass), not
        // inserted one by one.
        self.unsent = self.order.iter().map(|(&o, &slot)| (o, slot)).collect();
        self.active = 0;
    }

    /// Topics whose retry time has come go back to unsent; returns the earliest retry time left.
    pub(crate) fn release_due_retries(&mut self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for (slot, entry) in self.entries.iter_mut().enumerate() {
            let Some(entry) = entry else {
                continue;
            };
            if let SubscriptionStatus::RetryAt(at) = entry.status {
                if at <= now {
                    entry.status = SubscriptionStatus::Unsent;
                    self.unsent.insert(entry.order, slot as u32);
                } else {
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
        }
        next
    }

    /// Every wanted topic in insertion order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Topic, &Entry)> + '_ {
        self.order.values().map(move |&slot| {
            let entry = self.entries[slot as usize].as_ref().expect("indexed topic");
            (&entry.topic, entry)
        })
    }

    /// Bytes this registry holds beyond its topics' names, for the bounded-memory soak.
    #[cfg(feature = "sim")]
    pub(crate) fn footprint(&self) -> usize {
        self.entries.capacity()
            + self.free.capacity()
            + self.index.capacity()
            + self.order.len()
            + self.unsent.len()
            + self.requeued.capacity()
            + self.stale.footprint()
    }

    /// Queues `topics`, which still wait on the refused request `refused` (status pending,
    /// `request == Some(refused)`), to be requested again together. They stay pending meanwhile.
    pub(crate) fn requeue(&mut self, refused: RequestId, topics: Vec<Topic>) {
        if !topics.is_empty() {
            self.requeued.push_back(Requeued { refused, topics });
        }
    }

    /// Puts `topics`, pending under the unsent request `request`, before every other group,
    /// to be taken next (under that id again): a subscribe frame too large to write, split.
    pub(crate) fn requeue_next(&mut self, request: RequestId, topics: Vec<Topic>) {
        if !topics.is_empty() {
            self.requeued.push_front(Requeued {
                refused: request,
                topics,
            });
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
                let entry = self.entry_mut(topic.as_str()).expect("checked above");
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
        self.get(topic.as_str())
            .is_some_and(|e| e.status == SubscriptionStatus::Pending && e.request == Some(refused))
    }
}

impl TopicLookup for Registry {
    fn find(&self, name: &str) -> Option<Topic> {
        self.index.get_key_value(name).map(|(t, _)| t.clone())
    }
}

/// Where a [`Recorder`] found a topic: the registry key's identity and its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    key: *const u8,
    slot: u32,
}

/// The registry as the adapter's [`TopicLookup`] during one `classify`: it remembers where the
/// last topic it found lives, so that the session's sequence check of a data frame uses that
/// slot instead of looking the name up again (one hash lookup per data frame, the adapter's).
pub(crate) struct Recorder<'a> {
    registry: &'a Registry,
    hit: Cell<Option<Hit>>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(registry: &'a Registry) -> Self {
        Recorder {
            registry,
            hit: Cell::new(None),
        }
    }

    /// The last topic found. Valid for the registry only until it next changes: the session
    /// uses it right after `classify`, before anything else touches the registry.
    pub(crate) fn hit(&self) -> Option<Hit> {
        self.hit.get()
    }
}

impl TopicLookup for Recorder<'_> {
    fn find(&self, name: &str) -> Option<Topic> {
        let (topic, &slot) = self.registry.index.get_key_value(name)?;
        self.hit.set(Some(Hit {
            key: topic.key_ptr(),
            slot,
        }));
        Some(topic.clone())
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

    /// The slot a recorder found is used only for the very topic it found; any other topic
    /// (an earlier find, or one the adapter made itself) is looked up by name, and a freed
    /// slot reused by another topic never answers for the old one.
    #[test]
    fn a_recorded_find_answers_only_for_the_topic_it_found() {
        let mut r = Registry::default();
        r.insert("a".into(), Some(1));
        r.insert("b".into(), Some(2));
        let (a, b, hit) = {
            let lookup = Recorder::new(&r);
            assert_eq!(lookup.hit(), None);
            assert_eq!(lookup.find("zz"), None);
            assert_eq!(lookup.hit(), None, "a miss records nothing");
            let a = lookup.find("a").unwrap();
            let b = lookup.find("b").unwrap();
            (a, b, lookup.hit())
        };
        assert_eq!(r.entry_for(&b, hit).unwrap().last_seq, Some(2));
        // The hit is b's: a (found earlier) and a topic made apart are found by name.
        assert_eq!(r.entry_for(&a, hit).unwrap().last_seq, Some(1));
        assert_eq!(
            r.entry_for(&Topic::new("b"), hit).unwrap().last_seq,
            Some(2)
        );
        assert_eq!(
            r.entry_for(&Topic::new("a"), hit).unwrap().last_seq,
            Some(1)
        );
        // b leaves; c takes its slot. The old hit named b's key, so it cannot answer for c,
        // and b is gone.
        r.remove("b");
        r.insert("c".into(), Some(3));
        assert!(r.entry_for(&b, hit).is_none());
        assert_eq!(
            r.entry_for(&Topic::new("c"), hit).unwrap().last_seq,
            Some(3)
        );
        let names: Vec<_> = r.iter().map(|(t, _)| t.as_str().to_owned()).collect();
        assert_eq!(names, ["a", "c"]);
    }

    #[test]
    fn subscribing_and_unsubscribing_in_a_loop_keeps_the_deadline_queue_small() {
        let t0 = Instant::now();
        let hour = std::time::Duration::from_secs(3_600);
        let watched = || Watch {
            stale_after: Some(hour),
            ..Watch::default()
        };
        let mut r = Registry::default();
        r.insert_watched("keep".into(), None, watched());
        r.activate("keep", t0);
        for _ in 0..1_000 {
            r.insert_watched("churn".into(), None, watched());
            r.activate("churn", t0);
            r.remove("churn");
            // "keep", at most one dead entry, and the one just added before the sweep.
            assert!(r.stale.len() <= 3, "{}", r.stale.len());
        }
        // The survivor is still watched: an hour later, with other traffic, it is stale.
        let later = t0 + hour;
        let stale = r.due_stale(later, t0, Some(later));
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].topic.as_str(), "keep");
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
