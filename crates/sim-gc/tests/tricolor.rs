//! Tricolor marking with the hybrid write barrier, as properties over random
//! mutator programs interleaved with marking, and sweeping's exactness.

mod common;

use common::{new_gc, runtime_gc, start_first_cycle, stw};
use proptest::prelude::*;
use sim_core::ids::{Goid, PId};
use sim_gc::heap::SpanState;
use sim_gc::{
    AllocOne, Color, Gc, GcPhase, GcTrigger, LoopStop, NewRing, ObjRef, ObjectShape, PtrLoc, RingId,
};
use std::collections::BTreeSet;

const GOROUTINES: u64 = 2;
const LOCALS: u32 = 3;
const GLOBALS: u32 = 1;
const P0: PId = PId(0);

/// A pointer location as the program names it; heap words are reached
/// through one of the goroutine's locals or a global, as code would.
#[derive(Clone, Copy, Debug)]
enum Loc {
    Local(u32),
    Global(u32),
    HeapViaLocal { local: u32, word: u32 },
    HeapViaGlobal { global: u32, word: u32 },
}

#[derive(Clone, Debug)]
enum Op {
    /// `*dst = new(T)`.
    Alloc {
        g: u64,
        dst: Loc,
        shape: usize,
    },
    Copy {
        g: u64,
        dst: Loc,
        src: Option<Loc>,
    },
    /// `x := *from; *from = nil`: take a pointer out of a heap word.
    Take {
        g: u64,
        from: Loc,
        to_local: u32,
    },
    AllocLoop {
        g: u64,
        count: u64,
    },
    StartGc,
    Drain {
        budget_bytes: u64,
    },
    Assist {
        g: u64,
    },
    SweepOne,
}

const fn shape(size_bytes: u64, pointer_words: u32) -> ObjectShape {
    ObjectShape {
        size_bytes,
        pointer_words,
    }
}

const SHAPES: [ObjectShape; 7] = [
    shape(8, 0),
    shape(24, 0),
    shape(64, 2),
    shape(16, 2),
    shape(32, 2),
    shape(600, 4),
    shape(300_000, 20_000),
];

fn loc_strategy() -> impl Strategy<Value = Loc> {
    prop_oneof![
        (0..LOCALS).prop_map(Loc::Local),
        (0..GLOBALS).prop_map(Loc::Global),
        (0..LOCALS, 0..2u32).prop_map(|(local, word)| Loc::HeapViaLocal { local, word }),
        (0..GLOBALS, 0..2u32).prop_map(|(global, word)| Loc::HeapViaGlobal { global, word }),
    ]
}

/// What goroutines do: allocate, copy and take pointers, run allocation loops.
fn mutator_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..GOROUTINES, loc_strategy(), 0..SHAPES.len())
            .prop_map(|(g, dst, shape)| Op::Alloc { g, dst, shape }),
        8 => (0..GOROUTINES, loc_strategy(), proptest::option::of(loc_strategy()))
            .prop_map(|(g, dst, src)| Op::Copy { g, dst, src }),
        3 => (0..GOROUTINES, loc_strategy(), 0..LOCALS)
            .prop_map(|(g, from, to_local)| Op::Take { g, from, to_local }),
        1 => (0..GOROUTINES, 1..300u64).prop_map(|(g, count)| Op::AllocLoop { g, count }),
    ]
}

/// Mutator ops interleaved with marking steps of every size, assists,
/// sweeping, and GC starts (a no-op while a cycle runs).
fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => mutator_op(),
        1 => Just(Op::StartGc),
        4 => prop_oneof![Just(1u64), 1..64u64, 1..20_000u64]
            .prop_map(|budget_bytes| Op::Drain { budget_bytes }),
        1 => (0..GOROUTINES).prop_map(|g| Op::Assist { g }),
        1 => Just(Op::SweepOne),
    ]
}

/// A heap built before the cycle, then a cycle with the mutator running.
fn program() -> impl Strategy<Value = (Vec<Op>, Vec<Op>)> {
    (
        proptest::collection::vec(mutator_op(), 0..60),
        proptest::collection::vec(op_strategy(), 1..160),
    )
}

struct World {
    gc: Gc,
    rings: Vec<RingId>,
    now_ns: u64,
}

fn goid(g: u64) -> Goid {
    Goid(g + 1)
}

impl World {
    fn new() -> World {
        let mut gc = new_gc(1, 100);
        gc.set_global_count(GLOBALS);
        let mut rings = Vec::new();
        for g in 0..GOROUTINES {
            gc.goroutine_created(goid(g), 300);
            match gc.new_ring(P0, goid(g), 16) {
                NewRing::Created { ring, .. } => rings.push(ring),
                NewRing::AssistNeeded => unreachable!(),
            }
        }
        World {
            gc,
            rings,
            now_ns: 1_000,
        }
    }

    /// Resolves a location; `None` when the path holds nil or no such word.
    fn resolve(&self, g: Goid, loc: Loc) -> Option<PtrLoc> {
        let heap_word = |holder: PtrLoc, word: u32| {
            let obj = self.gc.read_pointer(holder)?;
            let words = self.gc.heap.span(obj.span).pointers_of(obj.slot).len() as u32;
            (word < words).then_some(PtrLoc::Heap { obj, word })
        };
        match loc {
            Loc::Local(index) => Some(PtrLoc::Local { g, index }),
            Loc::Global(index) => Some(PtrLoc::Global(index)),
            Loc::HeapViaLocal { local, word } => heap_word(PtrLoc::Local { g, index: local }, word),
            Loc::HeapViaGlobal { global, word } => heap_word(PtrLoc::Global(global), word),
        }
    }

    fn marking(&self) -> bool {
        self.gc.phase == GcPhase::Mark
    }

    /// Runs one op; returns whether it stored through the write barrier.
    fn apply(&mut self, op: &Op) -> bool {
        self.now_ns += 1_000;
        match *op {
            Op::Alloc { g, dst, shape } => {
                let g = goid(g);
                let Some(dst) = self.resolve(g, dst) else {
                    return false;
                };
                let stored = !matches!(dst, PtrLoc::Local { .. });
                match self.gc.alloc_one(P0, g, SHAPES[shape], dst) {
                    AllocOne::Done(a) => {
                        if self.marking() {
                            assert_eq!(self.gc.color(a.obj), Color::Black, "allocate black");
                        }
                        if a.gc_triggered {
                            self.start_gc(GcTrigger::Heap);
                        }
                    }
                    AllocOne::AssistNeeded => self.assist(g),
                }
                stored
            }
            Op::Copy { g, dst, src } => {
                let g = goid(g);
                let Some(dst) = self.resolve(g, dst) else {
                    return false;
                };
                let src = match src {
                    Some(src) => match self.resolve(g, src) {
                        Some(loc) => Some(loc),
                        None => return false,
                    },
                    None => None,
                };
                self.gc.copy_pointer(P0, g, dst, src);
                !matches!(dst, PtrLoc::Local { .. })
            }
            Op::Take { g, from, to_local } => {
                let g = goid(g);
                let Some(from) = self.resolve(g, from) else {
                    return false;
                };
                self.gc
                    .copy_pointer(P0, g, PtrLoc::Local { g, index: to_local }, Some(from));
                self.gc.copy_pointer(P0, g, from, None);
                !matches!(from, PtrLoc::Local { .. })
            }
            Op::AllocLoop { g, count } => {
                let g_id = goid(g);
                let out =
                    self.gc
                        .alloc_loop(P0, g_id, self.rings[g as usize], SHAPES[2], true, count);
                match out.stop {
                    Some(LoopStop::GcTriggered) => self.start_gc(GcTrigger::Heap),
                    Some(LoopStop::AssistNeeded) => self.assist(g_id),
                    _ => {}
                }
                true
            }
            Op::StartGc => {
                let n = self.gc.cycles() + 1;
                self.start_gc(GcTrigger::Cycle { n });
                false
            }
            Op::Drain { budget_bytes } => {
                self.gc.mark_worker_drain(P0, budget_bytes);
                false
            }
            Op::Assist { g } => {
                self.assist(goid(g));
                false
            }
            Op::SweepOne => {
                self.gc.sweep_one();
                false
            }
        }
    }

    fn assist(&mut self, g: Goid) {
        self.gc.assist(P0, g);
        self.gc.add_assist_time(self.now_ns, 500);
    }

    fn start_gc(&mut self, trigger: GcTrigger) {
        if self.gc.gc_start(self.now_ns, trigger).is_some() {
            self.gc
                .sweep_termination_done(self.now_ns + 100, stw(self.now_ns));
            // Plenty of background credit: assists steal it instead of
            // scanning 64 KiB (all of these small heaps) at once, so marking
            // advances only through the Drain ops, interleaved with the mutator.
            self.gc.pacer.bg_scan_credit_bytes = 1 << 40;
        }
    }

    fn allocated(&self) -> BTreeSet<ObjRef> {
        let mut out = BTreeSet::new();
        for (id, span) in self.gc.heap.spans() {
            if span.state != SpanState::InUse {
                continue;
            }
            for slot in 0..span.nelems as u16 {
                if span.is_allocated(slot) {
                    out.insert(ObjRef { span: id, slot });
                }
            }
        }
        out
    }

    /// Finishes a running mark phase, checking completeness, then checks
    /// that sweeping frees exactly the white objects.
    fn finish_cycle(&mut self) -> Result<(), TestCaseError> {
        if !self.marking() {
            return Ok(());
        }
        // gcMarkDone's ragged barrier: drain, flush the write-barrier
        // buffer, until a round turns nothing grey.
        loop {
            self.gc.mark_worker_drain(P0, u64::MAX);
            prop_assert!(self.gc.mark_done_ready());
            self.gc.ragged_barrier_flush(P0);
            if !self.gc.take_flushed_work() {
                break;
            }
        }
        self.gc.check_mark_complete().map_err(TestCaseError::fail)?;
        let allocated = self.allocated();
        let white: BTreeSet<ObjRef> = allocated
            .iter()
            .copied()
            .filter(|o| self.gc.color(*o) == Color::White)
            .collect();
        let frees_before = self.gc.heap.mem_stats().frees;
        self.now_ns += 10_000;
        self.gc.mark_done(self.now_ns).expect("mark complete");
        self.gc
            .mark_termination_done(self.now_ns + 100, stw(self.now_ns));
        while self.gc.sweep_one().is_some() {}
        let after = self.allocated();
        for obj in &white {
            prop_assert!(!after.contains(obj), "white {obj} survived the sweep");
        }
        for obj in allocated.difference(&white) {
            prop_assert!(after.contains(obj), "marked {obj} was freed");
        }
        prop_assert_eq!(
            self.gc.heap.mem_stats().frees - frees_before,
            white.len() as u64
        );
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn no_black_object_points_to_a_white_one_after_any_barrier_protected_store(
        (prefix, ops) in program()
    ) {
        let mut world = World::new();
        for op in &prefix {
            world.apply(op);
        }
        world.start_gc(GcTrigger::Cycle { n: world.gc.cycles() + 1 });
        for op in &ops {
            let stored = world.apply(op);
            if world.marking() && stored {
                world.gc.check_no_black_to_white().map_err(TestCaseError::fail)?;
            }
        }
        world.finish_cycle()?;
    }

    #[test]
    fn mark_termination_leaves_reachable_black_and_sweep_frees_exactly_the_white(
        (prefix, ops) in program()
    ) {
        let mut world = World::new();
        for op in &prefix {
            world.apply(op);
        }
        world.start_gc(GcTrigger::Cycle { n: world.gc.cycles() + 1 });
        for op in &ops {
            world.apply(op);
        }
        if !world.marking() {
            world.start_gc(GcTrigger::Cycle { n: world.gc.cycles() + 1 });
        }
        world.finish_cycle()?;
        // Floating garbage of that cycle (allocated black or shaded, then
        // dropped) goes in the next one: afterwards exactly the reachable
        // objects remain.
        runtime_gc(&mut world.gc, world.now_ns + 1_000_000);
        let reachable = world.gc.reachable();
        prop_assert_eq!(world.allocated(), reachable);
    }
}

#[test]
fn floating_garbage_survives_its_cycle_and_is_freed_by_the_next() {
    let g = Goid(1);
    let mut gc = new_gc(1, 100);
    gc.goroutine_created(g, 256);
    let local = |index| PtrLoc::Local { g, index };
    let alloc = |gc: &mut Gc, shape, index| loop {
        match gc.alloc_one(P0, g, shape, local(index)) {
            AllocOne::Done(a) => break a.obj,
            AllocOne::AssistNeeded => {
                gc.assist(P0, g);
            }
        }
    };
    // holder.word0 = a
    let holder = alloc(&mut gc, ObjectShape::with_pointers(16, 1), 0);
    let a = alloc(&mut gc, ObjectShape::noscan(32), 1);
    gc.copy_pointer(
        P0,
        g,
        PtrLoc::Heap {
            obj: holder,
            word: 0,
        },
        Some(local(1)),
    );
    gc.copy_pointer(P0, g, local(1), None);
    start_first_cycle(&mut gc);
    assert_eq!(gc.color(a), Color::White);
    // holder.word0 = nil: the deletion barrier shades a, now unreachable.
    gc.copy_pointer(
        P0,
        g,
        PtrLoc::Heap {
            obj: holder,
            word: 0,
        },
        None,
    );
    assert_eq!(gc.color(a), Color::White, "recorded in P0's wbBuf");
    gc.check_no_black_to_white().unwrap();
    gc.ragged_barrier_flush(P0);
    assert_ne!(gc.color(a), Color::White);
    // An object allocated during mark and dropped at once: black garbage.
    let b = alloc(&mut gc, ObjectShape::noscan(48), 2);
    gc.copy_pointer(P0, g, local(2), None);
    assert_eq!(gc.color(b), Color::Black);
    gc.mark_worker_drain(P0, u64::MAX);
    gc.check_mark_complete().unwrap();
    gc.mark_done(10_000).unwrap();
    gc.mark_termination_done(11_000, stw(10_000));
    while gc.sweep_one().is_some() {}
    assert!(
        gc.heap.is_live_slot(a) && gc.heap.is_live_slot(b),
        "floating garbage kept"
    );
    runtime_gc(&mut gc, 100_000);
    assert!(
        !gc.heap.is_live_slot(a) && !gc.heap.is_live_slot(b),
        "freed by the next cycle"
    );
    assert!(gc.heap.is_live_slot(holder));
}

#[test]
fn a_goroutine_exiting_during_mark_drops_its_roots() {
    let g = Goid(1);
    let mut gc = new_gc(1, 100);
    gc.goroutine_created(g, 256);
    let obj = match gc.alloc_one(
        P0,
        g,
        ObjectShape::noscan(64),
        PtrLoc::Local { g, index: 0 },
    ) {
        AllocOne::Done(a) => a.obj,
        AllocOne::AssistNeeded => unreachable!(),
    };
    start_first_cycle(&mut gc);
    gc.goroutine_exited(P0, g);
    gc.mark_worker_drain(P0, u64::MAX);
    gc.mark_done(3_000).unwrap();
    gc.mark_termination_done(4_000, stw(3_000));
    while gc.sweep_one().is_some() {}
    assert!(!gc.heap.is_live_slot(obj));
}

fn alloc_into(gc: &mut Gc, g: Goid, shape: ObjectShape, dst: PtrLoc) -> ObjRef {
    loop {
        match gc.alloc_one(P0, g, shape, dst) {
            AllocOne::Done(a) => break a.obj,
            AllocOne::AssistNeeded => {
                gc.pacer.bg_scan_credit_bytes = 1 << 40;
                gc.assist(P0, g);
            }
        }
    }
}

/// The deletion half (Yuasa): a goroutine whose stack is already black takes
/// the only pointer to W out of a grey object. Without shading the old
/// pointer, W would stay white while reachable.
#[test]
fn the_deletion_barrier_keeps_a_pointer_moved_to_a_scanned_stack() {
    let g = Goid(1);
    let mut gc = new_gc(1, 100);
    gc.goroutine_created(g, 256);
    let local = |index| PtrLoc::Local { g, index };
    let h = alloc_into(&mut gc, g, ObjectShape::with_pointers(16, 1), local(0));
    let w = alloc_into(
        &mut gc,
        g,
        ObjectShape::noscan(32),
        PtrLoc::Heap { obj: h, word: 0 },
    );
    start_first_cycle(&mut gc);
    gc.mark_worker_drain(P0, 1); // the globals
    gc.mark_worker_drain(P0, 1); // g's stack: h is grey
    assert_eq!(gc.goroutine(g).map(|s| s.stack_scanned), Some(true));
    assert_eq!((gc.color(h), gc.color(w)), (Color::Grey, Color::White));
    // x := h.next; h.next = nil
    gc.copy_pointer(P0, g, local(1), Some(PtrLoc::Heap { obj: h, word: 0 }));
    gc.copy_pointer(P0, g, PtrLoc::Heap { obj: h, word: 0 }, None);
    assert_eq!(gc.color(w), Color::White, "recorded in P0's wbBuf");
    gc.ragged_barrier_flush(P0);
    assert_eq!(
        gc.color(w),
        Color::Black,
        "shaded (noscan: straight to black)"
    );
    gc.mark_worker_drain(P0, u64::MAX);
    gc.check_mark_complete().unwrap();
}

/// The insertion half (Dijkstra): a goroutine whose stack is not yet scanned
/// stores its only pointer to W into a black object, then drops it.
#[test]
fn the_insertion_barrier_keeps_a_pointer_stored_into_a_black_object() {
    let g = Goid(1);
    let mut gc = new_gc(1, 100);
    gc.goroutine_created(g, 256);
    let local = |index| PtrLoc::Local { g, index };
    let w = alloc_into(&mut gc, g, ObjectShape::noscan(32), local(0));
    start_first_cycle(&mut gc);
    let b = alloc_into(&mut gc, g, ObjectShape::with_pointers(16, 1), local(1));
    assert_eq!((gc.color(b), gc.color(w)), (Color::Black, Color::White));
    gc.copy_pointer(P0, g, PtrLoc::Heap { obj: b, word: 0 }, Some(local(0)));
    gc.check_no_black_to_white().unwrap();
    gc.copy_pointer(P0, g, local(0), None);
    // A worker on another P cannot see P0's write-barrier buffer (one on
    // P0 flushes it when it runs out of work).
    gc.mark_worker_drain(PId(1), u64::MAX);
    assert!(gc.mark_done_ready(), "w hides in P0's wbBuf");
    assert_eq!(gc.color(w), Color::White);
    gc.ragged_barrier_flush(P0);
    assert_eq!(gc.color(w), Color::Black, "noscan: straight to black");
    gc.check_mark_complete().unwrap();
}

/// Every G slot's g object lives in `allgs` forever: 300 of them (allgs
/// grows past 256, where `append` stops doubling) survive two forced
/// cycles. A goroutine's timer lives in its g while it runs and is
/// garbage once the goroutine exits (gdestroy clears `g.timer`).
#[test]
fn g_objects_stay_reachable_from_allgs_and_a_dead_goroutines_timer_is_freed() {
    use sim_gc::graph::{G_OBJECT, TIMER_OBJECT};
    let mut gc = new_gc(1, 100);
    for i in 1..=300 {
        gc.new_g_slot(P0, goid(i));
        gc.goroutine_created(goid(i), 256);
    }
    let g = goid(7);
    let timer = gc.sleep_timer(P0, g).expect("first sleep allocates").obj;
    assert!(gc.sleep_timer(P0, g).is_none(), "one timer per goroutine");
    let g_objects: Vec<ObjRef> = (1..=300)
        .map(|i| gc.g_object(goid(i)).expect("made"))
        .collect();
    for (i, &obj) in g_objects.iter().enumerate() {
        assert_eq!(gc.heap.span(obj.span).elem_bytes, 480, "g {i}");
    }
    assert_eq!(gc.heap.span(timer.span).elem_bytes, TIMER_OBJECT.size_bytes);
    assert_eq!(G_OBJECT.size_bytes, 456);
    common::runtime_gc(&mut gc, 10_000);
    assert!(g_objects.iter().all(|&o| gc.heap.is_live_slot(o)));
    assert!(gc.heap.is_live_slot(timer), "its goroutine still runs");
    // The goroutine exits; its slot's g object stays, its timer goes.
    gc.goroutine_exited(P0, g);
    common::runtime_gc(&mut gc, 1_000_000);
    assert!(g_objects.iter().all(|&o| gc.heap.is_live_slot(o)));
    assert!(!gc.heap.is_live_slot(timer));
    // allgs: 300 pointers, in an array grown as append grows it.
    assert!(gc.reachable().len() > 300);
}

/// Sudogs: a goroutine about to block takes one from its P's cache, else
/// from the central list, else allocates it; waking, it gives it back to
/// its P, whose full cache moves half to the central list. Each cycle's
/// start drops the central list (`clearpools`): those sudogs are garbage,
/// the P caches' survive.
#[test]
fn sudogs_are_cached_per_p_and_the_central_list_is_dropped_at_each_cycle() {
    let mut gc = new_gc(1, 100);
    let gs: Vec<Goid> = (1..=200).map(goid).collect();
    for &g in &gs {
        gc.goroutine_created(g, 256);
    }
    let allocated = gs.iter().filter(|&&g| gc.acquire_sudog(P0, g)).count();
    assert_eq!(allocated, 200, "no cached sudog yet");
    let sudogs: Vec<ObjRef> = gs
        .iter()
        .map(|&g| gc.goroutine(g).unwrap().sudogs[0])
        .collect();
    for &g in &gs {
        gc.release_sudogs(P0, g);
    }
    // 200 releases into a 128-slot cache: the 129th and the 193rd find it
    // full and move 64 each to the central list, so the P keeps 72.
    common::runtime_gc(&mut gc, 10_000);
    let live = sudogs.iter().filter(|&&s| gc.heap.is_live_slot(s)).count();
    assert_eq!(
        live, 72,
        "the P's cache survives, the central list does not"
    );
    // The P's cached sudogs are reused: no allocation while they last.
    let reused = gs[..live]
        .iter()
        .filter(|&&g| !gc.acquire_sudog(P0, g))
        .count();
    assert_eq!(reused, live);
    assert!(gc.acquire_sudog(P0, gs[live]), "the cache is empty again");
}
