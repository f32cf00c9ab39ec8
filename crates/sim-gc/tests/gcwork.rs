//! Where grey work waits: a P's own `gcWork` and write-barrier buffer hide
//! work from the other Ps until `balance`, a full buffer or `gcMarkDone`'s
//! ragged barrier publishes it; Green Tea's dense span scans count whole
//! objects as scan work.

mod common;

use common::{new_gc, start_first_cycle};
use sim_core::ids::{Goid, PId};
use sim_gc::{AllocOne, Color, Gc, GcConfig, ObjRef, ObjectShape, PtrLoc};

const G: Goid = Goid(1);
const P0: PId = PId(0);
const P1: PId = PId(1);

fn alloc_into(gc: &mut Gc, shape: ObjectShape, dst: PtrLoc) -> ObjRef {
    match gc.alloc_one(P0, G, shape, dst) {
        AllocOne::Done(a) => a.obj,
        AllocOne::AssistNeeded => panic!("no GC running"),
    }
}

/// A 2-P collector where G's local 0 holds a 1 MiB pointer array whose word
/// 0 points to a 64-byte object, with marking started.
fn array_holding_one_object() -> (Gc, ObjRef, ObjRef) {
    let mut gc = new_gc(2, 100);
    gc.goroutine_created(G, 256);
    let array = alloc_into(
        &mut gc,
        ObjectShape::with_pointers(1 << 20, 131_072),
        PtrLoc::Local { g: G, index: 0 },
    );
    let small = alloc_into(
        &mut gc,
        ObjectShape::with_pointers(64, 1),
        PtrLoc::Heap {
            obj: array,
            word: 0,
        },
    );
    start_first_cycle(&mut gc);
    (gc, array, small)
}

#[test]
fn a_large_object_greyed_by_one_p_is_hidden_from_the_others_until_the_ragged_barrier() {
    let (mut gc, array, small) = array_holding_one_object();
    gc.mark_worker_drain(P0, 1); // the globals
    gc.mark_worker_drain(P0, 1); // G's stack: the array goes into P0's gcWork
    assert_eq!(gc.color(array), Color::Grey);
    assert!(gc.mark_done_ready(), "nothing any P can see");
    assert!(!gc.mark_done_ready_on(P0), "P0 still has its own work");
    // A worker on P1 runs dry at once: it would call gcMarkDone.
    let drained = gc.mark_worker_drain(P1, u64::MAX);
    assert_eq!(drained.work.objects_scanned, 0);
    assert!(drained.mark_done_ready);
    assert_eq!(gc.color(small), Color::White);
    // The first round of the barrier: P0 disposes its gcWork.
    gc.take_flushed_work();
    gc.ragged_barrier_flush(P1);
    gc.ragged_barrier_flush(P0);
    assert!(gc.take_flushed_work(), "P0 published work: marking goes on");
    assert!(!gc.mark_done_ready());
    gc.mark_worker_drain(P1, u64::MAX);
    assert_eq!(
        (gc.color(array), gc.color(small)),
        (Color::Black, Color::Black)
    );
    gc.check_mark_complete().unwrap();
}

#[test]
fn balance_publishes_half_of_a_ps_oblets_when_no_work_buffer_is_global() {
    let (mut gc, array, _) = array_holding_one_object();
    gc.mark_worker_drain(P0, 1); // the globals
    gc.mark_worker_drain(P0, 1); // the stack: the array into P0's gcWork
    // The first oblet (128 KiB) is scanned; the other 7 wait in P0's gcWork.
    // Its word 0 greys the 64-byte object, whose span goes into P0's ring
    // of spans: P0's alone too.
    let first = gc.mark_worker_drain(P0, 1);
    assert_eq!(first.work.heap_bytes, 128 << 10);
    assert!(!gc.has_mark_work(), "the 7 oblets are P0's alone");
    // P0's next drain balances first: 7 > 4 objects, so 4 are published.
    gc.mark_worker_drain(P0, 1);
    assert!(gc.has_mark_work());
    // P1 takes the published buffer whole (`trygetfull`): it scans one
    // oblet now, and the other 3 become its own, hidden from P0.
    let d = gc.mark_worker_drain(P1, 1);
    assert_eq!(d.work.heap_bytes, 128 << 10, "one oblet per step");
    assert!(!gc.has_mark_work(), "the buffer left the global list whole");
    assert!(gc.has_mark_work_for(P1));
    let mut scanned_by_p1 = 1;
    while gc.has_mark_work_for(P1) {
        let d = gc.mark_worker_drain(P1, 1);
        assert_eq!(d.work.heap_bytes, 128 << 10, "one oblet per step");
        scanned_by_p1 += 1;
    }
    assert_eq!(scanned_by_p1, 4);
    assert_eq!(gc.color(array), Color::Grey, "2 oblets still with P0");
    gc.mark_worker_drain(P0, u64::MAX);
    assert_eq!(gc.color(array), Color::Black);
}

/// G's local 0 holds an array of `n` pointers to 64-byte objects (one
/// pointer each), all in one span; marking started and the array scanned.
fn objects_in_one_span(n: u32, dense_span_scan: bool) -> Gc {
    let mut gc = Gc::new(
        GcConfig {
            gomaxprocs: 1,
            ncpu: 1,
            dense_span_scan,
            ..GcConfig::default()
        },
        0,
    );
    gc.goroutine_created(G, 256);
    let array = alloc_into(
        &mut gc,
        ObjectShape::with_pointers(8 * u64::from(n), n),
        PtrLoc::Local { g: G, index: 0 },
    );
    for word in 0..n {
        alloc_into(
            &mut gc,
            ObjectShape::with_pointers(64, 1),
            PtrLoc::Heap { obj: array, word },
        );
    }
    start_first_cycle(&mut gc);
    gc.mark_worker_drain(P0, 1); // the globals
    gc.mark_worker_drain(P0, 1); // the stack: the array is grey
    gc.mark_worker_drain(P0, 1); // the array: its objects' span is queued
    gc
}

#[test]
fn a_dense_span_scan_counts_whole_objects_as_scan_work_but_reads_only_pointers() {
    // 64 of the span's 128 slots marked: dense (at least an eighth).
    for (dense, heap_bytes) in [(true, 64 * 64), (false, 64 * 8)] {
        let mut gc = objects_in_one_span(64, dense);
        let work = gc.mark_worker_drain(P0, 1).work;
        assert_eq!(work.objects_scanned, 64, "the whole span at once");
        assert_eq!(work.spans_scanned, 1);
        assert_eq!(work.heap_bytes, heap_bytes, "dense_span_scan = {dense}");
        assert_eq!(work.scanned_bytes(), 64 * 8);
        assert_eq!(
            work.in_span_bytes,
            64 * 8,
            "every word read through the span's bitmap"
        );
        assert!(gc.mark_done_ready());
    }
    // 8 of 128: sparse, pointer words only; so is a span with one object.
    for n in [8, 1] {
        let mut gc = objects_in_one_span(n, true);
        let work = gc.mark_worker_drain(P0, 1).work;
        assert_eq!(work.objects_scanned, u64::from(n));
        assert_eq!(work.heap_bytes, 8 * u64::from(n));
        assert_eq!(work.spans_scanned, 1, "one span scan however few objects");
        assert_eq!(work.in_span_bytes, 8 * u64::from(n));
    }
}

#[test]
fn a_full_write_barrier_buffer_is_flushed_by_its_own_p() {
    let mut gc = new_gc(2, 100);
    gc.goroutine_created(G, 256);
    // 300 objects a heap array points to, all white when marking starts.
    let holder = alloc_into(
        &mut gc,
        ObjectShape::with_pointers(4096, 512),
        PtrLoc::Local { g: G, index: 0 },
    );
    let objs: Vec<ObjRef> = (0..300)
        .map(|i| {
            alloc_into(
                &mut gc,
                ObjectShape::noscan(32),
                PtrLoc::Heap {
                    obj: holder,
                    word: i,
                },
            )
        })
        .collect();
    start_first_cycle(&mut gc);
    // Overwriting a slot records the old and the new (nil) pointer: 255
    // stores fill 510 of the 512 entries, the 256th flushes the buffer.
    let clear = |gc: &mut Gc, i: u32| {
        gc.copy_pointer(
            P0,
            G,
            PtrLoc::Heap {
                obj: holder,
                word: i,
            },
            None,
        )
    };
    for i in 0..255 {
        clear(&mut gc, i);
    }
    assert!(objs[..255].iter().all(|o| gc.color(*o) == Color::White));
    gc.check_no_black_to_white().unwrap();
    clear(&mut gc, 255);
    assert!(
        objs[..256].iter().all(|o| gc.color(*o) == Color::Black),
        "flushed: noscan objects go straight to black"
    );
    assert_eq!(gc.color(objs[256]), Color::White, "not yet overwritten");
}

#[test]
fn other_ps_steal_only_the_spans_a_ps_ring_spilled_to_its_chain() {
    let mut gc = new_gc(2, 100);
    gc.goroutine_created(G, 256);
    // A holder whose 100 words point to objects in 100 different spans.
    let holder = alloc_into(
        &mut gc,
        ObjectShape::with_pointers(800, 100),
        PtrLoc::Local { g: G, index: 0 },
    );
    let mut word = 0;
    let mut last_span = None;
    while word < 100 {
        let obj = alloc_into(
            &mut gc,
            ObjectShape::with_pointers(64, 1),
            PtrLoc::Local { g: G, index: 1 },
        );
        if last_span != Some(obj.span) {
            last_span = Some(obj.span);
            gc.copy_pointer(
                P0,
                G,
                PtrLoc::Heap { obj: holder, word },
                Some(PtrLoc::Local { g: G, index: 1 }),
            );
            word += 1;
        }
    }
    gc.copy_pointer(P0, G, PtrLoc::Local { g: G, index: 1 }, None);
    start_first_cycle(&mut gc);
    gc.mark_worker_drain(P0, 1); // the globals
    gc.mark_worker_drain(P0, 1); // the stack: the holder is grey
    // Scanning the holder queues 100 spans on P0. At the 64th put the ring
    // spills min(64/2, 16) = 16 spans to its chain; at the 128th it would
    // again, but there are only 100.
    gc.mark_worker_drain(P0, 1);
    let mut stolen = 0;
    while gc.has_mark_work() {
        let work = gc.mark_worker_drain(P1, 1).work;
        assert_eq!(work.objects_scanned, 1, "one span, one object");
        assert_eq!(work.spans_scanned, 1);
        stolen += 1;
    }
    assert_eq!(stolen, 16);
    assert!(gc.mark_done_ready() && !gc.mark_done_ready_on(P0));
    // The ragged barrier publishes the other 84.
    gc.ragged_barrier_flush(P0);
    assert!(gc.has_mark_work());
    gc.mark_worker_drain(P1, u64::MAX);
    gc.check_mark_complete().unwrap();
}

#[test]
fn marking_counts_the_pointers_it_follows_not_the_nil_words_it_reads() {
    // The array has 131,072 words; only word 0 points somewhere.
    let (mut gc, _array, _small) = array_holding_one_object();
    let roots = gc.mark_worker_drain(P0, 1).work; // the globals
    assert_eq!(roots.pointers_followed, 0, "no global holds a pointer");
    let stack = gc.mark_worker_drain(P0, 1).work; // G's stack: the array
    assert_eq!((stack.stacks_scanned, stack.pointers_followed), (1, 1));
    let rest = gc.mark_worker_drain(P0, u64::MAX).work;
    // The array's first oblet reads 16,384 words and follows one pointer; the
    // other oblets and the 64-byte object follow none.
    assert_eq!(rest.pointers_followed, 1);
    assert_eq!(rest.heap_bytes, (1 << 20) + 8);
}

#[test]
fn a_workers_credit_reaches_bg_scan_credit_only_when_its_batch_is_flushed() {
    let (mut gc, _array, _small) = array_holding_one_object();
    gc.pacer.bg_scan_credit_bytes = 0;
    let drained = gc.mark_worker_drain(P1, u64::MAX);
    assert!(drained.work.total_bytes() > 1 << 20);
    assert_eq!(
        gc.pacer.bg_scan_credit_bytes, 0,
        "the batch is still running"
    );
    assert!(
        gc.mark_worker_flush_credit(P1).is_empty(),
        "no assist is parked"
    );
    assert_eq!(
        gc.pacer.bg_scan_credit_bytes as u64,
        drained.work.total_bytes()
    );
    // Flushed once: a second flush adds nothing.
    gc.mark_worker_flush_credit(P1);
    assert_eq!(
        gc.pacer.bg_scan_credit_bytes as u64,
        drained.work.total_bytes()
    );
}
