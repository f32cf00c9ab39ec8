//! The allocator seen from outside: tiny blocks, spans and heapLive, large
//! objects, page-heap growth, stacks, MemStats and fragmentation figures.

mod common;

use common::{MIB, new_gc, runtime_gc};
use sim_core::ids::{Goid, PId};
use sim_gc::heap::{HEAP_GROWTH_CHUNK_PAGES, STACK_POOL_SPAN_BYTES};
use sim_gc::sizeclass::{PAGE_SIZE_BYTES, SizeClass, SpanClass, objects_per_span};
use sim_gc::{AllocOne, Allocation, Gc, ObjectShape, PtrLoc};

const G: Goid = Goid(1);
const P0: PId = PId(0);

fn alloc(gc: &mut Gc, shape: ObjectShape, local: u32) -> Allocation {
    match gc.alloc_one(P0, G, shape, PtrLoc::Local { g: G, index: local }) {
        AllocOne::Done(a) => a,
        AllocOne::AssistNeeded => panic!("no GC is running"),
    }
}

fn started_gc() -> Gc {
    let mut gc = new_gc(1, 100);
    gc.goroutine_created(G, 512);
    gc
}

#[test]
fn tiny_objects_pack_into_16_byte_blocks_aligned_by_their_size() {
    let mut gc = started_gc();
    // 1 byte opens a block at offset 0; 2 bytes align to 2 (offset 2); 4
    // bytes align to 4 (offset 4); 8 bytes align to 8 (offset 8): the block
    // is full at 16.
    let offsets: Vec<(u64, Option<u64>, u64)> = [1, 2, 4, 8]
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let a = alloc(&mut gc, ObjectShape::noscan(size), i as u32);
            (a.obj.slot as u64, a.tiny_offset_bytes, a.slot_bytes)
        })
        .collect();
    assert_eq!(
        offsets,
        vec![
            (0, Some(0), 16),
            (0, Some(2), 0),
            (0, Some(4), 0),
            (0, Some(8), 0)
        ]
    );
    // 1 more byte does not fit: a second block.
    let a = alloc(&mut gc, ObjectShape::noscan(1), 4);
    assert_eq!((a.obj.slot, a.tiny_offset_bytes), (1, Some(0)));
    // Two 16-byte blocks were allocated and three objects were packed into an
    // existing block: Mallocs counts 2 + 3, Frees the 3 packed ones, as Go
    // counts every tiny allocation in both.
    let stats = gc.heap.mem_stats();
    assert_eq!((stats.mallocs, stats.frees, stats.heap_objects), (5, 3, 2));
    assert_eq!(stats.heap_alloc_bytes, 32);
    assert_eq!(gc.heap.counters.tiny_alloc_count, 3);
}

#[test]
fn the_tiny_block_with_more_room_left_is_kept() {
    let mut gc = started_gc();
    let first = alloc(&mut gc, ObjectShape::noscan(12), 0);
    // 8 bytes align to offset 16 in the first block: no room, so a new block
    // is taken. It replaces the current one when the new object is smaller
    // than the current offset (the new block then has more room): 8 < 12.
    let second = alloc(&mut gc, ObjectShape::noscan(8), 1);
    assert_ne!(second.obj, first.obj);
    assert_eq!(gc.heap.mcache(P0).tiny, Some(second.obj));
    // 15 bytes need a new block; 15 < 8 is false, so the block holding 8
    // bytes (more room) stays current and takes the next 4 bytes at offset 8.
    let third = alloc(&mut gc, ObjectShape::noscan(15), 2);
    assert_ne!(third.obj, second.obj);
    let fourth = alloc(&mut gc, ObjectShape::noscan(4), 3);
    assert_eq!(
        (fourth.obj, fourth.tiny_offset_bytes),
        (second.obj, Some(8))
    );
}

#[test]
fn a_tiny_block_is_freed_only_when_all_its_objects_are_dead() {
    let mut gc = started_gc();
    let a = alloc(&mut gc, ObjectShape::noscan(4), 0);
    let b = alloc(&mut gc, ObjectShape::noscan(4), 1);
    assert_eq!(a.obj, b.obj);
    let block = a.obj;
    // Drop the first object: the second keeps the block.
    gc.copy_pointer(P0, G, PtrLoc::Local { g: G, index: 0 }, None);
    runtime_gc(&mut gc, 1_000_000);
    assert!(gc.heap.is_live_slot(block));
    // Drop the second: the block goes.
    gc.copy_pointer(P0, G, PtrLoc::Local { g: G, index: 1 }, None);
    runtime_gc(&mut gc, 2_000_000);
    assert!(!gc.heap.is_live_slot(block));
}

#[test]
fn heap_live_counts_a_whole_span_when_an_mcache_takes_it() {
    let mut gc = started_gc();
    let shape = ObjectShape::with_pointers(64, 1);
    let first = alloc(&mut gc, shape, 0);
    assert!(first.span_refilled);
    assert_eq!(gc.pacer.heap_live_bytes, 8192);
    // A pointerful 64-byte span holds 124 objects (Green Tea reserves 256
    // bytes): the 124th still fits, the 125th takes a second span.
    for i in 1..124 {
        assert!(!alloc(&mut gc, shape, i).span_refilled);
    }
    assert_eq!(gc.pacer.heap_live_bytes, 8192);
    assert!(alloc(&mut gc, shape, 124).span_refilled);
    assert_eq!(gc.pacer.heap_live_bytes, 16384);
    // HeapAlloc counts slots, heapLive whole spans.
    assert_eq!(gc.heap.mem_stats().heap_alloc_bytes, 125 * 64);
}

#[test]
fn large_objects_get_their_own_span_and_free_it_whole() {
    let mut gc = started_gc();
    let a = alloc(&mut gc, ObjectShape::noscan(40_000), 0);
    let span = gc.heap.span(a.obj.span);
    assert!(span.is_large());
    assert_eq!((span.npages, span.nelems, span.elem_bytes), (5, 1, 40_960));
    assert_eq!(a.slot_bytes, 40_960);
    assert!(a.span_refilled);
    assert_eq!(gc.pacer.heap_live_bytes, 40_960);
    let stats = gc.heap.mem_stats();
    assert_eq!(
        (stats.heap_alloc_bytes, stats.heap_in_use_bytes),
        (40_960, 40_960)
    );
    gc.copy_pointer(P0, G, PtrLoc::Local { g: G, index: 0 }, None);
    runtime_gc(&mut gc, 1_000_000);
    let stats = gc.heap.mem_stats();
    assert_eq!((stats.heap_alloc_bytes, stats.heap_in_use_bytes), (0, 0));
    assert_eq!(gc.heap.counters.large_free_bytes, 40_960);
    // 32761 bytes is already large even without pointers (mallocgc's small
    // path stops at MaxSmallSize − MallocHeaderSize).
    let b = alloc(&mut gc, ObjectShape::noscan(32_761), 1);
    assert!(gc.heap.span(b.obj.span).is_large());
}

#[test]
fn the_heap_grows_by_whole_4_mib_chunks() {
    let mut gc = started_gc();
    // The goroutine's 2 KiB stack already took a 32 KiB stack span.
    let stats = gc.heap.mem_stats();
    let chunk = HEAP_GROWTH_CHUNK_PAGES * PAGE_SIZE_BYTES;
    assert_eq!(chunk, 4 * MIB);
    assert_eq!(stats.stack_in_use_bytes, STACK_POOL_SPAN_BYTES);
    assert_eq!(stats.heap_sys_bytes, chunk - STACK_POOL_SPAN_BYTES);
    alloc(&mut gc, ObjectShape::noscan(100), 0);
    let stats = gc.heap.mem_stats();
    assert_eq!(stats.heap_in_use_bytes, 8192);
    assert_eq!(
        stats.heap_released_bytes,
        chunk - STACK_POOL_SPAN_BYTES - 8192
    );
    assert_eq!(stats.heap_idle_bytes, stats.heap_released_bytes);
    assert_eq!(
        stats.heap_sys_bytes,
        stats.heap_in_use_bytes + stats.heap_idle_bytes
    );
    // A 5 MiB object needs two more chunks.
    alloc(&mut gc, ObjectShape::noscan(5 * MIB), 1);
    assert_eq!(
        gc.heap.mem_stats().heap_sys_bytes,
        3 * chunk - STACK_POOL_SPAN_BYTES
    );
    assert_eq!(gc.heap.pages.arenas, 1);
}

#[test]
fn goroutine_stacks_come_from_32_kib_pool_spans_and_grow_by_doubling() {
    let mut gc = new_gc(1, 100);
    for g in 1..=16 {
        gc.goroutine_created(Goid(g), 256);
    }
    // Sixteen 2 KiB stacks fill one 32 KiB span.
    assert_eq!(gc.heap.mem_stats().stack_in_use_bytes, 32 * 1024);
    assert_eq!(gc.pacer.max_stack_scan_bytes, 16 * 2048);
    gc.goroutine_created(Goid(17), 256);
    assert_eq!(gc.heap.mem_stats().stack_in_use_bytes, 64 * 1024);
    // Growing to 5000 bytes used: 2 KiB → 4 KiB → 8 KiB.
    let growth = gc.set_stack_used(Goid(17), 5000).unwrap();
    assert_eq!((growth.old_size_bytes, growth.new_size_bytes), (2048, 8192));
    assert_eq!(gc.pacer.max_stack_scan_bytes, 16 * 2048 + 8192);
    // The 2 KiB span emptied by the move went back (GC off); an 8 KiB pool
    // span holds it now.
    assert_eq!(gc.heap.mem_stats().stack_in_use_bytes, 64 * 1024);
    // A dead goroutine with a grown stack frees it; 2 KiB ones are kept.
    gc.goroutine_exited(P0, Goid(17));
    gc.goroutine_exited(P0, Goid(16));
    assert_eq!(gc.heap.mem_stats().stack_in_use_bytes, 32 * 1024);
    assert_eq!(gc.pacer.max_stack_scan_bytes, 15 * 2048);
    // A stack scan shrinks a stack using under a quarter of itself.
    gc.goroutine_created(Goid(20), 256);
    gc.set_stack_used(Goid(20), 20_000);
    gc.set_stack_used(Goid(20), 1_000);
    assert_eq!(gc.goroutine(Goid(20)).unwrap().stack.size_bytes, 32 * 1024);
    runtime_gc(&mut gc, 1_000);
    assert_eq!(gc.goroutine(Goid(20)).unwrap().stack.size_bytes, 16 * 1024);
    assert_eq!(gc.pacer.last_stack_scan_bytes, 15 * 256 + 1_000);
}

#[test]
fn a_grown_stack_s_pages_fault_in_as_its_calls_reach_them() {
    let mut gc = started_gc();
    let g2 = Goid(2);
    gc.goroutine_created(g2, 256);
    let faulted = |gc: &Gc| gc.heap.counters.faulted_in_pages;
    let before = faulted(&gc);
    // 100 KiB of calls: a fresh 128 KiB stack (16 pages) whose top 13 pages
    // the frames reach; the 3 below stay untouched.
    gc.set_stack_used(g2, 100 * 1024).unwrap();
    assert_eq!(faulted(&gc) - before, 13);
    // The calls return; deeper ones later reach 2 more pages.
    gc.set_stack_used(g2, 1024);
    assert_eq!(faulted(&gc) - before, 13);
    gc.set_stack_used(g2, 120 * 1024);
    assert_eq!(faulted(&gc) - before, 15);
    // The goroutine exits: the stack's pages are free and count as ready
    // (not released), one of them still untouched. A 128 KiB object taking
    // them touches every page: that one faults in.
    gc.goroutine_exited(P0, g2);
    let stats = gc.heap.mem_stats();
    assert_eq!(
        stats.heap_idle_bytes - stats.heap_released_bytes,
        16 * PAGE_SIZE_BYTES
    );
    let before = faulted(&gc);
    alloc(&mut gc, ObjectShape::noscan(128 * 1024), 0);
    assert_eq!(faulted(&gc) - before, 1);
}

#[test]
fn fragmentation_figures_on_a_fixed_mix() {
    let mut gc = started_gc();
    // 100 pointerful 33-byte objects: class 5 (48 bytes), 15 bytes lost each.
    for i in 0..100 {
        alloc(&mut gc, ObjectShape::with_pointers(33, 1), i);
    }
    // 10 pointerful 600-byte objects: 608 with the malloc header, class 28
    // (640 bytes), 40 bytes lost each.
    for i in 0..10 {
        alloc(&mut gc, ObjectShape::with_pointers(600, 2), 100 + i);
    }
    // 3 noscan 40000-byte objects: 5 pages each, 960 bytes lost each.
    for i in 0..3 {
        alloc(&mut gc, ObjectShape::noscan(40_000), 200 + i);
    }
    let occupancy = gc.heap.class_occupancy();
    let c5 = occupancy[5];
    assert_eq!(c5.class, SizeClass(5));
    assert_eq!(
        (c5.spans, c5.objects, c5.slot_bytes, c5.requested_bytes),
        (1, 100, 4800, 3300)
    );
    assert_eq!(c5.internal_fragmentation_bytes(), 1500);
    assert_eq!(c5.unused_span_bytes(), 8192 - 4800);
    let c28 = occupancy[28];
    assert_eq!(
        (c28.spans, c28.objects, c28.slot_bytes, c28.requested_bytes),
        (1, 10, 6400, 6000)
    );
    assert_eq!(c28.internal_fragmentation_bytes(), 400);
    let large = occupancy[0];
    assert_eq!(
        (large.spans, large.objects, large.slot_bytes),
        (3, 3, 122_880)
    );
    assert_eq!(large.internal_fragmentation_bytes(), 2880);
    // HeapInuse − HeapAlloc is the sum of the unused span bytes.
    let stats = gc.heap.mem_stats();
    let unused: u64 = occupancy.iter().map(|o| o.unused_span_bytes()).sum();
    assert_eq!(stats.heap_in_use_bytes - stats.heap_alloc_bytes, unused);
    assert_eq!(stats.heap_alloc_bytes, 4800 + 6400 + 122_880);
    assert_eq!(stats.total_alloc_bytes, stats.heap_alloc_bytes);
}

#[test]
fn sweeping_returns_dead_slots_and_counts_frees() {
    let mut gc = started_gc();
    let shape = ObjectShape::with_pointers(64, 1);
    for i in 0..300 {
        alloc(&mut gc, shape, i);
    }
    // Keep every third object.
    for i in 0..300 {
        if i % 3 != 0 {
            gc.copy_pointer(P0, G, PtrLoc::Local { g: G, index: i }, None);
        }
    }
    let report = runtime_gc(&mut gc, 1_000_000);
    assert_eq!(report.gctrace.heap2_bytes, 100 * 64);
    let stats = gc.heap.mem_stats();
    assert_eq!(
        (stats.mallocs, stats.frees, stats.heap_objects),
        (300, 200, 100)
    );
    assert_eq!(stats.heap_alloc_bytes, 100 * 64);
    assert_eq!(stats.total_alloc_bytes, 300 * 64);
    // Freed slots are reused before new spans are taken.
    let spans_before = gc.heap.mem_stats().heap_in_use_bytes;
    for i in 0..200 {
        alloc(&mut gc, shape, 300 + i);
    }
    assert_eq!(gc.heap.mem_stats().heap_in_use_bytes, spans_before);
}

/// Sweeping tells a span that keeps objects from one that goes back to the
/// page heap: the two cost differently (`sweep_span_ns`, and
/// `sweep_span_freed_ns` on top).
#[test]
fn sweeping_counts_the_spans_it_frees() {
    let mut gc = started_gc();
    // 1 KiB objects with pointers take 1152-byte slots (the malloc header
    // rounds them up), seven to an 8 KiB span: three spans, the first kept.
    let shape = ObjectShape::with_pointers(1024, 1);
    for i in 0..21 {
        alloc(&mut gc, shape, i);
    }
    for i in 7..21 {
        gc.copy_pointer(P0, G, PtrLoc::Local { g: G, index: i }, None);
    }
    let n = gc.cycles() + 1;
    let report =
        common::run_cycle(&mut gc, 1_000_000, sim_gc::GcTrigger::Cycle { n }).expect("starts");
    // The span P0 allocates from is swept when mark termination flushes
    // its mcache, the others by sweepone.
    let mut swept = report.flush_sweep;
    while let Some(span) = gc.sweep_one() {
        swept.add(span.into());
    }
    assert_eq!((swept.spans, swept.freed_spans), (3, 2));
    assert_eq!(swept.freed_objects, 14);
}

#[test]
fn runtime_metrics_count_a_span_s_objects_when_it_leaves_the_mcache() {
    let mut gc = started_gc();
    // Class 6 (64 B) noscan: 126 objects per 8 KiB span after its inline
    // mark bits. Objects in the cached span are in Mallocs (ReadMemStats
    // flushes the mcaches first) but not yet in /gc/heap/allocs:objects.
    let per_span = objects_per_span(SpanClass::new(SizeClass(6), true));
    assert_eq!(per_span, 126);
    for i in 0..100 {
        alloc(&mut gc, ObjectShape::noscan(64), i);
    }
    assert_eq!(gc.heap.mem_stats().mallocs, 100);
    assert_eq!(gc.heap.metrics_object_counts().allocs, 0);
    // The first object past the span's capacity refills: the full span's
    // objects are counted.
    for i in 100..=per_span {
        alloc(&mut gc, ObjectShape::noscan(64), i);
    }
    let counts = gc.heap.metrics_object_counts();
    assert_eq!(
        (counts.allocs, counts.live),
        (u64::from(per_span), u64::from(per_span))
    );
    // A large object counts at once.
    alloc(&mut gc, ObjectShape::noscan(40 << 10), per_span + 1);
    assert_eq!(
        gc.heap.metrics_object_counts().allocs,
        u64::from(per_span) + 1
    );
    // A cycle's mark termination flushes every mcache: all of them are
    // counted, and the figures agree with MemStats again.
    runtime_gc(&mut gc, 1_000_000);
    let all = u64::from(per_span) + 2;
    let stats = gc.heap.mem_stats();
    let counts = gc.heap.metrics_object_counts();
    assert_eq!((counts.allocs, counts.live), (all, all));
    assert_eq!((stats.mallocs, stats.heap_objects), (all, all));
}
