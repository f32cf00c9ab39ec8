//! The object graph and the mutator's heap operations.
//!
//! Objects are span slots ([`ObjRef`]) with pointer words; the roots are each
//! goroutine's stack (its pointer-holding locals, the rings it allocates
//! through) and the globals. The operations are what the workload needs:
//! allocate one object into a location, allocate a loop of objects through a
//! ring that keeps the last K alive (optionally linking each object to the
//! next: `prev.next = n`), copy a pointer between locations (a heap or global
//! store runs the hybrid write barrier while marking), drop a ring, create and
//! end goroutines, grow their stacks.
//!
//! Mirrors go1.27.3's `mallocgc` in `runtime/malloc.go` (the assist debit
//! before the allocation and the size-class round-up after it in
//! `deductAssistCredit`/`postMallocgc`, allocate-black via `gcmarknewobject`,
//! the heap trigger test only when a span was taken or for large objects),
//! `runtime/mbarrier.go`'s hybrid barrier (shade the old and the new pointer),
//! `newproc1`/`gfput`/`gfget`/`gdestroy` and `newstack`/`copystack` in
//! `runtime/proc.go` and `runtime/stack.go` for stacks and `maxStackScan`;
//! `malg`'s `new(g)` and `allgadd` (every g is a heap object in `allgs`,
//! allocated on the system stack: no assist, no cycle started) and
//! `timeSleep`'s `new(timer)` on a goroutine's first sleep, and
//! `acquireSudog`/`releaseSudog` with the per-P and central sudog caches
//! (`clearpools` drops the central one at each `gcStart`).
//!
//! Batching: [`Gc::alloc_loop`] advances an allocation loop until it is done,
//! until the allocation whose span refill made heapLive reach the trigger (that
//! allocation included, exactly where Go calls `gcStart`), until an
//! allocation needs an assist (that allocation not done), or after an
//! allocation whose span needed the OS (pages faulted in, a scavenge
//! assist): such a call costs more than a whole batch, and a preemption
//! request waits for the batch (Go stops at the next mallocgc). No observation is
//! lost: every state change Go could observe between two such points (which
//! slot, which span, heapLive, the barrier's shading) is applied per object.
//!
//! Simplified: pointer words of an object come first (its scannable bytes are
//! `8 × pointer words`); zero-size allocations (`&zerobase`) are not modelled;
//! a dead goroutine keeps its 2 KiB stack for the next one (`gfput`), the
//! global free list's stacks are not freed at GC (`markrootFreeGStacks`);
//! goroutines cannot read each other's stacks, so every pointer a goroutine
//! holds came from an allocation or a load the barrier argument covers;
//! a g object's `timer` is word 40 and its other pointer words stay nil;
//! in-use sudogs are roots of their goroutine's stack scan (Go reaches them
//! through `g.waiting` and the channels' wait queues).

use crate::collector::{Gc, GcPhase, GcTrigger};
use crate::heap::{ObjRef, STACK_MIN_BYTES, SmallAlloc, SpanId, StackHandle, SweepWork};
use crate::sizeclass::{AllocRoute, alloc_route};
use serde::{Deserialize, Serialize};
use sim_core::ids::{Goid, MId, PId};
use std::collections::{BTreeSet, VecDeque};
use std::fmt;

/// `mpreinit` on Linux: every M's signal-handling goroutine gets a 32 KiB stack.
pub const GSIGNAL_STACK_BYTES: u64 = 32 * 1024;
/// `allocm`: an M's g0 stack, `16384 * sys.StackGuardMultiplier` (1 without
/// the race detector), when the OS did not give it one.
pub const G0_STACK_BYTES: u64 = 16 * 1024;

/// A goroutine descriptor, `new(g)` in `malg`: `unsafe.Sizeof(g{})` on
/// linux/amd64 is 448 + 8 (`sizeof_test.go`, with the one-pointer
/// `xRegPerG` last), so its pointer data spans the whole struct.
pub const G_OBJECT: ObjectShape = ObjectShape {
    size_bytes: 456,
    pointer_words: 57,
};
/// The word of a g object that holds `g.timer` (the model's layout).
pub const G_TIMER_WORD: u32 = 40;
/// `new(timer)` in `timeSleep` on a goroutine's first sleep: 96 bytes, its
/// pointers (`f`, `arg`, `ts`) within the first 80.
pub const TIMER_OBJECT: ObjectShape = ObjectShape {
    size_bytes: 96,
    pointer_words: 10,
};

/// `new(sudog)` in `acquireSudog`: 104 bytes (`sizeof_test.go`), size
/// class 112, its pointers (g, the list links, elem, c) within all 13 words.
pub const SUDOG_OBJECT: ObjectShape = ObjectShape {
    size_bytes: 104,
    pointer_words: 13,
};
/// `len(p.sudogbuf)`: each P caches up to 128 free sudogs.
const SUDOG_CACHE_CAP: usize = 128;

/// Free sudogs: each P's cache (`p.sudogcache`, reachable from the P) and
/// the central list (`sched.sudogcache`), which `clearpools` drops at the
/// start of each cycle.
#[derive(Clone, Debug, Default)]
pub(crate) struct SudogCaches {
    per_p: Vec<Vec<ObjRef>>,
    central: Vec<ObjRef>,
}

/// `allgs`, the slice of every g ever made: its backing array (a heap
/// object of `capacity` pointer words, reachable from a global) and how
/// many gs it holds. g objects are never freed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AllGs {
    pub(crate) backing: Option<ObjRef>,
    pub(crate) len: u32,
    pub(crate) capacity: u32,
}

/// `growslice`'s new capacity for appending one pointer to a full slice of
/// `capacity` (`nextslicecap`): the length needed if that is more than
/// double, else double below 256, else grown by a quarter plus 192 until it
/// fits; then rounded up to what the allocation's size class holds.
fn grown_capacity(capacity: u32) -> u32 {
    let old = u64::from(capacity);
    let needed = old + 1;
    let new = if needed > 2 * old {
        needed
    } else if old < 256 {
        2 * old
    } else {
        let mut new = old;
        while new < needed {
            new += (new + 3 * 256) >> 2;
        }
        new
    };
    let bytes = match alloc_route(new * 8, false) {
        AllocRoute::Small { slot_bytes, .. } => slot_bytes,
        AllocRoute::Large { pages } => pages * crate::sizeclass::PAGE_SIZE_BYTES,
        AllocRoute::Tiny | AllocRoute::Zero => new * 8,
    };
    (bytes / 8) as u32
}

/// The shape of an allocated object.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ObjectShape {
    /// Bytes asked for (`new(T)`'s `unsafe.Sizeof`), at least 1.
    pub size_bytes: u64,
    /// Pointer words at the start of the object; 0 is a noscan object.
    pub pointer_words: u32,
}

impl ObjectShape {
    pub fn noscan(size_bytes: u64) -> ObjectShape {
        ObjectShape {
            size_bytes,
            pointer_words: 0,
        }
    }
    pub fn with_pointers(size_bytes: u64, pointer_words: u32) -> ObjectShape {
        ObjectShape {
            size_bytes,
            pointer_words,
        }
    }
    pub fn is_noscan(&self) -> bool {
        self.pointer_words == 0
    }
}

/// A ring of live objects held by one goroutine, by index. Printed `ring3`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct RingId(pub u32);

impl fmt::Display for RingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ring{}", self.0)
    }
}

/// A place that holds a pointer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum PtrLoc {
    /// A pointer-holding local on a goroutine's stack (no write barrier).
    Local { g: Goid, index: u32 },
    /// A global variable (data/BSS: stores run the write barrier).
    Global(u32),
    /// A pointer word of a heap object (stores run the write barrier).
    Heap { obj: ObjRef, word: u32 },
}

/// The GC's view of one goroutine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoroutineHeap {
    pub stack: StackHandle,
    /// Bytes of the stack in use (what a stack scan scans).
    pub stack_used_bytes: u64,
    /// The pointers its stack holds; `None` until it holds any (most
    /// goroutines never allocate, and a million of them should stay small).
    pub refs: Option<Box<StackRefs>>,
    /// `gcAssistBytes`: allocation credit (negative is debt).
    pub assist_bytes: i64,
    /// The next allocation's debit was already taken (it stopped for an assist).
    debit_applied: bool,
    /// Scanned in the current cycle (its stack is black).
    pub stack_scanned: bool,
    /// `g.timer` is set: it has slept since it was created.
    pub has_timer: bool,
    /// The sudogs it waits with (a channel operation, a select's cases, a
    /// semaphore), until it runs again.
    pub sudogs: Vec<ObjRef>,
}

/// The pointers a goroutine's stack holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackRefs {
    /// Pointer-holding locals.
    pub locals: Vec<Option<ObjRef>>,
    /// Rings this goroutine allocates through (their slice and last object
    /// are locals of its stack).
    pub rings: Vec<RingId>,
}

/// A ring buffer of the last `capacity` objects (`ring[i % K] = n`), backed by
/// a heap slice of `capacity` pointers, plus the last object allocated (`prev`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ring {
    pub owner: Goid,
    pub capacity: u32,
    /// The slice's backing array (a heap object of `capacity` pointer words).
    pub backing: Option<ObjRef>,
    pub next_index: u32,
    pub last: Option<ObjRef>,
    pub dropped: bool,
}

/// The GC's goroutines, indexed by goid: the scheduler numbers them densely
/// (by G slot), so a vector is a map with O(1) lookups that iterates in goid
/// order, as the `BTreeMap` it replaces did.
#[derive(Clone, Debug, Default)]
pub(crate) struct GoroutineTable {
    slots: Vec<Option<GoroutineHeap>>,
}

impl GoroutineTable {
    pub(crate) fn get(&self, g: &Goid) -> Option<&GoroutineHeap> {
        self.slots.get(g.0 as usize).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, g: &Goid) -> Option<&mut GoroutineHeap> {
        self.slots.get_mut(g.0 as usize).and_then(Option::as_mut)
    }

    pub(crate) fn insert(&mut self, g: Goid, state: GoroutineHeap) -> Option<GoroutineHeap> {
        let i = g.0 as usize;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i].replace(state)
    }

    pub(crate) fn remove(&mut self, g: &Goid) -> Option<GoroutineHeap> {
        self.slots.get_mut(g.0 as usize).and_then(Option::take)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (Goid, &GoroutineHeap)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (Goid(i as u64), s)))
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (Goid, &mut GoroutineHeap)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| s.as_mut().map(|s| (Goid(i as u64), s)))
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut GoroutineHeap> {
        self.slots.iter_mut().flatten()
    }
}

/// Roots and mutator state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Graph {
    pub(crate) goroutines: GoroutineTable,
    pub(crate) globals: Vec<Option<ObjRef>>,
    pub(crate) rings: Vec<Ring>,
    /// 2 KiB stacks of dead goroutines, kept for reuse (`gFree`), as their
    /// pool spans (4 bytes each rather than a 16-byte handle: a run may
    /// retire millions of goroutines).
    free_stacks: Vec<u32>,
    /// Goroutines parked in "GC assist wait", in order.
    pub(crate) assist_queue: VecDeque<Goid>,
    /// Each thread's runtime stacks by M index: its signal stack and, but
    /// for M0's, its g0 stack.
    thread_stacks: Vec<Vec<StackHandle>>,
    pub(crate) allgs: AllGs,
    /// The g object of each G slot (the scheduler's G index is the key of
    /// the goroutine it runs), made when the slot was first used.
    g_objects: Vec<Option<ObjRef>>,
    pub(crate) sudog_caches: SudogCaches,
    /// g objects `malg` made ahead of the goroutine that will take them
    /// (`reserve_malg`).
    reserved_g_objects: VecDeque<ObjRef>,
}

impl Graph {
    pub(crate) fn reset_assist_bytes(&mut self) {
        for g in self.goroutines.values_mut() {
            g.assist_bytes = 0;
            g.debit_applied = false;
        }
    }

    pub(crate) fn take_assist_queue(&mut self) -> Vec<Goid> {
        self.assist_queue.drain(..).collect()
    }
}

/// One allocation's result.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Allocation {
    pub obj: ObjRef,
    /// For a tiny object: its offset in the 16-byte block `obj`.
    pub tiny_offset_bytes: Option<u64>,
    /// The slot bytes it took (0 when packed into an existing tiny block).
    pub slot_bytes: u64,
    /// An mcache took a new span (or a large object got its own).
    pub span_refilled: bool,
    /// heapLive reached the trigger at this allocation: start a GC
    /// (`gcStart(gcTrigger{kind: gcTriggerHeap})`).
    pub gc_triggered: bool,
    pub sweep: SweepWork,
}

/// [`Gc::alloc_one`]'s result.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum AllocOne {
    Done(Allocation),
    /// The goroutine owes assist work first; call [`Gc::assist`], then retry.
    AssistNeeded,
}

/// Why an allocation loop stopped.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum LoopStop {
    /// All asked-for objects were allocated.
    Completed,
    /// The last allocation made heapLive reach the trigger.
    GcTriggered,
    /// The next allocation needs an assist first.
    AssistNeeded,
}

/// What [`Gc::alloc_loop`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct AllocLoopOutcome {
    pub allocated: u64,
    pub stop: Option<LoopStop>,
    pub slot_bytes: u64,
    pub requested_bytes: u64,
    /// mcache refills (spans taken from mcentral) and large allocations.
    pub spans_refilled: u64,
    pub sweep: SweepWork,
}

/// [`Gc::new_ring`]'s result.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum NewRing {
    Created {
        ring: RingId,
        /// The backing slice's allocation (none for capacity 0).
        backing: Option<Allocation>,
    },
    AssistNeeded,
}

/// A stack's growth (`newstack` → `copystack`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StackGrowth {
    pub old_size_bytes: u64,
    pub new_size_bytes: u64,
}

impl Gc {
    fn g_state(&mut self, g: Goid) -> &mut GoroutineHeap {
        self.graph
            .goroutines
            .get_mut(&g)
            .unwrap_or_else(|| panic!("{g} is not known to the GC"))
    }

    /// The GC's view of a goroutine.
    pub fn goroutine(&self, g: Goid) -> Option<&GoroutineHeap> {
        self.graph.goroutines.get(&g)
    }

    /// Goroutines parked in "GC assist wait", in the order they parked.
    pub fn parked_assists(&self) -> impl Iterator<Item = Goid> + '_ {
        self.graph.assist_queue.iter().copied()
    }

    /// A ring.
    pub fn ring(&self, ring: RingId) -> &Ring {
        &self.graph.rings[ring.0 as usize]
    }

    /// `newproc1`: a goroutine with the starting 2 KiB stack (a dead
    /// goroutine's if one is free), `stack_used_bytes` of it in use. A stack
    /// made during the mark phase starts black.
    pub fn goroutine_created(&mut self, g: Goid, stack_used_bytes: u64) -> StackHandle {
        let stack = match self.graph.free_stacks.pop() {
            Some(span) => StackHandle::min_in_pool_span(span),
            None => {
                let env = self.alloc_env();
                self.heap
                    .stack_alloc(STACK_MIN_BYTES, STACK_MIN_BYTES, &env)
            }
        };
        self.pacer.add_scannable_stack(stack.size_bytes as i64);
        let marking = self.phase != GcPhase::Off;
        let previous = self.graph.goroutines.insert(
            g,
            GoroutineHeap {
                stack,
                stack_used_bytes: stack_used_bytes.min(stack.size_bytes),
                refs: None,
                assist_bytes: 0,
                debit_applied: false,
                stack_scanned: marking,
                has_timer: false,
                sudogs: Vec::new(),
            },
        );
        debug_assert!(previous.is_none(), "{g} created twice");
        stack
    }

    /// `malg`'s `new(g)` and `allgadd` on P `p`, on the system stack (the
    /// debit goes to the spawning goroutine `charged`): a g object appended
    /// to `allgs`, whose backing array grows as `append` grows it (the old
    /// array becomes garbage). Returns the g object.
    pub fn malg(&mut self, p: PId, charged: Option<Goid>) -> ObjRef {
        let g = self.malloc_on_g0(p, charged, G_OBJECT).obj;

        let all = self.graph.allgs;
        let backing = match all.backing {
            Some(b) if all.len < all.capacity => b,
            _ => {
                let capacity = grown_capacity(all.capacity);
                let shape = ObjectShape::with_pointers(u64::from(capacity) * 8, capacity);
                let new = self.malloc_on_g0(p, charged, shape).obj;
                if let Some(old) = all.backing {
                    for i in 0..all.len {
                        let v = self.read_pointer(PtrLoc::Heap { obj: old, word: i });
                        self.store_heap_word(p, new, i, v);
                    }
                }
                self.graph.allgs.backing = Some(new);
                self.graph.allgs.capacity = capacity;
                new
            }
        };
        self.store_heap_word(p, backing, all.len, Some(g));
        self.graph.allgs.len += 1;
        g
    }

    /// `timeSleep` by goroutine `g` on P `p`: on its first sleep since it
    /// was created, `new(timer)` into `g.timer`. `None` when it already has
    /// one (or the model made no g object for it); else the allocation, on
    /// the goroutine itself (it may trigger a cycle; the assist it would owe
    /// is not taken, only charged to its credit).
    /// `acquireSudog` for goroutine `g` on P `p`, about to block: a sudog
    /// from the P's cache, refilled from the central list up to half its
    /// capacity when empty, else `new(sudog)` (with the M locked: the debit
    /// goes to `g`, no assist, no cycle started). Returns whether it
    /// allocated.
    pub fn acquire_sudog(&mut self, p: PId, g: Goid) -> bool {
        let i = p.index();
        let caches = &mut self.graph.sudog_caches;
        if caches.per_p.len() <= i {
            caches.per_p.resize_with(i + 1, Vec::new);
        }
        if caches.per_p[i].is_empty() {
            while caches.per_p[i].len() < SUDOG_CACHE_CAP / 2 {
                let Some(s) = caches.central.pop() else { break };
                caches.per_p[i].push(s);
            }
        }
        let (sudog, allocated) = match self.graph.sudog_caches.per_p[i].pop() {
            Some(s) => (s, false),
            None => (self.malloc_on_g0(p, Some(g), SUDOG_OBJECT).obj, true),
        };
        self.g_state(g).sudogs.push(sudog);
        allocated
    }

    /// `releaseSudog` of every sudog goroutine `g` waited with, now that it
    /// runs again on P `p`: into the P's cache, half of which moves to the
    /// central list first when it is full.
    pub fn release_sudogs(&mut self, p: PId, g: Goid) {
        let Some(state) = self.graph.goroutines.get_mut(&g) else {
            return;
        };
        if state.sudogs.is_empty() {
            return;
        }
        let held = std::mem::take(&mut state.sudogs);
        let i = p.index();
        let caches = &mut self.graph.sudog_caches;
        if caches.per_p.len() <= i {
            caches.per_p.resize_with(i + 1, Vec::new);
        }
        for s in held {
            if caches.per_p[i].len() == SUDOG_CACHE_CAP {
                let half = caches.per_p[i].split_off(SUDOG_CACHE_CAP / 2);
                caches.central.extend(half);
            }
            caches.per_p[i].push(s);
        }
    }

    /// `clearpools` at `gcStart`: the central sudog list is dropped (its
    /// sudogs are garbage unless in use again).
    pub(crate) fn clear_sudog_pool(&mut self) {
        self.graph.sudog_caches.central.clear();
    }

    /// The free sudogs the runtime's roots reach (the P caches and the
    /// central list).
    pub(crate) fn cached_sudogs(&self) -> impl Iterator<Item = ObjRef> + '_ {
        let c = &self.graph.sudog_caches;
        c.per_p.iter().flatten().chain(&c.central).copied()
    }

    /// The g object of goroutine key `g`'s G slot (a heap object reachable
    /// from `allgs`), if the scheduler made one for it ([`Gc::new_g_slot`]).
    pub fn g_object(&self, g: Goid) -> Option<ObjRef> {
        self.graph.g_objects.get(g.0 as usize).copied().flatten()
    }

    /// `timeSleep` by goroutine `g` on P `p`: on its first sleep since it
    /// was created, `new(timer)` into `g.timer`. `None` when it already has
    /// one (or the model made no g object for it); else the allocation, on
    /// the goroutine itself (it may trigger a cycle; the assist it would owe
    /// is not taken, only charged to its credit).
    pub fn sleep_timer(&mut self, p: PId, g: Goid) -> Option<Allocation> {
        let g_object = self.g_object(g)?;
        let state = self.g_state(g);
        if state.has_timer {
            return None;
        }
        state.has_timer = true;
        debug_assert!(self.heap.is_live_slot(g_object), "{g}'s g object was freed");
        if self.blacken_enabled {
            self.g_state(g).assist_bytes -= TIMER_OBJECT.size_bytes as i64;
        }
        self.prepare_for_sweep(p);
        let route = alloc_route(TIMER_OBJECT.size_bytes, false);
        let a = self.alloc_object(p, Some(g), TIMER_OBJECT, route);
        self.store_heap_word(p, g_object, G_TIMER_WORD, Some(a.obj));
        Some(a)
    }

    /// `malg` ahead of a goroutine's creation by `spawner` on P `p`, when no
    /// dead G can be reused: the g object (charged to the spawner, as the
    /// M's user goroutine) and, when no dead goroutine's 2 KiB stack is
    /// free, a stack, so that the go statement about to create the
    /// goroutine pays for their pages; [`Gc::goroutine_created`] takes both.
    pub fn reserve_malg(&mut self, p: PId, spawner: Goid) {
        let g = self.malg(p, Some(spawner));
        self.graph.reserved_g_objects.push_back(g);
        if self.graph.free_stacks.is_empty() {
            let env = self.alloc_env();
            let stack = self
                .heap
                .stack_alloc(STACK_MIN_BYTES, STACK_MIN_BYTES, &env);
            self.graph.free_stacks.push(stack.min_pool_span());
        }
    }

    /// A G slot used for the first time, for goroutine key `g` on P `p`:
    /// it gets a g object, one `reserve_malg` made ahead or, for the
    /// runtime's own goroutines, one `malg` makes now. The goroutines the
    /// slot runs from then on ([`Gc::goroutine_created`]) share it.
    pub fn new_g_slot(&mut self, p: PId, g: Goid) {
        let obj = match self.graph.reserved_g_objects.pop_front() {
            Some(obj) => obj,
            None => self.malg(p, None),
        };

        let i = g.0 as usize;
        if self.graph.g_objects.len() <= i {
            self.graph.g_objects.resize(i + 1, None);
        }
        self.graph.g_objects[i] = Some(obj);
    }

    /// `goexit0`/`gdestroy` on P `p`: the goroutine's roots disappear, its unused
    /// assist credit goes to the background pool; a 2 KiB stack stays with the
    /// dead G for reuse, a grown one is freed.
    pub fn goroutine_exited(&mut self, p: PId, g: Goid) {
        let Some(state) = self.graph.goroutines.remove(&g) else {
            return;
        };
        // gdestroy: gp.timer = nil, a heap store.
        if state.has_timer
            && let Some(obj) = self.g_object(g)
        {
            self.store_heap_word(p, obj, G_TIMER_WORD, None);
        }
        for ring in state.refs.iter().flat_map(|r| r.rings.iter()) {
            let ring = &mut self.graph.rings[ring.0 as usize];
            ring.dropped = true;
            ring.backing = None;
            ring.last = None;
        }
        self.graph.assist_queue.retain(|&q| q != g);
        // gdestroy: unused assist credit becomes background credit.
        if self.blacken_enabled && state.assist_bytes > 0 {
            self.pacer.bg_scan_credit_bytes +=
                (self.pacer.assist_work_per_byte * state.assist_bytes as f64) as i64;
        }
        self.pacer
            .add_scannable_stack(-(state.stack.size_bytes as i64));
        if state.stack.size_bytes == STACK_MIN_BYTES {
            self.graph.free_stacks.push(state.stack.min_pool_span());
        } else {
            let gc_off = self.phase == GcPhase::Off;
            self.heap.stack_free(state.stack, gc_off);
        }
    }

    /// The goroutine's stack now uses `used_bytes`; past its size it grows by
    /// doubling (`newstack`), copying to a new stack and freeing the old.
    pub fn set_stack_used(&mut self, g: Goid, used_bytes: u64) -> Option<StackGrowth> {
        let state = self.g_state(g);
        state.stack_used_bytes = used_bytes;
        let old = state.stack;
        if used_bytes <= old.size_bytes {
            self.heap.stack_touch(old, used_bytes);
            return None;
        }
        let mut new_size = old.size_bytes * 2;
        while new_size < used_bytes {
            new_size *= 2;
        }
        Some(self.replace_stack(g, new_size, used_bytes))
    }

    /// A thread starts (`allocm` and `mpreinit`): its 32 KiB signal stack
    /// (`malg(32 * 1024)`) and, unless it runs on its OS stack as M0 does,
    /// its 16 KiB g0 stack (`malg(16384)`) come from the stack allocator.
    /// They count in StackInuse and in mapped memory; the GC never scans
    /// them (no goroutine code runs on them) and the pacer does not count
    /// them as scannable stack.
    pub fn thread_created(&mut self, m: MId, os_g0_stack: bool) {
        let env = self.alloc_env();
        // Counted as touched whole (how much of them signal handlers and
        // runtime calls reach is not modelled).
        let mut stacks =
            vec![
                self.heap
                    .stack_alloc(GSIGNAL_STACK_BYTES, GSIGNAL_STACK_BYTES, &env),
            ];
        if !os_g0_stack {
            stacks.push(self.heap.stack_alloc(G0_STACK_BYTES, G0_STACK_BYTES, &env));
        }
        let index = m.index();
        if self.graph.thread_stacks.len() <= index {
            self.graph.thread_stacks.resize(index + 1, Vec::new());
        }
        self.graph.thread_stacks[index] = stacks;
    }

    /// A thread exits (`mexit`): its runtime stacks go back to the stack
    /// allocator.
    pub fn thread_exited(&mut self, m: MId) {
        let Some(stacks) = self.graph.thread_stacks.get_mut(m.index()) else {
            return;
        };
        let gc_off = self.phase == GcPhase::Off;
        for stack in std::mem::take(stacks) {
            self.heap.stack_free(stack, gc_off);
        }
    }

    /// `copystack`: goroutine `g` moves to a new stack of `new_size_bytes`,
    /// whose top `used_bytes` its frames fill.
    pub(crate) fn replace_stack(
        &mut self,
        g: Goid,
        new_size_bytes: u64,
        used_bytes: u64,
    ) -> StackGrowth {
        let env = self.alloc_env();
        let new = self.heap.stack_alloc(new_size_bytes, used_bytes, &env);
        let state = self.g_state(g);
        let old = std::mem::replace(&mut state.stack, new);
        let gc_off = self.phase == GcPhase::Off;
        self.heap.stack_free(old, gc_off);
        self.pacer
            .add_scannable_stack(new_size_bytes as i64 - old.size_bytes as i64);
        StackGrowth {
            old_size_bytes: old.size_bytes,
            new_size_bytes,
        }
    }

    /// Declares `count` pointer-holding globals (all nil).
    pub fn set_global_count(&mut self, count: u32) {
        self.graph.globals.resize(count as usize, None);
    }

    /// The pointer stored at `loc`.
    pub fn read_pointer(&self, loc: PtrLoc) -> Option<ObjRef> {
        match loc {
            PtrLoc::Local { g, index } => self
                .graph
                .goroutines
                .get(&g)
                .and_then(|s| s.refs.as_ref())
                .and_then(|r| r.locals.get(index as usize).copied().flatten()),
            PtrLoc::Global(index) => self.graph.globals.get(index as usize).copied().flatten(),
            PtrLoc::Heap { obj, word } => self
                .heap
                .span(obj.span)
                .pointers_of(obj.slot)
                .get(word as usize)
                .copied()
                .flatten(),
        }
    }

    /// Writes `value` at `loc` for a goroutine on P `p`. Heap and global
    /// stores run the hybrid write barrier while the GC is marking: the old
    /// and the new pointer are shaded (through `p`'s write-barrier buffer).
    /// Stack stores have no barrier.
    #[inline]
    pub(crate) fn write_pointer(&mut self, p: PId, loc: PtrLoc, value: Option<ObjRef>) {
        let barrier = self.phase != GcPhase::Off;
        match loc {
            PtrLoc::Local { g, index } => {
                let locals = &mut self
                    .g_state(g)
                    .refs
                    .get_or_insert_with(Default::default)
                    .locals;
                if locals.len() <= index as usize {
                    locals.resize(index as usize + 1, None);
                }
                locals[index as usize] = value;
            }
            PtrLoc::Global(index) => {
                let old = self.graph.globals[index as usize];
                if barrier {
                    self.write_barrier(p, old, value);
                }
                self.graph.globals[index as usize] = value;
            }
            PtrLoc::Heap { obj, word } => self.store_heap_word(p, obj, word, value),
        }
    }

    /// `write_pointer` to word `word` of heap object `obj`.
    #[inline(always)]
    fn store_heap_word(&mut self, p: PId, obj: ObjRef, word: u32, value: Option<ObjRef>) {
        // Written before the barrier shades: shading reads mark bits and
        // whether an object has pointer words, never their values.
        let old = std::mem::replace(
            &mut self.heap.span_mut(obj.span).pointers[obj.slot as usize].as_mut_slice()
                [word as usize],
            value,
        );
        if self.phase != GcPhase::Off {
            self.write_barrier(p, old, value);
        }
    }

    /// `*dst = *src` (or `*dst = nil`) executed by goroutine `g` on P `p`: a
    /// load when `dst` is one of `g`'s locals, a store (with the write
    /// barrier, into `p`'s buffer) when it is a global or a heap word. `g`
    /// can only read its own locals.
    pub fn copy_pointer(&mut self, p: PId, g: Goid, dst: PtrLoc, src: Option<PtrLoc>) {
        for loc in [Some(dst), src].into_iter().flatten() {
            if let PtrLoc::Local { g: owner, .. } = loc {
                assert_eq!(owner, g, "{g} cannot reach {owner}'s stack");
            }
        }
        let value = src.and_then(|s| self.read_pointer(s));
        self.write_pointer(p, dst, value);
    }

    /// `mallocgc` for one object of `shape` on P `p` by goroutine `g`.
    /// `None`: the goroutine is in assist debt (the debit stays taken).
    fn malloc(&mut self, p: PId, g: Goid, shape: ObjectShape) -> Option<Allocation> {
        check_shape(shape);
        self.malloc_routed(
            p,
            g,
            shape,
            alloc_route(shape.size_bytes, shape.is_noscan()),
        )
    }

    /// `malloc` of a checked `shape` whose route (`alloc_route`) is known:
    /// a loop of identical allocations works it out once.
    #[inline(always)]
    fn malloc_routed(
        &mut self,
        p: PId,
        g: Goid,
        shape: ObjectShape,
        route: AllocRoute,
    ) -> Option<Allocation> {
        if self.blacken_enabled {
            let limiting = self.limiter.limiting();
            let state = self.g_state(g);
            if !state.debit_applied {
                state.assist_bytes -= shape.size_bytes as i64;
                state.debit_applied = true;
            }
            if state.assist_bytes < 0 && !limiting {
                return None;
            }
            state.debit_applied = false;
        } else {
            self.g_state(g).debit_applied = false;
        }
        Some(self.alloc_object(p, Some(g), shape, route))
    }

    /// `mallocgc` on the system stack (`newproc1`'s `new(g)`): the debit
    /// goes to the M's user goroutine `charged`, if any, but no assist runs
    /// there, and the heap trigger cannot start a cycle (`gcStart` returns at
    /// once on g0): the next allocation on a user goroutine that takes a
    /// span does.
    fn malloc_on_g0(&mut self, p: PId, charged: Option<Goid>, shape: ObjectShape) -> Allocation {
        check_shape(shape);
        self.prepare_for_sweep(p);
        if self.blacken_enabled
            && let Some(g) = charged
        {
            self.g_state(g).assist_bytes -= shape.size_bytes as i64;
        }
        let route = alloc_route(shape.size_bytes, shape.is_noscan());
        let a = self.alloc_object(p, charged, shape, route);
        Allocation {
            gc_triggered: false,
            ..a
        }
    }

    /// `mcache.prepareForSweep`: Go flushes a P's mcache after the sweep
    /// generation flips and before the P allocates (`acquirep`, `procresize`
    /// and the forEachP at the end of mark termination). The model flips at
    /// the start of mark termination's stop-the-world, while goroutines may
    /// still run; a user allocation stops there first (mallocgc is a safe
    /// point), but the runtime's own (a g, a sudog, a timer) flush the
    /// mcache here, or their objects would land, unmarked, in a span that
    /// is about to be swept.
    fn prepare_for_sweep(&mut self, p: PId) {
        if self.heap.mcache_is_stale(p) {
            // Uncaching a stale span sweeps it (`uncacheSpan`); that work
            // is not charged to anyone.
            let (delta, _sweep) = self.heap.release_all(p);
            let mem = self.memory_inputs();
            self.pacer
                .update(delta.heap_live_bytes, delta.heap_scan_bytes, false, &mem);
        }
    }

    /// The allocation itself, after the assist debit: the slot, the pacer's
    /// update on a span refill, allocate-black, the size-class round-up
    /// charged to `g`'s assist credit, and the heap trigger test.
    #[inline(always)]
    fn alloc_object(
        &mut self,
        p: PId,
        g: Option<Goid>,
        shape: ObjectShape,
        route: AllocRoute,
    ) -> Allocation {
        let noscan = shape.is_noscan();
        let (obj, tiny_offset, slot_bytes, refill, sweep, large) = match route {
            AllocRoute::Zero => unreachable!("size checked above"),
            AllocRoute::Tiny => {
                let (block, offset, new_block) =
                    self.heap.alloc_tiny(p, shape.size_bytes, &self.alloc_env());
                match new_block {
                    Some(a) => (block, Some(offset), 16, a.refilled, a.sweep, false),
                    None => (block, Some(offset), 0, None, SweepWork::default(), false),
                }
            }
            AllocRoute::Small {
                span_class,
                slot_bytes,
            } => {
                let cached = self.heap.alloc_from_cache(
                    p,
                    span_class,
                    shape.size_bytes,
                    shape.pointer_words,
                );
                let a = match cached {
                    Some(obj) => SmallAlloc {
                        obj,
                        refilled: None,
                        sweep: SweepWork::default(),
                    },
                    None => self.heap.alloc_small(
                        p,
                        span_class,
                        shape.size_bytes,
                        shape.pointer_words,
                        &self.alloc_env(),
                    ),
                };
                (a.obj, None, slot_bytes, a.refilled, a.sweep, false)
            }
            AllocRoute::Large { pages } => {
                let a = self.heap.alloc_large(
                    pages,
                    shape.size_bytes,
                    shape.pointer_words,
                    noscan,
                    &self.alloc_env(),
                );
                let bytes = self.heap.span(a.obj.span).elem_bytes;
                (a.obj, None, bytes, a.refilled, a.sweep, true)
            }
        };
        if let Some(delta) = refill {
            let mem = self.memory_inputs();
            self.pacer.update(
                delta.heap_live_bytes,
                delta.heap_scan_bytes,
                self.blacken_enabled,
                &mem,
            );
        }
        // Allocate black, also the new tiny block (its bytes count once).
        if self.phase != GcPhase::Off && slot_bytes != 0 {
            self.mark_new_object(obj);
        }
        if large && !noscan {
            self.heap.add_scan_alloc(p, shape.pointer_words as u64 * 8);
        }
        if self.blacken_enabled
            && slot_bytes != 0
            && let Some(g) = g
        {
            self.g_state(g).assist_bytes -= slot_bytes as i64 - shape.size_bytes as i64;
        }
        let span_refilled = refill.is_some();
        let gc_triggered = span_refilled && self.trigger_test(GcTrigger::Heap);
        Allocation {
            obj,
            tiny_offset_bytes: tiny_offset,
            slot_bytes,
            span_refilled,
            gc_triggered,
            sweep,
        }
    }

    /// Allocates one object and stores its pointer at `dst` (a local of `g`,
    /// a global, or a heap word).
    pub fn alloc_one(&mut self, p: PId, g: Goid, shape: ObjectShape, dst: PtrLoc) -> AllocOne {
        if let PtrLoc::Local { g: owner, .. } = dst {
            assert_eq!(owner, g, "{g} cannot reach {owner}'s stack");
        }
        match self.malloc(p, g, shape) {
            Some(a) => {
                self.write_pointer(p, dst, Some(a.obj));
                AllocOne::Done(a)
            }
            None => AllocOne::AssistNeeded,
        }
    }

    /// `ring := make([]*T, capacity)` on `g`'s stack: allocates the slice's
    /// backing array (`capacity` pointer words) unless `capacity` is 0.
    pub fn new_ring(&mut self, p: PId, g: Goid, capacity: u32) -> NewRing {
        let backing = if capacity == 0 {
            None
        } else {
            let shape = ObjectShape::with_pointers(capacity as u64 * 8, capacity);
            match self.malloc(p, g, shape) {
                Some(a) => Some(a),
                None => return NewRing::AssistNeeded,
            }
        };
        let ring = RingId(self.graph.rings.len() as u32);
        self.graph.rings.push(Ring {
            owner: g,
            capacity,
            backing: backing.map(|a| a.obj),
            next_index: 0,
            last: None,
            dropped: false,
        });
        self.g_state(g)
            .refs
            .get_or_insert_with(Default::default)
            .rings
            .push(ring);
        NewRing::Created { ring, backing }
    }

    /// The ring's slice and last object are no longer referenced (the
    /// goroutine's locals are overwritten: a stack write, no barrier).
    pub fn drop_ring(&mut self, ring: RingId) {
        let r = &mut self.graph.rings[ring.0 as usize];
        r.dropped = true;
        r.backing = None;
        r.last = None;
    }

    /// `for i := 0; i < max_count; i++ { n := new(T); if link { prev.next = n };
    /// ring[i % K] = n; prev = n }`, run by `g` on `p`, through `ring`.
    /// Stops early at the allocation that makes heapLive reach the trigger
    /// (included), before one that needs an assist, or after one whose span
    /// needed the OS (`Completed`, with allocations left).
    pub fn alloc_loop(
        &mut self,
        p: PId,
        g: Goid,
        ring: RingId,
        shape: ObjectShape,
        link: bool,
        max_count: u64,
    ) -> AllocLoopOutcome {
        assert!(
            !link || shape.pointer_words > 0,
            "linking needs a pointer word in the object"
        );
        let r = &self.graph.rings[ring.0 as usize];
        assert!(!r.dropped, "{ring} was dropped");
        assert_eq!(r.owner, g, "{ring} lives on {}'s stack", r.owner);
        let mut out = AllocLoopOutcome::default();
        if max_count > 0 {
            check_shape(shape);
        }
        let route = alloc_route(shape.size_bytes, shape.is_noscan());
        let mut left = max_count;
        while left > 0 {
            if let AllocRoute::Small {
                span_class,
                slot_bytes,
            } = route
                && self.phase == GcPhase::Off
                && !self.blacken_enabled
            {
                // A run from P's cached span while the GC is off: each object
                // takes the span's next free slot, and nothing `malloc` looks
                // at changes (no refill, so no sweeping, pacer update or
                // trigger test; no assist credit; no marking), so the run
                // skips `malloc`'s checks. The state after it is the same.
                let run = self.heap.cached_free_slots(p, span_class).min(left);
                if run > 0 {
                    self.g_state(g).debit_applied = false;
                    let mut slots = Vec::with_capacity(run as usize);
                    let span = self.heap.alloc_run_from_cache(
                        p,
                        span_class,
                        shape.size_bytes,
                        shape.pointer_words,
                        run,
                        &mut slots,
                    );
                    self.ring_store_run(p, ring, link, span, &slots);
                    out.allocated += run;
                    out.slot_bytes += run * slot_bytes;
                    out.requested_bytes += run * shape.size_bytes;
                    left -= run;
                    continue;
                }
            }
            let os_work_before = self.heap.os_work_count();
            let Some(a) = self.malloc_routed(p, g, shape, route) else {
                out.stop = Some(LoopStop::AssistNeeded);
                return out;
            };
            out.allocated += 1;
            out.slot_bytes += a.slot_bytes;
            out.requested_bytes += shape.size_bytes;
            out.spans_refilled += a.span_refilled as u64;
            out.sweep.add(a.sweep);
            self.ring_store(p, ring, link, a.obj);
            if a.gc_triggered {
                out.stop = Some(LoopStop::GcTriggered);
                return out;
            }
            left -= 1;
            if self.heap.os_work_count() != os_work_before {
                // The span this allocation took needed the OS (pages
                // faulted in, a scavenge assist's madvise): that costs far
                // more than the batch's budget, so the batch ends here, and
                // a preemption request waits for at most one such call.
                break;
            }
        }
        out.stop = Some(LoopStop::Completed);
        out
    }

    /// `ring_store` for new objects `slots` of `span`, in order, while the
    /// GC is off (no write barrier). Without links only the ring's words
    /// change, so the backing slice is looked up once.
    fn ring_store_run(&mut self, p: PId, ring: RingId, link: bool, span: SpanId, slots: &[u16]) {
        debug_assert_eq!(self.phase, GcPhase::Off, "the barrier would be needed");
        let r = &self.graph.rings[ring.0 as usize];
        let (Some(backing), false, Some(&last)) = (r.backing, link, slots.last()) else {
            for &slot in slots {
                self.ring_store(p, ring, link, ObjRef { span, slot });
            }
            return;
        };
        let (mut index, capacity) = (r.next_index, r.capacity);
        let words = self.heap.span_mut(backing.span).pointers[backing.slot as usize].as_mut_slice();
        for &slot in slots {
            words[index as usize] = Some(ObjRef { span, slot });
            index = (index + 1) % capacity;
        }
        let r = &mut self.graph.rings[ring.0 as usize];
        r.next_index = index;
        r.last = Some(ObjRef { span, slot: last });
    }

    /// `if link { prev.next = n }; ring[i % K] = n; prev = n` for the new
    /// object `obj` (heap stores, with the write barrier while marking).
    #[inline(always)]
    fn ring_store(&mut self, p: PId, ring: RingId, link: bool, obj: ObjRef) {
        let r = &self.graph.rings[ring.0 as usize];
        let (backing, index, prev, capacity) = (r.backing, r.next_index, r.last, r.capacity);
        if link && let Some(prev) = prev {
            self.write_pointer(p, PtrLoc::Heap { obj: prev, word: 0 }, Some(obj));
        }
        if let Some(backing) = backing {
            self.store_heap_word(p, backing, index, Some(obj));
        }
        let r = &mut self.graph.rings[ring.0 as usize];
        if capacity > 0 {
            r.next_index = (index + 1) % capacity;
        }
        r.last = Some(obj);
    }

    /// Every root: each goroutine's locals and ring references, then the
    /// globals (for checks and the GUI).
    pub fn roots(&self) -> Vec<ObjRef> {
        let mut out = Vec::new();
        for (g, _) in self.graph.goroutines.iter() {
            out.extend(self.stack_roots(g));
        }
        out.extend(self.graph.globals.iter().flatten().copied());
        out.extend(self.graph.allgs.backing);
        out.extend(self.cached_sudogs());
        out
    }

    /// The pointers on `g`'s stack.
    pub(crate) fn stack_roots(&self, g: Goid) -> Vec<ObjRef> {
        let Some(state) = self.graph.goroutines.get(&g) else {
            return Vec::new();
        };
        // Its sudogs (reached in Go through g.waiting and the wait queues).
        let mut out: Vec<ObjRef> = state.sudogs.clone();
        let Some(refs) = state.refs.as_deref() else {
            return out;
        };
        out.extend(refs.locals.iter().flatten().copied());
        for ring in &refs.rings {
            let r = &self.graph.rings[ring.0 as usize];
            out.extend(r.backing);
            out.extend(r.last);
        }
        out
    }

    /// Every object reachable from the roots (for checks; walks the graph).
    pub fn reachable(&self) -> BTreeSet<ObjRef> {
        let mut seen = BTreeSet::new();
        let mut stack = self.roots();
        while let Some(obj) = stack.pop() {
            if !seen.insert(obj) {
                continue;
            }
            for target in self
                .heap
                .span(obj.span)
                .pointers_of(obj.slot)
                .iter()
                .flatten()
            {
                stack.push(*target);
            }
        }
        seen
    }
}

/// The shapes `malloc` accepts.
fn check_shape(shape: ObjectShape) {
    assert!(
        shape.size_bytes > 0,
        "zero-size allocations are not modelled"
    );
    assert!(
        shape.pointer_words as u64 * 8 <= shape.size_bytes,
        "{} pointer words do not fit in {} bytes",
        shape.pointer_words,
        shape.size_bytes
    );
}
