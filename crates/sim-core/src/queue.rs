//! The event queue: a priority queue ordered by `(time, seq)`.
//!
//! `seq` is a counter assigned at push time, so two events scheduled for the
//! same nanosecond pop in the order they were scheduled. This makes the order
//! of simultaneous events a pure function of the simulation's history, which is
//! what makes a run reproducible byte for byte.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

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

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        self.at_ns == other.at_ns && self.seq == other.seq
    }
}
impl<E> Eq for Scheduled<E> {}
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Scheduled<E> {
    // Reversed so that `BinaryHeap` (a max-heap) pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .at_ns
            .cmp(&self.at_ns)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A deterministic discrete-event queue.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Scheduled<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `event` at `at_ns`; returns the sequence number it was given.
    pub fn push(&mut self, at_ns: u64, event: E) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Scheduled { at_ns, seq, event });
        seq
    }

    /// Removes and returns the earliest event (lowest `(time, seq)`).
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        self.heap.pop()
    }

    /// Removes and returns the earliest event if it fires at `at_ns`.
    pub fn pop_at(&mut self, at_ns: u64) -> Option<Scheduled<E>> {
        if self.peek_time_ns() == Some(at_ns) {
            self.heap.pop()
        } else {
            None
        }
    }

    /// Puts back an event taken out with [`EventQueue::pop`], keeping its
    /// place among events at the same time.
    pub fn requeue(&mut self, scheduled: Scheduled<E>) {
        debug_assert!(scheduled.seq < self.next_seq, "not from this queue");
        self.heap.push(scheduled);
    }

    /// The firing time of the earliest event, if any.
    pub fn peek_time_ns(&self) -> Option<u64> {
        self.heap.peek().map(|s| s.at_ns)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
