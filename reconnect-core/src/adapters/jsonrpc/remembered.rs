//! The channels each in-flight subscribe or unsubscribe request carried, so that its answer can
//! tell which of them the server left out.

use std::collections::BTreeMap;

use crate::topic::Topic;

/// Request id → channels, bounded.
///
/// It cannot grow without bound, whatever the server does:
/// - an entry leaves when the answer to its request is classified (ack or error);
/// - the adapter clears it when the session asks for a connection's first setup request, which
///   happens once per connection before any subscription of that connection is sent, so the
///   requests of a dead connection (never to be answered) do not outlive it;
/// - it never holds more than `capacity` entries: inserting beyond that forgets the oldest
///   request (the smallest id: the session's ids only grow), which is the one the session has
///   most likely given up on already. Its answer, should it still come, confirms every channel.
#[derive(Clone, Debug)]
pub(super) struct Remembered {
    by_id: BTreeMap<u64, Vec<Topic>>,
    capacity: usize,
}

impl Remembered {
    pub(super) fn new(capacity: usize) -> Self {
        Remembered {
            by_id: BTreeMap::new(),
            capacity: capacity.max(1),
        }
    }

    pub(super) fn insert(&mut self, id: u64, channels: Vec<Topic>) {
        while self.by_id.len() >= self.capacity {
            self.by_id.pop_first();
        }
        self.by_id.insert(id, channels);
    }

    pub(super) fn take(&mut self, id: u64) -> Option<Vec<Topic>> {
        self.by_id.remove(&id)
    }

    pub(super) fn clear(&mut self) {
        self.by_id.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_oldest_beyond_capacity() {
        let mut r = Remembered::new(2);
        r.insert(1, vec![Topic::new("a")]);
        r.insert(2, vec![Topic::new("b")]);
        r.insert(3, vec![Topic::new("c")]);
        assert_eq!(r.len(), 2);
        assert_eq!(r.take(1), None);
        assert_eq!(r.take(3), Some(vec![Topic::new("c")]));
        assert_eq!(r.take(3), None, "taken once");
        r.clear();
        assert_eq!(r.take(2), None);
        assert_eq!(Remembered::new(0).capacity, 1);
    }
}
