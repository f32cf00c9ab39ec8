//! The event queue: a priority queue ordered by `(time, seq)`.
//!
//! `seq` is a counter assigned at push time, so two events scheduled for the
//! same nanosecond pop in the order they were scheduled. This makes the order
//! of simultaneous events a pure function of the simulation's history, which is
//! what makes a run reproducible byte for byte.
//!
//! Layout: a binary min-heap in a `Vec`, compared on one `u128` key
//! (`at_ns` in the high half, `seq` in the low half, so the key order is the
//! `(time, seq)` order). Keys are unique (every push takes a new `seq`), so
//! any correct heap pops the same sequence; this one is hand-written because
//! a simulation's queue is small (one pending event per M, plus sysmon's and
//! superseded ones) and popping it is on every event's path: one compare per
//! level, and a hole moved down rather than elements swapped.

/// An event waiting in the queue with its firing time.
#[derive(Clone, Debug)]
pub struct Scheduled<E> {
    /// When the event fires, in virtual nanoseconds.
    pub at_ns: u64,
    /// Tie-breaker: the push order among events at the same time.
    pub seq: u64,
    /// What happens.
    pub event: E,
}

/// A heap slot: the event and its sort key, `(at_ns, seq)` as one number.
#[derive(Clone, Copy, Debug)]
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> Entry<E> {
    fn new(at_ns: u64, seq: u64, event: E) -> Self {
        Entry {
            key: (u128::from(at_ns) << 64) | u128::from(seq),
            event,
        }
    }

    fn at_ns(&self) -> u64 {
        (self.key >> 64) as u64
    }

    fn into_scheduled(self) -> Scheduled<E> {
        Scheduled {
            at_ns: self.at_ns(),
            seq: self.key as u64,
            event: self.event,
        }
    }
}

/// A deterministic discrete-event queue.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    /// A min-heap on `Entry::key`: `heap[i]` is no later than its children
    /// `heap[2i + 1]` and `heap[2i + 2]`.
    heap: Vec<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: Vec::new(),
            next_seq: 0,
        }
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `event` at `at_ns`; returns the sequence number it was given.
    pub fn push(&mut self, at_ns: u64, event: E) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.insert(Entry::new(at_ns, seq, event));
        seq
    }

    /// Removes and returns the earliest event (lowest `(time, seq)`).
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some(last.into_scheduled());
        }
        let first = self.heap[0];
        self.sink_into_root(last);
        Some(first.into_scheduled())
    }

    /// Removes and returns the earliest event if it fires at `at_ns`.
    pub fn pop_at(&mut self, at_ns: u64) -> Option<Scheduled<E>> {
        if self.peek_time_ns() == Some(at_ns) {
            self.pop()
        } else {
            None
        }
    }

    /// Puts back an event taken out with [`EventQueue::pop`], keeping its
    /// place among events at the same time.
    pub fn requeue(&mut self, scheduled: Scheduled<E>) {
        debug_assert!(scheduled.seq < self.next_seq, "not from this queue");
        self.insert(Entry::new(scheduled.at_ns, scheduled.seq, scheduled.event));
    }

    /// The firing time of the earliest event, if any.
    pub fn peek_time_ns(&self) -> Option<u64> {
        self.heap.first().map(Entry::at_ns)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Adds `item`: from a hole at the bottom, later parents move down
    /// until the hole is where `item` belongs.
    fn insert(&mut self, item: Entry<E>) {
        let mut hole = self.heap.len();
        self.heap.push(item);
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if self.heap[parent].key <= item.key {
                break;
            }
            self.heap[hole] = self.heap[parent];
            hole = parent;
        }
        self.heap[hole] = item;
    }

    /// Puts `item` in the root's place: from a hole at the root, earlier
    /// children move up until the hole is where `item` belongs.
    fn sink_into_root(&mut self, item: Entry<E>) {
        let len = self.heap.len();
        let mut hole = 0;
        loop {
            let left = 2 * hole + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && self.heap[right].key < self.heap[left].key {
                right
            } else {
                left
            };
            if item.key <= self.heap[child].key {
                break;
            }
            self.heap[hole] = self.heap[child];
            hole = child;
        }
        self.heap[hole] = item;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_requeued_event_keeps_its_place_among_simultaneous_ones() {
        let mut q = EventQueue::new();
        q.push(10, "a");
        q.push(10, "b");
        q.push(20, "c");
        let a = q.pop().unwrap();
        let b = q.pop_at(10).unwrap();
        assert!(q.pop_at(10).is_none(), "c is later");
        q.requeue(a);
        q.push(10, "d");
        q.requeue(b);
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|s| s.event)).collect();
        assert_eq!(order, vec!["a", "b", "d", "c"]);
    }

    #[test]
    fn simultaneous_events_pop_in_push_order() {
        let mut q = EventQueue::new();
        q.push(10, "b");
        q.push(5, "a");
        q.push(10, "c");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|s| s.event)).collect();
        assert_eq!(order, vec!["a", "b", "c"]);
    }

    proptest! {
        #[test]
        fn pops_are_sorted_by_time_then_push_order(times in proptest::collection::vec(0u64..50, 0..200)) {
            let mut q = EventQueue::new();
            for (i, t) in times.iter().enumerate() {
                q.push(*t, i);
            }
            let mut last: Option<(u64, usize)> = None;
            while let Some(s) = q.pop() {
                if let Some(prev) = last {
                    prop_assert!(prev < (s.at_ns, s.event));
                }
                last = Some((s.at_ns, s.event));
            }
        }
    }
}
