//! Allocation loops advance in batches without losing an observation: they
//! stop at the exact allocation that reaches the trigger and before the one
//! that needs an assist, and a batch of N leaves the same state as N steps.

mod common;

use common::{new_gc, stw};
use sim_core::ids::{Goid, PId};
use sim_gc::{
    AllocLoopOutcome, AssistOutcome, Gc, GcTrigger, LoopStop, NewRing, ObjectShape, ParkAssist,
    RingId,
};

const G: Goid = Goid(1);
const P0: PId = PId(0);

/// `alloc_loop` again and again while it stops only because a span needed
/// the OS (`Completed` with objects left), as the scheduler runs batch after
/// batch: the sum of what those batches did.
fn alloc_until_stop(
    gc: &mut Gc,
    r: RingId,
    shape: ObjectShape,
    link: bool,
    max_count: u64,
) -> AllocLoopOutcome {
    let mut sum = AllocLoopOutcome::default();
    loop {
        let out = gc.alloc_loop(P0, G, r, shape, link, max_count - sum.allocated);
        sum.allocated += out.allocated;
        sum.slot_bytes += out.slot_bytes;
        sum.requested_bytes += out.requested_bytes;
        sum.spans_refilled += out.spans_refilled;
        sum.sweep.add(out.sweep);
        sum.stop = out.stop;
        if out.stop != Some(LoopStop::Completed) || sum.allocated == max_count {
            return sum;
        }
    }
}

fn ring(gc: &mut Gc, capacity: u32) -> RingId {
    match gc.new_ring(P0, G, capacity) {
        NewRing::Created { ring, .. } => ring,
        NewRing::AssistNeeded => panic!("no GC running"),
    }
}

#[test]
fn a_batch_stops_at_the_allocation_whose_refill_reaches_the_trigger() {
    let mut gc = new_gc(1, 100);
    gc.goroutine_created(G, 512);
    let r = ring(&mut gc, 0);
    // Start-up trigger: 61/64 × 4 MiB = 3997696 = 488 spans of 8 KiB. The
    // 488th span is taken by allocation 487 × 124 + 1 (124 pointerful
    // 64-byte objects per span).
    let (trigger, _) = gc.trigger_and_goal();
    assert_eq!(trigger, 3_997_696);
    let out = alloc_until_stop(
        &mut gc,
        r,
        ObjectShape::with_pointers(64, 1),
        false,
        1_000_000,
    );
    assert_eq!(out.stop, Some(LoopStop::GcTriggered));
    assert_eq!(out.allocated, 487 * 124 + 1);
    assert_eq!(out.spans_refilled, 488);
    assert_eq!(gc.pacer.heap_live_bytes, 3_997_696);
    assert!(gc.trigger_test(GcTrigger::Heap));
}

fn fingerprint(gc: &Gc) -> String {
    format!(
        "{:?} {:?} {:?} {:?}",
        gc.heap.mem_stats(),
        gc.pacer,
        gc.heap.class_occupancy(),
        gc.roots()
    )
}

/// Runs the loop in chunks of the given sizes until `total` objects are done,
/// starting and finishing a GC cycle wherever the loop asks for one.
fn run_in_chunks(gc: &mut Gc, r: RingId, total: u64, chunks: &[u64]) -> Vec<(u64, LoopStop)> {
    let shape = ObjectShape::with_pointers(48, 1);
    let mut done = 0;
    let mut stops = Vec::new();
    let mut i = 0;
    let mut now = 1_000_000;
    while done < total {
        let want = chunks[i % chunks.len()].min(total - done);
        i += 1;
        let out = gc.alloc_loop(P0, G, r, shape, true, want);
        done += out.allocated;
        if out.stop == Some(LoopStop::GcTriggered) {
            stops.push((done, LoopStop::GcTriggered));
            now += 1_000_000;
            common::run_cycle(gc, now, GcTrigger::Heap).expect("trigger holds");
        }
    }
    stops
}

#[test]
fn a_batch_of_n_leaves_the_same_state_as_n_single_steps() {
    let mut base = new_gc(1, 100);
    base.goroutine_created(G, 512);
    let r = ring(&mut base, 5000);
    let total = 250_000;
    let mut whole = base.clone();
    let stops_whole = run_in_chunks(&mut whole, r, total, &[u64::MAX]);
    let mut odd = base.clone();
    let stops_odd = run_in_chunks(&mut odd, r, total, &[1, 7, 333, 4096]);
    let mut single = base.clone();
    let stops_single = run_in_chunks(&mut single, r, total, &[1]);
    assert!(
        stops_whole.len() >= 2,
        "the loop crossed triggers: {stops_whole:?}"
    );
    assert_eq!(stops_whole, stops_odd);
    assert_eq!(stops_whole, stops_single);
    assert_eq!(fingerprint(&whole), fingerprint(&odd));
    assert_eq!(fingerprint(&whole), fingerprint(&single));
}

#[test]
fn during_mark_a_batch_stops_before_the_allocation_that_needs_an_assist() {
    let mut gc = new_gc(1, 100);
    gc.goroutine_created(G, 512);
    let r = ring(&mut gc, 10_000);
    let shape = ObjectShape::with_pointers(64, 1);
    let out = alloc_until_stop(&mut gc, r, shape, true, u64::MAX);
    assert_eq!(out.stop, Some(LoopStop::GcTriggered));
    gc.gc_start(1_000_000, GcTrigger::Heap).expect("starts");
    gc.sweep_termination_done(1_010_000, stw(1_000_000));
    // The goroutine has no credit: its first allocation goes into debt.
    let out = gc.alloc_loop(P0, G, r, shape, true, 1000);
    assert_eq!((out.allocated, out.stop), (0, Some(LoopStop::AssistNeeded)));
    assert_eq!(gc.goroutine(G).unwrap().assist_bytes, -64);
    match gc.assist(P0, G) {
        AssistOutcome::Scanned { work, in_debt, .. } => {
            // At least 64 KiB of work was owed; the roots and the ring's
            // backing array and objects provide it.
            assert!(work.total_bytes() >= 64 << 10, "{work:?}");
            assert!(!in_debt);
        }
        other => panic!("expected a scanning assist, got {other:?}"),
    }
    let credit = gc.goroutine(G).unwrap().assist_bytes;
    assert!(credit > 0);
    // The allocation whose debit was taken is not debited twice.
    let out = gc.alloc_loop(P0, G, r, shape, true, 1);
    assert_eq!(out.allocated, 1);
    assert_eq!(gc.goroutine(G).unwrap().assist_bytes, credit);
    // New objects are black during mark.
    let last = gc.ring(r).last.unwrap();
    assert_eq!(gc.color(last), sim_gc::Color::Black);
    // Drain everything, then the goroutine runs into debt again and parks
    // (no background credit left to steal once it is spent).
    gc.mark_worker_drain(P0, u64::MAX);
    gc.pacer.bg_scan_credit_bytes = 0;
    loop {
        let out = gc.alloc_loop(P0, G, r, shape, true, u64::MAX);
        if out.stop == Some(LoopStop::AssistNeeded) {
            break;
        }
    }
    match gc.assist(P0, G) {
        AssistOutcome::Scanned {
            in_debt: true,
            mark_done_ready: true,
            ..
        } => {}
        other => panic!("nothing left to scan, still in debt: {other:?}"),
    }
    assert_eq!(gc.park_assist(G), ParkAssist::Parked);
    // Mark termination wakes every parked assist.
    let done = gc.mark_done(2_000_000).unwrap();
    assert_eq!(done.woken_assists, vec![G]);
    gc.mark_termination_done(2_010_000, stw(2_000_000));
    // Blackening is off: the pending allocation proceeds.
    let out = gc.alloc_loop(P0, G, r, shape, true, 1);
    assert_eq!(out.allocated, 1);
}

/// Each allocated object's colour, counted one by one, per size class.
fn colours_by_object(gc: &Gc) -> Vec<(u64, u64, u64)> {
    let mut out = vec![(0, 0, 0); sim_gc::sizeclass::NUM_SIZE_CLASSES];
    for (id, span) in gc.heap.spans() {
        if span.state != sim_gc::heap::SpanState::InUse {
            continue;
        }
        let entry = &mut out[span.span_class.size_class().0 as usize];
        for slot in (0..span.nelems as u16).filter(|s| span.is_allocated(*s)) {
            match gc.color(sim_gc::ObjRef { span: id, slot }) {
                sim_gc::Color::White => entry.0 += 1,
                sim_gc::Color::Grey => entry.1 += 1,
                sim_gc::Color::Black => entry.2 += 1,
            }
        }
    }
    out
}

#[test]
fn marking_by_size_class_counts_each_objects_colour_from_the_span_bits() {
    let mut gc = new_gc(1, 100);
    gc.goroutine_created(G, 512);
    let r = ring(&mut gc, 10_000);
    let out = alloc_until_stop(
        &mut gc,
        r,
        ObjectShape::with_pointers(64, 1),
        true,
        u64::MAX,
    );
    assert_eq!(out.stop, Some(LoopStop::GcTriggered));
    gc.gc_start(1_000_000, GcTrigger::Heap).expect("starts");
    gc.sweep_termination_done(1_010_000, stw(1_000_000));
    let mut saw_grey = false;
    for _ in 0..50 {
        let by_class = gc.heap.class_marking();
        let by_object = colours_by_object(&gc);
        for (c, m) in by_class.iter().enumerate() {
            assert_eq!(
                (m.white_objects, m.grey_objects, m.black_objects),
                by_object[c],
                "size class {c}"
            );
        }
        saw_grey |= by_class.iter().any(|m| m.grey_objects > 0);
        if !gc.has_mark_work() {
            break;
        }
        gc.mark_worker_drain(P0, 64 << 10);
    }
    assert!(saw_grey, "the drain passed through grey objects");
    let black: u64 = gc
        .heap
        .class_marking()
        .iter()
        .map(|m| m.black_objects)
        .sum();
    assert!(
        black >= 10_000,
        "the ring's objects are reachable and end black: {black}"
    );
}

/// A span whose pages the OS must fault in costs far more than a batch's
/// budget: the batch ends after the allocation that took it, so a
/// preemption request waits for at most one such call.
#[test]
fn a_batch_ends_after_the_allocation_whose_span_needed_the_os() {
    let mut gc = new_gc(1, 100);
    gc.goroutine_created(G, 512);
    let r = ring(&mut gc, 0);
    let shape = ObjectShape::with_pointers(64, 1);
    // A new heap's pages are fresh from the OS: the first allocation takes
    // a span of them and ends the batch.
    let out = gc.alloc_loop(P0, G, r, shape, false, 1_000_000);
    assert_eq!((out.allocated, out.spans_refilled), (1, 1));
    assert_eq!(out.stop, Some(LoopStop::Completed));
    // The next batch fills the span's other 123 slots without the OS, then
    // takes the next fresh span.
    let out = gc.alloc_loop(P0, G, r, shape, false, 1_000_000);
    assert_eq!((out.allocated, out.spans_refilled), (124, 1));
    assert_eq!(out.stop, Some(LoopStop::Completed));
}
