//! The heap: spans with object slots, per-P mcaches, per-span-class mcentrals,
//! the page heap, goroutine stacks, and the statistics read from them.
//!
//! Mirrors go1.27.3:
//! - `runtime/mcache.go`: `mcache.nextFree`/`refill` (one current span per span
//!   class per P; taking a span adds its whole free remainder to `heapLive`),
//!   `allocLarge`, `releaseAll` (the flush at the end of mark termination), and
//!   the tiny allocator's state (`tiny`, `tinyoffset`, `tinyAllocs`) used by
//!   `mallocgcTiny` in `runtime/malloc.go`;
//! - `runtime/mcentral.go`: `cacheSpan` (swept partial spans, then sweeping
//!   unswept partial and full ones within a budget of 100, then `grow`),
//!   `uncacheSpan` (a span cached before the sweepgen flip is swept on return);
//!   the partial/full × swept/unswept sets indexed by `sweepgen/2 % 2`, so a
//!   flip turns every swept set into an unswept one;
//! - `runtime/mheap.go`: `mheap.alloc` (reclaim before allocating while sweeping
//!   is unfinished), `allocSpan` (the scavenge assist that keeps mapped memory
//!   under GOMEMLIMIT), `grow` (the heap grows by whole 4 MiB chunks,
//!   `pallocChunkPages` = 512 pages, inside 64 MiB arenas whose address space is
//!   reserved but not counted), `freeSpan`, `initSpan` (objects per span);
//! - `runtime/mgcsweep.go`: `mspan.sweep` (frees exactly the slots whose mark
//!   bit is clear; mark bits become alloc bits), `sweepone` with
//!   `nextSpanForSweep`'s order over sweep classes, `deductSweepCredit`
//!   (proportional sweeping) and `gcPaceSweeper`;
//! - `runtime/stack.go`: `stackalloc`/`stackfree` with the per-order pools
//!   (2, 4, 8, 16 KiB stacks carved from 32 KiB spans) and dedicated spans for
//!   stacks of 32 KiB and more; an empty pool span goes back to the heap at once
//!   when the GC is off and at the end of mark termination otherwise;
//! - `runtime/mstats.go`: the MemStats fields (`HeapAlloc = totalAlloc −
//!   totalFree`, `HeapSys = inUse + free + released`, `HeapIdle`, tiny
//!   allocations counted in both Mallocs and Frees).
//!
//! Simplified (each a documented choice, not an accident):
//! - Pages have addresses (page indexes from the first arena's base) and the
//!   page heap keeps free and released pages as runs: a request takes the
//!   lowest free run that fits (`pageAlloc.alloc`'s first fit; the heap grows
//!   at the top when none does, whatever the free pages add up to), and the
//!   scavenger releases the highest free pages first. Go finds them through
//!   radix summaries and a chunk index; the model searches the runs. The
//!   randomised heap base padding of the first arena is not modelled.
//! - MemStats figures are exact at every allocation (Go batches them per
//!   mcache until `refill`; `ReadMemStats` flushes them, so they agree). What
//!   runtime/metrics reads unflushed is batched as in Go: the pacer's
//!   `totalAlloc` (it feeds the memory-limit goal) and the object counts
//!   behind `/gc/heap/allocs:objects`, added at `refill`, `allocLarge` and
//!   `releaseAll`.
//! - The OS backs a page on its first touch, which the model tracks per
//!   page: ready pages that nothing has touched since they were released
//!   (only a stack's pages below its deepest frame) fault in when touched.
//!   A heap span counts as touched whole at allocation; so does a stack pool
//!   span (Go's 2-16 KiB stacks touch their 4 KiB OS pages unevenly).
//! - Span structs are recycled through a free list as Go recycles `mspan`s, so a
//!   [`SpanId`] names a different span after its span was freed; no object
//!   reference outlives its span (sweep frees only unreachable objects).
//! - No per-P page cache or per-P stack cache; no `freegc` reuse lists
//!   (`runtimefreegc` is off by default).
//! - Runtime metadata (bitmaps, profiling buckets, ...) is one constant,
//!   [`HeapConfig::runtime_metadata_bytes`], plus an `mspan` per span in use,
//!   plus, from the first GC cycle on, a second constant for what the
//!   collector's own machinery adds ([`HeapConfig::gc_metadata_bytes`]: in Go
//!   it grows over the first few cycles and a little with the heap), all
//!   counted in mapped memory.

use crate::sizeclass::{
    MAX_SMALL_SIZE_BYTES, NUM_SIZE_CLASSES, NUM_SPAN_CLASSES, PAGE_SIZE_BYTES, SizeClass,
    SpanClass, TINY_SIZE_BYTES, TINY_SIZE_CLASS, objects_per_span,
};
use serde::{Deserialize, Serialize};
use sim_core::ids::PId;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// `pallocChunkPages`: the heap grows by whole 4 MiB chunks of 512 pages.
pub const HEAP_GROWTH_CHUNK_PAGES: u64 = 512;
/// `heapArenaBytes` on 64-bit Linux: address space is reserved 64 MiB at a time.
pub const HEAP_ARENA_BYTES: u64 = 64 << 20;
/// `stackMin` / the starting stack size: 2 KiB.
pub const STACK_MIN_BYTES: u64 = 2048;
/// `_NumStackOrders` on Linux: pooled stacks of 2, 4, 8 and 16 KiB.
pub const NUM_STACK_ORDERS: usize = 4;
/// `_StackCacheSize`: a stack pool span is 32 KiB (4 pages).
pub const STACK_POOL_SPAN_BYTES: u64 = 32 * 1024;
/// `spanBudget` in `mcentral.cacheSpan`.
const CACHE_SPAN_SWEEP_BUDGET: i32 = 100;
/// Measured on the reference machine with go1.27.3: a small program's
/// non-heap runtime memory (`/memory/classes/metadata/*` + `other` +
/// `profiling/buckets` + `os-stacks`) is 3 627 272 bytes.
pub const DEFAULT_RUNTIME_METADATA_BYTES: u64 = 3_627_272;
/// What running the collector adds to the runtime's non-heap memory
/// (`/memory/classes/metadata/other` + `other`: GC bitmap arenas, work
/// buffers, span-queue rings, ...), measured with go1.27.3 on 2026-12-03
/// (Intel Xeon VM, 2 CPUs, load average below 1): eight programs allocating
/// 64 B or 1 KiB objects in a ring, heaps of 4.6-32 MiB, 7-985 cycles, end
/// minus start: 476 672 to 1 129 040 bytes, median 690 304. Without a cycle
/// the same classes grow by 97 KB (a 21 MiB heap with GOGC=off); after 3
/// cycles by 622 KB; heaps of 66 and 150 MiB add more (1.35, 1.68 MB of
/// metadata/other), which the model leaves out.
pub const DEFAULT_GC_METADATA_BYTES: u64 = 690_304;
/// An `mspan` struct, the metadata every span in use has (fixalloc'd,
/// counted in mapped memory): go1.27.3 on the reference machine reports
/// 0.51 MiB of `/memory/classes/metadata/mspan/inuse:bytes` for ~3,300
/// spans, about 160 bytes each.
pub const MSPAN_STRUCT_BYTES: u64 = 160;

/// A span, by its index in the span arena. Printed `span12`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct SpanId(pub u32);

impl SpanId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "span{}", self.0)
    }
}

/// A heap object: a slot of a span. Tiny objects share their 16-byte block's
/// reference (the GC sees only the block, as in Go).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct ObjRef {
    pub span: SpanId,
    pub slot: u16,
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.span, self.slot)
    }
}

/// A fixed-size bit set over a span's slots (`gcBits`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bits {
    words: Vec<u64>,
}

impl Bits {
    /// `len` clear bits, in this set's memory.
    fn reset(&mut self, len: u32) {
        self.words.clear();
        self.words.resize((len as usize).div_ceil(64), 0);
    }
    pub(crate) fn get(&self, i: u32) -> bool {
        self.words[(i / 64) as usize] >> (i % 64) & 1 == 1
    }
    pub(crate) fn set(&mut self, i: u32) {
        self.words[(i / 64) as usize] |= 1 << (i % 64);
    }
    pub(crate) fn clear_bit(&mut self, i: u32) {
        self.words[(i / 64) as usize] &= !(1 << (i % 64));
    }
    fn clear_all(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }
    fn count(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }
    /// The set bits, in order.
    pub(crate) fn ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let bit = w.trailing_zeros();
                    w &= w - 1;
                    i as u32 * 64 + bit
                })
            })
        })
    }
    /// The first clear bit at or after `from`, below `len`.
    fn next_clear(&self, from: u32, len: u32) -> Option<u32> {
        let mut i = from;
        while i < len {
            let word = self.words[(i / 64) as usize] >> (i % 64);
            let ones = (!word).trailing_zeros().min(64 - i % 64);
            if ones < 64 - i % 64 {
                let found = i + ones;
                return (found < len).then_some(found);
            }
            i = (i / 64 + 1) * 64;
        }
        None
    }
}

/// `mspan.state`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum SpanState {
    /// The struct is on the free list; its pages went back to the page heap.
    Dead,
    /// `mSpanInUse`: holds heap objects.
    InUse,
}

/// A span's per-slot vectors: alloc, mark and grey bits, requested bytes,
/// pointer words.
type SpanVectors = (Bits, Bits, Bits, Vec<u32>, Vec<PointerWords>);

/// One span of heap objects.
#[derive(Clone, Debug)]
pub struct Span {
    pub state: SpanState,
    pub span_class: SpanClass,
    pub npages: u64,
    /// Its first page's index in the heap's address space (page 0 is the
    /// first arena's base).
    pub base_page: u64,
    /// Bytes per slot (`elemsize`); a large object's span is one slot of
    /// `npages × 8 KiB`.
    pub elem_bytes: u64,
    /// Slots in the span (`nelems`).
    pub nelems: u32,
    /// Slots allocated (`allocCount`), counting dead objects not yet swept.
    pub alloc_count: u32,
    /// `sweepgen` relative to the heap's: h−2 needs sweeping, h swept, h+1
    /// cached before the flip (needs sweeping), h+3 swept and cached.
    pub sweepgen: u32,
    /// Where the next free slot search starts (`freeindex`).
    free_index: u32,
    alloc_count_before_cache: u32,
    pub(crate) alloc_bits: Bits,
    pub(crate) mark_bits: Bits,
    /// Marked and still on a grey work list (only during mark).
    pub(crate) grey_bits: Bits,
    /// In a span queue (Green Tea's ownership bit): its grey objects will
    /// be scanned together.
    pub(crate) queued: bool,
    /// Bytes the program asked for in each allocated slot (for a tiny block,
    /// the sum of its objects); internal fragmentation is slot − requested.
    pub(crate) requested_bytes: Vec<u32>,
    /// Each slot's pointer words (`None` is nil). Empty for noscan spans and
    /// free slots.
    pub(crate) pointers: Vec<PointerWords>,
}

impl Span {
    fn new(span_class: SpanClass, npages: u64, sweepgen: u32) -> Span {
        Span::new_in(span_class, npages, sweepgen, Span::empty_vectors())
    }

    /// `Span::new` in the memory of a dead span's vectors (a span struct is
    /// recycled as often as spans are freed and allocated).
    fn reuse(&mut self, span_class: SpanClass, npages: u64, sweepgen: u32) {
        let vectors = (
            std::mem::take(&mut self.alloc_bits),
            std::mem::take(&mut self.mark_bits),
            std::mem::take(&mut self.grey_bits),
            std::mem::take(&mut self.requested_bytes),
            std::mem::take(&mut self.pointers),
        );
        *self = Span::new_in(span_class, npages, sweepgen, vectors);
    }

    fn empty_vectors() -> SpanVectors {
        Default::default()
    }

    fn new_in(span_class: SpanClass, npages: u64, sweepgen: u32, vectors: SpanVectors) -> Span {
        let (elem_bytes, nelems) = if span_class.size_class().0 == 0 {
            (npages * PAGE_SIZE_BYTES, 1)
        } else {
            (
                span_class.size_class().object_bytes(),
                objects_per_span(span_class),
            )
        };
        let (mut alloc_bits, mut mark_bits, mut grey_bits, mut requested_bytes, mut pointers) =
            vectors;
        alloc_bits.reset(nelems);
        mark_bits.reset(nelems);
        grey_bits.reset(nelems);
        requested_bytes.clear();
        requested_bytes.resize(nelems as usize, 0);
        pointers.clear();
        if !span_class.noscan() {
            pointers.resize(nelems as usize, PointerWords::Zero);
        }
        Span {
            state: SpanState::InUse,
            span_class,
            npages,
            base_page: 0,
            elem_bytes,
            nelems,
            alloc_count: 0,
            sweepgen,
            free_index: 0,
            alloc_count_before_cache: 0,
            alloc_bits,
            mark_bits,
            grey_bits,
            queued: false,
            requested_bytes,
            pointers,
        }
    }

    pub fn is_large(&self) -> bool {
        self.span_class.size_class().0 == 0
    }
    pub fn is_allocated(&self, slot: u16) -> bool {
        self.alloc_bits.get(slot as u32)
    }
    pub fn is_marked(&self, slot: u16) -> bool {
        self.mark_bits.get(slot as u32)
    }
    pub fn is_grey(&self, slot: u16) -> bool {
        self.grey_bits.get(slot as u32)
    }
    /// Marked slots (`countAlloc` at sweep time).
    pub fn marked_count(&self) -> u32 {
        self.mark_bits.count()
    }
    /// Whether a slot's pointer words are all nil, known without reading
    /// them (false means "maybe not").
    pub(crate) fn pointers_known_nil(&self, slot: u16) -> bool {
        self.pointers
            .get(slot as usize)
            .is_none_or(PointerWords::known_nil)
    }

    /// The pointer words of a slot.
    pub fn pointers_of(&self, slot: u16) -> &[Option<ObjRef>] {
        self.pointers
            .get(slot as usize)
            .map(PointerWords::as_slice)
            .unwrap_or(&[])
    }
    fn has_free_slot(&self) -> bool {
        self.alloc_count < self.nelems
    }
}

/// A slot's pointer words, held inline up to two (most objects), so an
/// allocation does not allocate on the host. A small object's longer run
/// of words is only counted (`Nil`) until one of them is written: most
/// pointer-dense objects of a workload are never written to, and their
/// words then cost neither a host allocation nor a scan of nils.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum PointerWords {
    #[default]
    Zero,
    One([Option<ObjRef>; 1]),
    Two([Option<ObjRef>; 2]),
    /// This many words, every one nil (at most `MAX_NIL_WORDS`).
    Nil(u32),
    Many(Box<[Option<ObjRef>]>),
}

/// The most words a `PointerWords::Nil` holds: a small object's.
const MAX_NIL_WORDS: usize = (MAX_SMALL_SIZE_BYTES / 8) as usize;

/// What `PointerWords::Nil` words read as.
static NIL_WORDS: [Option<ObjRef>; MAX_NIL_WORDS] = [None; MAX_NIL_WORDS];

impl PointerWords {
    #[inline]
    fn new(words: u32) -> PointerWords {
        match words {
            0 => PointerWords::Zero,
            1 => PointerWords::One([None]),
            2 => PointerWords::Two([None; 2]),
            n if n as usize <= MAX_NIL_WORDS => PointerWords::Nil(n),
            n => PointerWords::Many(vec![None; n as usize].into_boxed_slice()),
        }
    }

    pub(crate) fn as_slice(&self) -> &[Option<ObjRef>] {
        match self {
            PointerWords::Zero => &[],
            PointerWords::One(w) => w,
            PointerWords::Two(w) => w,
            PointerWords::Nil(n) => &NIL_WORDS[..*n as usize],
            PointerWords::Many(w) => w,
        }
    }

    /// The words, to write: `Nil` ones are made real first.
    #[inline]
    pub(crate) fn as_mut_slice(&mut self) -> &mut [Option<ObjRef>] {
        if let PointerWords::Nil(n) = *self {
            *self = PointerWords::Many(vec![None; n as usize].into_boxed_slice());
        }
        match self {
            PointerWords::Zero => &mut [],
            PointerWords::One(w) => w,
            PointerWords::Two(w) => w,
            PointerWords::Nil(_) => unreachable!("made real above"),
            PointerWords::Many(w) => w,
        }
    }

    /// Every word is nil, known without reading more than two.
    pub(crate) fn known_nil(&self) -> bool {
        matches!(
            self,
            PointerWords::Zero
                | PointerWords::Nil(_)
                | PointerWords::One([None])
                | PointerWords::Two([None, None])
        )
    }
}

/// `mcentral`: the spans of one span class not cached by any P.
#[derive(Clone, Debug, Default)]
struct Central {
    /// `partial[sweepgen/2 % 2]` is swept, the other unswept.
    partial: [VecDeque<SpanId>; 2],
    full: [VecDeque<SpanId>; 2],
}

fn swept_index(sweepgen: u32) -> usize {
    (sweepgen / 2 % 2) as usize
}
fn unswept_index(sweepgen: u32) -> usize {
    1 - swept_index(sweepgen)
}

/// `mcache`: one P's current span per span class and its tiny block.
#[derive(Clone, Debug)]
pub struct MCache {
    alloc: Vec<Option<SpanId>>,
    /// The current tiny block (`tiny`) and the bytes used in it (`tinyoffset`).
    pub tiny: Option<ObjRef>,
    pub tiny_offset_bytes: u64,
    /// Scannable bytes allocated since the last refill (`scanAlloc`).
    pub scan_alloc_bytes: u64,
    /// The sweep generation in which the cache was last checked for spans
    /// cached before a flip ([`Heap::mcache_is_stale`]).
    flush_gen: u32,
}

impl MCache {
    fn new() -> MCache {
        MCache {
            alloc: vec![None; NUM_SPAN_CLASSES],
            tiny: None,
            tiny_offset_bytes: 0,
            scan_alloc_bytes: 0,
            flush_gen: 0,
        }
    }
    /// The span this P allocates `span_class` objects from.
    pub fn current_span(&self, span_class: SpanClass) -> Option<SpanId> {
        self.alloc[span_class.index()]
    }
}

/// The page heap (`mheap_.pages` plus the arena bookkeeping): page counts,
/// and where the free pages are, by address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageHeap {
    /// Pages of heap spans (`heapInUse`).
    pub in_use_pages: u64,
    /// Pages of stack spans (`StackInuse`).
    pub stack_pages: u64,
    /// Free pages still backed by memory (`heapFree`).
    pub free_pages: u64,
    /// Free pages returned to the OS, or mapped but never used (`heapReleased`).
    pub released_pages: u64,
    /// Arenas reserved (address space only).
    pub arenas: u64,
    /// Reserved address space not yet grown into.
    pub arena_unused_bytes: u64,
    /// Pages of address space grown into: the next growth starts here.
    end_page: u64,
    /// Free pages, ready or released, as runs by first page.
    free_runs: Runs,
    /// Released pages (each also free), as runs by first page.
    released_runs: Runs,
    /// Pages Go counts as ready (free, in a span or in a stack) that nothing
    /// has touched since they were last released: the OS backs each on its
    /// first touch. Only a stack leaves pages so (the part below the depth
    /// its goroutine has reached); a heap span touches all of its pages.
    untouched_runs: Runs,
}

/// Disjoint runs of pages, `first page -> pages`; no two runs touch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Runs(BTreeMap<u64, u64>);

impl Runs {
    /// Adds `[first, first + pages)`, which overlaps no run, merging it with
    /// the runs it touches.
    fn insert(&mut self, first: u64, pages: u64) {
        let (mut first, mut pages) = (first, pages);
        if let Some((&before, &len)) = self.0.range(..first).next_back()
            && before + len == first
        {
            self.0.remove(&before);
            first = before;
            pages += len;
        }
        if let Some(len) = self.0.remove(&(first + pages)) {
            pages += len;
        }
        self.0.insert(first, pages);
    }

    /// Removes whatever of `[first, first + pages)` the runs hold; returns
    /// how many pages that was.
    fn remove(&mut self, first: u64, pages: u64) -> u64 {
        self.remove_runs(first, pages).iter().map(|&(_, n)| n).sum()
    }

    /// [`Runs::remove`], returning the pieces removed, lowest first.
    fn remove_runs(&mut self, first: u64, pages: u64) -> Vec<(u64, u64)> {
        let end = first + pages;
        let mut overlapping: Vec<(u64, u64)> = Vec::new();
        if let Some((&a, &len)) = self.0.range(..first).next_back()
            && a + len > first
        {
            overlapping.push((a, len));
        }
        overlapping.extend(self.0.range(first..end).map(|(&a, &len)| (a, len)));
        let mut removed = Vec::with_capacity(overlapping.len());
        for (a, len) in overlapping {
            let b = a + len;
            self.0.remove(&a);
            if a < first {
                self.0.insert(a, first - a);
            }
            if b > end {
                self.0.insert(end, b - end);
            }
            removed.push((a.max(first), b.min(end) - a.max(first)));
        }
        removed
    }

    /// The lowest first page of a run of at least `pages`.
    fn first_fit(&self, pages: u64) -> Option<u64> {
        self.0
            .iter()
            .find(|&(_, &len)| len >= pages)
            .map(|(&a, _)| a)
    }
}

/// What taking pages from the page heap did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct PagesTaken {
    /// The run's first page.
    base_page: u64,
    /// Pages that came from released memory (`scav`), made ready again.
    scavenged_pages: u64,
    /// Pages the OS backs now: the touched ones among those released or
    /// never touched since.
    faulted_pages: u64,
    /// Bytes the heap grew by to satisfy the request.
    growth_bytes: u64,
}

impl PageHeap {
    /// `mheap.grow`: map whole 4 MiB chunks at the top of the address space,
    /// reserving arenas as needed. The new memory counts as released until
    /// a span uses it.
    fn grow(&mut self, npages: u64) -> u64 {
        let ask_bytes = npages.next_multiple_of(HEAP_GROWTH_CHUNK_PAGES) * PAGE_SIZE_BYTES;
        while self.arena_unused_bytes < ask_bytes {
            self.arenas += 1;
            self.arena_unused_bytes += HEAP_ARENA_BYTES;
        }
        self.arena_unused_bytes -= ask_bytes;
        let pages = ask_bytes / PAGE_SIZE_BYTES;
        self.free_runs.insert(self.end_page, pages);
        self.released_runs.insert(self.end_page, pages);
        self.end_page += pages;
        self.released_pages += pages;
        ask_bytes
    }

    /// `pageAlloc.alloc`: the free run at the lowest address that fits, the
    /// heap grown first when none does (whatever the free pages add up to).
    /// The top `touched_pages` of the run are touched now (faulted in if
    /// unbacked); released pages below them become ready but untouched.
    fn take(&mut self, npages: u64, touched_pages: u64) -> PagesTaken {
        debug_assert!(touched_pages <= npages);
        let mut taken = PagesTaken::default();
        let base = match self.free_runs.first_fit(npages) {
            Some(base) => base,
            None => {
                taken.growth_bytes = self.grow(npages);
                self.free_runs
                    .first_fit(npages)
                    .expect("the heap grew by enough")
            }
        };
        self.free_runs.remove(base, npages);
        taken.base_page = base;
        let split = base + npages - touched_pages;
        let below = self.released_runs.remove_runs(base, split - base);
        let touched_released = self.released_runs.remove(split, touched_pages);
        let mut untouched_below = 0;
        for (a, n) in below {
            self.untouched_runs.insert(a, n);
            untouched_below += n;
        }
        taken.scavenged_pages = untouched_below + touched_released;
        taken.faulted_pages = touched_released + self.touch(split, touched_pages);
        self.free_pages -= npages - taken.scavenged_pages;
        self.released_pages -= taken.scavenged_pages;
        taken
    }

    /// Touches `[first, first + pages)`, which Go counts as ready: returns
    /// how many of them the OS backs only now.
    fn touch(&mut self, first: u64, pages: u64) -> u64 {
        self.untouched_runs.remove(first, pages)
    }

    /// `pageAlloc.free`: the pages are free again, still backed by memory
    /// (or still untouched).
    fn give_back(&mut self, base_page: u64, npages: u64) {
        self.free_runs.insert(base_page, npages);
        self.free_pages += npages;
    }

    /// `pageAlloc.scavenge`: returns up to `bytes` (rounded up to pages) of
    /// free memory to the OS, the highest addresses first.
    fn scavenge(&mut self, bytes: u64) -> u64 {
        let mut todo = bytes.div_ceil(PAGE_SIZE_BYTES).min(self.free_pages);
        let wanted = todo;
        let mut below = u64::MAX;
        while todo > 0 {
            let Some((&first, &len)) = self.free_runs.0.range(..below).next_back() else {
                break;
            };
            below = first;
            // The run's ready stretches, from its top down: the gaps above
            // each released run inside it, and last the one above its
            // first page (an empty run at `first` stands for that bound).
            let mut top = first + len;
            let released: Vec<(u64, u64)> = self
                .released_runs
                .0
                .range(first..top)
                .map(|(&a, &n)| (a, n))
                .collect();
            for (a, n) in released.into_iter().rev().chain([(first, 0)]) {
                let pages = todo.min(top - (a + n));
                if pages > 0 {
                    self.released_runs.insert(top - pages, pages);
                    self.untouched_runs.remove(top - pages, pages);
                    todo -= pages;
                }
                top = a;
                if todo == 0 {
                    break;
                }
            }
        }
        let released = wanted - todo;
        self.free_pages -= released;
        self.released_pages += released;
        released * PAGE_SIZE_BYTES
    }
}

/// A goroutine stack: its size and where it lives.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StackHandle {
    pub size_bytes: u64,
    home: StackHome,
}

impl StackHandle {
    /// A 2 KiB stack's pool span: all a list of free 2 KiB stacks needs to
    /// keep (`StackHandle::min_in_pool_span` makes the handle again).
    pub(crate) fn min_pool_span(self) -> u32 {
        match self.home {
            StackHome::Pool { order: 0, span } if self.size_bytes == STACK_MIN_BYTES => span,
            _ => unreachable!("not a 2 KiB pool stack: {self:?}"),
        }
    }

    /// The handle of a 2 KiB stack in pool span `span`.
    pub(crate) fn min_in_pool_span(span: u32) -> StackHandle {
        StackHandle {
            size_bytes: STACK_MIN_BYTES,
            home: StackHome::Pool { order: 0, span },
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
enum StackHome {
    /// A pool span of order `order` (index into that order's spans).
    Pool { order: u8, span: u32 },
    /// A span of its own (`stackLarge` or `allocManual`) at page `base_page`.
    Dedicated { base_page: u32 },
}

#[derive(Clone, Debug, Default)]
struct StackPoolSpan {
    /// Stacks allocated from this span; `None` once its pages went back.
    in_use: Option<u32>,
    /// Its first page.
    base_page: u64,
}

/// `stackpool`: per order, the 32 KiB spans stacks are carved from.
#[derive(Clone, Debug, Default)]
struct StackPools {
    spans: [Vec<StackPoolSpan>; NUM_STACK_ORDERS],
    /// Per order, the in-use spans with a free stack, by index (the
    /// lowest is taken first).
    nonfull: [BTreeSet<u32>; NUM_STACK_ORDERS],
    /// Per order, the spans whose pages went back, for reuse.
    released: [BTreeSet<u32>; NUM_STACK_ORDERS],
    /// Empty pool spans whose freeing waits for the end of the mark phase.
    deferred_free: Vec<(u8, u32)>,
}

/// Heap settings that are not Go constants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeapConfig {
    /// Non-heap runtime memory counted as mapped (metadata, profiling
    /// buckets, ...): part of what GOMEMLIMIT limits.
    pub runtime_metadata_bytes: u64,
    /// Non-heap runtime memory the collector adds once it has started a
    /// cycle (counted from the first cycle's sweep termination on).
    pub gc_metadata_bytes: u64,
}

impl Default for HeapConfig {
    fn default() -> HeapConfig {
        HeapConfig {
            runtime_metadata_bytes: DEFAULT_RUNTIME_METADATA_BYTES,
            gc_metadata_bytes: DEFAULT_GC_METADATA_BYTES,
        }
    }
}

/// Per-size-class allocation figures (`MemStats.BySize` and more).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCounters {
    /// Objects allocated (`smallAllocCount`).
    pub mallocs: u64,
    /// Objects freed by sweeping (`smallFreeCount`).
    pub frees: u64,
    /// Bytes the program asked for in allocated slots (live or not yet swept).
    pub requested_bytes: u64,
}

/// The heap's cumulative counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeapCounters {
    pub by_class: Vec<ClassCounters>,
    pub large_alloc_count: u64,
    pub large_alloc_bytes: u64,
    pub large_free_count: u64,
    pub large_free_bytes: u64,
    pub large_requested_bytes: u64,
    /// Tiny objects packed into an existing block (`tinyAllocCount`).
    pub tiny_alloc_count: u64,
    /// Exact `totalAlloc` and `totalFree` (slot bytes).
    pub total_alloc_bytes: u64,
    pub total_free_bytes: u64,
    /// `gcController.totalAlloc` as the pacer sees it: flushed at refill,
    /// `allocLarge` and `releaseAll`.
    pub pacer_total_alloc_bytes: u64,
    /// Small objects (tiny blocks included) as runtime/metrics counts them
    /// (`heapStats.smallAllocCount`): a span's allocations are added when it
    /// leaves its mcache (refill, `releaseAll`), so those in spans still
    /// cached are not in `/gc/heap/allocs:objects` yet. `ReadMemStats`
    /// flushes every mcache first, so `Mallocs` has them all.
    pub flushed_small_allocs: u64,
    /// Bytes returned to the OS by scavenge assists at allocation.
    pub scavenge_assist_bytes: u64,
    /// Scavenge assists that released memory: one `madvise` each (the model
    /// keeps no addresses, so one contiguous run per assist).
    pub scavenge_assist_calls: u64,
    /// Bytes returned to the OS by the background scavenger.
    pub scavenge_background_bytes: u64,
    /// Pages made ready from released memory (fresh from the OS, or
    /// scavenged earlier): the OS faults each in on first touch.
    pub faulted_in_pages: u64,
}

impl Default for HeapCounters {
    fn default() -> HeapCounters {
        HeapCounters {
            by_class: vec![ClassCounters::default(); NUM_SIZE_CLASSES],
            large_alloc_count: 0,
            large_alloc_bytes: 0,
            large_free_count: 0,
            large_free_bytes: 0,
            large_requested_bytes: 0,
            tiny_alloc_count: 0,
            total_alloc_bytes: 0,
            total_free_bytes: 0,
            pacer_total_alloc_bytes: 0,
            flushed_small_allocs: 0,
            scavenge_assist_bytes: 0,
            scavenge_assist_calls: 0,
            scavenge_background_bytes: 0,
            faulted_in_pages: 0,
        }
    }
}

/// Sweeping done as a side effect of something else, for the caller to
/// charge (sweep ns per span in the cost model).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepWork {
    pub spans: u64,
    /// Of those, the spans in which nothing survived: their pages went back
    /// to the page heap (`mheap.freeSpan`).
    pub freed_spans: u64,
    pub pages: u64,
    /// Objects freed by that sweeping.
    pub freed_objects: u64,
}

impl SweepWork {
    pub fn add(&mut self, other: SweepWork) {
        self.spans += other.spans;
        self.freed_spans += other.freed_spans;
        self.pages += other.pages;
        self.freed_objects += other.freed_objects;
    }
}

/// What sweeping one span did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweptSpan {
    pub span: SpanId,
    pub npages: u64,
    pub freed_objects: u32,
    /// Every object was dead: the span's pages went back to the page heap.
    pub span_freed: bool,
}

/// What the allocating P's environment contributes to an allocation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AllocEnv {
    /// `gcController.heapLive`, for proportional sweeping.
    pub heap_live_bytes: u64,
    /// GOMEMLIMIT and whether the CPU limiter is on (no scavenge assist then).
    pub memory_limit_bytes: u64,
    pub limiter_limiting: bool,
    /// `scavenge.gcPercentGoal` (`u64::MAX` when none).
    pub scavenge_gc_percent_goal_bytes: u64,
}

/// What a refill or large allocation tells the pacer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PacerDelta {
    pub heap_live_bytes: i64,
    pub heap_scan_bytes: i64,
}

/// An allocated small object and what it took.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SmallAlloc {
    pub obj: ObjRef,
    /// The mcache took a new span (`checkGCTrigger` in mallocgc).
    pub refilled: Option<PacerDelta>,
    pub sweep: SweepWork,
}

/// The heap: spans, mcaches, mcentrals, page heap and stacks.
#[derive(Clone, Debug)]
pub struct Heap {
    pub config: HeapConfig,
    spans: Vec<Span>,
    dead_spans: Vec<SpanId>,
    centrals: Vec<Central>,
    mcaches: Vec<MCache>,
    pub pages: PageHeap,
    stacks: StackPools,
    /// `mheap_.sweepgen`: +2 at every GC's sweep flip.
    pub sweepgen: u32,
    sweep_central_index: usize,
    /// `sweep.active` drained: no span is left to sweep this cycle.
    sweep_drained: bool,
    /// Sweeping drained and nobody has asked since (the scavenger's `ready`).
    sweep_drained_signal: bool,
    /// `mheap_.pagesSwept` and the proportional sweeper's pacing.
    pages_swept: u64,
    pages_swept_basis: u64,
    sweep_pages_per_byte: f64,
    sweep_heap_live_basis: u64,
    reclaim_index: usize,
    reclaim_credit_pages: u64,
    pub counters: HeapCounters,
    /// A GC cycle has started: the collector's metadata is mapped.
    pub(crate) gc_has_run: bool,
}

impl Heap {
    pub fn new(config: HeapConfig, gomaxprocs: u32) -> Heap {
        Heap {
            config,
            spans: Vec::new(),
            dead_spans: Vec::new(),
            centrals: vec![Central::default(); NUM_SPAN_CLASSES],
            mcaches: (0..gomaxprocs).map(|_| MCache::new()).collect(),
            pages: PageHeap::default(),
            stacks: StackPools::default(),
            sweepgen: 0,
            sweep_central_index: 0,
            sweep_drained: true,
            sweep_drained_signal: false,
            pages_swept: 0,
            pages_swept_basis: 0,
            sweep_pages_per_byte: 0.0,
            sweep_heap_live_basis: 0,
            reclaim_index: 0,
            reclaim_credit_pages: 0,
            counters: HeapCounters::default(),
            gc_has_run: false,
        }
    }

    pub fn span(&self, id: SpanId) -> &Span {
        &self.spans[id.index()]
    }
    pub(crate) fn span_mut(&mut self, id: SpanId) -> &mut Span {
        &mut self.spans[id.index()]
    }
    /// Every span struct, dead ones included (their state says so).
    pub fn spans(&self) -> impl Iterator<Item = (SpanId, &Span)> {
        self.spans
            .iter()
            .enumerate()
            .map(|(i, s)| (SpanId(i as u32), s))
    }
    pub fn mcache(&self, p: PId) -> &MCache {
        &self.mcaches[p.index()]
    }
    pub fn num_mcaches(&self) -> usize {
        self.mcaches.len()
    }

    /// True when `obj` names an allocated slot of an in-use span.
    pub fn is_live_slot(&self, obj: ObjRef) -> bool {
        self.spans
            .get(obj.span.index())
            .is_some_and(|s| s.state == SpanState::InUse && s.is_allocated(obj.slot))
    }

    /// How many times the page heap has done work with the OS so far:
    /// pages faulted in plus scavenge assists' `madvise` calls.
    pub(crate) fn os_work_count(&self) -> u64 {
        self.counters.faulted_in_pages + self.counters.scavenge_assist_calls
    }

    /// `procresize`: Ps beyond the new count flush their caches first.
    pub(crate) fn resize_mcaches(&mut self, gomaxprocs: u32, heap_live: &mut u64) {
        while self.mcaches.len() > gomaxprocs as usize {
            let p = PId(self.mcaches.len() as u32 - 1);
            let (delta, _) = self.release_all(p);
            *heap_live = heap_live.saturating_add_signed(delta.heap_live_bytes);
            self.mcaches.pop();
        }
        while self.mcaches.len() < gomaxprocs as usize {
            self.mcaches.push(MCache::new());
        }
    }

    // ---------------------------------------------------------------
    // Spans and pages
    // ---------------------------------------------------------------

    /// `mheap.alloc` for a heap span: reclaim first while sweeping is
    /// unfinished, then `allocSpan` (with its scavenge assist).
    fn alloc_span(
        &mut self,
        npages: u64,
        span_class: SpanClass,
        env: &AllocEnv,
        sweep: &mut SweepWork,
    ) -> SpanId {
        if !self.is_sweep_done() {
            sweep.add(self.reclaim(npages));
        }
        let mapped_ready_before = self.mapped_ready_bytes();
        let taken = self.pages.take(npages, npages);
        self.counters.faulted_in_pages += taken.faulted_pages;
        self.scavenge_assist(taken, mapped_ready_before, env);
        self.pages.in_use_pages += npages;
        let id = match self.dead_spans.pop() {
            Some(id) => {
                self.spans[id.index()].reuse(span_class, npages, self.sweepgen);
                id
            }
            None => {
                self.spans
                    .push(Span::new(span_class, npages, self.sweepgen));
                SpanId(self.spans.len() as u32 - 1)
            }
        };
        self.spans[id.index()].base_page = taken.base_page;
        id
    }

    /// `allocSpan`'s scavenge assist: when the memory limit would be exceeded,
    /// or when growth overshoots the scavenger's GOGC-based retention goal,
    /// return free pages to the OS at once.
    fn scavenge_assist(&mut self, taken: PagesTaken, mapped_ready_before: u64, env: &AllocEnv) {
        let mut bytes_to_scavenge = 0;
        if !env.limiter_limiting {
            // The released pages just taken become ready on top of what was.
            let scav_bytes = taken.scavenged_pages * PAGE_SIZE_BYTES;
            if scav_bytes + mapped_ready_before > env.memory_limit_bytes {
                bytes_to_scavenge = scav_bytes + mapped_ready_before - env.memory_limit_bytes;
            }
        }
        let goal = env.scavenge_gc_percent_goal_bytes;
        if goal != u64::MAX && taken.growth_bytes > 0 {
            let retained = self.heap_retained_bytes();
            if retained + taken.growth_bytes > goal {
                let todo = taken.growth_bytes.min(retained + taken.growth_bytes - goal);
                bytes_to_scavenge = bytes_to_scavenge.max(todo);
            }
        }
        if bytes_to_scavenge > 0 {
            let released = self.pages.scavenge(bytes_to_scavenge);
            self.counters.scavenge_assist_bytes += released;
            self.counters.scavenge_assist_calls += u64::from(released > 0);
        }
    }

    /// `mheap.freeSpan`: the span's pages become free (not released).
    fn free_span(&mut self, id: SpanId) {
        let span = &mut self.spans[id.index()];
        debug_assert_eq!(span.state, SpanState::InUse);
        self.pages.in_use_pages -= span.npages;
        let (base_page, npages) = (span.base_page, span.npages);
        span.state = SpanState::Dead;
        span.nelems = 0;
        span.alloc_count = 0;
        // Emptied, their memory kept for the span struct's next use.
        span.alloc_bits.words.clear();
        span.mark_bits.words.clear();
        span.grey_bits.words.clear();
        span.requested_bytes.clear();
        span.pointers.clear();
        self.pages.give_back(base_page, npages);
        self.dead_spans.push(id);
    }

    /// The background scavenger: returns up to `bytes` of free memory to the
    /// OS and says how much it released.
    pub fn scavenge_background(&mut self, bytes: u64) -> u64 {
        let released = self.pages.scavenge(bytes);
        self.counters.scavenge_background_bytes += released;
        released
    }

    /// Whether sweeping drained since the last call (`sweepone`'s
    /// `scavenger.ready()`).
    pub(crate) fn take_sweep_drained_signal(&mut self) -> bool {
        std::mem::take(&mut self.sweep_drained_signal)
    }

    // ---------------------------------------------------------------
    // mcentral
    // ---------------------------------------------------------------

    /// `mcentral.cacheSpan`.
    fn cache_span(&mut self, spc: SpanClass, env: &AllocEnv, sweep: &mut SweepWork) -> SpanId {
        let span_bytes = spc.size_class().span_pages() * PAGE_SIZE_BYTES;
        sweep.add(self.deduct_sweep_credit(span_bytes, 0, env.heap_live_bytes));
        let sg = self.sweepgen;
        let central = spc.index();
        if let Some(id) = self.centrals[central].partial[swept_index(sg)].pop_front() {
            return id;
        }
        let mut budget = CACHE_SPAN_SWEEP_BUDGET;
        if !self.sweep_drained {
            while budget >= 0 {
                let Some(id) = self.centrals[central].partial[unswept_index(sg)].pop_front() else {
                    break;
                };
                if self.try_acquire_for_sweep(id) {
                    sweep.add(self.sweep_span(id, true).into());
                    return id;
                }
                budget -= 1;
            }
            while budget >= 0 {
                let Some(id) = self.centrals[central].full[unswept_index(sg)].pop_front() else {
                    break;
                };
                if self.try_acquire_for_sweep(id) {
                    sweep.add(self.sweep_span(id, true).into());
                    if self.spans[id.index()].has_free_slot() {
                        return id;
                    }
                    self.centrals[central].full[swept_index(sg)].push_back(id);
                }
                budget -= 1;
            }
        }
        // mcentral.grow
        self.alloc_span(spc.size_class().span_pages(), spc, env, sweep)
    }

    /// `mcentral.uncacheSpan`.
    fn uncache_span(&mut self, id: SpanId) -> SweepWork {
        let sg = self.sweepgen;
        let span = &mut self.spans[id.index()];
        debug_assert!(span.alloc_count > 0, "uncaching an empty span");
        let stale = span.sweepgen == sg.wrapping_add(1);
        if stale {
            span.sweepgen = sg.wrapping_sub(1);
            return self.sweep_span(id, false).into();
        }
        span.sweepgen = sg;
        let central = &mut self.centrals[span.span_class.index()];
        if span.has_free_slot() {
            central.partial[swept_index(sg)].push_back(id);
        } else {
            central.full[swept_index(sg)].push_back(id);
        }
        SweepWork::default()
    }

    // ---------------------------------------------------------------
    // mcache and allocation
    // ---------------------------------------------------------------

    /// `mcache.refill`: return the full span to its mcentral and take one
    /// with room; the new span's free remainder is added to heapLive.
    fn refill(
        &mut self,
        p: PId,
        spc: SpanClass,
        env: &AllocEnv,
        sweep: &mut SweepWork,
    ) -> PacerDelta {
        if let Some(old) = self.mcaches[p.index()].alloc[spc.index()].take() {
            let span = &mut self.spans[old.index()];
            debug_assert_eq!(span.alloc_count, span.nelems, "refill of a span with room");
            let slots_used = (span.alloc_count - span.alloc_count_before_cache) as u64;
            self.counters.pacer_total_alloc_bytes += slots_used * span.elem_bytes;
            self.counters.flushed_small_allocs += slots_used;
            span.alloc_count_before_cache = 0;
            sweep.add(self.uncache_span(old));
        }
        let id = self.cache_span(spc, env, sweep);
        let sg = self.sweepgen;
        let span = &mut self.spans[id.index()];
        span.sweepgen = sg.wrapping_add(3);
        span.alloc_count_before_cache = span.alloc_count;
        let used_bytes = span.alloc_count as u64 * span.elem_bytes;
        let cache = &mut self.mcaches[p.index()];
        cache.alloc[spc.index()] = Some(id);
        let scan = std::mem::take(&mut cache.scan_alloc_bytes);
        PacerDelta {
            heap_live_bytes: (span.npages * PAGE_SIZE_BYTES - used_bytes) as i64,
            heap_scan_bytes: scan as i64,
        }
    }

    /// `mcache.nextFree` plus the slot bookkeeping of the `mallocgcSmall*`
    /// paths: one slot of `spc` for `requested_bytes` with `pointer_words`
    /// pointer words (all nil).
    pub(crate) fn alloc_small(
        &mut self,
        p: PId,
        spc: SpanClass,
        requested_bytes: u64,
        pointer_words: u32,
        env: &AllocEnv,
    ) -> SmallAlloc {
        let mut sweep = SweepWork::default();
        let mut refilled = None;
        let current = self.mcaches[p.index()].alloc[spc.index()]
            .filter(|&id| self.spans[id.index()].has_free_slot());
        let id = match current {
            Some(id) => id,
            None => {
                refilled = Some(self.refill(p, spc, env, &mut sweep));
                self.mcaches[p.index()].alloc[spc.index()].expect("refill caches a span")
            }
        };
        SmallAlloc {
            obj: self.take_slot(p, id, spc, requested_bytes, pointer_words),
            refilled,
            sweep,
        }
    }

    /// `nextFreeFast`: `alloc_small` when P's cached span of class `spc` has
    /// a free slot (no refill, so no sweeping and no pacer update); `None`
    /// otherwise, and nothing changed.
    #[inline(always)]
    pub(crate) fn alloc_from_cache(
        &mut self,
        p: PId,
        spc: SpanClass,
        requested_bytes: u64,
        pointer_words: u32,
    ) -> Option<ObjRef> {
        let id = self.mcaches[p.index()].alloc[spc.index()]?;
        if !self.spans[id.index()].has_free_slot() {
            return None;
        }
        Some(self.take_slot(p, id, spc, requested_bytes, pointer_words))
    }

    /// Free slots in P's cached span of class `spc` (0 if none is cached).
    pub(crate) fn cached_free_slots(&self, p: PId, spc: SpanClass) -> u64 {
        self.mcaches[p.index()].alloc[spc.index()].map_or(0, |id| {
            let span = &self.spans[id.index()];
            u64::from(span.nelems - span.alloc_count)
        })
    }

    /// `n` allocations from P's cached span of class `spc`, which has that
    /// many free slots: the same as `n` calls of `alloc_from_cache`, the
    /// counters added once. The slots go to `slots`, in allocation order.
    pub(crate) fn alloc_run_from_cache(
        &mut self,
        p: PId,
        spc: SpanClass,
        requested_bytes: u64,
        pointer_words: u32,
        n: u64,
        slots: &mut Vec<u16>,
    ) -> SpanId {
        let id = self.mcaches[p.index()].alloc[spc.index()].expect("a cached span");
        let span = &mut self.spans[id.index()];
        debug_assert!(
            n <= u64::from(span.nelems - span.alloc_count),
            "{id} is too full"
        );
        for _ in 0..n {
            let slot = span
                .alloc_bits
                .next_clear(span.free_index, span.nelems)
                .expect("counted free slots");
            span.free_index = slot + 1;
            span.alloc_bits.set(slot);
            span.requested_bytes[slot as usize] = requested_bytes as u32;
            if !spc.noscan() {
                span.pointers[slot as usize] = PointerWords::new(pointer_words);
            }
            slots.push(slot as u16);
        }
        span.alloc_count += n as u32;
        let elem = span.elem_bytes;
        let class = &mut self.counters.by_class[spc.size_class().0 as usize];
        class.mallocs += n;
        class.requested_bytes += n * requested_bytes;
        self.counters.total_alloc_bytes += n * elem;
        if !spc.noscan() {
            self.mcaches[p.index()].scan_alloc_bytes += n * pointer_words as u64 * 8;
        }
        id
    }

    /// Allocates the next free slot of span `id`, P's cached span of class
    /// `spc`, which has one.
    #[inline(always)]
    fn take_slot(
        &mut self,
        p: PId,
        id: SpanId,
        spc: SpanClass,
        requested_bytes: u64,
        pointer_words: u32,
    ) -> ObjRef {
        let span = &mut self.spans[id.index()];
        let slot = span
            .alloc_bits
            .next_clear(span.free_index, span.nelems)
            .expect("cached span has a free slot");
        span.free_index = slot + 1;
        span.alloc_bits.set(slot);
        span.alloc_count += 1;
        span.requested_bytes[slot as usize] = requested_bytes as u32;
        if !spc.noscan() {
            span.pointers[slot as usize] = PointerWords::new(pointer_words);
        }
        let elem = span.elem_bytes;
        let class = &mut self.counters.by_class[spc.size_class().0 as usize];
        class.mallocs += 1;
        class.requested_bytes += requested_bytes;
        self.counters.total_alloc_bytes += elem;
        if !spc.noscan() {
            self.mcaches[p.index()].scan_alloc_bytes += pointer_words as u64 * 8;
        }
        ObjRef {
            span: id,
            slot: slot as u16,
        }
    }

    /// `mallocgcTiny`: pack a noscan object below 16 bytes into the current
    /// tiny block, aligned to 8 if its size is a multiple of 8, to 4 if of 4,
    /// to 2 if even; otherwise take a new 16-byte block and keep whichever
    /// block has more room left. Returns the block, the object's offset in it
    /// and, when a new block was taken, that allocation.
    pub(crate) fn alloc_tiny(
        &mut self,
        p: PId,
        size_bytes: u64,
        env: &AllocEnv,
    ) -> (ObjRef, u64, Option<SmallAlloc>) {
        debug_assert!(size_bytes > 0 && size_bytes < TINY_SIZE_BYTES);
        let cache = &self.mcaches[p.index()];
        let mut off = cache.tiny_offset_bytes;
        if size_bytes.is_multiple_of(8) {
            off = off.next_multiple_of(8);
        } else if size_bytes.is_multiple_of(4) {
            off = off.next_multiple_of(4);
        } else if size_bytes.is_multiple_of(2) {
            off = off.next_multiple_of(2);
        }
        if let Some(block) = cache.tiny
            && off + size_bytes <= TINY_SIZE_BYTES
        {
            self.mcaches[p.index()].tiny_offset_bytes = off + size_bytes;
            self.counters.tiny_alloc_count += 1;
            self.counters.by_class[TINY_SIZE_CLASS.0 as usize].requested_bytes += size_bytes;
            self.spans[block.span.index()].requested_bytes[block.slot as usize] +=
                size_bytes as u32;
            return (block, off, None);
        }
        let spc = SpanClass::new(TINY_SIZE_CLASS, true);
        let alloc = self.alloc_small(p, spc, size_bytes, 0, env);
        let cache = &mut self.mcaches[p.index()];
        if size_bytes < cache.tiny_offset_bytes || cache.tiny.is_none() {
            cache.tiny = Some(alloc.obj);
            cache.tiny_offset_bytes = size_bytes;
        }
        (alloc.obj, 0, Some(alloc))
    }

    /// `mcache.allocLarge`: a span of its own, swept for first
    /// (`deductSweepCredit`), counted whole in heapLive and pushed on its
    /// mcentral's full swept set.
    pub(crate) fn alloc_large(
        &mut self,
        npages: u64,
        requested_bytes: u64,
        pointer_words: u32,
        noscan: bool,
        env: &AllocEnv,
    ) -> SmallAlloc {
        let mut sweep =
            self.deduct_sweep_credit(npages * PAGE_SIZE_BYTES, npages, env.heap_live_bytes);
        let spc = SpanClass::new(SizeClass(0), noscan);
        let id = self.alloc_span(npages, spc, env, &mut sweep);
        let bytes = npages * PAGE_SIZE_BYTES;
        self.counters.large_alloc_count += 1;
        self.counters.large_alloc_bytes += bytes;
        self.counters.large_requested_bytes += requested_bytes;
        self.counters.total_alloc_bytes += bytes;
        self.counters.pacer_total_alloc_bytes += bytes;
        let sg = self.sweepgen;
        let span = &mut self.spans[id.index()];
        span.alloc_bits.set(0);
        span.alloc_count = 1;
        span.free_index = 1;
        span.requested_bytes[0] = requested_bytes.min(u32::MAX as u64) as u32;
        if !noscan {
            span.pointers[0] = PointerWords::new(pointer_words);
        }
        self.centrals[spc.index()].full[swept_index(sg)].push_back(id);
        SmallAlloc {
            obj: ObjRef { span: id, slot: 0 },
            refilled: Some(PacerDelta {
                heap_live_bytes: bytes as i64,
                heap_scan_bytes: 0,
            }),
            sweep,
        }
    }

    /// The large object's scannable bytes go to the P's `scanAlloc`, flushed
    /// at its next refill (`heapSetTypeLarge` in `mallocgcLarge`).
    pub(crate) fn add_scan_alloc(&mut self, p: PId, bytes: u64) {
        self.mcaches[p.index()].scan_alloc_bytes += bytes;
    }

    /// Whether P `p`'s mcache still holds a span it cached before the sweep
    /// generation flipped, so that `prepareForSweep` must flush it before
    /// the P allocates. Only a flip makes a cached span stale, so once a
    /// cache has been checked in this generation (`flush_gen`, Go's
    /// `flushGen`) it stays fresh until the next one.
    pub(crate) fn mcache_is_stale(&mut self, p: PId) -> bool {
        let sg = self.sweepgen;
        if self.mcaches[p.index()].flush_gen == sg {
            return false;
        }
        self.mcaches[p.index()].flush_gen = sg;
        let stale = sg.wrapping_add(1);
        self.mcaches[p.index()]
            .alloc
            .iter()
            .flatten()
            .any(|id| self.spans[id.index()].sweepgen == stale)
    }

    /// `mcache.releaseAll` (via `prepareForSweep` at the end of mark
    /// termination, or when a P goes away): return every cached span; spans
    /// cached after the flip give back their unused remainder of heapLive.
    pub(crate) fn release_all(&mut self, p: PId) -> (PacerDelta, SweepWork) {
        let sg = self.sweepgen;
        let mut sweep = SweepWork::default();
        let mut delta = PacerDelta {
            heap_live_bytes: 0,
            heap_scan_bytes: std::mem::take(&mut self.mcaches[p.index()].scan_alloc_bytes) as i64,
        };
        for index in 0..NUM_SPAN_CLASSES {
            let Some(id) = self.mcaches[p.index()].alloc[index].take() else {
                continue;
            };
            let span = &mut self.spans[id.index()];
            let slots_used = (span.alloc_count - span.alloc_count_before_cache) as u64;
            span.alloc_count_before_cache = 0;
            self.counters.pacer_total_alloc_bytes += slots_used * span.elem_bytes;
            self.counters.flushed_small_allocs += slots_used;
            if span.sweepgen != sg.wrapping_add(1) {
                delta.heap_live_bytes -=
                    ((span.nelems - span.alloc_count) as u64 * span.elem_bytes) as i64;
            }
            sweep.add(self.uncache_span(id));
        }
        let cache = &mut self.mcaches[p.index()];
        cache.tiny = None;
        cache.tiny_offset_bytes = 0;
        (delta, sweep)
    }

    // ---------------------------------------------------------------
    // Sweeping
    // ---------------------------------------------------------------

    /// `isSweepDone`.
    pub fn is_sweep_done(&self) -> bool {
        self.sweep_drained
    }

    /// `gcSweep`'s flip: every in-use span now needs sweeping (the swept sets
    /// become the unswept ones).
    pub(crate) fn flip_sweepgen(&mut self) {
        self.sweepgen = self.sweepgen.wrapping_add(2);
        self.sweep_central_index = 0;
        self.sweep_drained = false;
        self.pages_swept = 0;
        self.reclaim_index = 0;
        self.reclaim_credit_pages = 0;
    }

    fn try_acquire_for_sweep(&mut self, id: SpanId) -> bool {
        let sg = self.sweepgen;
        let span = &mut self.spans[id.index()];
        if span.state == SpanState::InUse && span.sweepgen == sg.wrapping_sub(2) {
            span.sweepgen = sg.wrapping_sub(1);
            true
        } else {
            false
        }
    }

    /// `mspan.sweep`: frees exactly the allocated slots whose mark bit is
    /// clear, turns the mark bits into the alloc bits, and (unless
    /// `preserve`, for a span mcentral is about to hand out) files the span as
    /// partial or full, or frees it when nothing in it survived.
    pub(crate) fn sweep_span(&mut self, id: SpanId, preserve: bool) -> SweptSpan {
        let sg = self.sweepgen;
        let span = &mut self.spans[id.index()];
        debug_assert_eq!(span.sweepgen, sg.wrapping_sub(1), "{id} is not being swept");
        let class = span.span_class.size_class().0 as usize;
        let mut freed = 0u32;
        let mut freed_requested = 0u64;
        // Allocated and unmarked slots, 64 at a time (bits past `nelems` are
        // never set). A span with nothing marked is freed below, its per-slot
        // vectors emptied: its dead slots are only counted.
        let freed_whole = !preserve && span.mark_bits.words.iter().all(|&w| w == 0);
        for (w, (&alloc, &mark)) in span
            .alloc_bits
            .words
            .iter()
            .zip(&span.mark_bits.words)
            .enumerate()
        {
            let mut dead = alloc & !mark;
            while dead != 0 {
                let slot = w * 64 + dead.trailing_zeros() as usize;
                dead &= dead - 1;
                freed += 1;
                freed_requested += span.requested_bytes[slot] as u64;
                if freed_whole {
                    continue;
                }
                span.requested_bytes[slot] = 0;
                if let Some(words) = span.pointers.get_mut(slot) {
                    *words = PointerWords::Zero;
                }
            }
        }
        std::mem::swap(&mut span.alloc_bits, &mut span.mark_bits);
        span.mark_bits.clear_all();
        span.alloc_count -= freed;
        span.free_index = 0;
        span.sweepgen = sg;
        let npages = span.npages;
        let nalloc = span.alloc_count;
        debug_assert!(
            !freed_whole || nalloc == 0,
            "{id}: a freed span keeps objects"
        );
        let full = !span.has_free_slot();
        let elem = span.elem_bytes;
        let spc = span.span_class;
        let large = span.is_large();
        self.pages_swept += npages;
        let mut span_freed = false;
        if large {
            if freed == 1 {
                self.counters.large_free_count += 1;
                self.counters.large_free_bytes += elem;
                self.counters.large_requested_bytes -= freed_requested;
                self.counters.total_free_bytes += elem;
            }
            if !preserve {
                if nalloc == 0 {
                    self.free_span(id);
                    span_freed = true;
                } else {
                    self.centrals[spc.index()].full[swept_index(sg)].push_back(id);
                }
            }
        } else {
            let counters = &mut self.counters.by_class[class];
            counters.frees += freed as u64;
            counters.requested_bytes -= freed_requested;
            self.counters.total_free_bytes += freed as u64 * elem;
            if !preserve {
                if nalloc == 0 {
                    self.free_span(id);
                    span_freed = true;
                } else if full {
                    self.centrals[spc.index()].full[swept_index(sg)].push_back(id);
                } else {
                    self.centrals[spc.index()].partial[swept_index(sg)].push_back(id);
                }
            }
        }
        SweptSpan {
            span: id,
            npages,
            freed_objects: freed,
            span_freed,
        }
    }

    /// `sweepone`: sweep the next unswept span, in `nextSpanForSweep`'s order
    /// (per span class, its full unswept spans, then its partial ones). `None`
    /// when nothing is left, which marks sweeping done.
    pub(crate) fn sweep_one(&mut self) -> Option<SweptSpan> {
        if self.sweep_drained {
            return None;
        }
        let sg = self.sweepgen;
        while self.sweep_central_index < NUM_SPAN_CLASSES * 2 {
            let sweep_class = self.sweep_central_index;
            let (spc, full) = (sweep_class >> 1, sweep_class & 1 == 0);
            let central = &mut self.centrals[spc];
            let next = if full {
                central.full[unswept_index(sg)].pop_front()
            } else {
                central.partial[unswept_index(sg)].pop_front()
            };
            match next {
                Some(id) => {
                    if self.try_acquire_for_sweep(id) {
                        let swept = self.sweep_span(id, false);
                        if swept.span_freed {
                            self.reclaim_credit_pages += swept.npages;
                        }
                        return Some(swept);
                    }
                }
                None => self.sweep_central_index += 1,
            }
        }
        self.sweep_drained = true;
        self.sweep_drained_signal = true;
        None
    }

    /// `finishsweep_m` (and the sweeping `gcStart` does before stopping the
    /// world): sweep everything left.
    pub(crate) fn finish_sweep(&mut self) -> SweepWork {
        let mut work = SweepWork::default();
        while let Some(swept) = self.sweep_one() {
            work.add(swept.into());
        }
        work
    }

    /// `mheap.reclaim`: before taking new pages while sweeping is unfinished,
    /// sweep spans with no marked object (they free whole) until `npages`
    /// pages came back, walking span structs from where the last call stopped.
    fn reclaim(&mut self, npages: u64) -> SweepWork {
        let mut work = SweepWork::default();
        let mut need = npages;
        let credit = self.reclaim_credit_pages.min(need);
        self.reclaim_credit_pages -= credit;
        need -= credit;
        let sg = self.sweepgen;
        while need > 0 && self.reclaim_index < self.spans.len() {
            let id = SpanId(self.reclaim_index as u32);
            self.reclaim_index += 1;
            let span = &self.spans[id.index()];
            if span.state != SpanState::InUse
                || span.sweepgen != sg.wrapping_sub(2)
                || span.marked_count() != 0
            {
                continue;
            }
            if self.try_acquire_for_sweep(id) {
                let swept = self.sweep_span(id, false);
                work.add(swept.into());
                if swept.span_freed {
                    need = need.saturating_sub(swept.npages);
                }
            }
        }
        work
    }

    /// `deductSweepCredit`: before taking `span_bytes` of span, sweep enough
    /// pages to stay on the pace `gcPaceSweeper` set.
    fn deduct_sweep_credit(
        &mut self,
        span_bytes: u64,
        caller_sweep_pages: u64,
        heap_live: u64,
    ) -> SweepWork {
        let mut work = SweepWork::default();
        if self.sweep_pages_per_byte == 0.0 {
            return work;
        }
        let new_heap_live = span_bytes + heap_live.saturating_sub(self.sweep_heap_live_basis);
        let pages_target =
            (self.sweep_pages_per_byte * new_heap_live as f64) as i64 - caller_sweep_pages as i64;
        while pages_target > (self.pages_swept - self.pages_swept_basis) as i64 {
            match self.sweep_one() {
                Some(swept) => work.add(swept.into()),
                None => {
                    self.sweep_pages_per_byte = 0.0;
                    break;
                }
            }
        }
        work
    }

    /// `gcPaceSweeper`: spread the sweeping of every in-use page over the
    /// allocation between now and the next trigger (less 1 MiB of slack).
    pub(crate) fn pace_sweeper(&mut self, trigger_bytes: u64, heap_live_bytes: u64) {
        if self.is_sweep_done() {
            self.sweep_pages_per_byte = 0.0;
            return;
        }
        let mut heap_distance = trigger_bytes as i64 - heap_live_bytes as i64 - (1 << 20);
        if heap_distance < PAGE_SIZE_BYTES as i64 {
            heap_distance = PAGE_SIZE_BYTES as i64;
        }
        let sweep_distance_pages = self.pages.in_use_pages as i64 - self.pages_swept as i64;
        if sweep_distance_pages <= 0 {
            self.sweep_pages_per_byte = 0.0;
        } else {
            self.sweep_pages_per_byte = sweep_distance_pages as f64 / heap_distance as f64;
            self.sweep_heap_live_basis = heap_live_bytes;
            self.pages_swept_basis = self.pages_swept;
        }
    }

    // ---------------------------------------------------------------
    // Stacks
    // ---------------------------------------------------------------

    /// `stackalloc`: a stack of `size_bytes` (a power of two, at least 2 KiB),
    /// of which the top `touched_bytes` are written at once (the frames
    /// copied into it). A pool span's pages all count as touched when it is
    /// carved; a dedicated span's lower pages fault in when the goroutine's
    /// calls reach them ([`Heap::stack_touch`]).
    pub(crate) fn stack_alloc(
        &mut self,
        size_bytes: u64,
        touched_bytes: u64,
        env: &AllocEnv,
    ) -> StackHandle {
        debug_assert!(size_bytes.is_power_of_two() && size_bytes >= STACK_MIN_BYTES);
        let order = (size_bytes / STACK_MIN_BYTES).trailing_zeros() as usize;
        if order < NUM_STACK_ORDERS {
            let capacity = (STACK_POOL_SPAN_BYTES / size_bytes) as u32;
            let found = self.stacks.nonfull[order].first().copied();
            let index = match found {
                Some(i) => i as usize,
                None => {
                    let pages = STACK_POOL_SPAN_BYTES / PAGE_SIZE_BYTES;
                    let base_page = self.take_stack_pages(pages, pages, env);
                    let stacks = &mut self.stacks;
                    let fresh = StackPoolSpan {
                        in_use: Some(0),
                        base_page,
                    };
                    match stacks.released[order].pop_first() {
                        Some(i) => {
                            stacks.spans[order][i as usize] = fresh;
                            i as usize
                        }
                        None => {
                            stacks.spans[order].push(fresh);
                            stacks.spans[order].len() - 1
                        }
                    }
                }
            };
            let span = &mut self.stacks.spans[order][index];
            let n = span.in_use.expect("an in-use span") + 1;
            span.in_use = Some(n);
            if n < capacity {
                self.stacks.nonfull[order].insert(index as u32);
            } else {
                self.stacks.nonfull[order].remove(&(index as u32));
            }
            StackHandle {
                size_bytes,
                home: StackHome::Pool {
                    order: order as u8,
                    span: index as u32,
                },
            }
        } else {
            let npages = size_bytes / PAGE_SIZE_BYTES;
            let touched = stack_top_pages(touched_bytes, npages);
            let base_page = self.take_stack_pages(npages, touched, env);
            StackHandle {
                size_bytes,
                home: StackHome::Dedicated {
                    base_page: u32::try_from(base_page).expect("a heap under 32 TiB"),
                },
            }
        }
    }

    /// Pages for a stack span, the top `touched_pages` touched now; returns
    /// its first page.
    fn take_stack_pages(&mut self, npages: u64, touched_pages: u64, env: &AllocEnv) -> u64 {
        let mapped_ready_before = self.mapped_ready_bytes();
        let taken = self.pages.take(npages, touched_pages);
        self.counters.faulted_in_pages += taken.faulted_pages;
        self.scavenge_assist(taken, mapped_ready_before, env);
        self.pages.stack_pages += npages;
        taken.base_page
    }

    /// A goroutine's calls reach `used_bytes` below the top of `stack`: a
    /// dedicated stack's pages down to there are backed from now on (a pool
    /// span's were when it was carved).
    pub(crate) fn stack_touch(&mut self, stack: StackHandle, used_bytes: u64) {
        if let StackHome::Dedicated { base_page } = stack.home {
            let npages = stack.size_bytes / PAGE_SIZE_BYTES;
            let touched = stack_top_pages(used_bytes, npages);
            let first = u64::from(base_page) + npages - touched;
            self.counters.faulted_in_pages += self.pages.touch(first, touched);
        }
    }

    fn return_stack_pages(&mut self, base_page: u64, npages: u64) {
        self.pages.stack_pages -= npages;
        self.pages.give_back(base_page, npages);
    }

    /// `stackfree`. An emptied pool span goes back to the heap at once when the
    /// GC is off (`stackpoolfree`), else when mark termination ends
    /// (`freeStackSpans`).
    pub(crate) fn stack_free(&mut self, stack: StackHandle, gc_off: bool) {
        match stack.home {
            StackHome::Pool { order, span } => {
                let entry = &mut self.stacks.spans[order as usize][span as usize];
                let n = entry.in_use.expect("stack span in use") - 1;
                entry.in_use = Some(n);
                self.stacks.nonfull[order as usize].insert(span);
                if n == 0 {
                    if gc_off {
                        entry.in_use = None;
                        self.stacks.nonfull[order as usize].remove(&span);
                        self.stacks.released[order as usize].insert(span);
                        let base_page = entry.base_page;
                        self.return_stack_pages(base_page, STACK_POOL_SPAN_BYTES / PAGE_SIZE_BYTES);
                    } else {
                        self.stacks.deferred_free.push((order, span));
                    }
                }
            }
            StackHome::Dedicated { base_page } => {
                self.return_stack_pages(u64::from(base_page), stack.size_bytes / PAGE_SIZE_BYTES)
            }
        }
    }

    /// `freeStackSpans`: pool spans emptied during the mark phase.
    pub(crate) fn free_stack_spans(&mut self) {
        for (order, span) in std::mem::take(&mut self.stacks.deferred_free) {
            let entry = &mut self.stacks.spans[order as usize][span as usize];
            if entry.in_use == Some(0) {
                entry.in_use = None;
                self.stacks.nonfull[order as usize].remove(&span);
                self.stacks.released[order as usize].insert(span);
                let base_page = entry.base_page;
                self.return_stack_pages(base_page, STACK_POOL_SPAN_BYTES / PAGE_SIZE_BYTES);
            }
        }
    }

    // ---------------------------------------------------------------
    // Statistics
    // ---------------------------------------------------------------

    /// `heapRetained`: heap memory not returned to the OS.
    pub fn heap_retained_bytes(&self) -> u64 {
        (self.pages.in_use_pages + self.pages.free_pages) * PAGE_SIZE_BYTES
    }

    /// `gcController.mappedReady`: mapped memory not released (heap in use and
    /// free, stacks, runtime metadata with an `mspan` per span in use).
    pub fn mapped_ready_bytes(&self) -> u64 {
        let live_spans = (self.spans.len() - self.dead_spans.len()) as u64;
        (self.pages.in_use_pages + self.pages.free_pages + self.pages.stack_pages) * PAGE_SIZE_BYTES
            + self.config.runtime_metadata_bytes
            + if self.gc_has_run {
                self.config.gc_metadata_bytes
            } else {
                0
            }
            + live_spans * MSPAN_STRUCT_BYTES
    }

    /// `heapFree` in bytes.
    pub fn heap_free_bytes(&self) -> u64 {
        self.pages.free_pages * PAGE_SIZE_BYTES
    }

    /// `HeapInuse` in bytes.
    pub fn heap_in_use_bytes(&self) -> u64 {
        self.pages.in_use_pages * PAGE_SIZE_BYTES
    }

    /// `/gc/heap/allocs:objects` and `/gc/heap/objects:objects` as
    /// runtime/metrics computes them (`heapStatsAggregate`): a small object
    /// counts once its span has left the mcache, a large one at once, and
    /// frees as sweeping finds them. Tiny allocations packed into an
    /// existing block are in neither.
    pub fn metrics_object_counts(&self) -> ObjectCounts {
        let c = &self.counters;
        let small_frees: u64 = c.by_class.iter().map(|k| k.frees).sum();
        let allocs = c.flushed_small_allocs + c.large_alloc_count;
        ObjectCounts {
            allocs,
            live: allocs.saturating_sub(small_frees + c.large_free_count),
        }
    }

    /// `totalAlloc − totalFree` as the pacer's memory-limit goal reads it.
    pub fn pacer_heap_alloc_bytes(&self) -> u64 {
        self.counters.pacer_total_alloc_bytes - self.counters.total_free_bytes
    }

    /// `runtime.ReadMemStats`, as far as the model keeps the figures.
    pub fn mem_stats(&self) -> MemStats {
        let c = &self.counters;
        let small_mallocs: u64 = c.by_class.iter().map(|k| k.mallocs).sum();
        let small_frees: u64 = c.by_class.iter().map(|k| k.frees).sum();
        let mallocs = small_mallocs + c.large_alloc_count + c.tiny_alloc_count;
        let frees = small_frees + c.large_free_count + c.tiny_alloc_count;
        let heap_in_use = self.heap_in_use_bytes();
        let heap_free = self.heap_free_bytes();
        let heap_released = self.pages.released_pages * PAGE_SIZE_BYTES;
        MemStats {
            heap_alloc_bytes: c.total_alloc_bytes - c.total_free_bytes,
            total_alloc_bytes: c.total_alloc_bytes,
            heap_sys_bytes: heap_in_use + heap_free + heap_released,
            heap_idle_bytes: heap_free + heap_released,
            heap_in_use_bytes: heap_in_use,
            heap_released_bytes: heap_released,
            heap_objects: mallocs - frees,
            mallocs,
            frees,
            stack_in_use_bytes: self.pages.stack_pages * PAGE_SIZE_BYTES,
        }
    }

    /// Per size class: objects, slot bytes, requested bytes and the spans
    /// holding them, for the internal-fragmentation report.
    pub fn class_occupancy(&self) -> Vec<ClassOccupancy> {
        let mut out: Vec<ClassOccupancy> = (0..NUM_SIZE_CLASSES)
            .map(|c| ClassOccupancy {
                class: SizeClass(c as u8),
                ..ClassOccupancy::default()
            })
            .collect();
        for span in self.spans.iter().filter(|s| s.state == SpanState::InUse) {
            let entry = &mut out[span.span_class.size_class().0 as usize];
            entry.spans += 1;
            entry.span_bytes += span.npages * PAGE_SIZE_BYTES;
            entry.objects += span.alloc_count as u64;
            entry.slot_bytes += span.alloc_count as u64 * span.elem_bytes;
        }
        for (c, entry) in out.iter_mut().enumerate() {
            entry.requested_bytes = if c == 0 {
                self.counters.large_requested_bytes
            } else {
                self.counters.by_class[c].requested_bytes
            };
        }
        out
    }
}

impl Heap {
    /// Per size class, the spans in use and their allocated objects by mark
    /// colour: white (not marked), grey (marked, waiting to be scanned),
    /// black (marked and scanned). Counted from the spans' bits, so it costs
    /// one pass over the spans, not over the objects. Outside a mark phase
    /// the bits are the last cycle's until a span is swept, and objects
    /// allocated since are white.
    pub fn class_marking(&self) -> Vec<ClassMarking> {
        let mut out: Vec<ClassMarking> = (0..NUM_SIZE_CLASSES)
            .map(|c| ClassMarking {
                class: SizeClass(c as u8),
                ..ClassMarking::default()
            })
            .collect();
        for span in self.spans.iter().filter(|s| s.state == SpanState::InUse) {
            let entry = &mut out[span.span_class.size_class().0 as usize];
            let marked = u64::from(span.mark_bits.count());
            let grey = u64::from(span.grey_bits.count());
            entry.spans += 1;
            entry.white_objects += u64::from(span.alloc_count).saturating_sub(marked);
            entry.grey_objects += grey;
            entry.black_objects += marked - grey;
        }
        out
    }
}

impl From<SweptSpan> for SweepWork {
    fn from(s: SweptSpan) -> SweepWork {
        SweepWork {
            spans: 1,
            freed_spans: u64::from(s.span_freed),
            pages: s.npages,
            freed_objects: s.freed_objects as u64,
        }
    }
}

/// The MemStats fields the model keeps (`runtime.MemStats` names, in bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemStats {
    /// `HeapAlloc` (= `Alloc`): allocated slots, live or not yet swept.
    pub heap_alloc_bytes: u64,
    /// `TotalAlloc`.
    pub total_alloc_bytes: u64,
    /// `HeapSys` = HeapInuse + HeapIdle.
    pub heap_sys_bytes: u64,
    /// `HeapIdle`: free and released pages.
    pub heap_idle_bytes: u64,
    /// `HeapInuse`: pages of spans holding objects.
    pub heap_in_use_bytes: u64,
    /// `HeapReleased`.
    pub heap_released_bytes: u64,
    /// `HeapObjects` = Mallocs − Frees.
    pub heap_objects: u64,
    /// `Mallocs` and `Frees`; each tiny allocation packed into an existing
    /// block counts in both, as in Go.
    pub mallocs: u64,
    pub frees: u64,
    /// `StackInuse`.
    pub stack_in_use_bytes: u64,
}

/// The pages of an `npages` stack that its top `used_bytes` lie in (at
/// least the top one, where the first frame is).
fn stack_top_pages(used_bytes: u64, npages: u64) -> u64 {
    used_bytes.div_ceil(PAGE_SIZE_BYTES).clamp(1, npages)
}

/// Objects as runtime/metrics counts them ([`Heap::metrics_object_counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectCounts {
    /// `/gc/heap/allocs:objects`.
    pub allocs: u64,
    /// `/gc/heap/objects:objects`: allocated and not yet swept free.
    pub live: u64,
}

/// One size class's objects by mark colour at a moment ([`Heap::class_marking`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassMarking {
    pub class: SizeClass,
    /// Spans in use of this class.
    pub spans: u64,
    pub white_objects: u64,
    pub grey_objects: u64,
    pub black_objects: u64,
}

/// One size class's share of the heap at a moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassOccupancy {
    pub class: SizeClass,
    pub spans: u64,
    pub span_bytes: u64,
    /// Allocated slots (tiny blocks count once).
    pub objects: u64,
    pub slot_bytes: u64,
    pub requested_bytes: u64,
}

impl ClassOccupancy {
    /// Internal fragmentation: slot bytes the objects do not use (size-class
    /// round-up, malloc headers, unused tiny block bytes).
    pub fn internal_fragmentation_bytes(&self) -> u64 {
        self.slot_bytes - self.requested_bytes
    }
    /// Span bytes holding no object: free slots, span tails and reserved
    /// bitmap bytes (`HeapInuse − HeapAlloc` for this class).
    pub fn unused_span_bytes(&self) -> u64 {
        self.span_bytes - self.slot_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_when_they_touch_and_split_when_cut() {
        let mut runs = Runs::default();
        runs.insert(10, 5);
        runs.insert(20, 5);
        runs.insert(15, 5);
        assert_eq!(runs.0.iter().collect::<Vec<_>>(), vec![(&10, &15)]);
        assert_eq!(runs.remove(12, 3), 3);
        assert_eq!(
            runs.0.iter().collect::<Vec<_>>(),
            vec![(&10, &2), (&15, &10)]
        );
        // A cut across a gap counts only what the runs held.
        assert_eq!(runs.remove(11, 6), 3);
        assert_eq!(
            runs.0.iter().collect::<Vec<_>>(),
            vec![(&10, &1), (&17, &8)]
        );
        assert_eq!(runs.first_fit(2), Some(17));
        assert_eq!(runs.first_fit(9), None);
    }

    /// A heap of one 4 MiB chunk whose pages 0..8 are in use.
    fn heap_with_eight_pages_in_use() -> PageHeap {
        let mut heap = PageHeap::default();
        for page in 0..8 {
            let taken = heap.take(1, 1);
            assert_eq!(taken.base_page, page);
            assert_eq!(taken.scavenged_pages, 1, "fresh memory faults in");
        }
        assert_eq!(heap.end_page, HEAP_GROWTH_CHUNK_PAGES);
        heap
    }

    #[test]
    fn untouched_pages_fault_in_when_touched_and_are_released_by_the_scavenger() {
        let mut heap = PageHeap::default();
        // A 16-page stack of fresh memory whose top 13 pages are touched:
        // all 16 are ready in Go's accounting, 13 backed by the OS.
        let taken = heap.take(16, 13);
        assert_eq!(
            (taken.base_page, taken.scavenged_pages, taken.faulted_pages),
            (0, 16, 13)
        );
        assert_eq!(heap.touch(0, 16), 3);
        assert_eq!(heap.touch(0, 16), 0, "touched once is backed");
        // Freed and scavenged again, then taken untouched below 4 pages: the
        // scavenger's release leaves nothing counted as untouched twice.
        heap.give_back(0, 16);
        let chunk_bytes = HEAP_GROWTH_CHUNK_PAGES * PAGE_SIZE_BYTES;
        assert_eq!(heap.scavenge(chunk_bytes), 16 * PAGE_SIZE_BYTES);
        let taken = heap.take(16, 4);
        assert_eq!((taken.scavenged_pages, taken.faulted_pages), (16, 4));
        heap.give_back(0, 16);
        heap.scavenge(chunk_bytes);
        assert_eq!(heap.take(16, 16).faulted_pages, 16);
        assert_eq!(heap.touch(0, 16), 0);
    }

    #[test]
    fn pages_come_from_the_lowest_free_address_that_fits() {
        let mut heap = heap_with_eight_pages_in_use();
        heap.give_back(5, 2);
        heap.give_back(1, 1);
        assert_eq!(heap.take(1, 1).base_page, 1);
        let taken = heap.take(2, 2);
        assert_eq!((taken.base_page, taken.scavenged_pages), (5, 0));
        // Nothing below page 8 is free now: the chunk's untouched rest.
        assert_eq!(heap.take(1, 1).base_page, 8);
    }

    #[test]
    fn a_fragmented_heap_grows_though_its_free_pages_add_up() {
        let mut heap = PageHeap::default();
        let all = heap.take(HEAP_GROWTH_CHUNK_PAGES, HEAP_GROWTH_CHUNK_PAGES);
        assert_eq!(all.base_page, 0);
        for page in (0..HEAP_GROWTH_CHUNK_PAGES).step_by(2) {
            heap.give_back(page, 1);
        }
        assert_eq!(heap.free_pages, HEAP_GROWTH_CHUNK_PAGES / 2);
        let taken = heap.take(2, 2);
        assert_eq!(taken.base_page, HEAP_GROWTH_CHUNK_PAGES);
        assert_eq!(
            taken.growth_bytes,
            HEAP_GROWTH_CHUNK_PAGES * PAGE_SIZE_BYTES
        );
    }

    #[test]
    fn the_scavenger_releases_the_highest_free_pages_first() {
        let mut heap = heap_with_eight_pages_in_use();
        // Pages 8.. of the chunk are untouched (released); free 2, 3 and 6.
        heap.give_back(2, 2);
        heap.give_back(6, 1);
        assert_eq!(heap.scavenge(2 * PAGE_SIZE_BYTES), 2 * PAGE_SIZE_BYTES);
        assert_eq!(
            (heap.free_pages, heap.released_pages),
            (1, HEAP_GROWTH_CHUNK_PAGES - 8 + 2)
        );
        // Page 6 and then page 3 went back to the OS; page 2 is still ready.
        let low = heap.take(1, 1);
        assert_eq!((low.base_page, low.scavenged_pages), (2, 0));
        let next = heap.take(1, 1);
        assert_eq!((next.base_page, next.scavenged_pages), (3, 1));
        // Nothing ready is left to release.
        assert_eq!(heap.scavenge(PAGE_SIZE_BYTES), 0);
    }
}
